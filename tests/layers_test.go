package tests

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const modulePath = "github.com/apk8s/apk8s-platform"

// layerOf places a package of this module in the import picture of
// docs/design.md: a higher number sits higher, and an import may only go to
// the same number or a lower one. The bool is false for a path no layer
// claims, so that a new top-level folder must be placed here before it can
// pass.
func layerOf(pkg string) (int, bool) {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, modulePath), "/")
	top, _, _ := strings.Cut(rel, "/")
	switch top {
	case "providers", "apis":
		return 0, true
	case "internal":
		return 1, true
	case "components":
		return 2, true
	case "stacks":
		return 3, true
	case "ops":
		return 4, true
	case "cmd", "": // "" is main.go at the module root
		return 5, true
	case "tests":
		return 6, true
	}
	return 0, false
}

// moduleImports lists each package of the module with the module's packages it
// imports (tests' own imports included: a test file is code of its layer too).
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-tags", "e2e",
		"-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}`,
		modulePath+"/...")
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go list: %s", stderr.String())
	got := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		for _, imp := range f[1:] {
			if imp == modulePath || strings.HasPrefix(imp, modulePath+"/") {
				got[f[0]] = append(got[f[0]], imp)
			}
		}
		if _, ok := got[f[0]]; !ok {
			got[f[0]] = nil
		}
	}
	return got
}

// upwardImports is every import that reaches a higher layer, and every
// package no layer claims.
func upwardImports(imports map[string][]string) []string {
	var bad []string
	for pkg, deps := range imports {
		from, ok := layerOf(pkg)
		if !ok {
			bad = append(bad, pkg+": in no layer (place its folder in layerOf and docs/design.md)")
			continue
		}
		for _, dep := range deps {
			if to, ok := layerOf(dep); ok && to > from {
				bad = append(bad, pkg+" imports "+dep+", a higher layer")
			}
		}
	}
	return bad
}

func TestImportsPointDown(t *testing.T) {
	t.Parallel()
	imports := moduleImports(t)
	require.Contains(t, imports, modulePath+"/stacks", "go list found the module's packages")
	assert.Empty(t, upwardImports(imports))
}

// The rule itself, on made-up import lists: it must catch what the
// layering forbids, and let through what it allows.
func TestUpwardImportsRule(t *testing.T) {
	t.Parallel()
	p := func(s string) string { return modulePath + "/" + s }
	cases := []struct {
		name    string
		pkg     string
		imports []string
		bad     bool
	}{
		{"component uses a helper", p("components/kafka"), []string{p("internal/workload"), p("providers/kube")}, false},
		{"helper uses a provider", p("internal/workload"), []string{p("providers/kube")}, false},
		{"siblings in one layer", p("components/kafka"), []string{p("components/zookeeper")}, false},
		{"ops drives the stack", p("ops/engine"), []string{p("stacks")}, false},
		{"main runs the stack", modulePath, []string{p("stacks")}, false},
		{"helper imports a component", p("internal/workload"), []string{p("components/kafka")}, true},
		{"component imports the stack", p("components/kafka"), []string{p("stacks")}, true},
		{"provider imports a helper", p("providers/kube"), []string{p("internal/workload")}, true},
		{"stack imports tooling", p("stacks"), []string{p("ops/verify")}, true},
		{"tooling imports a command", p("ops/verify"), []string{p("cmd/platform")}, true},
		{"an unplaced folder", p("misc/x"), nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := upwardImports(map[string][]string{c.pkg: c.imports})
			assert.Equal(t, c.bad, len(bad) > 0, "%v", bad)
		})
	}
}
