package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/components/cluster"
	"github.com/apk8s/apk8s-platform/stacks"
)

// The runner's side of the tunnel, run against stubs: curl answers as the
// Scaleway API would (the control plane appears on the APPEAR_AFTER-th
// lookup), sudo records the privileged commands instead of running them,
// sleep returns at once. Every command line is logged, as `ps` would show it.
const (
	stubCurl = `#!/bin/bash
dir=$(dirname "$0")
printf '%s\n' "$*" >> "$dir/curl.log"
for a in "$@"; do
  case $a in @*) grep -qx "X-Auth-Token: $EXPECT_TOKEN" "${a#@}" && echo auth-ok >> "$dir/curl.log" ;; esac
done
url=${!#}
case $url in
*"servers?name=apk8s-dev3-cp")
  n=$(( $(cat "$dir/lookups" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$dir/lookups"
  if [ "$n" -ge "${APPEAR_AFTER:-1}" ]; then
    echo '{"servers":[{"id":"srv-1","name":"apk8s-dev3-cp","public_ips":[{"address":"51.15.0.10"}]},{"id":"srv-2","name":"apk8s-dev3-cp2"}]}'
  else
    echo '{"servers":[]}'
  fi ;;
*/servers/srv-1/user_data/wireguard-public-key)
  [ -n "$SERVER_KEY" ] || exit 22
  printf '%s' "$SERVER_KEY" ;;
*) exit 22 ;;
esac
`
	stubSudo  = "#!/bin/sh\nprintf '%s\\n' \"$*\" >> \"$(dirname \"$0\")/sudo.log\"\n"
	stubSleep = "#!/bin/sh\nexit 0\n"
	stubWg    = "#!/bin/sh\nexit 0\n"
)

type tunnelRun struct {
	t       *testing.T
	bin     string
	temp    string
	env     []string
	private string
	token   string
}

func newTunnelRun(t *testing.T, appearAfter string, serverKey string) *tunnelRun {
	t.Helper()
	for _, tool := range []string{"bash", "jq", "nohup"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
	r := &tunnelRun{t: t, bin: t.TempDir(), temp: t.TempDir(), private: ciPeerKey(t), token: "scw-" + randomHex(16)}
	for name, body := range map[string]string{"curl": stubCurl, "sudo": stubSudo, "sleep": stubSleep, "wg": stubWg} {
		require.NoError(t, os.WriteFile(filepath.Join(r.bin, name), []byte(body), 0o755))
	}
	r.env = append(os.Environ(),
		"PATH="+r.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"RUNNER_TEMP="+r.temp, "STACK=dev3", "SCW_DEFAULT_ZONE=fr-par-1",
		"SCW_SECRET_KEY="+r.token, "EXPECT_TOKEN="+r.token,
		"CI_WIREGUARD_PRIVATE_KEY="+r.private, "CI_TUNNEL_WAIT_SECONDS=5",
		"APPEAR_AFTER="+appearAfter, "SERVER_KEY="+serverKey)
	return r
}

func (r *tunnelRun) run(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(repoRoot, "scripts", "ci-tunnel.sh"), args...)
	cmd.Env = r.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (r *tunnelRun) log(name string) string {
	raw, _ := os.ReadFile(filepath.Join(r.bin, name))
	return string(raw)
}

// noSecretInArguments: neither the Scaleway key nor the WireGuard private
// key is in any command line the script ran.
func (r *tunnelRun) noSecretInArguments() {
	for _, l := range []string{"curl.log", "sudo.log"} {
		assert.NotContains(r.t, r.log(l), r.token, "%s: the Scaleway key in a command line", l)
		assert.NotContains(r.t, r.log(l), r.private, "%s: the WireGuard key in a command line", l)
	}
}

// undone: every rule and link the opening added, the closing removed.
func (r *tunnelRun) undone() {
	sudo := r.log("sudo.log")
	for _, m := range regexp.MustCompile(`(?m)^iptables -t nat -A (.*)$`).FindAllStringSubmatch(sudo, -1) {
		assert.Contains(r.t, sudo, "iptables -t nat -D "+m[1], "the rule %q stays behind", m[1])
	}
	assert.Contains(r.t, sudo, "ip link del wg-ci")
	assert.NoDirExists(r.t, filepath.Join(r.temp, "ci-tunnel"), "the key files are gone")
}

func TestCITunnelOpenAndClose(t *testing.T) {
	t.Parallel()
	serverKey := ciPeerKey(t)
	r := newTunnelRun(t, "1", serverKey)
	out, err := r.run("open")
	require.NoError(t, err, out)

	sudo := r.log("sudo.log")
	state := filepath.Join(r.temp, "ci-tunnel")
	assert.Contains(t, sudo, "wg set wg-ci private-key "+state+"/wg.key peer "+serverKey+
		" endpoint 51.15.0.10:51820 allowed-ips 100.96.0.1/32", "the published key and the server's address")
	assert.Contains(t, sudo, "iptables -t nat -A OUTPUT -d 51.15.0.10/32 -p tcp -m multiport --dports 22,6443 -j DNAT --to-destination 100.96.0.1",
		"SSH and the API server of the public address go through the tunnel")
	key, err := os.ReadFile(filepath.Join(state, "wg.key"))
	require.NoError(t, err)
	assert.Equal(t, r.private+"\n", string(key))
	info, err := os.Stat(filepath.Join(state, "wg.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	assert.Contains(t, r.log("curl.log"), "auth-ok", "curl reads the key from the header file")
	r.noSecretInArguments()

	out, err = r.run("close")
	require.NoError(t, err, out)
	r.undone()
}

// TestCITunnelOpensWhenReady: during the first up, the control plane does
// not exist yet; the watcher joins it once it has appeared and published
// its key, and close stops a watcher that is still waiting.
func TestCITunnelOpensWhenReady(t *testing.T) {
	t.Parallel()
	r := newTunnelRun(t, "3", ciPeerKey(t))
	// The three looks take well under a second; a loaded machine must not
	// turn them into a give-up.
	r.env = append(r.env, "CI_TUNNEL_WAIT_SECONDS=60")
	out, err := r.run("open-when-ready")
	require.NoError(t, err, out)
	assert.Contains(t, out, "connecting in the background")
	require.Eventually(t, func() bool { return strings.Contains(r.log("sudo.log"), "-A POSTROUTING -o wg-ci -j MASQUERADE") }, 20*time.Second, 50*time.Millisecond,
		"the watcher connects once the control plane appears")
	r.noSecretInArguments()
	out, err = r.run("close")
	require.NoError(t, err, out)
	r.undone()

	waiting := newTunnelRun(t, "1000000", ciPeerKey(t))
	waiting.env = append(waiting.env, "CI_TUNNEL_WAIT_SECONDS=600")
	out, err = waiting.run("open-when-ready")
	require.NoError(t, err, out)
	pid, err := os.ReadFile(filepath.Join(waiting.temp, "ci-tunnel", "watcher.pid"))
	require.NoError(t, err)
	out, err = waiting.run("close")
	require.NoError(t, err, out)
	assert.Eventually(t, func() bool { return !running(strings.TrimSpace(string(pid))) }, 5*time.Second, 50*time.Millisecond,
		"the watcher is stopped")
	assert.NotContains(t, waiting.log("sudo.log"), "wg set")
}

// running tells whether process pid runs (a zombie, dead but not yet
// reaped by its adopter, does not).
func running(pid string) bool {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(raw), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func TestCITunnelRefusals(t *testing.T) {
	t.Parallel()
	t.Run("no control plane", func(t *testing.T) {
		r := newTunnelRun(t, "1000", "")
		out, err := r.run("open")
		require.NoError(t, err, out)
		assert.Contains(t, out, "nothing to reach")
		assert.Empty(t, r.log("sudo.log"))
	})
	t.Run("no published key", func(t *testing.T) {
		r := newTunnelRun(t, "1", "")
		r.env = append(r.env, "CI_TUNNEL_WAIT_SECONDS=0")
		out, err := r.run("open")
		assert.Error(t, err)
		assert.Contains(t, out, "set ciWireguardPublicKey for stack dev3")
		assert.Empty(t, r.log("sudo.log"))
	})
	t.Run("not a WireGuard key", func(t *testing.T) {
		r := newTunnelRun(t, "1", "$(touch pwned)")
		out, err := r.run("open")
		assert.Error(t, err)
		assert.Contains(t, out, "is not a WireGuard key")
		assert.Empty(t, r.log("sudo.log"))
	})
	t.Run("stack name the program would rename", func(t *testing.T) {
		r := newTunnelRun(t, "1", ciPeerKey(t))
		r.env = append(r.env, "STACK=Dev_3")
		out, err := r.run("open")
		assert.Error(t, err)
		assert.Contains(t, out, "DNS labels")
	})
}

// TestCITunnelAgreesWithTheProgram: the script's tunnel addresses, user data
// key and control plane name are the ones the program gives the node.
func TestCITunnelAgreesWithTheProgram(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "ci-tunnel.sh"))
	require.NoError(t, err)
	script := string(raw)
	for _, line := range []string{
		"iface=" + cluster.CIInterface,
		"server_address=" + cluster.CIServerAddress,
		"peer_address=" + cluster.CIPeerAddress,
		"user_data_key=" + cluster.CIPublicKeyUserData,
		"port=${CI_WIREGUARD_PORT:-" + fmt.Sprint(cluster.DefaultCIPort) + "}",
	} {
		assert.Contains(t, script, "\n"+line+"\n")
	}
	assert.Contains(t, script, `echo "apk8s-$STACK-cp"`)
	for _, stack := range []string{"dev3", "dev4-alice", "staging", "a", strings.Repeat("x", 30)} {
		assert.Equal(t, "apk8s-"+stack+"-cp", cluster.ControlPlaneName(stacks.ResourcePrefix(stack)), stack)
	}
}
