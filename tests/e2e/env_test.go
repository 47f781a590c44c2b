//go:build e2e

// Package e2e deploys the program with the real Pulumi engine and the real
// Kubernetes provider plugin to a real API server, through the Automation
// API's inline mode: the program is stacks.Run itself, not a copy.
//
// scripts/e2e.sh builds the tools, starts a loopback control plane with kwok
// nodes and runs these tests; to use a cluster of your own, point
// APK8S_E2E_KUBECONFIG (and APK8S_E2E_CONTEXT, APK8S_E2E_STORAGE_CLASS) at it.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/ops/engine"
	"github.com/apk8s/apk8s-platform/stacks"
)

// env is where the tools and the cluster are.
type env struct {
	tools        string // bootstrap cache: bin/pulumi, bin/kubectl, pulumi-home
	kubeconfig   string
	context      string // "" = the kubeconfig's current context
	storageClass string // "" = static PVs of class e2eClass made by the test
}

// e2eClass is the class of the static PersistentVolumes the test creates on
// the loopback control plane, which has no provisioner.
const e2eClass = "e2e-static"

func loadEnv(t *testing.T) env {
	t.Helper()
	home, _ := os.UserHomeDir()
	e := env{
		tools:        getenv("APK8S_TOOLS", filepath.Join(home, ".cache", "apk8s-platform", "tools")),
		kubeconfig:   os.Getenv("APK8S_E2E_KUBECONFIG"),
		context:      os.Getenv("APK8S_E2E_CONTEXT"),
		storageClass: os.Getenv("APK8S_E2E_STORAGE_CLASS"),
	}
	require.NotEmpty(t, e.kubeconfig, "APK8S_E2E_KUBECONFIG must name a kubeconfig (scripts/e2e.sh sets it)")
	for _, f := range []string{e.kubeconfig, e.bin("pulumi"), e.bin("kubectl")} {
		_, err := os.Stat(f)
		require.NoError(t, err, "run scripts/bootstrap-tools.sh first")
	}
	return e
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (e env) bin(name string) string { return filepath.Join(e.tools, "bin", name) }

// kubectl runs kubectl against the test cluster and returns its stdout.
func (e env) kubectl(args ...string) (string, error) {
	if e.context != "" {
		args = append([]string{"--context", e.context}, args...)
	}
	cmd := exec.Command(e.bin("kubectl"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.kubeconfig, "KUBECACHEDIR="+filepath.Join(os.TempDir(), "apk8s-e2e-kube-cache"))
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out.String(), nil
}

// get reads one object back from the API server into out.
func (e env) get(t *testing.T, out any, args ...string) {
	t.Helper()
	raw, err := e.kubectl(append([]string{"get", "-o", "json"}, args...)...)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(raw), out))
}

// stack opens a stack of the real project in a scratch work dir with a
// local file backend and passphrase secrets.
func (e env) stack(t *testing.T, name string) auto.Stack {
	t.Helper()
	s, err := engine.Open(context.Background(), engine.Options{
		Stack:      name,
		ProjectDir: filepath.Join("..", ".."),
		WorkDir:    t.TempDir(),
		Tools:      e.tools,
		Passphrase: "e2e-only-passphrase",
		Env:        map[string]string{"KUBECONFIG": e.kubeconfig},
	})
	require.NoError(t, err)
	return s
}

// setConfig sets plain config keys of the project.
func setConfig(t *testing.T, s auto.Stack, kv map[string]string) {
	t.Helper()
	for k, v := range kv {
		require.NoError(t, s.SetConfig(context.Background(), stacks.Project+":"+k, auto.ConfigValue{Value: v}))
	}
}

// logTo is where engine output goes: the test log, so that a failure shows it.
func logTo(t *testing.T) io.Writer { return testWriter{t} }

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// timed runs f and reports its wall time in the test output.
func timed(t *testing.T, what string, f func()) {
	t0 := time.Now()
	f()
	t.Logf("TIMING %s: %.1f s", what, time.Since(t0).Seconds())
	fmt.Printf("TIMING %s: %.1f s\n", what, time.Since(t0).Seconds())
}
