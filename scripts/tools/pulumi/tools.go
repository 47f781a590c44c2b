//go:build tools

// Package tools records the Pulumi CLI as a dependency of this module so that
// its go.mod/go.sum pin the exact engine version that bootstrap-tools.sh builds:
//
//	go build -o "$CACHE/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
	// The package whose Version variable the build stamps with -X.
	_ "github.com/pulumi/pulumi/sdk/v3/go/common/version"
)
