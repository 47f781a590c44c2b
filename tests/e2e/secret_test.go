//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/ops/engine"
)

// TestSecretThroughStandardInput: the real Pulumi CLI takes a secret that
// engine.SetSecret hands it on standard input (no value among its
// arguments), stores it encrypted, and gives the same value back. Needs
// only the CLI, no cluster.
func TestSecretThroughStandardInput(t *testing.T) {
	home, _ := os.UserHomeDir()
	tools := getenv("APK8S_TOOLS", filepath.Join(home, ".cache", "apk8s-platform", "tools"))
	_, err := os.Stat(filepath.Join(tools, "bin", "pulumi"))
	require.NoError(t, err, "run scripts/bootstrap-tools.sh first")

	ctx := context.Background()
	workdir := t.TempDir()
	s, err := engine.Open(ctx, engine.Options{
		Stack:      "local",
		ProjectDir: filepath.Join("..", ".."),
		WorkDir:    workdir,
		Tools:      tools,
		Passphrase: "e2e-only-passphrase",
	})
	require.NoError(t, err)

	value := randomPassword(t)
	require.NoError(t, engine.SetSecret(ctx, s, "apk8s-platform:basicAuthPassword", value))

	got, err := s.GetConfig(ctx, "apk8s-platform:basicAuthPassword")
	require.NoError(t, err)
	assert.Equal(t, value, got.Value, "the value, whole, without the newline stdin adds nothing")
	assert.True(t, got.Secret, "stored as a secret")
	raw, err := os.ReadFile(filepath.Join(workdir, "Pulumi.local.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(raw), "apk8s-platform:basicAuthPassword:\n    secure: ")
	assert.NotContains(t, string(raw), value, "encrypted in the stack file")
}
