package tests

import "testing"

// BenchmarkDev3Graph evaluates the whole dev3 program under mocks: config,
// validation, every component and every registration.
func BenchmarkDev3Graph(b *testing.B) {
	run := Run{Stack: "dev3"}
	for b.Loop() {
		if _, err := run.Do(b); err != nil {
			b.Fatal(err)
		}
	}
}
