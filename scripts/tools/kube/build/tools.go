//go:build tools

// Package tools keeps the Kubernetes commands that bootstrap-tools.sh builds
// (go build k8s.io/kubernetes/cmd/NAME) in this module's dependency graph, so
// that go.mod/go.sum stay complete under `go mod tidy`.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
