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
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/controller"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// An object held by a foreign finalizer keeps the channel CleaningUp with
// remaining=1 until the finalizer goes; deleting the OfficialChannel in the
// meantime waits for the cleanup to finish.
func TestHeldObjectKeepsCleaningUpAndBlocksDeletion(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "held")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyDelete)
	held := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "held", testenv.Labelled("news"))}
	held.Finalizers = []string{testenv.HoldFinalizer}
	free := &corev1.Secret{ObjectMeta: testenv.ObjectMeta(ns, "free", testenv.Labelled("news"))}
	env.Create(t, held, free)

	destroy(t, ch)
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if got.Status.Phase != chatv1alpha1.PhaseCleaningUp || got.Status.Cleanup == nil || got.Status.Cleanup.Remaining != 1 {
			return fmt.Errorf("phase %q cleanup %+v", got.Status.Phase, got.Status.Cleanup)
		}
		return nil
	})
	if env.Exists(t, free) {
		t.Fatal("the free object was not deleted")
	}
	got := env.Channel(t, ch)
	if !strings.Contains(got.Status.Cleanup.Message, "configmaps/held") {
		t.Fatalf("message %q does not name the held object", got.Status.Cleanup.Message)
	}

	// Deleting the channel now waits for the cleanup.
	if err := env.Client.Delete(ctx, got); err != nil {
		t.Fatal(err)
	}
	// Deleting bumps the generation: observedGeneration says the reconciler
	// has seen the deletion.
	got = testenv.WaitFor(t, env, got, func(got *chatv1alpha1.OfficialChannel) error {
		if got.DeletionTimestamp == nil || got.Status.ObservedGeneration != got.Generation {
			return fmt.Errorf("generation %d observed %d", got.Generation, got.Status.ObservedGeneration)
		}
		return nil
	})
	if got.DeletionTimestamp == nil || !controllerutil.ContainsFinalizer(got, chatv1alpha1.CleanupFinalizer) ||
		got.Status.Phase != chatv1alpha1.PhaseCleaningUp || got.Status.Cleanup.Remaining != 1 {
		t.Fatalf("channel went before its cleanup finished: %+v", got.Status)
	}

	env.Release(t, held)
	env.WaitGone(t, ch)
	if env.Exists(t, held) {
		t.Fatal("held object still there")
	}
}

// A manager stopped in the middle of a cleanup and started again finishes it.
func TestRestartMidCleanupFinishes(t *testing.T) {
	ns := env.Namespace(t, "restart")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyDelete)
	held := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "held", testenv.Labelled("news"))}
	held.Finalizers = []string{testenv.HoldFinalizer}
	bystander := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "bystander", testenv.Labelled("weather"))}
	env.Create(t, held, bystander)
	before := snapshot(t, []client.Object{bystander})

	destroy(t, ch)
	waitForPhase(t, ch, chatv1alpha1.PhaseCleaningUp)

	start := restartManager(t)
	// While no manager runs: the hold goes, and another linked object appears.
	env.Release(t, held)
	late := &corev1.Secret{ObjectMeta: testenv.ObjectMeta(ns, "late", testenv.Labelled("news"))}
	env.Create(t, late)
	start()

	waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	if env.Exists(t, held) || env.Exists(t, late) {
		t.Fatal("linked objects left after the restarted cleanup")
	}
	assertUntouched(t, before)
}

// Deleting an active OfficialChannel lets it go at once (it holds no
// finalizer) and deletes nothing by label.
func TestDeletingActiveChannelDeletesNothing(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "delete-active")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyDelete)
	if controllerutil.ContainsFinalizer(ch, chatv1alpha1.CleanupFinalizer) {
		t.Fatalf("an active channel holds the finalizer: %v", ch.Finalizers)
	}
	c := condition(ch, chatv1alpha1.ConditionDestroyed)
	if c == nil || c.Status != metav1.ConditionFalse || c.ObservedGeneration != ch.Generation ||
		ch.Status.ObservedGeneration != ch.Generation {
		t.Fatalf("status of an active channel: %+v", ch.Status)
	}
	objs := oneOfEachKind(ns, "news", testenv.Labelled("news"))
	env.Create(t, objs...)
	before := snapshot(t, objs)

	if err := env.Client.Delete(ctx, ch); err != nil {
		t.Fatal(err)
	}
	env.WaitGone(t, ch)
	assertUntouched(t, before)
}

// A channel whose cleanup finished goes when deleted, without another pass:
// an object labelled for it afterwards is not touched.
func TestDeletingCleanedUpChannelRunsNoSecondCleanup(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "delete-cleaned")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyDelete)
	env.Create(t, &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "first", testenv.Labelled("news"))})
	destroy(t, ch)
	waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)

	later := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "later", testenv.Labelled("news"))}
	env.Create(t, later)
	before := snapshot(t, []client.Object{later})
	if err := env.Client.Delete(ctx, env.Channel(t, ch)); err != nil {
		t.Fatal(err)
	}
	env.WaitGone(t, ch)
	assertUntouched(t, before)
	if started := countEvents(t, ch, controller.EventCleanupStarted); started != 1 {
		t.Fatalf("%d CleanupStarted events, want 1", started)
	}
}

// Deleting a destroyed channel of policy Orphan deletes nothing on its way
// out: the policy holds on the deletion path too.
func TestDeletingADestroyedOrphanChannelDeletesNothing(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "orphan-delete")
	ch := newChannel(t, ns, "archive", chatv1alpha1.CleanupPolicyOrphan)
	objs := []client.Object{&corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "archive-config", testenv.Labelled("archive"))}}
	env.Create(t, objs...)
	before := snapshot(t, objs)
	destroy(t, ch)
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if c := condition(got, chatv1alpha1.ConditionCleanedUp); c == nil || c.Reason != chatv1alpha1.ReasonOrphaned {
			return fmt.Errorf("CleanedUp = %+v", c)
		}
		return nil
	})
	if err := env.Client.Delete(ctx, env.Channel(t, ch)); err != nil {
		t.Fatal(err)
	}
	env.WaitGone(t, ch)
	assertUntouched(t, before)
}

// An object owned by another OfficialChannel of the same name (an earlier
// one, deleted and created again: another UID) is not linked to this one.
func TestOwnerReferenceMatchesTheUIDNotTheName(t *testing.T) {
	ns := env.Namespace(t, "same-name")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyDelete)
	ownedByEarlier := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "earlier-config", nil)}
	ownedByEarlier.OwnerReferences = []metav1.OwnerReference{{APIVersion: chatv1alpha1.GroupVersion.String(),
		Kind: "OfficialChannel", Name: "news", UID: "00000000-0000-0000-0000-000000000001"}}
	ownedByThis := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "this-config", nil)}
	ownedByThis.OwnerReferences = []metav1.OwnerReference{{APIVersion: chatv1alpha1.GroupVersion.String(),
		Kind: "OfficialChannel", Name: "news", UID: ch.UID}}
	env.Create(t, ownedByEarlier, ownedByThis)
	before := snapshot(t, []client.Object{ownedByEarlier})

	destroy(t, ch)
	waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	if env.Exists(t, ownedByThis) {
		t.Fatal("the object this channel owns survived")
	}
	assertUntouched(t, before)
}
