//go:build tools

// Package tools pins sigs.k8s.io/kwok (fake kubelets for test nodes); the
// bootstrap runs `go build sigs.k8s.io/kwok/cmd/kwok` in this directory.
// kwok needs a newer client-go than the control plane, hence its own module.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
