package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/components/cluster"
	"github.com/apk8s/apk8s-platform/stacks"
)

// TestCertificateRenewal: every node gets the weekly check that restarts
// k3s (which renews its certificates at start) when a certificate of the
// node is within 90 days of expiry, enabled by the bootstrap; the check,
// run against real certificates made by openssl, restarts the node's own
// unit when one certificate is due and leaves k3s alone otherwise.
func TestCertificateRenewal(t *testing.T) {
	t.Parallel()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl")
	}
	g := Run{Stack: "dev3"}.MustDo(t)
	cp, workers := servers(t, g)
	for _, s := range append([]*Res{cp}, workers...) {
		cc := cloudConfig(t, s)
		assert.Equal(t, "0755", file(t, cc, cluster.RenewPath).Permissions, s.Name)
		assert.Contains(t, file(t, cc, cluster.RenewUnitPath).Content, "ExecStart="+cluster.RenewPath)
		timer := file(t, cc, cluster.RenewTimerPath).Content
		for _, want := range []string{"OnCalendar=weekly", "Persistent=true", "WantedBy=timers.target"} {
			assert.Contains(t, timer, want)
		}
	}
	reconcile, err := cluster.ReconcileScript(cluster.Node{Role: cluster.RoleAgent, K3sVersion: "v1.34.6+k3s1", PrivateCIDR: "172.16.16.0/22"})
	require.NoError(t, err)
	assert.Contains(t, reconcile, "cat > "+cluster.RenewTimerPath+".apk8s-new", "a running node gets the check with its next reconcile")

	n := newNode(t)
	n.envFile(cluster.RoleAgent, "v1.34.6+k3s1")
	n.run(n.bootstrap)
	require.NoError(t, n.err, n.stderr)
	assert.GreaterOrEqual(t, n.index("systemctl enable --now apk8s-k3s-renew.timer"), 0, "the bootstrap enables the timer")

	// cert writes a self-signed certificate valid for days under the node's root.
	cert := func(n *node, path string, days string) {
		t.Helper()
		p := filepath.Join(n.root, path)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		out, err := exec.Command(openssl, "req", "-x509", "-newkey", "ed25519", "-nodes", "-subj", "/CN=k3s",
			"-days", days, "-keyout", p+".key", "-out", p).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	script := filepath.Join(repoRoot, "components", "cluster", "k3s-renew.sh")
	for _, tt := range []struct {
		name, role, dir string
		days            []string // one certificate each
		restart         string   // "" = none
	}{
		{"server, one certificate due", cluster.RoleServer, "/var/lib/rancher/k3s/server/tls", []string{"3650", "89", "365"}, "k3s"},
		{"server, none due", cluster.RoleServer, "/var/lib/rancher/k3s/server/tls", []string{"3650", "91", "365"}, ""},
		{"agent, one certificate due", cluster.RoleAgent, "/var/lib/rancher/k3s/agent", []string{"365", "30"}, "k3s-agent"},
		{"agent, none due", cluster.RoleAgent, "/var/lib/rancher/k3s/agent", []string{"3650", "200"}, ""},
		// The server's certificates are not the agent's business.
		{"agent, a server certificate due", cluster.RoleAgent, "/var/lib/rancher/k3s/server/tls", []string{"30"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			n.envFile(tt.role, "v1.34.6+k3s1")
			for i, days := range tt.days {
				cert(n, filepath.Join(tt.dir, "cert-"+string(rune('a'+i))+".crt"), days)
			}
			n.run(script)
			require.NoError(t, n.err, n.stderr)
			restarts := strings.Join(n.calls(), "\n")
			if tt.restart == "" {
				assert.NotContains(t, restarts, "systemctl restart")
				assert.Contains(t, n.stdout, "no certificate in ")
				return
			}
			assert.Equal(t, []string{"systemctl restart " + tt.restart}, n.calls(), "the node's own unit, once")
			assert.Contains(t, n.stdout, "expires within 90 days: restarting "+tt.restart)
		})
	}
}

// TestKubeconfigReadAgainEachMonth: the kubeconfig command carries the
// month, so the first update of a month runs it again (pulumi-command runs
// create again on an update) and the state gets the kubeconfig with the
// certificate the node renewed; the provider stays the same provider (its
// cluster identity is the server), so nothing on the cluster is replaced.
func TestKubeconfigReadAgainEachMonth(t *testing.T) {
	t.Parallel()
	before := time.Now().UTC().Format("2006-01")
	g := Run{Stack: "dev3"}.MustDo(t)
	after := time.Now().UTC().Format("2006-01")
	create := str(one(t, g, tokRemoteCmd, "cluster-kubeconfig").Plain(), "create")
	assert.True(t, strings.HasPrefix(create, "# read again in "+before) || strings.HasPrefix(create, "# read again in "+after), create[:60])

	read := func(epoch string) (string, any) {
		g, err := Run{Stack: "dev3", Program: func(ctx *pulumi.Context) error {
			cfg, err := stacks.Load(ctx)
			if err != nil {
				return err
			}
			c := cfg.Scaleway.Cluster
			c.KubeconfigEpoch = epoch
			_, err = cluster.New(ctx, "cluster", cluster.Args{Prefix: stacks.ResourcePrefix(ctx.Stack()), Config: c})
			return err
		}}.Do(t)
		require.NoError(t, err)
		prov := one(t, g, tokK8sProv, "kubernetes")
		return str(one(t, g, tokRemoteCmd, "cluster-kubeconfig").Plain(), "create"), prov.Plain()["clusterIdentifier"]
	}
	december, id1 := read("2026-12")
	january, id2 := read("2027-01")
	assert.NotEqual(t, december, january, "a new month, the kubeconfig read again")
	assert.Equal(t, strings.SplitN(december, "\n", 2)[1], strings.SplitN(january, "\n", 2)[1], "the same script otherwise")
	assert.Equal(t, id1, id2, "the provider keeps its cluster")
	again, _ := read("2026-12")
	assert.Equal(t, december, again, "within a month, nothing to do")
}
