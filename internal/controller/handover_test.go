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
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/controller"
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
	if err := op.Pending.Put(ctx, destruction.Record{SDKAppID: testenv.DemoApp, OfficialAccountID: account,
		Destruction: chatv1alpha1.Destruction{EventTime: 1700000009000, ClientIP: "203.0.113.7", ReceivedAt: metav1.Now()},
	}, time.Now()); err != nil {
		t.Fatal(err)
	}
	linked := []client.Object{
		&corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "late-config", testenv.Labelled("late"))},
		&corev1.Secret{ObjectMeta: testenv.ObjectMeta(ns, "late-token", testenv.Labelled("late"))},
	}
	env.Create(t, linked...)

	ch := env.NewChannel(t, ns, "late", chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp, OfficialAccountID: account})
	got := waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	if d := got.Status.Destruction; d == nil || d.EventTime != 1700000009000 || d.ClientIP != "203.0.113.7" {
		t.Fatalf("destruction %+v", d)
	}
	for _, obj := range linked {
		if env.Exists(t, obj) {
			t.Fatalf("%T %s survived the cleanup", obj, obj.GetName())
		}
	}
	waitForEvents(t, ch, controller.EventDestructionRecorded, controller.EventCleanedUp)
	if n := countEvents(t, ch, controller.EventDestructionRecorded); n != 1 {
		t.Fatalf("%d DestructionRecorded Events, want 1", n)
	}
}

// A channel of the same account created while nothing is kept stays Active.
func TestChannelWithoutKeptDestructionStaysActive(t *testing.T) {
	ns := env.Namespace(t, "nothing-kept")
	ch := newChannel(t, ns, "calm", chatv1alpha1.CleanupPolicyDelete)
	if got := env.Channel(t, ch); got.Status.Destruction != nil || got.Status.ObservedGeneration != got.Generation {
		t.Fatalf("status %+v", got.Status)
	}
}

// A destruction is a fact about the account: an Active channel of the same
// account as one that gets destroyed, in another namespace, gets the same
// destruction and its own cleanup, with no callback of its own.
func TestSiblingOfADestroyedChannelIsDestroyedToo(t *testing.T) {
	nsA, nsB := env.Namespace(t, "sib-a"), env.Namespace(t, "sib-b")
	account := "@TOA#_" + nsA
	spec := chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp, OfficialAccountID: account}
	a := waitForPhase(t, env.NewChannel(t, nsA, "news", spec), chatv1alpha1.PhaseActive)
	b := waitForPhase(t, env.NewChannel(t, nsB, "news-mirror", spec), chatv1alpha1.PhaseActive)
	linked := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(nsB, "mirror-config", testenv.Labelled("news-mirror"))}
	env.Create(t, linked)

	destroy(t, a)
	got := waitForPhase(t, b, chatv1alpha1.PhaseCleanedUp)
	if d := got.Status.Destruction; d == nil || d.EventTime != env.Channel(t, a).Status.Destruction.EventTime {
		t.Fatalf("sibling's destruction %+v", d)
	}
	if env.Exists(t, linked) {
		t.Fatal("the sibling's linked object survived")
	}
}

// The manager's cache holds no annotation of the objects it keeps as
// metadata: kubectl apply's last-applied-configuration carries a Secret's
// data, and the cache is in the process that faces the internet.
func TestCacheHoldsNoSecretAnnotations(t *testing.T) {
	ns := env.Namespace(t, "cache")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "applied",
		Labels:      testenv.Labelled("news"),
		Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: `{"data":{"password":"c2VjcmV0"}}`}},
		StringData: map[string]string{"password": "secret"}}
	env.Create(t, secret)
	cached := &metav1.PartialObjectMetadata{}
	cached.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	cached.SetNamespace(ns)
	cached.SetName("applied")
	testenv.WaitCached(t, env.Manager.GetCache(), cached)
	if err := env.Manager.GetCache().Get(context.Background(), client.ObjectKeyFromObject(cached), cached); err != nil {
		t.Fatal(err)
	}
	if len(cached.Annotations) != 0 || cached.Labels[chatv1alpha1.LinkLabel] != "news" || cached.UID == "" {
		t.Fatalf("cached metadata %+v: want no annotations, the link label and the UID", cached.ObjectMeta)
	}
}
