package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stackFile writes Pulumi.<stack>.yaml with the given config lines.
func stackFile(t *testing.T, dir, stack string, lines ...string) {
	t.Helper()
	body := "config:\n  apk8s-platform:cluster: scaleway\n"
	for _, l := range lines {
		body += "  " + l + "\n"
	}
	require.NoError(t, os.WriteFile(StackFile(dir, stack), []byte(body), 0o644))
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		stack   string
		lines   []string // config lines of Pulumi.<stack>.yaml; nil = no file
		noFile  bool
		allowed bool
		says    string // part of the refusal
	}{
		{name: "boolean true", stack: "dev3", lines: []string{"apk8s-platform:disposable: true"}, allowed: true},
		{name: "string true", stack: "dev3", lines: []string{`apk8s-platform:disposable: "true"`}, allowed: true},
		{name: "suffixed name", stack: "dev4-alice", lines: []string{"apk8s-platform:disposable: true"}, allowed: true},
		// Both conditions, each refused alone.
		{name: "marked, name not disposable", stack: "prod", lines: []string{"apk8s-platform:disposable: true"}, says: "name does not match"},
		{name: "marked copy of dev3", stack: "dev3-copy.eu_1", lines: []string{"apk8s-platform:disposable: true"}, says: "name does not match"},
		{name: "marked, dev without number", stack: "dev", lines: []string{"apk8s-platform:disposable: true"}, says: "name does not match"},
		{name: "marked, capitalised name", stack: "Dev3", lines: []string{"apk8s-platform:disposable: true"}, says: "name does not match"},
		{name: "name matches, mark missing", stack: "dev3", says: "does not set apk8s-platform:disposable"},
		{name: "name matches, mark false", stack: "dev3", lines: []string{"apk8s-platform:disposable: false"}, says: "to false, not true"},
		{name: "string false", stack: "dev3", lines: []string{`apk8s-platform:disposable: "false"`}, says: `to "false", not true`},
		{name: "yes is no boolean", stack: "dev3", lines: []string{"apk8s-platform:disposable: yes"}, says: `to "yes", not true`},
		{name: "quoted yes", stack: "dev3", lines: []string{`apk8s-platform:disposable: "yes"`}, says: `to "yes", not true`},
		{name: "capitalised string", stack: "dev3", lines: []string{`apk8s-platform:disposable: "True"`}, says: `to "True", not true`},
		{name: "one", stack: "dev3", lines: []string{"apk8s-platform:disposable: 1"}, says: "to 1, not true"},
		{name: "secret value", stack: "dev3", lines: []string{"apk8s-platform:disposable:", "  secure: AAABAx"}, says: "a map or list"},
		{name: "another project's key", stack: "dev3", lines: []string{"other:disposable: true"}, says: "does not set"},
		{name: "unqualified key", stack: "dev3", lines: []string{"disposable: true"}, says: "does not set"},
		{name: "no stack file", stack: "dev9", noFile: true, says: "unknown stack"},
		{name: "path traversal", stack: "../x", noFile: true, says: "not a plain stack name"},
		{name: "nested path", stack: "a/b", noFile: true, says: "not a plain stack name"},
		{name: "org and project", stack: "acme/apk8s-platform/dev3", noFile: true, says: "not a plain stack name"},
		{name: "double dot", stack: "a..b", noFile: true, says: "not a plain stack name"},
		{name: "empty name", stack: "", noFile: true, says: "not a plain stack name"},
		{name: "leading dash", stack: "-dev3", noFile: true, says: "not a plain stack name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if !tt.noFile {
				stackFile(t, dir, tt.stack, tt.lines...)
			}
			err := Check(dir, tt.stack)
			if tt.allowed {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrRefused)
			assert.Contains(t, err.Error(), tt.says)
		})
	}
}

// A traversal must not reach a file that would pass: ../x is refused even
// when ../Pulumi.x.yaml marks x disposable.
func TestCheckTraversalNeverReadsOutside(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "project")
	require.NoError(t, os.Mkdir(dir, 0o755))
	stackFile(t, parent, "x", "apk8s-platform:disposable: true")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi...yaml"), []byte("config:\n  apk8s-platform:disposable: true\n"), 0o644))

	for _, stack := range []string{"../x", "..", ".", "./x", "x/../../x"} {
		assert.ErrorIs(t, Check(dir, stack), ErrRefused, stack)
	}
}

func TestCheckUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(StackFile(dir, "dev3"), []byte("config: [not, a, map]\n"), 0o644))
	err := Check(dir, "dev3")
	assert.ErrorIs(t, err, ErrRefused)
	assert.Contains(t, err.Error(), "cannot be read as a stack file")
}

// The repository's own stacks: dev3 is the dev cluster the teardown
// workflow may destroy; local (someone's existing cluster) it must refuse.
func TestRepositoryStacks(t *testing.T) {
	const root = "../.."
	require.FileExists(t, filepath.Join(root, "Pulumi.yaml"))

	assert.NoError(t, Check(root, "dev3"), "Pulumi.dev3.yaml must mark dev3 disposable")
	err := Check(root, "local")
	assert.ErrorIs(t, err, ErrRefused, "the local stack must never be torn down by CI")

	stacks, refused, err := Disposable(root)
	require.NoError(t, err)
	assert.Contains(t, stacks, "dev3")
	assert.NotContains(t, stacks, "local")
	assert.NotEmpty(t, refused)
}

func TestDisposable(t *testing.T) {
	dir := t.TempDir()
	stackFile(t, dir, "dev3", "apk8s-platform:disposable: true")
	stackFile(t, dir, "dev4", `apk8s-platform:disposable: "true"`)
	stackFile(t, dir, "dev5", "apk8s-platform:disposable: false")
	stackFile(t, dir, "prod", "apk8s-platform:disposable: true") // a copied dev stack file
	stackFile(t, dir, "staging", "apk8s-platform:disposable: false")

	stacks, refused, err := Disposable(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"dev3", "dev4"}, stacks)
	require.Len(t, refused, 3)
	assert.Contains(t, refused[0].Error(), `"dev5"`)
	assert.Contains(t, refused[1].Error(), `"prod"`)
	assert.Contains(t, refused[1].Error(), "name does not match")
	assert.Contains(t, refused[2].Error(), `"staging"`)
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	stackFile(t, dir, "dev3", "apk8s-platform:disposable: true")
	stackFile(t, dir, "local")

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "allowed", args: []string{"-dir", dir, "-stack", "dev3"}, code: 0, stdout: `"dev3" is marked disposable`},
		{name: "refused", args: []string{"-dir", dir, "-stack", "local"}, code: 1, stderr: "stackguard: refused: stack \"local\" is not disposable"},
		{name: "unknown", args: []string{"-dir", dir, "-stack", "dev7"}, code: 1, stderr: "unknown stack"},
		{name: "traversal", args: []string{"-dir", dir, "-stack", "../dev3"}, code: 1, stderr: "not a plain stack name"},
		{name: "list", args: []string{"-dir", dir, "-list"}, code: 0, stdout: "dev3\n", stderr: "skip: refused: stack \"local\""},
		{name: "no stack", args: []string{"-dir", dir}, code: 2, stderr: "usage:"},
		{name: "both modes", args: []string{"-dir", dir, "-list", "-stack", "dev3"}, code: 2, stderr: "usage:"},
		{name: "stray argument", args: []string{"-stack", "dev3", "extra"}, code: 2, stderr: "usage:"},
		{name: "bad flag", args: []string{"-stak", "dev3"}, code: 2, stderr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			assert.Equal(t, tt.code, code, "stderr: %s", stderr.String())
			if tt.stdout != "" {
				assert.Contains(t, stdout.String(), tt.stdout)
			}
			if tt.stderr != "" {
				assert.Contains(t, stderr.String(), tt.stderr)
			}
			if tt.name == "list" {
				assert.Equal(t, "dev3\n", stdout.String(), "only disposable stacks on stdout")
			}
		})
	}
}
