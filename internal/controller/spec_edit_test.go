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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/controller"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// setPolicy changes the channel's cleanupPolicy (a new generation) and
// returns that generation.
func setPolicy(t *testing.T, ch *chatv1alpha1.OfficialChannel, policy chatv1alpha1.CleanupPolicy) int64 {
	t.Helper()
	var generation int64
	testenv.Eventually(t, func() error {
		got := env.Channel(t, ch)
		got.Spec.CleanupPolicy = policy
		if err := env.Client.Update(context.Background(), got); err != nil {
			return err // a conflict with the reconciler's status patch: again
		}
		generation = got.Generation
		return nil
	})
	return generation
}

// A finished cleanup is final: spec edits afterwards (policy Delete ->
// Orphan -> Delete, each a new generation the reconciler observes) run no
// second cleanup. An object labelled for the channel since stays, the
// channel stays CleanedUp, and there is one CleanupStarted Event.
func TestSpecEditAfterCleanupRunsNoSecondCleanup(t *testing.T) {
	ns := env.Namespace(t, "edit-cleaned")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyDelete)
	first := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "first", testenv.Labelled("news"))}
	env.Create(t, first)
	destroy(t, ch)
	waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	waitForEvents(t, ch, controller.EventCleanupStarted, controller.EventCleanedUp)
	if env.Exists(t, first) {
		t.Fatal("the linked object was not deleted by the cleanup")
	}

	later := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "later", testenv.Labelled("news"))}
	env.Create(t, later)
	// In the cache before the edits: a second cleanup would find it.
	cachedLater := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later"}}
	cachedLater.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	testenv.WaitCached(t, env.Manager.GetCache(), cachedLater)
	before := snapshot(t, []client.Object{later})
	for _, policy := range []chatv1alpha1.CleanupPolicy{chatv1alpha1.CleanupPolicyOrphan, chatv1alpha1.CleanupPolicyDelete} {
		generation := setPolicy(t, ch, policy)
		waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
			if got.Status.ObservedGeneration < generation {
				return fmt.Errorf("observedGeneration %d, waiting for %d", got.Status.ObservedGeneration, generation)
			}
			return nil
		})
		got := env.Channel(t, ch)
		c := condition(got, chatv1alpha1.ConditionCleanedUp)
		if got.Status.Phase != chatv1alpha1.PhaseCleanedUp || c == nil || c.Status != metav1.ConditionTrue ||
			c.ObservedGeneration != got.Generation {
			t.Errorf("after cleanupPolicy %s: phase %q, CleanedUp %+v at generation %d", policy, got.Status.Phase, c, got.Generation)
		}
	}
	assertUntouched(t, before)
	if got := env.Channel(t, ch); got.Status.Cleanup == nil || got.Status.Cleanup.Deleted != 1 {
		t.Fatalf("cleanup %+v, want the one first deletion only", got.Status.Cleanup)
	}
	if started := countEvents(t, ch, controller.EventCleanupStarted); started != 1 {
		t.Fatalf("%d CleanupStarted events, want 1", started)
	}
}

// Policy Orphan never ran the cleanup: switching a destroyed channel to
// Delete runs it, and then it is CleanedUp.
func TestOrphanToDeleteAfterDestructionRunsTheCleanup(t *testing.T) {
	ns := env.Namespace(t, "orphan-to-delete")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyOrphan)
	obj := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "bot-config", testenv.Labelled("news"))}
	env.Create(t, obj)
	destroy(t, ch)
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if c := condition(got, chatv1alpha1.ConditionCleanedUp); c == nil || c.Reason != chatv1alpha1.ReasonOrphaned {
			return fmt.Errorf("CleanedUp %+v, want reason Orphaned", c)
		}
		return nil
	})
	if !env.Exists(t, obj) {
		t.Fatal("policy Orphan deleted a linked object")
	}

	setPolicy(t, ch, chatv1alpha1.CleanupPolicyDelete)
	waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	if env.Exists(t, obj) {
		t.Fatal("the linked object survived the cleanup policy Delete started")
	}
}
