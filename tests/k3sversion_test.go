package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/internal/kubeminor"
)

// k3sReleaseRE is how a k3s release is written anywhere in the repository.
var k3sReleaseRE = regexp.MustCompile(`v1\.[0-9]+\.[0-9]+\+k3s[0-9]+`)

// TestKubernetesMinorIsOnePin: the k3s release is one pin. Every node's
// user data and every node's reconcile script carry the key's default;
// every file of the repository that names a k3s release names that one
// (tests aside, and the history in docs/pins.md); the pin's minor is
// kubeminor.Supported, and the test control plane the end-to-end tests run
// is of the same minor, so the API-server proofs speak for what users get.
func TestKubernetesMinorIsOnePin(t *testing.T) {
	t.Parallel()
	pin := Default(t, "k3sVersion")
	minor, ok := kubeminor.Of(pin)
	require.True(t, ok, pin)
	assert.Equal(t, kubeminor.Supported, minor, "the k3s pin is of the supported minor")

	rec := Run{Stack: "dev3", Set: map[string]string{"k3sVersion": pin}}.Shared(t)
	cp, workers := servers(t, rec.Graph)
	for _, s := range append(workers, cp) {
		assert.Equal(t, pin, envOf(t, cloudConfig(t, s))["K3S_VERSION"], "%s's user data", s.Name)
		script, _ := one(t, rec.Graph, tokRemoteCmd, s.Name+"-k3s").Plain()["create"].(string)
		assert.Equal(t, []string{pin}, slices.Compact(k3sReleaseRE.FindAllString(script, -1)), "%s's reconcile script", s.Name)
		assert.Contains(t, script, "K3S_VERSION='"+pin+"'")
	}

	out, err := exec.Command("git", "-C", repoRoot, "ls-files").Output()
	require.NoError(t, err)
	named := 0
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "tests/") || strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "go.sum") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(repoRoot, f))
		require.NoError(t, err)
		text := string(raw)
		if f == "docs/pins.md" {
			text = withoutSection(text, "## Where today's versions come from")
		}
		for _, v := range k3sReleaseRE.FindAllString(text, -1) {
			named++
			assert.Equal(t, pin, v, "%s names another k3s release", f)
		}
	}
	assert.GreaterOrEqual(t, named, 5, "the pin is named in the key, Pulumi.yaml, the stack file and the docs")

	mod, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "tools", "kube", "build", "go.mod"))
	require.NoError(t, err)
	kube := ""
	if m := regexp.MustCompile(`(?m)^(?:require)?\s*k8s\.io/kubernetes (v\S+)`).FindSubmatch(mod); m != nil {
		kube = string(m[1])
	}
	toolsMinor, ok := kubeminor.Of(kube)
	require.True(t, ok, "k8s.io/kubernetes %q in the tools' go.mod", kube)
	assert.Equal(t, minor, toolsMinor, "the test control plane (k8s.io/kubernetes %s) runs the minor of the k3s pin %s", kube, pin)
}

// withoutSection is text without the markdown section under heading.
func withoutSection(text, heading string) string {
	start := strings.Index(text, heading+"\n")
	if start < 0 {
		return text
	}
	rest := text[start+len(heading):]
	if end := strings.Index(rest, "\n## "); end >= 0 {
		return text[:start] + rest[end:]
	}
	return text[:start]
}

// deployed is the last outputs of a dev3 whose cluster exists; ran is the
// k3sVersion it exported ("" for an update before that output).
func deployed(ran string) map[string]any {
	last := map[string]any{"controlPlaneAddress": "51.15.100.10", "kafkaMode": "zookeeper", "kafkaBootstrap": "kafka:9092"}
	if ran != "" {
		last["k3sVersion"] = ran
	}
	return last
}

// TestK3sMovesOneMinorPerUpdate: a deployed cluster takes the next minor
// or a patch, never two minors and never down, settled from the stack's
// last outputs before anything is registered; the error gives the
// sequence. A new stack, or one without a cluster, may start on any
// supported minor.
func TestK3sMovesOneMinorPerUpdate(t *testing.T) {
	t.Parallel()
	with := func(version string, last map[string]any) Run {
		return Run{Stack: "dev3", Set: map[string]string{"k3sVersion": version}, Last: last}
	}
	refused := []badConfig{
		{"two minors up", with("v1.36.1+k3s1", deployed("v1.34.9+k3s1")),
			[]string{`apk8s-platform:k3sVersion = "v1.36.1+k3s1" is not allowed`, "a 1.34 or 1.35 release", "set 1.35, 1.36 in turn, one update each", `"Upgrading k3s"`}},
		{"the pin from a stack before the output", with(Default(t, "k3sVersion"), deployed("")),
			[]string{"a 1.34 or 1.35 release", "the cluster runs 1.34", "1.35, 1.36, 1.37"}},
		{"a minor down", with("v1.35.2+k3s1", deployed("v1.36.1+k3s1")),
			[]string{`k3sVersion = "v1.35.2+k3s1" is not allowed`, "cannot move down a minor"}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.refused(t)
			assert.Empty(t, g.All, "nothing is registered")
		})
	}
	for name, run := range map[string]Run{
		"the next minor":            with("v1.35.3+k3s1", deployed("v1.34.9+k3s1")),
		"a patch":                   with("v1.36.4+k3s1", deployed("v1.36.1+k3s1")),
		"the next minor, no output": with("v1.35.3+k3s1", deployed("")),
		"a new stack on the pin":    with(Default(t, "k3sVersion"), nil),
		"a new stack on the oldest": with("v1.34.9+k3s1", nil),
	} {
		t.Run(name, func(t *testing.T) { run.MustDo(t) })
	}
	t.Run("a stack without a cluster", func(t *testing.T) {
		// An existing cluster's update that left a k3s version behind
		// (cluster "existing" keeps it from being a switch of kind).
		last := deployed("v1.34.9+k3s1")
		last["cluster"] = "existing"
		Run{Stack: "local", Set: map[string]string{"k3sVersion": "v1.37.2+k3s1"}, Last: last}.MustDo(t)
	})
}

// TestK3sVersionBounds: the config names a release of a minor from
// kubeminor.Oldest to kubeminor.Supported, edges included.
func TestK3sVersionBounds(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"v1.34.1+k3s1", "v1.37.9+k3s2"} {
		_, err := loadConfig(t, Run{Stack: "dev3", Set: map[string]string{"k3sVersion": v}})
		assert.NoError(t, err, v)
	}
	checkBadConfigs(t, []badConfig{
		{"one minor below", Run{Stack: "dev3", Set: map[string]string{"k3sVersion": "v1.33.9+k3s1"}},
			[]string{`apk8s-platform:k3sVersion = "v1.33.9+k3s1" is not allowed`, "a k3s release of Kubernetes 1.34, 1.35, 1.36, 1.37"}},
		{"one minor above", Run{Stack: "dev3", Set: map[string]string{"k3sVersion": "v1.38.0+k3s1"}},
			[]string{`apk8s-platform:k3sVersion = "v1.38.0+k3s1" is not allowed`}},
	})
}
