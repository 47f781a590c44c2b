package tests

import "testing"

func TestSmokeLocal(t *testing.T) {
	g := Run{Stack: "local"}.MustDo(t)
	for _, r := range g.All {
		t.Logf("%s %s parent=%s provider=%s deps=%v", r.Type, r.Name, r.Parent, r.Provider, r.DependsOn)
	}
}
