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
*/zones/nl-ams-1/servers/` + cpUUID + `)
  [ -z "${SERVER_GONE:-}" ] || exit 22
  echo '{"server":{"id":"` + cpUUID + `","name":"apk8s-dev3-cp","public_ips":[{"address":"51.15.0.10"}]}}' ;;
*/zones/nl-ams-1/servers/` + cpUUID + `/user_data/wireguard-public-key)
  [ -n "$SERVER_KEY" ] || exit 22
  printf '%s' "$SERVER_KEY" ;;
https://51.15.0.10:6443/readyz)
  if [ -n "${API_DOWN:-}" ]; then printf 000; exit 7; fi
  printf 401 ;;
*) exit 22 ;;
esac
`
	// The state of the stack: the control plane appears in it on the
	// APPEAR_AFTER-th export, beside a server of another component whose
	// name ends the same way and a control plane pending deletion.
	stubPulumi = `#!/bin/bash
dir=$(dirname "$0")
printf '%s\n' "$*" >> "$dir/pulumi.log"
[ "$1 $2 $3 $4 $5" = "stack export --stack dev3 --file" ] && [ $# = 6 ] || exit 2
exec > "$6"
n=$(( $(cat "$dir/exports" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$dir/exports"
if [ "$n" -lt "${APPEAR_AFTER:-1}" ]; then echo '{"deployment":{"resources":[]}}'; exit 0; fi
cat <<'JSON'
{"deployment":{"resources":[
 {"type":"scaleway:instance/server:Server","urn":"urn:pulumi:dev3::apk8s-platform::apk8s:cluster:Cluster$scaleway:instance/server:Server::cluster-cp","id":"fr-par-1/00000000-0000-0000-0000-00000000dead","delete":true},
 {"type":"scaleway:instance/server:Server","urn":"urn:pulumi:dev3::apk8s-platform::apk8s:cluster:Cluster$scaleway:instance/server:Server::cluster-worker-1","id":"fr-par-1/11111111-1111-1111-1111-111111111111"},
 {"type":"scaleway:instance/server:Server","urn":"urn:pulumi:dev3::apk8s-platform::apk8s:cluster:Cluster$scaleway:instance/server:Server::cluster-cp","id":"nl-ams-1/` + cpUUID + `"},
 {"type":"tls:index/privateKey:PrivateKey","urn":"urn:pulumi:dev3::apk8s-platform::apk8s:cluster:Cluster$tls:index/privateKey:PrivateKey::cluster-worker-1-ssh-host-key","outputs":{"publicKeyOpenssh":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIWORKER\n"}},
 {"type":"tls:index/privateKey:PrivateKey","urn":"urn:pulumi:dev3::apk8s-platform::apk8s:cluster:Cluster$tls:index/privateKey:PrivateKey::cluster-cp-ssh-host-key","outputs":{"publicKeyOpenssh":"` + pinnedHostKey + `\n"}}
]}}
JSON
`
	stubSudo  = "#!/bin/sh\nprintf '%s\\n' \"$*\" >> \"$(dirname \"$0\")/sudo.log\"\n"
	stubSleep = "#!/bin/sh\nexit 0\n"
	// ssh-keyscan answers for the control plane with PRESENTED (the
	// pinned key unless set; "none" is no answer).
	stubKeyscan = "#!/bin/bash\nprintf '%s\\n' \"$*\" >> \"$(dirname \"$0\")/keyscan.log\"\n" +
		"[ \"${!#}\" = 51.15.0.10 ] || exit 1\n[ \"${PRESENTED:-}\" = none ] && exit 0\n" +
		"echo \"51.15.0.10 ${PRESENTED:-` + pinnedHostKey + `}\"\n"
	// pinnedHostKey is the control plane's host key in the stub state.
	pinnedHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPINNED"
	stubWg        = "#!/bin/sh\nexit 0\n"
	// cpUUID is the control plane's server ID in the stub state.
	cpUUID = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
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
	for name, body := range map[string]string{"curl": stubCurl, "pulumi": stubPulumi, "sudo": stubSudo, "sleep": stubSleep, "wg": stubWg, "ssh-keyscan": stubKeyscan} {
		require.NoError(t, os.WriteFile(filepath.Join(r.bin, name), []byte(body), 0o755))
	}
	r.env = append(os.Environ(),
		"PATH="+r.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"RUNNER_TEMP="+r.temp, "STACK=dev3", "SCW_DEFAULT_ZONE=fr-par-1", "GITHUB_OUTPUT="+filepath.Join(r.temp, "github-output"),
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
	assert.Contains(t, r.log("curl.log"), "instance/v1/zones/nl-ams-1/servers/"+cpUUID+"\n",
		"the control plane of the state, by its ID and in its zone")
	assert.NotContains(t, r.log("curl.log"), "servers?", "no server is looked up by name")
	assert.Contains(t, r.log("curl.log"), "https://51.15.0.10:6443/readyz", "the API server is asked through the tunnel")
	assert.Contains(t, r.log("keyscan.log"), "-t ed25519 51.15.0.10", "the host key is checked through the tunnel")
	output, err := os.ReadFile(filepath.Join(r.temp, "github-output"))
	require.NoError(t, err)
	assert.Equal(t, "reached=true\n", string(output), "the step says the cluster answers")
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
	t.Run("API server does not answer", func(t *testing.T) {
		r := newTunnelRun(t, "1", ciPeerKey(t))
		r.env = append(r.env, "API_DOWN=1")
		out, err := r.run("open")
		assert.Error(t, err)
		assert.Contains(t, out, "does not answer through the tunnel")
		assert.NoFileExists(t, filepath.Join(r.temp, "github-output"), "no reached=true")
		out, err = r.run("close")
		require.NoError(t, err, out)
		r.undone()
	})
	t.Run("another SSH host key", func(t *testing.T) {
		r := newTunnelRun(t, "1", ciPeerKey(t))
		r.env = append(r.env, "PRESENTED=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMITM")
		out, err := r.run("open")
		assert.Error(t, err)
		for _, want := range []string{"presents SSH host key", "which the state pins (cluster-cp-ssh-host-key)",
			"is still dev3's control plane in the Scaleway console", `docs/cluster.md, "A changed key"`} {
			assert.Contains(t, out, want)
		}
		assert.NoFileExists(t, filepath.Join(r.temp, "github-output"))
		out, err = r.run("close")
		require.NoError(t, err, out)
		r.undone()
	})
	t.Run("no SSH answer yet", func(t *testing.T) {
		r := newTunnelRun(t, "1", ciPeerKey(t))
		r.env = append(r.env, "PRESENTED=none")
		out, err := r.run("open")
		require.NoError(t, err, out)
		assert.Contains(t, out, "the remote commands check it when they dial")
	})
	t.Run("control plane of the state gone at Scaleway", func(t *testing.T) {
		r := newTunnelRun(t, "1", ciPeerKey(t))
		r.env = append(r.env, "SERVER_GONE=1")
		out, err := r.run("open")
		assert.Error(t, err)
		assert.Contains(t, out, "is not at Scaleway")
		assert.Empty(t, r.log("sudo.log"))
	})
}

// TestCITunnelLeavesKapsuleAlone: a Kapsule stack's API server is public
// behind its own authentication, so both ways of opening say so and touch
// nothing: no state read, no Scaleway call, no privileged command.
func TestCITunnelLeavesKapsuleAlone(t *testing.T) {
	for _, how := range []string{"open", "open-when-ready"} {
		t.Run(how, func(t *testing.T) {
			r := newTunnelRun(t, "1", ciPeerKey(t))
			r.env = append(r.env, "STACK=kapsule")
			out, err := r.run(how)
			require.NoError(t, err, out)
			assert.Contains(t, out, `stack kapsule runs on cluster "kapsule"`)
			assert.Empty(t, r.log("pulumi.log"), "no state read")
			assert.Empty(t, r.log("curl.log"), "no Scaleway call")
			assert.Empty(t, r.log("sudo.log"), "no tunnel")
			out, err = r.run("close")
			require.NoError(t, err, out)
		})
	}
	// The k3s stack still gets its tunnel: the check reads the stack's file.
	r := newTunnelRun(t, "1", ciPeerKey(t))
	out, err := r.run("open")
	require.NoError(t, err, out)
	assert.Contains(t, r.log("sudo.log"), "ip link set wg-ci up")
	_, _ = r.run("close")
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
	// The script finds the control plane in the state by type and URN.
	g := Run{Stack: "dev3"}.Shared(t).Graph
	cp, _ := servers(t, g)
	assert.Contains(t, script, "\nserver_type="+cp.Type+"\n")
	m := regexp.MustCompile(`\nserver_urn_suffix=(\S+)\n`).FindStringSubmatch(script)
	require.NotNil(t, m)
	for _, s := range g.Find(tokServer) {
		assert.Equal(t, s == cp, strings.HasSuffix(s.URN, m[1]), "%s: the control plane, and only it, ends with %s", s.URN, m[1])
	}
	// And its host key by type and URN.
	key := one(t, g, tokPrivateKey, cp.Name+hostKeySuffix)
	assert.Contains(t, script, "\nhost_key_type="+key.Type+"\n")
	m = regexp.MustCompile(`\nhost_key_urn_suffix=(\S+)\n`).FindStringSubmatch(script)
	require.NotNil(t, m)
	for _, k := range g.Find(tokPrivateKey) {
		assert.Equal(t, k == key, strings.HasSuffix(k.URN, m[1]), "%s: the control plane's host key, and only it, ends with %s", k.URN, m[1])
	}
}
