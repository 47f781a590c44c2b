// Command stackguard stands between a teardown and a stack: it lets
// `pulumi destroy` run only on a stack whose name matches the project's
// disposable pattern (internal/disposable) AND whose Pulumi.<stack>.yaml
// marks it disposable (apk8s-platform:disposable: true), and refuses every
// other one.
//
//	go run ./cmd/stackguard -stack dev3        exit 0: dev3 may be destroyed
//	go run ./cmd/stackguard -stack local       exit 1: refused, and why
//	go run ./cmd/stackguard -list              the disposable stacks, one a line
//
// The mark must be written in the stack file itself: the project default
// (false in Pulumi.yaml) never makes a stack disposable, and neither does a
// value other than the boolean true or the string "true". The name keeps a
// copied stack file (Pulumi.prod.yaml made from Pulumi.dev3.yaml, mark
// included) from being adopted without anyone deciding it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/apk8s/apk8s-platform/internal/disposable"
)

// Key is the stack config key that marks a stack disposable.
const Key = "apk8s-platform:disposable"

// plainName is a stack name without an organisation or project part, as
// Pulumi spells stack names: letters, digits, '-', '_' and '.'.
var plainName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ErrRefused is wrapped by every refusal, so callers can tell a refused
// stack from a broken project directory.
var ErrRefused = errors.New("refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// StackFile is the path of a stack's config file in dir.
func StackFile(dir, stack string) string {
	return filepath.Join(dir, "Pulumi."+stack+".yaml")
}

// Check returns nil when the stack may be destroyed, and otherwise an error
// wrapping ErrRefused that tells the user what to change.
func Check(dir, stack string) error {
	if !plainName.MatchString(stack) || strings.Contains(stack, "..") {
		return refuse("%q is not a plain stack name (letters, digits, '-', '_', '.'; no path, no org/project)", stack)
	}
	if !disposable.NameMatches(stack) {
		return refuse("stack %q is not disposable: its name does not match %s, the pattern of disposable stacks "+
			"(internal/disposable); a stack of another name is never torn down, whatever its file says", stack, disposable.NamePattern)
	}
	path := StackFile(dir, stack)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return refuse("unknown stack %q: there is no %s", stack, path)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	// gopkg.in/yaml.v3 is the parser Pulumi reads stack files with: YAML
	// 1.2, where `yes` and `on` are strings, not booleans.
	var file struct {
		Config map[string]yaml.Node `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return refuse("stack %q: %s cannot be read as a stack file: %v", stack, path, err)
	}
	v, ok := file.Config[Key]
	if !ok {
		return refuse("stack %q is not disposable: %s does not set %s (the default is false); "+
			"set it to true only for a dev stack that may be destroyed", stack, path, Key)
	}
	if isTrue(&v) {
		return nil
	}
	return refuse("stack %q is not disposable: %s sets %s to %s, not true", stack, path, Key, describe(&v))
}

// isTrue holds for the YAML boolean true and for the string "true" (the
// way `pulumi config set disposable true` writes it), nothing else.
func isTrue(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	switch n.Tag {
	case "!!bool":
		var b bool
		return n.Decode(&b) == nil && b
	case "!!str":
		return n.Value == "true"
	}
	return false
}

// describe shows a config value the way the user wrote it.
func describe(n *yaml.Node) string {
	switch {
	case n.Kind != yaml.ScalarNode:
		return "a map or list (a secret or structured value)"
	case n.Tag == "!!str":
		return fmt.Sprintf("%q", n.Value)
	default:
		return n.Value
	}
}

// Disposable checks every Pulumi.<stack>.yaml in dir and returns the names
// of the disposable stacks, sorted, and the refusal of each other stack.
func Disposable(dir string) (stacks []string, refused []error, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(files)
	for _, f := range files {
		stack := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml")
		switch err := Check(dir, stack); {
		case err == nil:
			stacks = append(stacks, stack)
		case errors.Is(err, ErrRefused):
			refused = append(refused, err)
		default:
			return nil, nil, err
		}
	}
	return stacks, refused, nil
}

// run is main with its exit code: 0 allowed, 1 refused, 2 usage or I/O error.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("stackguard", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("dir", ".", "project directory, where Pulumi.yaml and the Pulumi.<stack>.yaml files are")
	stack := flags.String("stack", "", "the stack a teardown wants to destroy")
	list := flags.Bool("list", false, "print the disposable stacks of -dir, one a line, and the others' refusals on stderr")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() > 0 || (*stack == "") == !*list {
		fmt.Fprintln(stderr, "usage: stackguard [-dir DIR] -stack NAME | stackguard [-dir DIR] -list")
		return 2
	}
	if *list {
		stacks, refused, err := Disposable(*dir)
		if err != nil {
			fmt.Fprintln(stderr, "stackguard:", err)
			return 2
		}
		for _, r := range refused {
			fmt.Fprintln(stderr, "stackguard: skip:", r)
		}
		for _, s := range stacks {
			fmt.Fprintln(stdout, s)
		}
		return 0
	}
	err := Check(*dir, *stack)
	switch {
	case err == nil:
		fmt.Fprintf(stdout, "stackguard: stack %q is marked disposable; teardown may go ahead\n", *stack)
		return 0
	case errors.Is(err, ErrRefused):
		fmt.Fprintln(stderr, "stackguard:", err)
		return 1
	default:
		fmt.Fprintln(stderr, "stackguard:", err)
		return 2
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
