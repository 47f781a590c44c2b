package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/apk8s/apk8s-platform/components/cluster"
	"github.com/apk8s/apk8s-platform/stacks"
)

// serverNodes are the k3s servers of a graph, the first first.
func serverNodes(t *testing.T, g *Graph) []*Res {
	t.Helper()
	var out []*Res
	for i := 1; ; i++ {
		name := cluster.ServerResource("cluster", i)
		found := false
		for _, s := range g.Find(tokServer) {
			if s.Name == name {
				out, found = append(out, s), true
			}
		}
		if !found {
			return out
		}
	}
}

// TestThreeServers: controlPlaneCount 3 makes three servers on embedded
// etcd: the first starts it (no join), the others join the first by its
// private DNS name; each gets both tokens over SSH, in turn, after the one
// before runs k3s; the agents know all three names; the kubeconfig waits
// for every node; no token is in any user data.
func TestThreeServers(t *testing.T) {
	t.Parallel()
	rec := Run{Stack: "dev3", Set: map[string]string{"controlPlaneCount": "3"}}.Shared(t)
	g := rec.Graph
	prefix := stacks.ResourcePrefix("dev3")
	servers := serverNodes(t, g)
	require.Len(t, servers, 3)
	var hosts []string
	for i := range servers {
		hosts = append(hosts, cluster.ServerHost(prefix, i+1))
	}
	assert.Equal(t, []string{"apk8s-dev3-cp.apk8s-dev3.internal", "apk8s-dev3-cp-2.apk8s-dev3.internal", "apk8s-dev3-cp-3.apk8s-dev3.internal"}, hosts)

	var previous *Res
	for i, s := range servers {
		env := envOf(t, cloudConfig(t, s))
		assert.Equal(t, "server", env["K3S_ROLE"])
		assert.Equal(t, cluster.DatastoreEtcd, env["K3S_DATASTORE"], s.Name)
		assert.Equal(t, hosts[i], env["SERVER_HOST"], "%s's certificate carries its own name", s.Name)
		if i == 0 {
			assert.Empty(t, env["K3S_JOIN"], "the first server starts etcd")
		} else {
			assert.Equal(t, hosts[0], env["K3S_JOIN"], "%s joins the first", s.Name)
		}
		assert.Equal(t, fmt.Sprintf("apk8s-dev3-cp%s", map[bool]string{true: "", false: fmt.Sprintf("-%d", i+1)}[i == 0]), s.Plain()["name"])
		deliver := one(t, g, tokRemoteCmd, s.Name+"-agent-token")
		assert.Equal(t, []any{idOf(s)}, deliver.Plain()["triggers"])
		var stdin map[string]any
		require.NoError(t, yaml.UnmarshalStrict([]byte(str(deliver.Plain(), "stdin")), &stdin))
		assert.Equal(t, map[string]any{"token": rec.ServerToken, "agent-token": rec.Token}, stdin, "every server gets the same two tokens")
		k3s := one(t, g, tokRemoteCmd, s.Name+"-k3s")
		assert.Contains(t, k3s.DependsOn, deliver.URN)
		if previous != nil {
			assert.Contains(t, deliver.DependsOn, previous.URN, "%s joins once the server before it runs", s.Name)
		}
		previous = k3s
	}
	var workers []*Res
	for _, w := range g.Find(tokServer) {
		if strings.Contains(w.Name, "-worker-") {
			workers = append(workers, w)
		}
	}
	require.Len(t, workers, 3)
	for _, w := range workers {
		assert.Equal(t, strings.Join(hosts, " "), envOf(t, cloudConfig(t, w))["SERVER_HOST"], "%s may join through any server", w.Name)
		assert.Contains(t, one(t, g, tokRemoteCmd, w.Name+"-k3s").DependsOn, previousURN(t, g, w, servers), "%s after the servers, one node at a time", w.Name)
	}
	assert.Contains(t, str(one(t, g, tokRemoteCmd, "cluster-kubeconfig").Plain(), "create"), "NODES=6")

	secrets := rec.Secrets()
	for _, r := range g.All {
		for _, leak := range secretLeaks(r.Type+" "+r.Name, resource.NewProperty(r.Inputs), secrets) {
			t.Error(leak)
		}
	}
	for _, s := range append(servers, workers...) {
		data := str(s.Plain()["userData"].(map[string]any), "cloud-init")
		assert.NotContains(t, data, rec.ServerToken, "%s's user data holds the server token", s.Name)
	}
}

// previousURN is the URN of the reconcile command worker w waits for: the
// last server's for the first worker, else the worker before it.
func previousURN(t *testing.T, g *Graph, w *Res, servers []*Res) string {
	t.Helper()
	if w.Name == "cluster-worker-1" {
		return one(t, g, tokRemoteCmd, servers[len(servers)-1].Name+"-k3s").URN
	}
	var i int
	_, _ = fmt.Sscanf(w.Name, "cluster-worker-%d", &i)
	return one(t, g, tokRemoteCmd, fmt.Sprintf("cluster-worker-%d-k3s", i-1)).URN
}

// TestOneServerKeepsSQLite: the book's single server keeps k3s's default
// datastore, with no join.
func TestOneServerKeepsSQLite(t *testing.T) {
	t.Parallel()
	g := Run{Stack: "dev3"}.Shared(t).Graph
	servers := serverNodes(t, g)
	require.Len(t, servers, 1)
	env := envOf(t, cloudConfig(t, servers[0]))
	assert.Equal(t, cluster.DatastoreSQLite, env["K3S_DATASTORE"])
	assert.Empty(t, env["K3S_JOIN"])
}

// TestControlPlaneCount: 1 or 3, edges refused; a deployed cluster of
// three servers does not go back to one.
func TestControlPlaneCount(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"1", "3"} {
		_, err := loadConfig(t, Run{Stack: "dev3", Set: map[string]string{"controlPlaneCount": n}})
		assert.NoError(t, err, n)
	}
	bad := []badConfig{}
	for _, n := range []string{"0", "2", "4", "three"} {
		bad = append(bad, badConfig{"count " + n, Run{Stack: "dev3", Set: map[string]string{"controlPlaneCount": n}},
			[]string{fmt.Sprintf(`apk8s-platform:controlPlaneCount = %q is not allowed`, n), "1 (one server) or 3"}})
	}
	checkBadConfigs(t, bad)
	three := deployed(Default(t, "k3sVersion"))
	three["controlPlaneCount"] = float64(3)
	g := badConfig{"three to one", Run{Stack: "dev3", Set: map[string]string{"controlPlaneCount": "1"}, Last: three},
		[]string{`apk8s-platform:controlPlaneCount = "1" is not allowed`, "3, the servers this cluster runs"}}.refused(t)
	assert.Empty(t, g.All)
	one := deployed(Default(t, "k3sVersion"))
	one["controlPlaneCount"] = float64(1)
	Run{Stack: "dev3", Set: map[string]string{"controlPlaneCount": "3"}, Last: one}.MustDo(t)
}

// TestClusterIdentity: the provider's clusterIdentifier is the cluster CA's
// hash: a replaced first server (a new ID) whose datastore is restored
// (the same CA) keeps it, so no Kubernetes object is replaced; a new empty
// cluster (a new CA) gets a new one. A stack from before the CA identity
// keeps its server ID.
func TestClusterIdentity(t *testing.T) {
	t.Parallel()
	provider := func(rec *Recorded) string {
		return str(rec.Find(tokK8sProv)[0].Plain(), "clusterIdentifier")
	}
	first := Run{Stack: "dev3"}.Shared(t)
	replaced, err := Run{Stack: "dev3", Set: map[string]string{"controlPlaneType": "DEV1-L"}}.recordLike(t, true, first)
	require.NoError(t, err)
	assert.Equal(t, provider(first), provider(replaced), "a replaced server with the same CA keeps every object")
	assert.Regexp(t, "^ca-sha256:", provider(first))

	fresh, err := Run{Stack: "dev3"}.Record(t, true)
	require.NoError(t, err)
	assert.NotEqual(t, provider(first), provider(fresh), "a new CA is a new cluster")

	legacy, err := Run{Stack: "dev3", Last: deployed(Default(t, "k3sVersion"))}.Record(t, true)
	require.NoError(t, err)
	assert.Equal(t, idOf(serverNodes(t, legacy.Graph)[0]), provider(legacy), "a stack from before keeps its server's ID")
	caLast := deployed(Default(t, "k3sVersion"))
	caLast["clusterIdentity"] = provider(first)
	current, err := Run{Stack: "dev3", Last: caLast}.recordLike(t, true, first)
	require.NoError(t, err)
	assert.Equal(t, provider(first), provider(current))
}

// runStdin runs script with bash, stdin and extra environment.
func (n *node) runStdin(script, stdin string, extra ...string) error {
	n.t.Helper()
	cmd := exec.Command("bash", script)
	cmd.Env = append(append([]string{}, n.env...), extra...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	n.err = cmd.Run()
	n.stdout, n.stderr = out.String(), errb.String()
	return n.err
}

// serverEnv writes a server's bootstrap env file.
func (n *node) serverEnv(datastore, join string) {
	n.t.Helper()
	script, err := cluster.ReconcileScript(cluster.Node{Role: cluster.RoleServer, K3sVersion: "v1.37.2+k3s1", PrivateCIDR: "172.16.16.0/22",
		ServerHost: "apk8s-dev3-cp-2.apk8s-dev3.internal", Datastore: datastore, JoinHost: join})
	require.NoError(n.t, err)
	_, env, _ := strings.Cut(script, "<<'APK8S_EOF'\n")
	env, _, _ = strings.Cut(env, "APK8S_EOF")
	n.file(cluster.EnvPath, env)
}

// TestBootstrapDatastore: the first etcd server starts the cluster
// (cluster-init), a joining one names the first by DNS and never starts
// its own; a SQLite server does neither; an agent joins through the first
// server name that resolves.
func TestBootstrapDatastore(t *testing.T) {
	t.Parallel()
	first := "apk8s-dev3-cp.apk8s-dev3.internal"
	for _, tt := range []struct {
		name, datastore, join string
		want, wantNot         []string
	}{
		{"first etcd server", cluster.DatastoreEtcd, "", []string{"cluster-init: true"}, []string{"server:"}},
		{"joining server", cluster.DatastoreEtcd, first, []string{"server: https://" + first + ":6443"}, []string{"cluster-init"}},
		{"single server", cluster.DatastoreSQLite, "", nil, []string{"cluster-init", "server:"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t)
			n.serverEnv(tt.datastore, tt.join)
			n.file(cluster.AgentTokenPath, "token: srv\nagent-token: agt\n")
			n.run(n.bootstrap)
			require.NoError(t, n.err, n.stderr)
			network := n.read(cluster.PrivateNetworkConfigPath)
			for _, w := range tt.want {
				assert.Contains(t, network, w)
			}
			for _, w := range tt.wantNot {
				assert.NotContains(t, network, w)
			}
			if tt.join != "" {
				assert.Less(t, n.index("getent ahostsv4 "+first), n.index("installer "), "the first server resolves before the install")
				assert.Contains(t, n.read("/etc/systemd/system/k3s.service.d/apk8s-private-dns.conf"), "resolvectl dns ens5 169.254.169.254")
			}
		})
	}
	t.Run("in place to etcd", func(t *testing.T) {
		t.Parallel()
		n := newNode(t)
		n.serverEnv(cluster.DatastoreSQLite, "")
		n.file(cluster.AgentTokenPath, "token: srv\nagent-token: agt\n")
		n.run(n.bootstrap)
		require.NoError(t, n.err, n.stderr)
		before := len(n.calls())
		n.serverEnv(cluster.DatastoreEtcd, "")
		n.run(n.bootstrap)
		require.NoError(t, n.err, n.stderr)
		again := strings.Join(n.calls()[before:], "\n")
		assert.Contains(t, again, "systemctl restart k3s", "k3s restarts with cluster-init, which moves SQLite into etcd")
		assert.NotContains(t, again, "installer ", "no reinstall")
	})
	t.Run("agent skips a server that is gone", func(t *testing.T) {
		t.Parallel()
		n := newNode(t)
		hosts := "apk8s-dev3-cp.apk8s-dev3.internal apk8s-dev3-cp-2.apk8s-dev3.internal apk8s-dev3-cp-3.apk8s-dev3.internal"
		script, err := cluster.ReconcileScript(cluster.Node{Role: cluster.RoleAgent, K3sVersion: "v1.37.2+k3s1", PrivateCIDR: "172.16.16.0/22", ServerHost: hosts})
		require.NoError(t, err)
		_, env, _ := strings.Cut(script, "<<'APK8S_EOF'\n")
		env, _, _ = strings.Cut(env, "APK8S_EOF")
		n.file(cluster.EnvPath, env)
		n.run(n.bootstrap, "STUB_NO_DNS_HOST=apk8s-dev3-cp.apk8s-dev3.internal")
		require.NoError(t, n.err, n.stderr)
		assert.Contains(t, n.read(cluster.PrivateNetworkConfigPath), "server: https://apk8s-dev3-cp-2.apk8s-dev3.internal:6443")
	})
}

// tokenK3sStub is a k3s that logs its arguments and the token variables it
// was given (never their values on the command line) and fails its token
// rotation with STUB_ROTATE_FAIL.
const tokenK3sStub = `echo "k3s $* K3S_TOKEN=${K3S_TOKEN:-} K3S_NEW_TOKEN=${K3S_NEW_TOKEN:-}" >> "$LOG"
[ -n "${STUB_ROTATE_FAIL:-}" ] && exit 1
exit 0`

// TestTokensScript: the tokens drop-in comes from stdin, readable by root
// only; a server whose datastore has a token k3s made itself is rotated to
// the program's (through the environment, not the command line) and
// restarted; a failed rotation leaves the old drop-in and says so.
func TestTokensScript(t *testing.T) {
	t.Parallel()
	script := filepath.Join(repoRoot, "components", "cluster", "k3s-tokens.sh")
	stdin := "agent-token: agt\ntoken: newtok\n"
	for _, tt := range []struct {
		name, current string
		fail          bool
		rotate        bool
	}{
		{"a new server", "", false, false},
		{"the same token", "K10abc::server:newtok", false, false},
		{"a token k3s made", "K10abc::server:oldtok", false, true},
		{"a rotation that fails", "K10abc::server:oldtok", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t)
			n.file(cluster.AgentTokenPath, "agent-token: before\n")
			if tt.current != "" {
				n.file("/var/lib/rancher/k3s/server/token", tt.current+"\n")
			}
			var extra []string
			if tt.fail {
				extra = append(extra, "STUB_ROTATE_FAIL=1")
			}
			require.NoError(t, os.WriteFile(filepath.Join(n.bin, "k3s"), []byte("#!/bin/bash\n"+tokenK3sStub+"\n"), 0o755))
			cmd := n.runStdin(script, stdin, extra...)
			calls := strings.Join(n.calls(), "\n")
			if !tt.rotate {
				require.NoError(t, cmd, n.stderr)
				assert.NotContains(t, calls, "token rotate")
				assert.NotContains(t, calls, "restart")
				assert.Equal(t, stdin, n.read(cluster.AgentTokenPath))
				return
			}
			assert.Contains(t, calls, "k3s token rotate K3S_TOKEN=oldtok K3S_NEW_TOKEN=newtok", "the tokens go through the environment")
			if tt.fail {
				require.Error(t, cmd)
				assert.Contains(t, n.stderr, "k3s token rotate failed")
				assert.Equal(t, "agent-token: before\n", n.read(cluster.AgentTokenPath), "the old drop-in stays")
				assert.NotContains(t, calls, "restart")
				return
			}
			require.NoError(t, cmd, n.stderr)
			assert.Equal(t, stdin, n.read(cluster.AgentTokenPath))
			assert.Contains(t, calls, "systemctl restart k3s")
			info, err := os.Stat(filepath.Join(n.root, cluster.AgentTokenPath))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
		})
	}
}

// TestOneToThreeInPlace: growing a running single server to three (or
// turning snapshots on) replaces nothing: every resource of the single
// server's stack is still there, servers and commands change only their
// user data and scripts (the first server's env gains K3S_DATASTORE etcd,
// which its bootstrap turns into cluster-init), the provider keeps its
// identity, and the new servers, their IPs and commands are added.
func TestOneToThreeInPlace(t *testing.T) {
	before := Run{Stack: "dev3"}.MustRecord(t)
	for name, set := range map[string]map[string]string{
		"three servers": {"controlPlaneCount": "3"},
		"snapshots":     snapshotSet(nil),
	} {
		t.Run(name, func(t *testing.T) {
			after, err := Run{Stack: "dev3", Set: set}.recordLike(t, true, before)
			require.NoError(t, err)
			for _, b := range before.All {
				a := after.ByURN(b.URN)
				require.NotNil(t, a, "%s is kept", b.URN)
				ignored := before.Request(b).GetIgnoreChanges()
				for key, bv := range b.Plain() {
					changed := fmt.Sprint(a.Plain()[key]) != fmt.Sprint(bv)
					switch {
					case slices.ContainsFunc(ignored, func(p string) bool { return p == key || strings.HasPrefix(p, key+".") }):
						// the engine keeps the old value (the basic-auth salt)
					case b.Type == tokServer && key == "userData",
						b.Type == tokRemoteCmd && strings.HasSuffix(b.Name, "-k3s") && (key == "create" || key == "update"),
						b.Type == tokRemoteCmd && b.Name == "cluster-kubeconfig" && key == "create":
						// updated in place
					default:
						assert.False(t, changed, "%s %s.%s changes", b.Type, b.Name, key)
					}
				}
			}
			cp := one(t, after.Graph, tokRemoteCmd, "cluster-cp-k3s")
			assert.Contains(t, cp.Plain()["create"], "K3S_DATASTORE='etcd'")
			assert.Greater(t, len(after.All), len(before.All))
		})
	}
}
