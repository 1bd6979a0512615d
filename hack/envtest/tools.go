//go:build tools

// Package envtest pins the Kubernetes commands that `make envtest` builds, so
// that `go mod tidy` keeps their dependencies in go.sum.
package envtest

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
