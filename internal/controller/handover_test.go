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

package controller

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// A destruction kept before its OfficialChannel existed becomes that
// channel's the first time the reconciler sees it, with one
// DestructionRecorded Event, and its cleanup runs as for any other.
func TestKeptDestructionIsHandedToAChannelCreatedLater(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "late")
	account := "@TOA#_" + ns
	if err := pending.Put(ctx, destruction.Record{SDKAppID: testenv.DemoApp, OfficialAccountID: account,
		Destruction: chatv1alpha1.Destruction{EventTime: 1700000009000, ClientIP: "203.0.113.7", ReceivedAt: metav1.Now()},
	}, time.Now()); err != nil {
		t.Fatal(err)
	}
	linked := []client.Object{
		&corev1.ConfigMap{ObjectMeta: objectMeta(ns, "late-config", labelled("late"))},
		&corev1.Secret{ObjectMeta: objectMeta(ns, "late-token", labelled("late"))},
	}
	create(t, linked...)

	ch := env.NewChannel(t, ns, "late", chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp, OfficialAccountID: account})
	got := waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	if d := got.Status.Destruction; d == nil || d.EventTime != 1700000009000 || d.ClientIP != "203.0.113.7" {
		t.Fatalf("destruction %+v", d)
	}
	for _, obj := range linked {
		if exists(t, obj) {
			t.Fatalf("%T %s survived the cleanup", obj, obj.GetName())
		}
	}
	waitForEvents(t, ch, EventDestructionRecorded, EventCleanedUp)
	if n := countEvents(t, ch, EventDestructionRecorded); n != 1 {
		t.Fatalf("%d DestructionRecorded Events, want 1", n)
	}
}

// A channel of the same account created while nothing is kept stays Active.
func TestChannelWithoutKeptDestructionStaysActive(t *testing.T) {
	ns := env.Namespace(t, "nothing-kept")
	ch := newChannel(t, ns, "calm", chatv1alpha1.CleanupPolicyDelete)
	if got := getChannel(t, ch); got.Status.Destruction != nil || got.Status.ObservedGeneration != got.Generation {
		t.Fatalf("status %+v", got.Status)
	}
}
