package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/providers/kube"
)

// releaseRecorder keeps what the program registered.
type releaseRecorder struct {
	mu   sync.Mutex
	regs []pulumi.MockResourceArgs
}

func (m *releaseRecorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.regs = append(m.regs, args)
	return args.Name + "-id", args.Inputs, nil
}

func (m *releaseRecorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return resource.PropertyMap{}, nil
}

func registerRelease(t *testing.T, args kube.ReleaseArgs) pulumi.MockResourceArgs {
	t.Helper()
	m := &releaseRecorder{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := kube.NewRelease(ctx, "r", args)
		return err
	}, pulumi.WithMocks("p", "s", m))
	require.NoError(t, err)
	require.Len(t, m.regs, 1)
	return m.regs[0]
}

// sdkReleaseInputs are the input property names of the typed SDK's
// helm/v3 Release, read from its source in the module cache (importing the
// package would cost the build every API group of the SDK).
func sdkReleaseInputs(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/pulumi/pulumi-kubernetes/sdk/v4").Output()
	require.NoError(t, err, "go list -m github.com/pulumi/pulumi-kubernetes/sdk/v4")
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "go", "kubernetes", "helm", "v3", "release.go"))
	require.NoError(t, err, "the SDK's source must be in the module cache (go mod download)")
	_, body, ok := strings.Cut(string(src), "type releaseArgs struct {")
	require.True(t, ok, "the SDK's release.go has no releaseArgs")
	body, _, _ = strings.Cut(body, "\n}")
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`pulumi:"(\w+)"`).FindAllStringSubmatch(body, -1) {
		names[m[1]] = true
	}
	require.Contains(t, names, "chart")
	return names
}

func TestReleaseRegistersAsTheSDKWould(t *testing.T) {
	t.Parallel()
	reg := registerRelease(t, kube.ReleaseArgs{
		Name: "cert-manager", Chart: "cert-manager", Version: "v1.21.2", Repo: "https://charts.jetstack.io",
		Namespace: pulumi.String("cert-manager"), Values: map[string]any{"crds": map[string]any{"enabled": true}},
		Atomic: true, CleanupOnFail: true, SkipAwait: true, WaitForJobs: true, Timeout: 600, MaxHistory: 5,
		Description: "d",
	})
	assert.Equal(t, kube.ReleaseToken, reg.TypeToken)
	assert.Equal(t, "kubernetes:helm.sh/v3:Release", reg.TypeToken)
	assert.Equal(t, kube.ProviderVersion, reg.RegisterRPC.GetVersion())

	sdk := sdkReleaseInputs(t)
	for k := range reg.Inputs {
		assert.True(t, sdk[string(k)], "input %q is not a property of the SDK's Release", k)
	}
	in := reg.Inputs.Mappable()
	assert.Equal(t, map[string]any{
		"name": "cert-manager", "chart": "cert-manager", "version": "v1.21.2",
		"repositoryOpts":  map[string]any{"repo": "https://charts.jetstack.io"},
		"namespace":       "cert-manager",
		"values":          map[string]any{"crds": map[string]any{"enabled": true}},
		"createNamespace": false, "skipCrds": false, "compat": "true",
		"atomic": true, "cleanupOnFail": true, "skipAwait": true, "waitForJobs": true,
		"timeout": 600.0, "maxHistory": 5.0, "description": "d",
	}, in)
}

func TestReleaseLeavesDefaultsToTheProvider(t *testing.T) {
	t.Parallel()
	in := registerRelease(t, kube.ReleaseArgs{Name: "n", Chart: "c", Namespace: pulumi.String("ns")}).Inputs.Mappable()
	for _, k := range []string{"version", "repositoryOpts", "values", "atomic", "skipAwait", "timeout", "maxHistory"} {
		assert.NotContains(t, in, k)
	}
}

func TestReleaseNeedsNameChartNamespace(t *testing.T) {
	t.Parallel()
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := kube.NewRelease(ctx, "r", kube.ReleaseArgs{})
		return err
	}, pulumi.WithMocks("p", "s", &releaseRecorder{}))
	require.Error(t, err)
	for _, want := range []string{"name is required", "chart is required", "namespace is required"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestValuesDropsNulls(t *testing.T) {
	t.Parallel()
	type inner struct {
		A *int `json:"a"`
		B int  `json:"b"`
	}
	v, err := kube.Values(struct {
		X inner `json:"x"`
	}{})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"x": map[string]any{"b": 0.0}}, v)

	_, err = kube.Values([]int{1})
	assert.Error(t, err, "values are an object")
}

func TestChartVersion(t *testing.T) {
	t.Parallel()
	for v, want := range map[string][3]int{"v1.21.2": {1, 21, 2}, "4.15.1": {4, 15, 1}, "92.1.0": {92, 1, 0}, "v1.20.0-beta.0": {1, 20, 0}} {
		got, err := kube.ChartVersion(v)
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	for _, v := range []string{"", "latest", "1.2", "v1.2.x", "01.2.3", "1.2.3.4"} {
		_, err := kube.ChartVersion(v)
		assert.Error(t, err, v)
	}
	assert.True(t, kube.ChartVersionAtLeast("v1.21.2", "v1.15.0"))
	assert.True(t, kube.ChartVersionAtLeast("v1.15.0", "v1.15.0"))
	assert.False(t, kube.ChartVersionAtLeast("v1.14.7", "v1.15.0"))
	assert.True(t, kube.ChartVersionAtLeast("v2.0.0", "v1.99.99"))
	assert.False(t, kube.ChartVersionAtLeast("latest", "v1.0.0"))
}
