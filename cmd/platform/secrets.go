package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/apk8s/apk8s-platform/ops/engine"
	"github.com/apk8s/apk8s-platform/stacks"
)

// setSecrets reads each secret (key=PATH of the repeatable -secret-file,
// "-" for standard input) and stores it in the stack, encrypted, with the
// value passed to the Pulumi CLI on its standard input: never a word on a
// command line, where `ps` would show it.
func setSecrets(ctx context.Context, s auto.Stack, secrets map[string]string, stdin io.Reader) error {
	for k, path := range secrets {
		var raw []byte
		var err error
		if path == "-" {
			raw, err = io.ReadAll(stdin)
		} else {
			raw, err = os.ReadFile(path)
		}
		if err != nil {
			return fmt.Errorf("secret %s: %w", k, err)
		}
		if err := engine.SetSecret(ctx, s, stacks.Project+":"+k, strings.TrimSpace(string(raw))); err != nil {
			return err
		}
	}
	return nil
}
