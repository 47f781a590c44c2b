package kubeminor

import (
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	for v, want := range map[string]int{"v1.37.2+k3s1": 37, "1.37.2": 37, "1.37": 37, "v1.34.9+k3s1": 34, "v1.9.0": 9} {
		if got, ok := Of(v); !ok || got != want {
			t.Errorf("Of(%q) = %d, %v; want %d", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "2.1.0", "v1", "1.x", "latest"} {
		if _, ok := Of(v); ok {
			t.Errorf("Of(%q) accepted", v)
		}
	}
}

func TestStep(t *testing.T) {
	for _, ok := range [][2]int{{34, 34}, {34, 35}, {36, 37}} {
		if err := Step(ok[0], ok[1]); err != nil {
			t.Errorf("Step(%d, %d): %v", ok[0], ok[1], err)
		}
	}
	tests := []struct {
		from, to int
		want     string
	}{
		{34, 36, "runs 1.34 and moves one minor per update: set 1.35, 1.36 in turn"},
		{34, 37, "1.35, 1.36, 1.37"},
		{35, 34, "cannot move down"},
	}
	for _, tt := range tests {
		err := Step(tt.from, tt.to)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Step(%d, %d) = %v; want %q", tt.from, tt.to, err, tt.want)
		}
	}
}
