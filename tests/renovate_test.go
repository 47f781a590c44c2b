//go:build renovate

// The Renovate coverage check (scripts/renovate-check.sh runs it after
// Renovate's extract-only dry run): the pins come from the program itself —
// every stack's mocked graph — and from the workflows; the extraction comes
// from Renovate. Nothing here re-implements Renovate's matching.
//
//	RENOVATE_REPORT=report.json go test -tags renovate ./tests/ -run TestRenovate
package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/providers/kube"
	"github.com/apk8s/apk8s-platform/stacks"
)

// extracted is one dependency Renovate found, with the file it found it in.
type extracted struct {
	File         string
	Manager      string
	Datasource   string   `json:"datasource"`
	DepName      string   `json:"depName"`
	CurrentValue string   `json:"currentValue"`
	Digest       string   `json:"currentDigest"`
	RegistryURLs []string `json:"registryUrls"`
}

// loadReport reads the file report of `renovate --report-type=file`.
func loadReport(t *testing.T) []extracted {
	t.Helper()
	path := os.Getenv("RENOVATE_REPORT")
	require.NotEmpty(t, path, "RENOVATE_REPORT names Renovate's report (scripts/renovate-check.sh sets it)")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	type problem struct {
		Level int    `json:"level"`
		Msg   string `json:"msg"`
	}
	var report struct {
		Problems     []problem `json:"problems"`
		Repositories map[string]struct {
			Problems     []problem `json:"problems"`
			PackageFiles map[string][]struct {
				PackageFile string      `json:"packageFile"`
				Deps        []extracted `json:"deps"`
			} `json:"packageFiles"`
		} `json:"repositories"`
	}
	require.NoError(t, json.Unmarshal(raw, &report))
	require.Len(t, report.Repositories, 1, "one repository: this one")
	var out []extracted
	for _, repo := range report.Repositories {
		for _, p := range append(report.Problems, repo.Problems...) {
			assert.Less(t, p.Level, 50, "Renovate reported an error: %s", p.Msg) // 50 is bunyan's "error"
		}
		for manager, files := range repo.PackageFiles {
			for _, f := range files {
				for _, d := range f.Deps {
					d.File, d.Manager = f.PackageFile, manager
					out = append(out, d)
				}
			}
		}
	}
	require.NotEmpty(t, out, "Renovate extracted nothing: is its config tracked by git?")
	t.Logf("Renovate extracted %d dependencies", len(out))
	return out
}

// pin is one pinned thing the program or a workflow uses, and what Renovate
// must have extracted for it.
type pin struct {
	what       string // for messages: "image zookeeper:3.8.6 (stack dev3)"
	datasource string
	depName    string
	value      string
	digest     string
	registry   string
}

func (p pin) matches(d extracted) bool {
	if d.Datasource != p.datasource || d.DepName != p.depName || d.CurrentValue != p.value ||
		d.Digest != p.digest {
		return false
	}
	return p.registry == "" || slices.ContainsFunc(d.RegistryURLs, func(u string) bool {
		return strings.TrimSuffix(u, "/") == strings.TrimSuffix(p.registry, "/")
	})
}

// graphPin is a pin found in a stack's graph, and the config value it came from.
type graphPin struct {
	pin
	stack, configValue string
}

// graphPins runs every stack of the repository under mocks and collects the
// container images, Helm charts and k3s releases its graph registers.
func graphPins(t *testing.T) []graphPin {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "Pulumi.*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []graphPin
	for _, f := range files {
		stack := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml")
		g := Run{Stack: stack}.Shared(t).Graph
		for _, r := range g.All {
			in := r.Plain()
			switch {
			case r.Type == kube.ReleaseToken:
				repo, _ := in["repositoryOpts"].(map[string]any)
				chart, version := fmt.Sprint(in["chart"]), fmt.Sprint(in["version"])
				out = append(out, graphPin{stack: stack, configValue: version, pin: pin{
					what: fmt.Sprintf("chart %s %s (stack %s)", chart, version, stack), datasource: "helm",
					depName: chart, value: version, registry: fmt.Sprint(repo["repo"])}})
			case r.Type == tokServer:
				v := envOf(t, cloudConfig(t, r))["K3S_VERSION"]
				require.NotEmpty(t, v, "%s installs no pinned k3s", r.Name)
				out = append(out, graphPin{stack: stack, configValue: v, pin: pin{
					what: fmt.Sprintf("k3s %s (stack %s, %s)", v, stack, r.Name), datasource: "github-releases",
					depName: "k3s-io/k3s", value: v}})
			case strings.HasPrefix(r.Type, "kubernetes:"):
				for _, image := range images(in) {
					out = append(out, graphPin{stack: stack, configValue: image, pin: imagePin(t, image,
						fmt.Sprintf("image %s (stack %s, %s)", image, stack, r.Name))})
				}
			}
		}
	}
	return out
}

// images are the strings under every "image" key of a Kubernetes object:
// containers, init containers, and custom resources such as a CephCluster.
func images(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && k == "image" {
				out = append(out, s)
			} else {
				out = append(out, images(e)...)
			}
		}
	case []any:
		for _, e := range v {
			out = append(out, images(e)...)
		}
	}
	return out
}

// imagePin reads name:tag[@digest]; the program's validation guarantees the form.
func imagePin(t *testing.T, image, what string) pin {
	ref, digest, _ := strings.Cut(image, "@")
	i := strings.LastIndex(ref, ":")
	require.Greater(t, i, strings.LastIndex(ref, "/"), "%s has no tag", what)
	return pin{what: what, datasource: "docker", depName: ref[:i], value: ref[i+1:], digest: digest}
}

// homes are the files a pin's config value must be extracted from, so that
// one pull request moves it everywhere: the stack file that sets it, or, for
// a declared default, the Go file that declares it and every file generated
// from the declaration (Pulumi.yaml, the docs' config table).
func homes(t *testing.T, p graphPin, tracked map[string]string) []string {
	t.Helper()
	set := StackConfig(t, p.stack)
	var keys []stacks.Key
	for _, k := range stacks.Keys {
		v, ok := set[stacks.Project+":"+k.Name]
		if !ok {
			v = k.Default
		}
		if v == p.configValue {
			keys = append(keys, k)
		}
	}
	require.Len(t, keys, 1, "%s: one config key has this value in stack %s", p.what, p.stack)
	k := keys[0]
	if v, ok := set[stacks.Project+":"+k.Name]; ok {
		require.Equal(t, p.configValue, v)
		return []string{"Pulumi." + p.stack + ".yaml"}
	}
	out := []string{"Pulumi.yaml"}
	declaration := regexp.MustCompile(`\bdef\("` + k.Name + `",`)
	for f, text := range tracked {
		switch {
		case strings.HasPrefix(f, "stacks/") && strings.HasSuffix(f, ".go") && declaration.MatchString(text):
			out = append(out, f)
		case strings.HasSuffix(f, ".md") && strings.Contains(text, "<!-- config:begin -->"):
			out = append(out, f)
		}
	}
	require.Len(t, out, 3, "%s: key %s is declared in stacks/ and listed in one config table", p.what, k.Name)
	return out
}

// mentions are the files that name the pin on one line — an image as
// name:tag, a chart by its name and version, k3s by its tag — so that prose
// and comments move with the pin too, or say it without the version. Tests
// compare with the declared defaults (Default) and lock files are the
// managers' own business.
func mentions(p pin, tracked map[string]string) []string {
	version := regexp.MustCompile(`(^|[^\w.])` + regexp.QuoteMeta(p.value) + `($|[^\w.])`)
	chart := regexp.MustCompile(`(^|[^\w-])` + regexp.QuoteMeta(p.depName) + `($|[^\w-])`)
	var out []string
	for f, text := range tracked {
		if strings.HasSuffix(f, "_test.go") || slices.Contains([]string{"go.sum", "package-lock.json"}, filepath.Base(f)) {
			continue
		}
		for _, line := range strings.Split(text, "\n") {
			named := false
			switch p.datasource {
			case "docker":
				named = strings.Contains(line, p.depName+":"+p.value)
			case "helm":
				named = chart.MatchString(line) && version.MatchString(line)
			default:
				named = strings.Contains(line, p.value)
			}
			if named {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// trackedFiles are the files git tracks (what Renovate reads), with their text.
func trackedFiles(t *testing.T) map[string]string {
	t.Helper()
	raw, err := exec.Command("git", "-C", repoRoot, "ls-files").Output()
	require.NoError(t, err)
	out := map[string]string{}
	for _, f := range strings.Fields(string(raw)) {
		text, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err == nil { // a file deleted in the work tree is not read
			out[f] = string(text)
		}
	}
	return out
}

// TestRenovateCoversEveryGraphPin: every image, chart and k3s release that
// a stack's graph registers is a dependency Renovate extracted, from every
// file where its value lives (homes) and every file that names it (mentions).
func TestRenovateCoversEveryGraphPin(t *testing.T) {
	t.Parallel()
	deps := loadReport(t)
	tracked := trackedFiles(t)
	pins := graphPins(t)
	kinds := map[string]int{}
	for _, p := range pins {
		kinds[p.datasource]++
	}
	// The program's graphs have all three kinds; if one vanished, the walk
	// above broke, not the coverage.
	for _, ds := range []string{"docker", "helm", "github-releases"} {
		require.NotZero(t, kinds[ds], "no %s pin found in any graph", ds)
	}
	t.Logf("%d pins in the graphs: %v", len(pins), kinds)
	for _, p := range pins {
		for _, home := range union(homes(t, p, tracked), mentions(p.pin, tracked)) {
			assert.True(t, slices.ContainsFunc(deps, func(d extracted) bool { return d.File == home && p.matches(d) }),
				"%s: Renovate extracted no %s dependency %s %s from %s", p.what, p.datasource, p.depName, p.value, home)
		}
	}
}

// usesLine is a step's action pinned by commit, with its release as a comment.
var usesLine = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*([^@\s]+)@(\S+)\s*(?:#\s*(\S+))?`)

// TestRenovateCoversEveryAction: every action a workflow uses is pinned by a
// full commit SHA with its release named in a comment, and Renovate
// extracted both from that workflow; so are the workflows' *_VERSION pins.
func TestRenovateCoversEveryAction(t *testing.T) {
	t.Parallel()
	deps := loadReport(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, ".github", "workflows", "*.y*ml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	sha := regexp.MustCompile(`^[0-9a-f]{40}$`)
	n := 0
	for _, f := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(f, repoRoot+string(filepath.Separator)))
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, line := range strings.Split(string(raw), "\n") {
			m := usesLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			n++
			action, ref, release := m[1], m[2], m[3]
			if !assert.Regexp(t, sha, ref, "%s: %s is pinned by a full commit SHA", rel, action) ||
				!assert.NotEmpty(t, release, "%s: %s@%s names its release in a comment", rel, action, ref) {
				continue
			}
			p := pin{datasource: "github-tags", depName: action, value: release, digest: ref}
			assert.True(t, slices.ContainsFunc(deps, func(d extracted) bool { return d.File == rel && p.matches(d) }),
				"%s: Renovate extracted no action %s %s@%s", rel, action, release, ref)
		}
		for name, value := range loadWorkflows(t)[filepath.Base(f)].Env {
			if strings.HasSuffix(name, "_VERSION") {
				n++
				assert.True(t, slices.ContainsFunc(deps, func(d extracted) bool { return d.File == rel && d.CurrentValue == value }),
					"%s: Renovate extracted no dependency for %s = %s", rel, name, value)
			}
		}
	}
	require.NotZero(t, n, "no action or version pin found in the workflows")
}

// TestRenovatePinsDoNotFloat: whatever this repository's own managers
// extract is a version (a digit in it, not "latest" or a bare name), and a
// digest, where there is one, is a full sha256.
func TestRenovatePinsDoNotFloat(t *testing.T) {
	t.Parallel()
	deps := loadReport(t)
	digest := regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	n := 0
	for _, d := range deps {
		if d.Manager != "regex" {
			continue
		}
		n++
		assert.Regexp(t, `[0-9]`, d.CurrentValue, "%s: %s %s is no version", d.File, d.Datasource, d.DepName)
		assert.NotEqual(t, "latest", d.CurrentValue, "%s: %s", d.File, d.DepName)
		if d.Datasource == "docker" && d.Digest != "" {
			assert.Regexp(t, digest, d.Digest, "%s: %s", d.File, d.DepName)
		}
	}
	require.NotZero(t, n, "the custom managers extracted nothing")
}
