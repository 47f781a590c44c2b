package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/apk8s/apk8s-platform/internal/engine"
	"github.com/apk8s/apk8s-platform/stacks"
)

// secretFiles is the repeatable -secret-file key=PATH: the secret's value
// is the file's content ("-" reads standard input), never a word on the
// command line, where `ps` would show it.
type secretFiles map[string]string

func (f secretFiles) String() string { return fmt.Sprint(map[string]string(f)) }

func (f secretFiles) Set(s string) error {
	k, path, ok := strings.Cut(s, "=")
	if !ok || k == "" || path == "" {
		return fmt.Errorf("want key=PATH (a file holding the value, or - for standard input), got %q", s)
	}
	f[k] = path
	return nil
}

// setSecrets reads each secret and stores it in the stack, encrypted, with
// the value passed to the Pulumi CLI on its standard input.
func setSecrets(ctx context.Context, s auto.Stack, secrets secretFiles, stdin io.Reader) error {
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
