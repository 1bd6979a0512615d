//go:build cluster

/*
Copyright 2026 The channel-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package cluster runs the operator where users run it. `make test-cluster`
// brings a node up on this machine (hack/node/up.sh: the control plane,
// kube-scheduler, kube-controller-manager with every controller, kubelet,
// containerd 2.x with runc, a CNI bridge and kube-proxy), imports the image
// `make image` built, and these tests install it with `make deploy` and use
// it through its Services, as a platform team would.
package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/test/testenv"
)

const (
	operatorNamespace = testenv.OperatorNamespace
	deployment        = "channel-operator-controller-manager"
	callbackService   = "channel-operator-callback"
	metricsService    = "channel-operator-controller-manager-metrics-service"
	leaseName         = "channel-operator.chat.channel-operator.io"
	token             = "cluster-token"
)

var (
	kubectlBin = os.Getenv("KUBECTL")
	image      = os.Getenv("CLUSTER_IMG")
	nodeName   = os.Getenv("NODE_NAME")
	c          client.Client
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("KUBECONFIG") == "" || kubectlBin == "" || image == "" || nodeName == "" {
		fmt.Fprintln(os.Stderr, "cluster: run through `make test-cluster` (KUBECONFIG, KUBECTL, CLUSTER_IMG, NODE_NAME)")
		return 1
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		return 1
	}
	cfg.QPS, cfg.Burst = 500, 1000 // the tests create thousands of channels
	if c, err = client.New(cfg, client.Options{Scheme: testenv.Scheme()}); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		return 1
	}
	start := time.Now()
	if err := deploy(); err != nil {
		fmt.Fprintln(os.Stderr, "cluster: installing:", err)
		out, _ := kubectl("-n", operatorNamespace, "get", "pods,events", "-o", "wide")
		fmt.Fprintln(os.Stderr, out)
		return 1
	}
	fmt.Fprintf(os.Stderr, "cluster: make deploy, both replicas Ready, in %s\n", time.Since(start).Round(time.Second))
	return m.Run()
}

// deploy installs the operator as the README says: make deploy with the
// image, then the callback Secret, and waits for the rollout (both replicas
// Ready through their probes). make deploy writes the image into
// config/manager/kustomization.yaml: the file is put back.
func deploy() error {
	root := testenv.RepoRoot()
	kustomization := filepath.Join(root, "config", "manager", "kustomization.yaml")
	saved, err := os.ReadFile(kustomization)
	if err != nil {
		return err
	}
	defer func() { _ = os.WriteFile(kustomization, saved, 0o644) }()
	cmd := testenv.MakeCommand(context.Background(), "deploy", "IMG="+image, "KUBECTL="+kubectlBin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("make deploy: %w\n%s", err, out)
	}
	if _, err := kubectl("-n", operatorNamespace, "create", "secret", "generic", "channel-operator-callback",
		fmt.Sprintf("--from-literal=%d=%s", testenv.DemoApp, token)); err != nil {
		return err
	}
	_, err = kubectl("-n", operatorNamespace, "rollout", "status", "deployment/"+deployment, "--timeout=180s")
	return err
}

// kubectl runs kubectl against the cluster and returns its standard output.
func kubectl(args ...string) (string, error) {
	cmd := exec.Command(kubectlBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := kubectl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// serviceURL is scheme://clusterIP:port of a Service of the operator,
// reached from the node as any client in the cluster would (kube-proxy).
func serviceURL(t *testing.T, scheme, name string) string {
	t.Helper()
	var svc corev1.Service
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: operatorNamespace, Name: name}, &svc); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s://%s:%d", scheme, svc.Spec.ClusterIP, svc.Spec.Ports[0].Port)
}

// oneShot makes each request on a new connection, as a load balancer's
// retry-free POST does, so that kube-proxy picks an endpoint for each.
var oneShot = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// postDestroyed sends the documented destroyed sample, signed, for account
// to the receiver at base (the callback Service).
func postDestroyed(base, account string) (int, error) {
	req, err := testenv.DestroyedRequest(callback.Call{SDKAppID: testenv.DemoApp, Token: token}, base+"/callback", account)
	if err != nil {
		return 0, err
	}
	resp, err := oneShot.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// managerPods lists the operator's Pods.
func managerPods(t *testing.T) []corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	if err := c.List(context.Background(), &pods, client.InNamespace(operatorNamespace),
		client.MatchingLabels{"control-plane": "controller-manager"}); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readyPods counts the operator's Ready Pods.
func readyPods(t *testing.T) int {
	t.Helper()
	n := 0
	for _, p := range managerPods(t) {
		if podReady(&p) {
			n++
		}
	}
	return n
}

// namespace creates a namespace for a test, deleted when it ends.
func namespace(t *testing.T, name string) string {
	t.Helper()
	mustKubectl(t, "create", "namespace", name)
	t.Cleanup(func() { _, _ = kubectl("delete", "namespace", name, "--wait=false") })
	return name
}
