//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLocalScriptUpDownUp runs the README's main command as a new user on a
// warm machine does: `scripts/local.sh up`, `down`, and `up` again. The
// second `up` starts a fresh control plane with every tool already built, so
// the program reaches the API server within a second of its start: each pod
// must find its ServiceAccount (the program's own, not the controller's
// "default") and the script must wait for the controllers.
//
// It runs its own control plane on ports of its own, beside the one that
// scripts/e2e.sh started for the other tests.
func TestLocalScriptUpDownUp(t *testing.T) {
	e := loadEnv(t)
	script := filepath.Join("..", "..", "scripts", "local.sh")
	env := append(os.Environ(),
		"APK8S_TOOLS="+e.tools,
		"APK8S_LOCAL_DIR="+t.TempDir(),
		"KUBE_ETCD_PORT=24790", "KUBE_ETCD_PEER_PORT=24800", "KUBE_API_PORT=17443",
		"KUBE_KCM_PORT=21257", "KUBE_SCHED_PORT=21259", "KUBE_KWOK_PORT=21250",
	)
	run := func(what string, args ...string) {
		t.Helper()
		cmd := exec.Command(script, args...)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logTo(t), logTo(t)
		timed(t, what, func() { require.NoError(t, cmd.Run(), "scripts/local.sh %v", args) })
	}
	t.Cleanup(func() {
		// A failed step still stops the control plane it started.
		cmd := exec.Command(script, "down")
		cmd.Env = env
		_ = cmd.Run()
	})
	run("local.sh up (first)", "up")
	run("local.sh down", "down")
	run("local.sh up (warm)", "up")
	run("local.sh down (again)", "down")
}
