package tests

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/components/cluster"
	"github.com/apk8s/apk8s-platform/stacks"
)

// TestCertificateIssuer: a disposable stack, rebuilt every day, asks Let's
// Encrypt staging by default (production allows 5 duplicate certificates
// a week); a kept stack asks production; certificateIssuer overrides
// either. The certificate waits for the issuer it names.
func TestCertificateIssuer(t *testing.T) {
	t.Parallel()
	// A kept stack with the book's add-ons: dev3's file without the mark.
	kept := func(set map[string]string) Run {
		all := map[string]string{"disposable": "false"}
		for k, v := range set {
			all[k] = v
		}
		return Run{Stack: "dev3", Set: all}
	}
	tests := []struct {
		name string
		run  Run
		want string
	}{
		{"disposable stack", Run{Stack: "dev3"}, "letsencrypt-staging"},
		{"kept stack", kept(nil), "letsencrypt-production"},
		{"disposable, production chosen", Run{Stack: "dev3", Set: map[string]string{"certificateIssuer": "letsencrypt-production"}}, "letsencrypt-production"},
		{"kept, staging chosen", kept(map[string]string{"certificateIssuer": "letsencrypt-staging"}), "letsencrypt-staging"},
		{"kept, existing cert-manager", Run{Stack: "local", Set: map[string]string{"certificate": "true", "certManager": "existing"}}, "letsencrypt-production"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := dataGraph(t, tt.run)
			cert := g.Object(t, tokCert, "data-cert")
			var c certmanagerv1.Certificate
			cert.Decode(t, &c)
			assert.Equal(t, certmanagerv1.ObjectReference{Name: tt.want, Kind: "ClusterIssuer", Group: "cert-manager.io"}, c.Spec.IssuerRef)
			assert.Equal(t, "data-production-tls", c.Spec.SecretName, "the ingresses' Secret keeps its name")
			issuers := g.Find(tokClusterIssuer)
			if len(issuers) == 0 {
				return // cert-manager is the cluster's own
			}
			assert.Contains(t, cert.DependsOn, g.Object(t, tokClusterIssuer, tt.want).URN, "data-cert waits for its own issuer")
		})
	}
}

// TestDeliveryConfigRefused: the keys of this delivery fail like every other
// bad value, before anything is registered.
func TestDeliveryConfigRefused(t *testing.T) {
	t.Parallel()
	checkBadConfigs(t, []badConfig{
		{"disposable stack of another name", Run{Stack: "local", Set: map[string]string{"disposable": "true"}},
			[]string{`apk8s-platform:disposable = "true" is not allowed`, `false for stack "local"`, "^dev[0-9]+"}},
		{"CI peer key not a WireGuard key", Run{Stack: "dev3", Set: map[string]string{"ciWireguardPublicKey": "ssh-ed25519 AAAA"}},
			[]string{`apk8s-platform:ciWireguardPublicKey = "ssh-ed25519 AAAA"`, "a WireGuard public key"}},
		{"CI port privileged", Run{Stack: "dev3", Set: map[string]string{"ciWireguardPort": "53"}},
			[]string{`apk8s-platform:ciWireguardPort = "53"`, "from 1024 to 65535"}},
		{"unknown issuer", Run{Stack: "dev3", Set: map[string]string{"certificateIssuer": "letsencrypt"}},
			[]string{`apk8s-platform:certificateIssuer = "letsencrypt"`, `"letsencrypt-production", "letsencrypt-staging"`}},
	})
}

// ciPeerKey is a WireGuard public key as `wg pubkey` prints it, made afresh.
func ciPeerKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// sgRule is a security group rule as the provider gets it.
type sgRule struct {
	Protocol, From string
	Port           float64
}

func inboundRules(t *testing.T, g *Graph) []sgRule {
	t.Helper()
	sgs := g.Find(tokSG)
	require.Len(t, sgs, 1)
	var out []sgRule
	for _, r := range sgs[0].Plain()["inboundRules"].([]any) {
		m := r.(map[string]any)
		port, _ := m["port"].(float64)
		out = append(out, sgRule{str(m, "protocol"), str(m, "ipRange"), port})
	}
	return out
}

// TestClusterCIPath: with a CI peer key, the program itself opens the
// WireGuard port (so no `up` drops it) and makes the control plane the
// endpoint, before k3s, with nothing secret in its user data; SSH and the
// API server stay open to the admin CIDRs only. Without a key, neither.
func TestClusterCIPath(t *testing.T) {
	t.Parallel()
	peer := ciPeerKey(t)
	g := Run{Stack: "dev3", Set: map[string]string{"ciWireguardPublicKey": peer, "ciWireguardPort": "51999"}}.Shared(t).Graph

	rules := inboundRules(t, g)
	assert.Contains(t, rules, sgRule{"UDP", "0.0.0.0/0", 51999}, "the WireGuard port, from anywhere")
	for _, r := range rules {
		if r.Port == 22 || r.Port == 6443 {
			assert.Equal(t, "203.0.113.10/32", r.From, "SSH and the API server only from the admin CIDRs")
		}
	}

	cp, workers := servers(t, g)
	cc := cloudConfig(t, cp)
	require.NotEmpty(t, cc.RunCmd)
	assert.Equal(t, []string{cluster.CIScriptPath}, cc.RunCmd[0], "the tunnel comes up first, while k3s installs")
	assert.Equal(t, []string{cluster.BootstrapPath}, cc.RunCmd[len(cc.RunCmd)-1])
	assert.Contains(t, cc.Packages, "wireguard-tools", "installed by cloud-init before the script runs")
	env := file(t, cc, cluster.CIEnvPath).Content
	for _, want := range []string{"CI_PEER_PUBLIC_KEY='" + peer + "'", "CI_PORT='51999'", "CI_USER_DATA_KEY='" + cluster.CIPublicKeyUserData + "'"} {
		assert.Contains(t, env, want)
	}
	script := file(t, cc, cluster.CIScriptPath)
	assert.Equal(t, "0755", script.Permissions)
	for _, want := range []string{"wg genkey", "--local-port 1-1023", "http://169.254.42.42/user_data/$CI_USER_DATA_KEY", "--dports 22,6443 -j ACCEPT", "-i %i -j DROP", `iifname "$CI_INTERFACE" counter drop`} {
		assert.Contains(t, script.Content, want, "the node makes its own key, publishes the public half, lets the peer reach SSH and the API only")
	}
	for _, f := range cc.WriteFiles {
		assert.NotContains(t, f.Content, "PrivateKey =", "%s: no private key travels in the user data", f.Path)
	}
	for _, w := range workers {
		wc := cloudConfig(t, w)
		assert.False(t, slices.ContainsFunc(wc.WriteFiles, func(f cluster.WriteFile) bool { return strings.HasPrefix(f.Path, cluster.CIEnvPath) }),
			"%s: the workers are no endpoint", w.Name)
		assert.NotContains(t, wc.Packages, "wireguard-tools", w.Name)
	}

	g = Run{Stack: "dev3"}.Shared(t).Graph
	for _, r := range inboundRules(t, g) {
		assert.NotEqual(t, "UDP", r.Protocol, "no CI key, no open UDP port")
	}
	cp, _ = servers(t, g)
	assert.Equal(t, [][]string{{cluster.BootstrapPath}}, cloudConfig(t, cp).RunCmd)
}

// TestCIWireGuardScript runs the control plane's script against stubs of wg,
// systemctl and curl: it makes a key once and keeps it, writes the interface
// with the peer and the key's path (never the key), restarts the interface,
// and publishes the public key, from a privileged port, as user data.
func TestCIWireGuardScript(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	private, public := "PRIVATE-"+randomHex(8), "PUBLIC-"+randomHex(8)
	for name, body := range map[string]string{
		"wg": `echo "wg $*" >> "$LOG"
case $1 in
genkey) echo "$STUB_PRIVATE" ;;
pubkey) [ "$(cat)" = "$STUB_PRIVATE" ] && echo "$STUB_PUBLIC" ;;
esac`,
		"curl": `echo "curl $*" >> "$LOG"; echo "stdin $(cat)" >> "$LOG"`,
	} {
		require.NoError(t, os.WriteFile(filepath.Join(n.bin, name), []byte("#!/bin/bash\n"+body+"\n"), 0o755))
	}
	peer := ciPeerKey(t)
	g := Run{Stack: "dev3", Set: map[string]string{"ciWireguardPublicKey": peer}}.Shared(t).Graph
	cp, _ := servers(t, g)
	cc := cloudConfig(t, cp)
	n.file(cluster.CIEnvPath, file(t, cc, cluster.CIEnvPath).Content)
	script := filepath.Join(repoRoot, "components", "cluster", "ci-wireguard.sh")

	for run := 1; run <= 2; run++ {
		n.run(script, "STUB_PRIVATE="+private, "STUB_PUBLIC="+public)
		require.NoError(t, n.err, "run %d: %s", run, n.stderr)
	}
	calls := strings.Join(n.calls(), "\n")
	assert.Equal(t, 1, strings.Count(calls, "systemctl restart wg-quick@wg-ci"), "a second run with the same settings leaves the interface up")
	assert.Equal(t, 2, strings.Count(calls, "/user_data/"+cluster.CIPublicKeyUserData), "every run publishes the key again")
	forward := n.read("/etc/apk8s/ci-forward.nft")
	for _, want := range []string{"hook forward priority filter - 10", `iifname "wg-ci" counter drop`, `oifname "wg-ci" counter drop`, "delete table inet apk8s_ci"} {
		assert.Contains(t, forward, want, "nothing is forwarded from or into the tunnel")
	}
	assert.Equal(t, 1, strings.Count(calls, "wg genkey"), "the key is made once and kept")
	assert.Equal(t, private+"\n", n.read("/etc/wireguard/wg-ci.key"))
	info, err := os.Stat(filepath.Join(n.root, "etc", "wireguard", "wg-ci.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	conf := n.read("/etc/wireguard/wg-ci.conf")
	for _, want := range []string{"ListenPort = 51820", "Address = " + cluster.CIServerAddress + "/32", "PublicKey = " + peer,
		"AllowedIPs = " + cluster.CIPeerAddress + "/32", "PostUp = wg set %i private-key " + filepath.Join(n.root, "etc", "wireguard", "wg-ci.key")} {
		assert.Contains(t, conf, want)
	}
	assert.NotContains(t, conf, private, "the key stays in its own file")
	assert.NotContains(t, calls, private, "the private key is in no command line")
	assert.Contains(t, calls, "systemctl restart wg-quick@wg-ci")
	assert.Contains(t, calls, "curl -sfS --retry 10 --retry-delay 3 --retry-all-errors --local-port 1-1023 -X PATCH -H Content-Type: text/plain --data-binary @- http://169.254.42.42/user_data/"+cluster.CIPublicKeyUserData)
	assert.Contains(t, calls, "stdin "+public, "the public key is what is published")
	assert.Contains(t, conf, "PostUp = nft -f "+filepath.Join(n.root, "etc", "apk8s", "ci-forward.nft"))
	assert.Contains(t, conf, "PostDown = nft delete table inet apk8s_ci")

	// A new CI key: the interface takes it, the node's key stays.
	other := ciPeerKey(t)
	n.file(cluster.CIEnvPath, strings.Replace(file(t, cc, cluster.CIEnvPath).Content, peer, other, 1))
	n.run(script, "STUB_PRIVATE="+private, "STUB_PUBLIC="+public)
	require.NoError(t, n.err, n.stderr)
	calls = strings.Join(n.calls(), "\n")
	assert.Equal(t, 2, strings.Count(calls, "systemctl restart wg-quick@wg-ci"), "new settings restart the interface")
	assert.Contains(t, n.read("/etc/wireguard/wg-ci.conf"), "PublicKey = "+other)
	assert.Equal(t, 1, strings.Count(calls, "wg genkey"))

	require.NoError(t, os.Remove(filepath.Join(n.bin, "wg")))
	n.env = append(n.env, "PATH="+n.bin) // no wg anywhere
	n.run(script)
	assert.Error(t, n.err)
	assert.Contains(t, n.stdout+n.stderr, "wireguard-tools is not installed")
}

// TestClusterComponentChecksItsCIPath: the cluster component, used on its
// own, refuses a CI path the stack config would have refused too: a port
// outside 1024 to 65535 (the edges allowed) and a malformed peer key, and
// registers nothing of the cluster.
func TestClusterComponentChecksItsCIPath(t *testing.T) {
	t.Parallel()
	peer := ciPeerKey(t)
	tests := []struct {
		name string
		path cluster.CIPath
		err  string // "" = accepted
	}{
		{"lowest port", cluster.CIPath{PeerPublicKey: peer, Port: 1024}, ""},
		{"highest port", cluster.CIPath{PeerPublicKey: peer, Port: 65535}, ""},
		{"privileged port", cluster.CIPath{PeerPublicKey: peer, Port: 1023}, "CI WireGuard port 1023: want 1024 to 65535"},
		{"beyond the range", cluster.CIPath{PeerPublicKey: peer, Port: 65536}, "CI WireGuard port 65536: want 1024 to 65535"},
		{"malformed key", cluster.CIPath{PeerPublicKey: "not-a-key", Port: 51820}, `CI WireGuard peer key "not-a-key"`},
		{"no path", cluster.CIPath{Port: 1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Run{Stack: "dev3", Program: func(ctx *pulumi.Context) error {
				cfg, err := stacks.Load(ctx)
				if err != nil {
					return err
				}
				c := cfg.Scaleway.Cluster
				c.CI = tt.path
				_, err = cluster.New(ctx, "cluster", cluster.Args{Prefix: stacks.ResourcePrefix(ctx.Stack()), Config: c})
				return err
			}}.Do(t)
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.err)
			assert.Empty(t, g.Find(tokServer), "no server registered")
		})
	}
}

// TestClusterCIKeyRepublished: a change of the control plane's user data
// (the provider writes it as a whole, dropping the key the node published
// there) is followed by a command on the control plane that publishes the
// key again and applies the endpoint's current settings; a change that
// leaves the user data as it was does not run it.
func TestClusterCIKeyRepublished(t *testing.T) {
	t.Parallel()
	peer := ciPeerKey(t)
	record := func(set map[string]string, like *Recorded) *Recorded {
		set["ciWireguardPublicKey"] = peer
		rec, err := Run{Stack: "dev3", Set: set}.recordLike(t, true, like)
		require.NoError(t, err)
		return rec
	}
	rec := record(map[string]string{}, nil)
	cp, _ := servers(t, rec.Graph)
	cmd := one(t, rec.Graph, tokRemoteCmd, "cluster-cp-ci")
	reconcile := one(t, rec.Graph, tokRemoteCmd, "cluster-cp-k3s")
	assert.Contains(t, cmd.DependsOn, cp.URN, "after the server's update, which rewrites the user data")
	assert.Contains(t, cmd.DependsOn, reconcile.URN, "after cloud-init's first run")
	script := str(cmd.Plain(), "create")
	assert.Equal(t, script, str(cmd.Plain(), "update"), "an update runs it again")
	assert.False(t, cmd.Inputs["create"].IsSecret(), "its diff is readable in a preview")
	for _, want := range []string{cluster.CIEnvPath, cluster.CIScriptPath, "CI_PEER_PUBLIC_KEY='" + peer + "'", "exec " + cluster.CIScriptPath} {
		assert.Contains(t, script, want)
	}
	kubeconfig := one(t, rec.Graph, tokRemoteCmd, "cluster-kubeconfig")
	assert.Contains(t, kubeconfig.DependsOn, cmd.URN)

	digest := regexp.MustCompile(`after the user data (sha256:[0-9a-f]{64})`)
	before := digest.FindStringSubmatch(script)
	require.NotNil(t, before)
	// A new k3s version changes the control plane's user data.
	upgraded := str(one(t, record(map[string]string{"k3sVersion": "v1.34.10+k3s1"}, rec).Graph, tokRemoteCmd, "cluster-cp-ci").Plain(), "create")
	assert.NotEqual(t, before[1], digest.FindStringSubmatch(upgraded)[1], "a new user data, the key published again")
	// Another worker type leaves it as it was.
	same := str(one(t, record(map[string]string{"workerType": "DEV1-XL"}, rec).Graph, tokRemoteCmd, "cluster-cp-ci").Plain(), "create")
	assert.Equal(t, script, same, "the same user data, nothing to do")

	assert.Empty(t, slices.DeleteFunc(Run{Stack: "dev3"}.Shared(t).Graph.Find(tokRemoteCmd), func(r *Res) bool { return r.Name != "cluster-cp-ci" }),
		"no CI path, no republish")
}
