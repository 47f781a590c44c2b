// Package engine opens a stack of this project with the real Pulumi engine
// through the Automation API's inline mode: the program is stacks.Run, run
// in-process. Users with a standard Pulumi install run `pulumi up`; this
// serves where the Go language plugin is not at hand (the module proxy here
// does not serve pulumi-language-go) and drives the end-to-end tests.
package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/apk8s/apk8s-platform/stacks"
)

// Options say which stack to open and where its state lives.
type Options struct {
	Stack string
	// ProjectDir holds Pulumi.yaml and Pulumi.<stack>.yaml.
	ProjectDir string
	// WorkDir receives copies of those files, so that `config set` never
	// edits the repository, and holds the file backend's state.
	WorkDir string
	// Tools is a bootstrap cache (bin/pulumi, pulumi-home); "" uses the
	// pulumi on PATH and the default PULUMI_HOME.
	Tools string
	// Passphrase encrypts the stack's secrets.
	Passphrase string
	// Env is passed to the engine and the provider plugins (KUBECONFIG).
	Env map[string]string
}

// Open creates or selects the stack.
func Open(ctx context.Context, o Options) (auto.Stack, error) {
	if o.Passphrase == "" {
		return auto.Stack{}, fmt.Errorf("engine: a secrets passphrase is required")
	}
	if err := os.MkdirAll(filepath.Join(o.WorkDir, "state"), 0o700); err != nil {
		return auto.Stack{}, err
	}
	for _, f := range []string{"Pulumi.yaml", "Pulumi." + o.Stack + ".yaml"} {
		if err := copyOnce(filepath.Join(o.ProjectDir, f), filepath.Join(o.WorkDir, f), f == "Pulumi.yaml"); err != nil {
			return auto.Stack{}, err
		}
	}
	env := map[string]string{
		"PULUMI_BACKEND_URL":       "file://" + filepath.Join(o.WorkDir, "state"),
		"PULUMI_CONFIG_PASSPHRASE": o.Passphrase,
		"PULUMI_SKIP_UPDATE_CHECK": "true",
	}
	var cmdOpts auto.PulumiCommandOptions
	if o.Tools != "" {
		cmdOpts.Root = o.Tools
		env["PULUMI_HOME"] = filepath.Join(o.Tools, "pulumi-home")
		// The plugin comes from the bootstrap; nothing is downloaded.
		env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
	}
	for k, v := range o.Env {
		env[k] = v
	}
	cli, err := auto.NewPulumiCommand(&cmdOpts)
	if err != nil {
		return auto.Stack{}, fmt.Errorf("engine: no pulumi CLI (run scripts/bootstrap-tools.sh): %w", err)
	}
	return auto.UpsertStackInlineSource(ctx, o.Stack, stacks.Project, stacks.Run,
		auto.WorkDir(o.WorkDir), auto.Pulumi(cli), auto.EnvVars(env), auto.SecretsProvider("passphrase"))
}

// copyOnce copies src to dst. The stack file is copied only the first time:
// later it holds the stack's own settings (its secrets, its salt). The
// project file is always refreshed.
func copyOnce(src, dst string, always bool) error {
	if _, err := os.Stat(dst); err == nil && !always {
		return nil
	}
	raw, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return os.WriteFile(dst, raw, 0o600)
}
