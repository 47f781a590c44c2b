package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/ops/engine"
)

// stubPulumi is a `pulumi` that answers what the Automation API asks
// (version, stack init/select, outputs) and records every command line it
// was started with, one a line, and what it read on standard input for
// `config set`: the command lines are what `ps` shows every user.
const stubPulumi = `#!/bin/sh
dir=$(dirname "$0")/..
printf '%s\n' "$*" >> "$dir/argv.log"
# The Automation API puts --non-interactive first.
[ "$1" = --non-interactive ] && shift
case "$1 $2" in
"version "*) echo v3.274.1 ;;
"config set") cat >> "$dir/stdin.log" ;;
"stack output") echo '{}' ;;
esac
exit 0
`

// stubTools is a bootstrap cache whose bin/pulumi is the stub.
func stubTools(t *testing.T) string {
	t.Helper()
	tools := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(tools, "bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tools, "bin", "pulumi"), []byte(stubPulumi), 0o755))
	return tools
}

func secretValue(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "s3cret-" + hex.EncodeToString(b)
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err, "the stub pulumi was not run")
	return string(raw)
}

// TestSecretsNeverOnACommandLine runs the command as a user does (a secret
// from a file, a plain key, then outputs) against the stub CLI: the secret
// and the passphrase reach it, but in no child's arguments.
func TestSecretsNeverOnACommandLine(t *testing.T) {
	tools := stubTools(t)
	password, passphrase := secretValue(t), secretValue(t)
	file := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(file, []byte(password+"\n"), 0o600))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", passphrase)
	t.Chdir(filepath.Join("..", "..")) // the project directory, as local.sh runs it

	err := run([]string{"-stack", "local", "-workdir", t.TempDir(), "-tools", tools,
		"-set", "storageClass=local-static", "-secret-file", "basicAuthPassword=" + file, "outputs"})
	require.NoError(t, err)

	argv := readLog(t, filepath.Join(tools, "argv.log"))
	assert.Contains(t, argv, "config set --stack local --secret -- apk8s-platform:basicAuthPassword",
		"the secret is set through the CLI")
	assert.Contains(t, argv, "apk8s-platform:storageClass", "plain keys still go through SetConfig")
	assert.NotContains(t, argv, password, "a secret value in a command line")
	assert.NotContains(t, argv, passphrase, "the passphrase in a command line")
	assert.Equal(t, password, readLog(t, filepath.Join(tools, "stdin.log")), "the CLI reads the value, trimmed, on stdin")
}

func TestSecretFromStandardInput(t *testing.T) {
	tools := stubTools(t)
	password := secretValue(t)
	t.Chdir(filepath.Join("..", ".."))
	s, err := engine.Open(context.Background(), engine.Options{
		Stack: "local", ProjectDir: ".", WorkDir: t.TempDir(), Tools: tools, Passphrase: secretValue(t),
	})
	require.NoError(t, err)

	require.NoError(t, setSecrets(context.Background(), s, map[string]string{"basicAuthPassword": "-"}, strings.NewReader(password+"\n")))
	assert.NotContains(t, readLog(t, filepath.Join(tools, "argv.log")), password)
	assert.Equal(t, password, readLog(t, filepath.Join(tools, "stdin.log")))
}
