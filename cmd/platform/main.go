// Command platform runs a stack of this project with the real Pulumi engine,
// in-process (the Automation API's inline mode), for machines that have the
// Pulumi CLI but not its Go language plugin. With a standard Pulumi install,
// `pulumi preview/up/destroy -s STACK` does the same.
//
//	go run ./cmd/platform -stack local [-set key=value]... [-secret-file key=PATH]... up
//	go run ./cmd/platform -stack local preview|up|destroy|outputs
//	go run ./cmd/platform -stack local [-mqtt-user U -mqtt-password-file F] verify
//	go run ./cmd/platform -stack dev3 [-node NAME] [-wait 30m] gate
//
// verify runs the book's checks against the deployed stack and prints a
// pass/fail table (docs/verify.md); it exits 1 when a check fails and 2
// when it could check nothing (the stack is not deployed, no cluster).
//
// gate waits until the health gates of a rolling node change pass (the
// nodes, Ceph, the ensemble or quorum, the brokers' partitions in sync;
// docs/cluster.md, "Rolling node changes") and exits 1 if they do not
// within -wait.
//
// State and the stack's settings live in -workdir (a file backend);
// PULUMI_CONFIG_PASSPHRASE encrypts the stack's secrets.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/apk8s/apk8s-platform/ops/engine"
	"github.com/apk8s/apk8s-platform/stacks"
)

// pairs is a repeatable -flag key=value.
type pairs map[string]string

func (p pairs) String() string { return fmt.Sprint(map[string]string(p)) }

func (p pairs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	p[k] = v
	return nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		var exit exitError
		if !errors.As(err, &exit) {
			exit = exitError{code: 1, err: err}
		}
		if exit.err != nil {
			fmt.Fprintln(os.Stderr, "platform:", exit.err)
		}
		os.Exit(exit.code)
	}
}

func run(args []string) error {
	home, _ := os.UserHomeDir()
	fs := flag.NewFlagSet("platform", flag.ContinueOnError)
	stack := fs.String("stack", "local", "stack name (Pulumi.<stack>.yaml)")
	workdir := fs.String("workdir", "", "state and stack settings (default ~/.cache/apk8s-platform/stacks/<stack>)")
	tools := fs.String("tools", defaultTools(home), `bootstrap cache with bin/pulumi ("" = pulumi on PATH)`)
	set, secrets := pairs{}, pairs{}
	fs.Var(set, "set", "config key=value (repeatable)")
	fs.Var(secrets, "secret-file", "secret config key=PATH, the value read from the file (- = standard input; repeatable)")
	var vf verifyFlags
	vf.register(fs)
	var gf gateFlags
	gf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("want one of: preview, up, destroy, outputs, verify, gate")
	}
	if *workdir == "" {
		*workdir = filepath.Join(home, ".cache", "apk8s-platform", "stacks", *stack)
	}
	ctx := context.Background()
	s, err := engine.Open(ctx, engine.Options{
		Stack:      *stack,
		ProjectDir: ".",
		WorkDir:    *workdir,
		Tools:      *tools,
		Passphrase: os.Getenv("PULUMI_CONFIG_PASSPHRASE"),
		Env:        passThrough("KUBECONFIG", "SCW_ACCESS_KEY", "SCW_SECRET_KEY", "SCW_DEFAULT_PROJECT_ID"),
	})
	if err != nil {
		return err
	}
	for k, v := range set {
		if err := s.SetConfig(ctx, stacks.Project+":"+k, auto.ConfigValue{Value: v}); err != nil {
			return err
		}
	}
	if err := setSecrets(ctx, s, secrets, os.Stdin); err != nil {
		return err
	}
	switch fs.Arg(0) {
	case "preview":
		_, err = s.Preview(ctx, optpreview.Diff(), optpreview.ProgressStreams(os.Stdout))
	case "up":
		_, err = s.Up(ctx, optup.ProgressStreams(os.Stdout))
	case "destroy":
		_, err = s.Destroy(ctx, optdestroy.ProgressStreams(os.Stdout))
	case "outputs":
		var out auto.OutputMap
		if out, err = s.Outputs(ctx); err == nil {
			printOutputs(out)
		}
	case "verify":
		err = runVerify(ctx, s, *workdir, vf)
	case "gate":
		err = runGate(ctx, s, *workdir, vf, gf)
	default:
		return fmt.Errorf("unknown command %q (want preview, up, destroy, outputs, verify, gate)", fs.Arg(0))
	}
	return err
}

// printOutputs shows the stack outputs, secrets masked as the CLI does.
func printOutputs(out auto.OutputMap) {
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := any(out[k].Value)
		if out[k].Secret {
			v = "[secret]"
		}
		fmt.Printf("%-16s %v\n", k, v)
	}
}

// defaultTools is $APK8S_TOOLS, else the cache scripts/bootstrap-tools.sh
// fills when it holds a CLI, else "" (the pulumi on PATH).
func defaultTools(home string) string {
	if dir := os.Getenv("APK8S_TOOLS"); dir != "" {
		return dir
	}
	dir := filepath.Join(home, ".cache", "apk8s-platform", "tools")
	if _, err := os.Stat(filepath.Join(dir, "bin", "pulumi")); err == nil {
		return dir
	}
	return ""
}

func passThrough(names ...string) map[string]string {
	env := map[string]string{}
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok {
			env[n] = v
		}
	}
	return env
}
