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

package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

func hasFinalizer(ch *chatv1alpha1.OfficialChannel) bool {
	return controllerutil.ContainsFinalizer(ch, chatv1alpha1.CleanupFinalizer)
}

// A channel holds the finalizer only while its cleanup runs: an active one
// never does, so it goes at once when deleted even with the operator
// stopped (and its namespace with it); a cleanup under way holds it until
// the cleanup ends; one given the finalizer by an older operator loses it.
func TestAChannelHoldsTheFinalizerOnlyWhileItsCleanupRuns(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "finalizer")
	active := newChannel(t, ns, "active", chatv1alpha1.CleanupPolicyDelete)
	if hasFinalizer(active) {
		t.Fatalf("an active channel holds the finalizer: %v", active.Finalizers)
	}

	legacy := &chatv1alpha1.OfficialChannel{ObjectMeta: testenv.ObjectMeta(ns, "legacy", nil),
		Spec: chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp, OfficialAccountID: "@TOA#_" + ns + "_legacy"}}
	legacy.Finalizers = []string{chatv1alpha1.CleanupFinalizer}
	env.Create(t, legacy)
	waitFor(t, legacy, func(got *chatv1alpha1.OfficialChannel) error {
		if got.Status.Phase != chatv1alpha1.PhaseActive || hasFinalizer(got) {
			return fmt.Errorf("phase %q, finalizers %v", got.Status.Phase, got.Finalizers)
		}
		return nil
	})

	cleaning := newChannel(t, ns, "cleaning", chatv1alpha1.CleanupPolicyDelete)
	held := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "held", testenv.Labelled("cleaning"))}
	held.Finalizers = []string{testenv.HoldFinalizer}
	env.Create(t, held)
	destroy(t, cleaning)
	waitFor(t, cleaning, func(got *chatv1alpha1.OfficialChannel) error {
		if got.Status.Phase != chatv1alpha1.PhaseCleaningUp || !hasFinalizer(got) {
			return fmt.Errorf("phase %q, finalizers %v", got.Status.Phase, got.Finalizers)
		}
		return nil
	})

	// The operator stopped: the active channel goes at once; the one whose
	// cleanup runs waits for the operator.
	start := restartManager(t)
	if err := env.Client.Delete(ctx, active); err != nil {
		t.Fatal(err)
	}
	env.WaitGone(t, active)
	start()

	env.Release(t, held)
	waitFor(t, cleaning, func(got *chatv1alpha1.OfficialChannel) error {
		if got.Status.Phase != chatv1alpha1.PhaseCleanedUp || hasFinalizer(got) {
			return fmt.Errorf("phase %q, finalizers %v", got.Status.Phase, got.Finalizers)
		}
		return nil
	})
}

// A destruction recorded and the channel deleted an instant later, before
// or after the reconciler acts: either the channel goes with nothing
// deleted, or its cleanup runs to the end; never half of it. (The suite's
// client audits that no delete is of a channel not due a cleanup.)
func TestADeleteRightAfterTheDestructionLeavesNothingHalfDone(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "destroy-delete")
	const perChannel = 5
	outcomes := map[int]int{}
	for i := range 10 {
		name := fmt.Sprintf("news-%d", i)
		ch := newChannel(t, ns, name, chatv1alpha1.CleanupPolicyDelete)
		objs := make([]client.Object, 0, perChannel)
		for j := range perChannel {
			objs = append(objs, &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, fmt.Sprintf("%s-config-%d", name, j),
				testenv.Labelled(name))})
		}
		env.Create(t, objs...)
		destroy(t, ch)
		if err := env.Client.Delete(ctx, ch); err != nil {
			t.Fatal(err)
		}
		env.WaitGone(t, ch)
		// A pass that began before the channel went ends on its own: give
		// it the time to.
		left := -1
		for range 20 {
			n := 0
			for _, obj := range objs {
				if env.Exists(t, obj) {
					n++
				}
			}
			if n == left {
				break
			}
			left = n
			time.Sleep(50 * time.Millisecond)
		}
		if left != 0 && left != perChannel {
			t.Errorf("%s: %d of its %d linked objects left: a cleanup half done", name, left, perChannel)
		}
		outcomes[left]++
	}
	t.Logf("channels cleaned up: %d; let go with nothing deleted: %d", outcomes[0], outcomes[perChannel])
}

// A cleanup that ends in its first pass never puts the finalizer on its
// channel, and writes the channel once: its status.
func TestAOnePassCleanupWritesTheChannelOnce(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "one-pass")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyDelete)
	env.Create(t, &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "news-config", testenv.Labelled("news"))})
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if got.Status.Inventory == nil || got.Status.Inventory.Count != 1 {
			return fmt.Errorf("inventory %+v", got.Status.Inventory)
		}
		return nil
	})
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	w, err := wc.Watch(ctx, &chatv1alpha1.OfficialChannelList{}, client.InNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	destroy(t, ch)
	var writes []string
	timeout := time.AfterFunc(time.Minute, w.Stop)
	defer timeout.Stop()
	for ev := range w.ResultChan() {
		got, ok := ev.Object.(*chatv1alpha1.OfficialChannel)
		if !ok || ev.Type == watch.Added {
			continue
		}
		writes = append(writes, fmt.Sprintf("%s phase %q finalizers %v", ev.Type, got.Status.Phase, got.Finalizers))
		if hasFinalizer(got) {
			t.Errorf("the channel held the finalizer: %s", writes[len(writes)-1])
		}
		if got.Status.Phase == chatv1alpha1.PhaseCleanedUp {
			break
		}
	}
	// The destruction (the test's write), then the cleanup's status.
	if len(writes) != 2 {
		t.Errorf("channel written %d times, want 2: %v", len(writes), writes)
	}
}

// A first pass is not cut short by the manager's shutdown (a rollout): it
// deletes all it found, though the channel does not hold the finalizer and
// could be deleted before a replica took the cleanup up again.
func TestAFirstPassOutlivesTheManagersShutdown(t *testing.T) {
	ns := env.Namespace(t, "pass-shutdown")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyDelete)
	objs := make([]client.Object, 0, 6)
	for i := range 6 {
		objs = append(objs, &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, fmt.Sprintf("%snews-%d", slowPrefix, i),
			testenv.Labelled("news"))})
	}
	env.Create(t, objs...)
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if got.Status.Inventory == nil || got.Status.Inventory.Count != int32(len(objs)) {
			return fmt.Errorf("inventory %+v", got.Status.Inventory)
		}
		return nil
	})
	for len(slowDeletes) > 0 {
		<-slowDeletes
	}
	destroy(t, ch)
	select {
	case <-slowDeletes:
	case <-time.After(30 * time.Second):
		t.Fatal("the cleanup did not begin")
	}
	start := restartManager(t) // while the first deletes are in flight
	for _, obj := range objs {
		if env.Exists(t, obj) {
			t.Errorf("%s left: the shutdown cut the pass short", obj.GetName())
		}
	}
	start()
	got := waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	if got.Status.Cleanup == nil || got.Status.Cleanup.Deleted != int32(len(objs)) {
		t.Errorf("cleanup %+v, want the %d deletes of the pass the shutdown let finish recorded", got.Status.Cleanup, len(objs))
	}
}
