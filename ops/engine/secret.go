package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// SetSecret stores value as the secret config key of the stack, encrypted
// by the stack's secrets provider.
//
// The Automation API's SetConfig runs `pulumi config set KEY --secret --
// VALUE`: the value is in the child's arguments, which every user of the
// machine can read (ps, /proc/PID/cmdline). Here the CLI reads it from its
// standard input instead, which `pulumi config set` does when no value is
// given and stdin is not a terminal.
func SetSecret(ctx context.Context, s auto.Stack, key, value string) error {
	ws := s.Workspace()
	var env []string
	if home := ws.PulumiHome(); home != "" {
		env = append(env, "PULUMI_HOME="+home)
	}
	for k, v := range ws.GetEnvVars() {
		env = append(env, k+"="+v)
	}
	_, stderr, _, err := ws.PulumiCommand().Run(ctx, ws.WorkDir(), strings.NewReader(value), nil, nil, env,
		"config", "set", "--stack", s.Name(), "--secret", "--", key)
	if err != nil {
		return fmt.Errorf("engine: set secret %s: %w: %s", key, err, strings.TrimSpace(stderr))
	}
	return nil
}
