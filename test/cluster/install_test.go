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

package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// managerProcess is what the node's kernel says of one manager container's
// process.
type managerProcess struct {
	pid                                         int
	uid, capEff, capPrm, capBnd, noNewPr, secco string
	rootReadOnly                                bool
	env                                         map[string]string
}

// managerProcesses finds the manager's processes on this node (the image's
// entrypoint, /manager, with the Deployment's arguments) and reads their
// credentials, capabilities, root mount and environment from /proc.
func managerProcesses(t *testing.T) []managerProcess {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	var found []managerProcess
	for _, dir := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue // gone meanwhile
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if args[0] != "/manager" || !strings.Contains(string(cmdline), "--callback-bind-address=:8082") {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(dir))
		p := managerProcess{pid: pid, env: map[string]string{}}
		status, err := os.ReadFile(filepath.Join(dir, "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			key, value, _ := strings.Cut(line, ":")
			fields := strings.Fields(value)
			if len(fields) == 0 {
				continue
			}
			switch key {
			case "Uid":
				p.uid = strings.Join(fields, " ")
			case "CapEff":
				p.capEff = fields[0]
			case "CapPrm":
				p.capPrm = fields[0]
			case "CapBnd":
				p.capBnd = fields[0]
			case "NoNewPrivs":
				p.noNewPr = fields[0]
			case "Seccomp":
				p.secco = fields[0]
			}
		}
		mounts, _ := os.ReadFile(filepath.Join(dir, "mountinfo"))
		for _, line := range strings.Split(string(mounts), "\n") {
			fields := strings.Fields(line)
			if len(fields) > 5 && fields[4] == "/" {
				p.rootReadOnly = strings.HasPrefix(fields[5], "ro")
			}
		}
		environ, _ := os.ReadFile(filepath.Join(dir, "environ"))
		for _, kv := range strings.Split(string(environ), "\x00") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				p.env[k] = v
			}
		}
		found = append(found, p)
	}
	return found
}

// The install runs as Pods as its manifests say: both replicas Ready
// through their probes from the image make image built; each manager
// process runs as 65532 with no capability (not even in its bounding set), no
// privilege gain, a seccomp filter and a read-only root filesystem, its environment from the Pod spec
// (POD_NAMESPACE, MEMORY_LIMIT from the container's limit); one replica
// holds the leader Lease.
func TestTheInstallRunsAsPods(t *testing.T) {
	pods := managerPods(t)
	if len(pods) != 2 {
		t.Fatalf("%d manager Pods, want 2", len(pods))
	}
	names := map[string]bool{}
	for _, p := range pods {
		names[p.Name] = true
		if !podReady(&p) {
			t.Errorf("Pod %s is not Ready", p.Name)
		}
		if got := p.Spec.Containers[0].Image; got != image {
			t.Errorf("Pod %s runs %s, want %s", p.Name, got, image)
		}
		if p.Spec.NodeName != nodeName {
			t.Errorf("Pod %s is on node %q", p.Name, p.Spec.NodeName)
		}
	}
	limit := pods[0].Spec.Containers[0].Resources.Limits.Memory().Value()
	procs := managerProcesses(t)
	if len(procs) != 2 {
		t.Fatalf("%d manager processes on the node, want 2", len(procs))
	}
	for _, p := range procs {
		if p.uid != "65532 65532 65532 65532" {
			t.Errorf("manager %d runs as uid %q", p.pid, p.uid)
		}
		// The bounding set is empty only when the container drops ALL: a
		// non-root process has no effective capability either way.
		for set, v := range map[string]string{"effective": p.capEff, "permitted": p.capPrm, "bounding": p.capBnd} {
			if v != "0000000000000000" {
				t.Errorf("manager %d has %s capabilities %s", p.pid, set, v)
			}
		}
		if p.secco != "2" {
			t.Errorf("manager %d runs without a seccomp filter (Seccomp %q): the Pod asks for RuntimeDefault", p.pid, p.secco)
		}
		if p.noNewPr != "1" {
			t.Errorf("manager %d may gain privileges (NoNewPrivs %q)", p.pid, p.noNewPr)
		}
		if !p.rootReadOnly {
			t.Errorf("manager %d has a writable root filesystem", p.pid)
		}
		if p.env["POD_NAMESPACE"] != operatorNamespace || p.env["MEMORY_LIMIT"] != strconv.FormatInt(limit, 10) {
			t.Errorf("manager %d: POD_NAMESPACE %q, MEMORY_LIMIT %q (limit %d)", p.pid, p.env["POD_NAMESPACE"],
				p.env["MEMORY_LIMIT"], limit)
		}
	}
	leader := leaderPod(t)
	if !names[leader] {
		t.Errorf("the Lease is held by %q, not by one of %v", leader, names)
	}
}

// leaderPod is the Pod named by the leader Lease's holder.
func leaderPod(t *testing.T) string {
	t.Helper()
	var lease coordinationv1.Lease
	testenv.Eventually(t, func() error {
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: operatorNamespace, Name: leaseName}, &lease); err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return errors.New("no holder")
		}
		return nil
	})
	pod, _, _ := strings.Cut(*lease.Spec.HolderIdentity, "_")
	return pod
}

// linkedChannel creates a channel and a ConfigMap linked to it, and waits
// until the operator has seen the channel (Active).
func linkedChannel(t *testing.T, ns, name string) (*chatv1alpha1.OfficialChannel, *corev1.ConfigMap) {
	t.Helper()
	ch := &chatv1alpha1.OfficialChannel{ObjectMeta: testenv.ObjectMeta(ns, name, nil),
		Spec: chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp, OfficialAccountID: "@TOA#_" + ns + "_" + name}}
	cm := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, name+"-config", testenv.Labelled(name))}
	for _, obj := range []client.Object{ch, cm} {
		if err := c.Create(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	}
	waitPhase(t, ch, chatv1alpha1.PhaseActive)
	return ch, cm
}

func waitPhase(t *testing.T, ch *chatv1alpha1.OfficialChannel, want chatv1alpha1.Phase) {
	t.Helper()
	testenv.EventuallyWithin(t, time.Minute, func() error {
		got := &chatv1alpha1.OfficialChannel{}
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(ch), got); err != nil {
			return err
		}
		if got.Status.Phase != want {
			return fmt.Errorf("%s: phase %q, want %q", ch.Name, got.Status.Phase, want)
		}
		return nil
	})
}

func waitGone(t *testing.T, obj client.Object) {
	t.Helper()
	testenv.EventuallyWithin(t, time.Minute, func() error {
		err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj.DeepCopyObject().(client.Object))
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("%s still there (%v)", obj.GetName(), err)
	})
}

// A signed destruction through the channel-operator-callback Service is
// answered 200 and cleans up: the linked ConfigMap goes, an unlinked one
// stays.
func TestACallbackThroughTheServiceCleansUp(t *testing.T) {
	ns := namespace(t, "cluster-callback")
	ch, linked := linkedChannel(t, ns, "news")
	unlinked := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "unlinked", nil)}
	if err := c.Create(context.Background(), unlinked); err != nil {
		t.Fatal(err)
	}
	// kube-proxy programs a new Service within a moment: only a connection
	// that fails is tried again; any answer counts.
	var status int
	testenv.Eventually(t, func() error {
		var err error
		status, err = postDestroyed(serviceURL(t, "http", callbackService), ch.Spec.OfficialAccountID)
		return err
	})
	if status != http.StatusOK {
		t.Fatalf("destroyed callback through the Service: %d", status)
	}
	waitPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	waitGone(t, linked)
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(unlinked), &corev1.ConfigMap{}); err != nil {
		t.Fatalf("the unlinked ConfigMap: %v", err)
	}
}

// The metrics Service serves HTTPS behind authentication: a ServiceAccount
// token bound to the metrics-reader role reads the operator's metrics, no
// token gets 401.
func TestMetricsThroughTheServiceNeedAToken(t *testing.T) {
	mustKubectl(t, "-n", operatorNamespace, "create", "serviceaccount", "cluster-scraper")
	mustKubectl(t, "create", "clusterrolebinding", "cluster-scraper", "--clusterrole=channel-operator-metrics-reader",
		"--serviceaccount="+operatorNamespace+":cluster-scraper")
	t.Cleanup(func() { _, _ = kubectl("delete", "clusterrolebinding", "cluster-scraper") })
	tok := strings.TrimSpace(mustKubectl(t, "-n", operatorNamespace, "create", "token", "cluster-scraper"))
	url := serviceURL(t, "https", metricsService) + "/metrics"
	get := func(bearer string) (int, string, error) { return testenv.ScrapeMetrics(url, bearer) }
	// The metrics server listens a moment after the replica is Ready (the
	// probes do not wait for it), and the binding reaches the manager's
	// authorizer within a moment.
	testenv.Eventually(t, func() error {
		status, body, err := get(tok)
		if err != nil || status != http.StatusOK || !strings.Contains(body, "channel_operator_build_info") {
			return fmt.Errorf("with a metrics-reader token: %d %v %.200s", status, err, body)
		}
		return nil
	})
	if status, _, err := get(""); err != nil || status != http.StatusUnauthorized {
		t.Errorf("without a token: %d %v, want 401", status, err)
	}
}

// The NetworkPolicies are applied (this node's bridge network does not
// enforce them: a policy engine such as Calico or Cilium does).
func TestTheNetworkPoliciesAreApplied(t *testing.T) {
	out := mustKubectl(t, "-n", operatorNamespace, "get", "networkpolicies", "-o", "name")
	for _, want := range []string{"allow-callback-traffic", "allow-metrics-traffic", "allow-probe-traffic"} {
		if !strings.Contains(out, want) {
			t.Errorf("NetworkPolicy %s is not applied: %q", want, out)
		}
	}
}

// The leader killed outright (SIGKILL: no release of the Lease) and its Pod
// gone: another replica takes the Lease over once it expires and runs a
// cleanup to its end.
func TestKillingTheLeaderHandsOver(t *testing.T) {
	ns := namespace(t, "cluster-leader")
	ch, linked := linkedChannel(t, ns, "news")
	old := leaderPod(t)
	killed := false
	for _, p := range managerProcesses(t) {
		if p.env["HOSTNAME"] == old {
			if err := syscall.Kill(p.pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	if !killed {
		t.Fatalf("no manager process of Pod %s on the node", old)
	}
	mustKubectl(t, "-n", operatorNamespace, "delete", "pod", old, "--grace-period=0", "--force")
	testenv.EventuallyWithin(t, 90*time.Second, func() error {
		if now := leaderPod(t); now == old {
			return fmt.Errorf("the Lease is still %s's", old)
		}
		return nil
	})
	testenv.EventuallyWithin(t, 90*time.Second, func() error {
		status, err := postDestroyed(serviceURL(t, "http", callbackService), ch.Spec.OfficialAccountID)
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("destroyed callback: %d %v", status, err)
		}
		return nil
	})
	waitPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	waitGone(t, linked)
	mustKubectl(t, "-n", operatorNamespace, "rollout", "status", "deployment/"+deployment, "--timeout=120s")
}
