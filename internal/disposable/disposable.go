// Package disposable declares which stacks the teardown may destroy: a
// stack must say so in its own file (apk8s-platform:disposable: true) and
// carry a name of the pattern below. The two together mean a copied stack
// file is never adopted silently: Pulumi.prod.yaml copied from
// Pulumi.dev3.yaml keeps the mark, but not a disposable name.
package disposable

import "regexp"

// NamePattern is the one place the project declares its disposable stack
// names: dev, a number, and optional dash-separated suffixes (dev3,
// dev4-alice).
const NamePattern = `^dev[0-9]+(-[a-z0-9]+)*$`

var name = regexp.MustCompile(NamePattern)

// NameMatches tells whether stack has a disposable name.
func NameMatches(stack string) bool { return name.MatchString(stack) }
