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
	"fmt"
	"strings"
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// pdbName is the install's PodDisruptionBudget.
const pdbName = "channel-operator-controller-manager"

func account(ns string, i int) string { return fmt.Sprintf("@TOA#_%s_%04d", ns, i) }

// Through the callback Service, as Chat's requests come through an ingress:
// a stream of signed destructions at 50 a second loses none while
// `kubectl rollout restart` replaces both replicas, nor while
// `kubectl drain` evicts what the PodDisruptionBudget lets it (on this one
// node, one replica: the drain stops at the budget and the other replica
// keeps serving). Every destruction answered 200 is in its channel's status.
func TestARolloutAndADrainLoseNoCallback(t *testing.T) {
	const (
		channels = 3000
		rate     = 50
	)
	ns := namespace(t, "cluster-drain")
	ctx := context.Background()
	testenv.CreateStreamChannels(t, c, ns, channels, func(i int) string { return account(ns, i) })

	base := serviceURL(t, "http", callbackService)
	// Past the last channel the stream starts over: a destruction already
	// recorded is answered 200 again.
	stream := testenv.StartStream(rate, func(i int) (int, error) { return postDestroyed(base, account(ns, i%channels)) })
	time.Sleep(2 * time.Second)
	start := time.Now()
	mustKubectl(t, "-n", operatorNamespace, "rollout", "restart", "deployment/"+deployment)
	mustKubectl(t, "-n", operatorNamespace, "rollout", "status", "deployment/"+deployment, "--timeout=180s")
	t.Logf("rollout restart done in %s", time.Since(start).Round(time.Second))

	// The drain evicts one replica and stops at the budget for the other:
	// with one node nowhere is left for a replacement to run.
	testenv.EventuallyWithin(t, time.Minute, func() error {
		var pdb policyv1.PodDisruptionBudget
		if err := c.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: pdbName}, &pdb); err != nil {
			return err
		}
		if pdb.Status.DisruptionsAllowed != 1 {
			return fmt.Errorf("the budget allows %d disruptions, want 1 before the drain", pdb.Status.DisruptionsAllowed)
		}
		return nil
	})
	start = time.Now()
	out, err := kubectl("drain", nodeName, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=20s")
	t.Cleanup(func() { _, _ = kubectl("uncordon", nodeName) })
	if err == nil || !strings.Contains(err.Error()+out, "disruption budget") {
		t.Errorf("kubectl drain did not stop at the PodDisruptionBudget: %v\n%s", err, out)
	}
	testenv.Eventually(t, func() error {
		if n := readyPods(t); n != 1 {
			return fmt.Errorf("%d replicas Ready after the drain stopped at the budget, want 1", n)
		}
		return nil
	})
	t.Logf("drain stopped at the budget after %s", time.Since(start).Round(time.Second))
	mustKubectl(t, "uncordon", nodeName)
	mustKubectl(t, "-n", operatorNamespace, "rollout", "status", "deployment/"+deployment, "--timeout=180s")
	time.Sleep(2 * time.Second)
	sent, ok, failures := stream.End()

	t.Logf("%d destructions sent at %d/s through a rollout restart and a drain, %d answered 200", sent, rate, len(ok))
	if len(failures) > 0 {
		t.Fatalf("%d of %d callbacks not answered 200: %v", len(failures), sent, failures[:min(len(failures), 10)])
	}
	testenv.EventuallyWithin(t, time.Minute, func() error {
		var list chatv1alpha1.OfficialChannelList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		destroyed := map[string]bool{}
		for _, ch := range list.Items {
			destroyed[ch.Name] = ch.Status.Destruction != nil
		}
		for _, i := range ok {
			if name := fmt.Sprintf("c%04d", i%channels); !destroyed[name] {
				return fmt.Errorf("%s was answered 200 but holds no destruction", name)
			}
		}
		return nil
	})
}
