package tests

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/components/cluster"
	"github.com/apk8s/apk8s-platform/stacks"
)

// The node scripts run here against stubs of the tools they call: each
// stub logs its arguments to calls.log and answers as the real tool would
// on a node (a STUB_* variable makes it fail). date advances 100 s a call,
// so the scripts' deadlines pass in a moment, and sleep returns at once.
var nodeStubs = map[string]string{
	"ip": `echo "ip $*" >> "$LOG"
[ -n "${STUB_NO_PRIVATE_ADDR:-}" ] && exit 0
case "$*" in
  "-o -4 addr show to "*) echo "3: ens5    inet 172.16.16.11/22 metric 100 brd 172.16.19.255 scope global dynamic ens5\       valid_lft 86000sec" ;;
  *) echo "1: lo    inet 127.0.0.1/8 scope host lo" ;;
esac`,
	"getent":     `echo "getent $*" >> "$LOG"; [ -z "${STUB_NO_DNS:-}" ] && [ "$2" != "${STUB_NO_DNS_HOST:-}" ] && echo "172.16.16.10    STREAM $2"`,
	"resolvectl": `echo "resolvectl $*" >> "$LOG"`,
	"systemctl": `echo "systemctl $*" >> "$LOG"
[ "$*" = "enable --now apk8s-metadata-block.service" ] && [ -z "${STUB_NFT_FAIL:-}" ] && touch "$STATE/nft-loaded"
exit 0`,
	"nft": `echo "nft $*" >> "$LOG"; [ -e "$STATE/nft-loaded" ]`,
	// The installer that curl downloads logs its version and role and
	// leaves a k3s that reports that version.
	"curl": `echo "curl $*" >> "$LOG"
[ -n "${STUB_CURL_FAIL:-}" ] && exit 22
[ -n "${STUB_PINNED_MISSING:-}" ] && [[ "$*" == *raw.githubusercontent.com* ]] && exit 22
while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
cat > "$out" <<'EOF'
echo "installer version=$INSTALL_K3S_VERSION args=$*" >> "$LOG"
printf '#!/bin/sh\necho "k3s version %s (0000000)"\n' "$INSTALL_K3S_VERSION" > "$BIN/k3s"
chmod +x "$BIN/k3s"
EOF`,
	"date":       `n=$(cat "$STATE/clock" 2>/dev/null || echo 1700000000); echo $((n + 100)) > "$STATE/clock"; echo "$n"`,
	"sleep":      `:`,
	"cloud-init": `echo "cloud-init $*" >> "$LOG"`,
}

// node is a scratch root and PATH for one run of a node script.
type node struct {
	t                  *testing.T
	root, bin, state   string
	log                string
	env                []string
	stdout, stderr     string
	err                error
	bootstrap, kubecfg string
}

func newNode(t *testing.T) *node {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	n := &node{t: t, root: filepath.Join(dir, "root"), bin: filepath.Join(dir, "bin"), state: filepath.Join(dir, "state")}
	n.log = filepath.Join(n.state, "calls.log")
	for _, d := range []string{n.root, n.bin, n.state} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	for name, body := range nodeStubs {
		require.NoError(t, os.WriteFile(filepath.Join(n.bin, name), []byte("#!/bin/bash\n"+body+"\n"), 0o755))
	}
	n.bootstrap = filepath.Join(repoRoot, "components", "cluster", "k3s-bootstrap.sh")
	n.kubecfg = filepath.Join(repoRoot, "components", "cluster", "kubeconfig.sh")
	n.env = []string{"PATH=" + n.bin + ":/usr/bin:/bin", "APK8S_ROOT=" + n.root, "LOG=" + n.log, "STATE=" + n.state, "BIN=" + n.bin, "HOME=" + dir}
	return n
}

// file writes a file under the node's root.
func (n *node) file(path, content string) {
	n.t.Helper()
	p := filepath.Join(n.root, path)
	require.NoError(n.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(n.t, os.WriteFile(p, []byte(content), 0o600))
}

// read is a file under the node's root ("" when missing).
func (n *node) read(path string) string {
	b, _ := os.ReadFile(filepath.Join(n.root, path))
	return string(b)
}

// envFile writes the bootstrap's parameters as cloud-init would.
func (n *node) envFile(role, version string) {
	n.t.Helper()
	script, err := cluster.ReconcileScript(cluster.Node{Role: role, K3sVersion: version, PrivateCIDR: "172.16.16.0/22",
		ServerHost: cluster.ControlPlaneHost(stacks.ResourcePrefix("dev3"))})
	require.NoError(n.t, err)
	_, env, _ := strings.Cut(script, "<<'APK8S_EOF'\n")
	env, _, _ = strings.Cut(env, "APK8S_EOF")
	n.file(cluster.EnvPath, env)
}

// run runs script with bash and extra environment.
func (n *node) run(script string, extra ...string) {
	n.t.Helper()
	cmd := exec.Command("bash", script)
	cmd.Env = append(append([]string{}, n.env...), extra...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	n.err = cmd.Run()
	n.stdout, n.stderr = out.String(), errb.String()
}

// calls are the logged tool calls, in order.
func (n *node) calls() []string {
	f, err := os.Open(n.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	for s := bufio.NewScanner(f); s.Scan(); {
		out = append(out, s.Text())
	}
	return out
}

// index is the position of the first call starting with prefix, -1 if none.
func (n *node) index(prefix string) int {
	for i, c := range n.calls() {
		if strings.HasPrefix(c, prefix) {
			return i
		}
	}
	return -1
}

// TestBootstrapInstallsAfterTheMetadataBlock: on both roles the firewall
// unit is enabled and its table checked before the installer runs; the
// role reaches the installer; an agent names the control plane by its DNS
// name and keeps the private DNS across restarts; the server waits for the
// agent token and has none on the command line.
func TestBootstrapInstallsAfterTheMetadataBlock(t *testing.T) {
	t.Parallel()
	host := cluster.ControlPlaneHost(stacks.ResourcePrefix("dev3"))
	for _, role := range []string{cluster.RoleServer, cluster.RoleAgent} {
		t.Run(role, func(t *testing.T) {
			t.Parallel()
			n := newNode(t)
			n.envFile(role, "v1.34.6+k3s1")
			if role == cluster.RoleServer {
				n.file(cluster.AgentTokenPath, "agent-token: sekret\n")
			}
			n.run(n.bootstrap)
			require.NoError(t, n.err, "stderr: %s", n.stderr)

			block, check, install := n.index("systemctl enable --now apk8s-metadata-block.service"), n.index("nft list table inet apk8s_metadata"), n.index("installer ")
			require.GreaterOrEqual(t, block, 0, "the firewall unit is enabled: %v", n.calls())
			require.GreaterOrEqual(t, install, 0, "k3s is installed: %v", n.calls())
			assert.Less(t, block, check)
			assert.Less(t, check, install, "the metadata block is in place before k3s is installed")
			assert.Equal(t, "installer version=v1.34.6+k3s1 args="+role, n.calls()[install], "the role reaches the installer")
			assert.Contains(t, n.calls()[n.index("curl ")], "k3s-io/k3s/v1.34.6%2Bk3s1/install.sh", "the pinned release's installer")

			network := n.read(cluster.PrivateNetworkConfigPath)
			assert.Contains(t, network, "node-ip: 172.16.16.11\nflannel-iface: ens5\n")
			if role == cluster.RoleAgent {
				assert.Contains(t, network, "server: https://"+host+":6443", "the control plane by name")
				assert.NotContains(t, network, "172.16.16.10", "not by the address it had at boot")
				assert.Less(t, n.index("getent ahostsv4 "+host), install, "the name resolves before the install")
				dropin := n.read("/etc/systemd/system/k3s-agent.service.d/apk8s-private-dns.conf")
				assert.Contains(t, dropin, "ExecStartPre=-/usr/bin/resolvectl dns ens5 169.254.169.254", "after every reboot too")
				assert.Contains(t, dropin, "ExecStartPre=-/usr/bin/resolvectl domain ens5 ~internal")
			} else {
				assert.NotContains(t, network, "server:")
				assert.Equal(t, -1, n.index("getent"))
			}
			assert.NotContains(t, n.stdout+n.stderr+strings.Join(n.calls(), "\n"), "sekret", "the token is never printed nor passed")
		})
	}
}

// TestBootstrapUpgradesInPlace: run again with the same version, the
// bootstrap does nothing; with a new one it runs the installer of that
// version (which restarts k3s in place) and never drains or evicts, so no
// PodDisruptionBudget can hold it up.
func TestBootstrapUpgradesInPlace(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	n.envFile(cluster.RoleAgent, "v1.34.6+k3s1")
	n.run(n.bootstrap)
	require.NoError(t, n.err, n.stderr)
	first := len(n.calls())

	n.run(n.bootstrap)
	require.NoError(t, n.err, n.stderr)
	again := n.calls()[first:]
	assert.NotContains(t, strings.Join(again, "\n"), "installer", "the same version is not installed twice")
	assert.NotContains(t, strings.Join(again, "\n"), "systemctl restart", "nothing changed, nothing restarts")
	assert.Contains(t, n.stdout, "k3s v1.34.6+k3s1 already installed")

	n.envFile(cluster.RoleAgent, "v1.34.9+k3s1")
	n.run(n.bootstrap)
	require.NoError(t, n.err, n.stderr)
	all := strings.Join(n.calls(), "\n")
	assert.Contains(t, all, "installer version=v1.34.9+k3s1 args=agent")
	assert.Contains(t, n.stdout, "k3s v1.34.6+k3s1 -> v1.34.9+k3s1 agent installed")
	for _, never := range []string{"drain", "evict", "cordon", "kubectl"} {
		assert.NotContains(t, all, never)
	}
}

// TestBootstrapFailures: each way a node can fail to bootstrap ends the
// script with a non-zero status and a message on stderr, before k3s is
// installed.
func TestBootstrapFailures(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		role  string
		env   []string
		token bool
		want  string
	}{
		{"no private address", cluster.RoleAgent, []string{"STUB_NO_PRIVATE_ADDR=1"}, false, "no address in 172.16.16.0/22 after 10 minutes"},
		{"control plane name does not resolve", cluster.RoleAgent, []string{"STUB_NO_DNS=1"}, false, "resolved in 15 minutes"},
		{"agent token never delivered", cluster.RoleServer, nil, false, "the tokens were not delivered in 15 minutes"},
		{"metadata block not loaded", cluster.RoleServer, []string{"STUB_NFT_FAIL=1"}, true, "the metadata API block is not loaded; k3s is not installed without it"},
		{"installer not downloadable", cluster.RoleAgent, []string{"STUB_CURL_FAIL=1"}, false, "cannot download the k3s install script"},
		// Another installer would be reachable: none is used but the pinned one.
		{"pinned installer missing", cluster.RoleAgent, []string{"STUB_PINNED_MISSING=1"}, false, "cannot download the k3s install script of v1.34.6+k3s1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t)
			n.envFile(tt.role, "v1.34.6+k3s1")
			if tt.token {
				n.file(cluster.AgentTokenPath, "agent-token: x\n")
			}
			n.run(n.bootstrap, tt.env...)
			require.Error(t, n.err)
			assert.True(t, strings.HasPrefix(n.stderr, "apk8s-k3s: "), n.stderr)
			assert.Contains(t, n.stderr, tt.want)
			assert.Equal(t, -1, n.index("installer "), "k3s is not installed")
			for _, call := range n.calls() {
				if strings.HasPrefix(call, "curl ") {
					assert.Contains(t, call, "https://raw.githubusercontent.com/k3s-io/k3s/v1.34.6%2Bk3s1/install.sh", "only the pinned installer is ever fetched")
				}
			}
		})
	}
}

// TestKubeconfigScript: once the API server is ready and every node Ready,
// stdout is the kubeconfig with the public address and nothing else;
// progress goes to stderr; too few Ready nodes end it non-zero with a
// message and no kubeconfig.
func TestKubeconfigScript(t *testing.T) {
	t.Parallel()
	const kubeconfig = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:6443\n  name: default\n"
	for _, tt := range []struct {
		name  string
		ready int
		ok    bool
	}{
		{"all nodes ready", 4, true},
		{"a node never ready", 3, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t)
			n.file("/etc/rancher/k3s/k3s.yaml", kubeconfig)
			var nodes strings.Builder
			for i := 0; i < 4; i++ {
				status := "NotReady"
				if i < tt.ready {
					status = "Ready"
				}
				nodes.WriteString("node-" + string(rune('a'+i)) + "   " + status + "   <none>   1m   v1.34.6+k3s1\\n")
			}
			k3s := `echo "k3s $*" >> "$LOG"
case "$*" in
  "kubectl get --raw /readyz") echo ok ;;
  "kubectl get nodes --no-headers") printf '` + nodes.String() + `' ;;
  *) echo "k3s: $*" ;;
esac`
			require.NoError(t, os.WriteFile(filepath.Join(n.bin, "k3s"), []byte("#!/bin/bash\n"+k3s+"\n"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(n.bin, "tail"), []byte("#!/bin/bash\necho cloud-init log >&2\n"), 0o755))
			script := filepath.Join(t.TempDir(), "kubeconfig.sh")
			require.NoError(t, os.WriteFile(script, []byte(cluster.KubeconfigScript("51.15.100.10", 4)), 0o755))
			n.run(script)
			if tt.ok {
				require.NoError(t, n.err, n.stderr)
				assert.Equal(t, strings.Replace(kubeconfig, "127.0.0.1", "51.15.100.10", 1), n.stdout, "stdout is the kubeconfig, nothing else")
				assert.Contains(t, n.stderr, "apk8s: 4 nodes Ready")
				return
			}
			require.Error(t, n.err)
			assert.Empty(t, n.stdout, "no kubeconfig from a cluster that is not ready")
			assert.Contains(t, n.stderr, "apk8s: only 3 of 4 nodes were Ready within 25 minutes")
		})
	}
}
