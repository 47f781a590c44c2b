package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stubKubectl writes a kubectl that answers like a control plane whose
// service-account controller makes "default" only on its n-th look-up, and
// logs every call.
const stubKubectl = `#!/bin/sh
echo "$*" >>"$STUB_DIR/calls"
case "$*" in
  "get --raw /readyz") exit 0 ;;
  get\ nodes*) echo True; exit 0 ;;
  "-n default get serviceaccount default")
    n=$(grep -c serviceaccount "$STUB_DIR/calls")
    [ "$n" -ge "$SA_AFTER" ] && exit 0
    echo 'Error from server (NotFound): serviceaccounts "default" not found' >&2; exit 1 ;;
esac
exit 2
`

// TestWaitReadyWaitsForTheServiceAccountController: the wait before a deploy
// ends only once the "default" ServiceAccount exists (a fresh control plane
// answers /readyz seconds earlier), and gives up with the reason named.
func TestWaitReadyWaitsForTheServiceAccountController(t *testing.T) {
	t.Parallel()
	script, err := filepath.Abs(filepath.Join(repoRoot, "scripts/tools/kube/wait-ready.sh"))
	require.NoError(t, err)
	tests := []struct {
		name     string
		saAfter  string // look-ups until the account exists
		timeout  string
		wantOK   bool
		wantText string
	}{
		{name: "account appears on the third look", saAfter: "3", timeout: "20", wantOK: true, wantText: "takes workloads"},
		{name: "account never appears", saAfter: "1000", timeout: "1", wantOK: false, wantText: "not ready for workloads after 1s: no ServiceAccount default/default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			kubectl := filepath.Join(dir, "kubectl")
			require.NoError(t, os.WriteFile(kubectl, []byte(stubKubectl), 0o755))
			cmd := exec.Command("bash", script, tt.timeout)
			cmd.Env = append(os.Environ(), "KUBECTL="+kubectl, "STUB_DIR="+dir, "SA_AFTER="+tt.saAfter, "WAIT_READY_POLL=0.05")
			out, err := cmd.CombinedOutput()
			if tt.wantOK {
				require.NoError(t, err, "%s", out)
				calls, err := os.ReadFile(filepath.Join(dir, "calls"))
				require.NoError(t, err)
				assert.Equal(t, 3, strings.Count(string(calls), "serviceaccount"), "it must look until the account exists")
			} else {
				require.Error(t, err, "%s", out)
			}
			assert.Contains(t, string(out), tt.wantText)
		})
	}
}
