package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/components/cluster"
)

// restoreK3sStub is a k3s that logs its arguments, lists two snapshots,
// restores unless STUB_RESTORE_FAIL, and answers /readyz.
const restoreK3sStub = `echo "k3s $*" >> "$LOG"
case "$1 $2" in
  "etcd-snapshot ls") echo "Name Location Size Created"; echo "etcd-snapshot-apk8s-dev3-cp-1765000000 s3://apk8s-dev3-etcd-snapshots/etcd-snapshot-apk8s-dev3-cp-1765000000 1234 2026-12-06T00:00:00Z" ;;
  "server --cluster-reset") [ -z "${STUB_RESTORE_FAIL:-}" ] ;;
esac`

// restoreNode is a node with the restore script installed, as the server
// i (counting from 1) of a cluster of servers.
func restoreNode(t *testing.T, role, datastore string, i, servers int) (*node, string) {
	t.Helper()
	n := newNode(t)
	require.NoError(t, os.WriteFile(filepath.Join(n.bin, "k3s"), []byte("#!/bin/bash\n"+restoreK3sStub+"\n"), 0o755))
	nd := cluster.Node{Role: role, K3sVersion: "v1.37.2+k3s1", PrivateCIDR: "172.16.16.0/22",
		ServerHost: cluster.ServerHost("apk8s-dev3", i), Datastore: datastore, Servers: servers}
	if i > 1 {
		nd.JoinHost = cluster.ServerHost("apk8s-dev3", 1)
	}
	script, err := cluster.ReconcileScript(nd)
	require.NoError(t, err)
	_, env, _ := strings.Cut(script, "<<'APK8S_EOF'\n")
	env, _, _ = strings.Cut(env, "APK8S_EOF")
	n.file(cluster.EnvPath, env)
	if role == cluster.RoleServer {
		assert.Contains(t, script, cluster.RestorePath, "the program puts the restore script on every server")
	} else {
		assert.NotContains(t, script, cluster.RestorePath)
	}
	n.file(cluster.AgentTokenPath, "agent-token: agt\ntoken: srv\n")
	return n, filepath.Join(repoRoot, "components", "cluster", "etcd-restore.sh")
}

// TestRestoreScript: list shows the snapshots (k3s reads the S3 settings
// from its config); restore runs on the first etcd server only, refuses a
// cluster of three until the others are stopped, stops k3s, resets it to
// the snapshot, starts it and waits for the API server, in that order;
// rejoin runs on the other servers and moves their old etcd data aside;
// every refusal says what to do instead.
func TestRestoreScript(t *testing.T) {
	t.Parallel()
	const snap = "etcd-snapshot-apk8s-dev3-cp-1765000000"
	t.Run("list", func(t *testing.T) {
		n, script := restoreNode(t, cluster.RoleServer, cluster.DatastoreEtcd, 1, 1)
		require.NoError(t, n.runArgs(script, nil, "list"), n.stderr)
		assert.Contains(t, n.stdout, snap)
		assert.Equal(t, []string{"k3s etcd-snapshot ls"}, n.calls())
	})
	t.Run("restore on one server", func(t *testing.T) {
		n, script := restoreNode(t, cluster.RoleServer, cluster.DatastoreEtcd, 1, 1)
		require.NoError(t, n.runArgs(script, nil, "restore", snap), n.stderr)
		calls := n.calls()
		stop, reset, start, ready := n.index("systemctl stop k3s"), n.index("k3s server --cluster-reset"), n.index("systemctl start k3s"), n.index("k3s kubectl get --raw /readyz")
		require.GreaterOrEqual(t, stop, 0, calls)
		assert.Equal(t, "k3s server --cluster-reset --cluster-reset-restore-path="+snap, calls[reset])
		assert.True(t, stop < reset && reset < start && start < ready, "stop, reset, start, wait: %v", calls)
		assert.Contains(t, n.stderr, "restored "+snap)
	})
	t.Run("restore on three servers", func(t *testing.T) {
		n, script := restoreNode(t, cluster.RoleServer, cluster.DatastoreEtcd, 1, 3)
		require.NoError(t, n.runArgs(script, nil, "restore", snap, "--others-stopped"), n.stderr)
		assert.Contains(t, n.stderr, "run 'apk8s-etcd-restore rejoin' on each other server")
	})
	t.Run("rejoin", func(t *testing.T) {
		n, script := restoreNode(t, cluster.RoleServer, cluster.DatastoreEtcd, 2, 3)
		n.file("/var/lib/rancher/k3s/server/db/etcd/member", "old")
		require.NoError(t, n.runArgs(script, nil, "rejoin"), n.stderr)
		assert.Equal(t, []string{"systemctl stop k3s", "systemctl start k3s"}, n.calls())
		assert.Empty(t, n.read("/var/lib/rancher/k3s/server/db/etcd/member"), "the old member data is moved aside")
		matches, _ := filepath.Glob(filepath.Join(n.root, "var/lib/rancher/k3s/server/db.before-restore-*/etcd/member"))
		assert.Len(t, matches, 1, "kept, not deleted")
	})
	refusals := []struct {
		name            string
		role, datastore string
		i, servers      int
		args, env       []string
		want            string
	}{
		{"on an agent", cluster.RoleAgent, "", 1, 1, []string{"list"}, nil, "this node is a k3s agent"},
		{"on SQLite", cluster.RoleServer, cluster.DatastoreSQLite, 1, 1, []string{"list"}, nil, "keeps its datastore in SQLite"},
		{"others running", cluster.RoleServer, cluster.DatastoreEtcd, 1, 3, []string{"restore", snap}, nil, "stop k3s on the others first"},
		{"on a joining server", cluster.RoleServer, cluster.DatastoreEtcd, 2, 3, []string{"restore", snap, "--others-stopped"}, nil, "restore on that first server"},
		{"rejoin on the first", cluster.RoleServer, cluster.DatastoreEtcd, 1, 3, []string{"rejoin"}, nil, "this is the first server"},
		{"no snapshot name", cluster.RoleServer, cluster.DatastoreEtcd, 1, 1, []string{"restore"}, nil, "usage:"},
		{"a flag for a name", cluster.RoleServer, cluster.DatastoreEtcd, 1, 1, []string{"restore", "--others-stopped"}, nil, "usage:"},
		{"k3s cannot restore", cluster.RoleServer, cluster.DatastoreEtcd, 1, 1, []string{"restore", snap}, []string{"STUB_RESTORE_FAIL=1"}, "k3s stays stopped"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			n, script := restoreNode(t, tt.role, tt.datastore, tt.i, tt.servers)
			require.Error(t, n.runArgs(script, tt.env, tt.args...))
			assert.Contains(t, n.stderr, tt.want)
			if tt.name != "k3s cannot restore" {
				assert.Equal(t, -1, n.index("systemctl"), "nothing stopped: %v", n.calls())
				assert.Equal(t, -1, n.index("k3s server"), "nothing reset")
			} else {
				assert.Equal(t, -1, n.index("systemctl start"), "not started on a failed reset")
			}
		})
	}
	t.Run("no server token", func(t *testing.T) {
		n, script := restoreNode(t, cluster.RoleServer, cluster.DatastoreEtcd, 1, 1)
		n.file(cluster.AgentTokenPath, "agent-token: agt\n")
		require.Error(t, n.runArgs(script, nil, "restore", snap))
		assert.Contains(t, n.stderr, "no server token")
		assert.Equal(t, -1, n.index("systemctl"))
	})
}

// runArgs runs script with bash, arguments and extra environment.
func (n *node) runArgs(script string, extra []string, args ...string) error {
	n.t.Helper()
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = append(append([]string{}, n.env...), extra...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	n.err = cmd.Run()
	n.stdout, n.stderr = out.String(), errb.String()
	return n.err
}
