// Package kubeminor is the project's rule for which Kubernetes minor a
// cluster runs, shared by every cluster kind (k3s on instances, Kapsule):
// the pinned minor is the newest one with a stable release that upstream
// still supports for at least six months; a running cluster moves one minor
// at a time, never down (k3s, kubeadm and Kapsule all upgrade that way).
package kubeminor

import (
	"fmt"
	"regexp"
	"strconv"
)

// Supported is the minor the project pins (Kubernetes 1.37: released in
// August 2026, supported upstream until about October 2027). A pin of
// another minor fails TestKubernetesMinorIsOnePin.
const Supported = 37

// Oldest is the oldest minor a deployed stack may still run (the pin before
// Supported's line of upgrades began): a config may name any minor from
// Oldest to Supported, so that a stack on Oldest can be walked up one minor
// per update.
const Oldest = 34

var versionRE = regexp.MustCompile(`^v?1\.([0-9]+)(\.[0-9]+)?([-+].*)?$`)

// Of is the minor of a Kubernetes or k3s version ("v1.37.P+k3sB", "1.37.2",
// "1.37"); false if v is not a 1.x version.
func Of(v string) (int, bool) {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// Step says whether a running cluster on minor from may move to minor to
// in one update: the same minor, or the next one. The error says what to
// do instead.
func Step(from, to int) error {
	switch {
	case to == from || to == from+1:
		return nil
	case to < from:
		return fmt.Errorf("the cluster runs 1.%d and Kubernetes cannot move down a minor; keep 1.%d or move to 1.%d", from, from, from+1)
	default:
		return fmt.Errorf("the cluster runs 1.%d and moves one minor per update: set %s in turn, one update each", from, Path(from+1, to))
	}
}

// Path lists the minors from from to to, each one update: "1.35, 1.36, 1.37".
func Path(from, to int) string {
	s := ""
	for m := from; m <= to; m++ {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("1.%d", m)
	}
	return s
}
