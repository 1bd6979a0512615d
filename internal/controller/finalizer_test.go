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
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
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
// deleted, or its cleanup runs under the finalizer, to the end. No linked
// object is ever deleted while its channel lacks the finalizer (the
// suite's client audits every delete), and no channel is left behind.
func TestADeleteRightAfterTheDestructionLeavesNothingHalfDone(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "destroy-delete")
	for i := range 10 {
		name := fmt.Sprintf("news-%d", i)
		ch := newChannel(t, ns, name, chatv1alpha1.CleanupPolicyDelete)
		cm := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, name+"-config", testenv.Labelled(name))}
		env.Create(t, cm)
		destroy(t, ch)
		if err := env.Client.Delete(ctx, ch); err != nil {
			t.Fatal(err)
		}
		env.WaitGone(t, ch)
	}
	unheldDeletes.Lock()
	defer unheldDeletes.Unlock()
	if i := slices.IndexFunc(unheldDeletes.names, func(n string) bool { return strings.HasPrefix(n, ns+"/") }); i >= 0 {
		t.Fatalf("deleted while its channel did not hold the finalizer: %v", unheldDeletes.names)
	}
}
