//go:build tools

// Package envtest pins the Kubernetes commands that `make envtest` (the
// control plane) and `make node` (kubelet, kube-proxy, kube-scheduler) build,
// so that `go mod tidy` keeps their dependencies in go.sum.
package envtest

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
