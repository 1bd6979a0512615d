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

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// gcTimeout bounds what the tests wait for kube-controller-manager: the
// issue's bound for a namespace to go.
const gcTimeout = 60 * time.Second

func createChannel(t *testing.T, ns, name string) *chatv1alpha1.OfficialChannel {
	t.Helper()
	ch := &chatv1alpha1.OfficialChannel{ObjectMeta: testenv.ObjectMeta(ns, name, nil),
		Spec: chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp, OfficialAccountID: "@TOA#_" + ns + "_" + name}}
	if err := env.Client.Create(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	return ch
}

func ownedBy(ch *chatv1alpha1.OfficialChannel) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: chatv1alpha1.GroupVersion.String(), Kind: "OfficialChannel",
		Name: ch.Name, UID: ch.UID}}
}

func waitNamespaceGone(t *testing.T, ns string, within time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		err := env.Client.Get(context.Background(), client.ObjectKey{Name: ns}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			t.Logf("namespace %s gone after %s", ns, time.Since(start).Round(100*time.Millisecond))
			return
		}
		if time.Since(start) > within {
			out, _ := env.Kubectl(context.Background(), "get", "namespace", ns, "-o", "yaml")
			t.Fatalf("namespace %s not gone after %s:\n%s", ns, within, out)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// With a real garbage collector: an object owned by a deleted OfficialChannel
// is collected (background propagation), one owned by a live channel is
// not, as the README says of ownerReferences.
func TestTheGarbageCollectorCollectsWhatADeletedChannelOwned(t *testing.T) {
	useSuite(t)
	env.StartControllerManager(t)
	ctx := context.Background()
	ns := "e2e-gc"
	kubectl(t, "create", "namespace", ns)
	t.Cleanup(func() { _, _ = env.Kubectl(context.Background(), "delete", "namespace", ns, "--wait=false") })
	gone, live := createChannel(t, ns, "gone"), createChannel(t, ns, "live")
	waitPhase(t, ns, "gone", "Active")
	waitPhase(t, ns, "live", "Active")
	ofGone := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "of-gone", OwnerReferences: ownedBy(gone)}}
	ofLive := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "of-live", OwnerReferences: ownedBy(live)}}
	for _, cm := range []*corev1.ConfigMap{ofGone, ofLive} {
		if err := env.Client.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}

	if err := env.Client.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	testenv.EventuallyWithin(t, gcTimeout, func() error {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(ofGone), &corev1.ConfigMap{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("the deleted channel's ConfigMap is still there (%v)", err)
		}
		return nil
	})
	// The collector has acted on the deleted owner; the live one's stays.
	time.Sleep(2 * time.Second)
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ofLive), &corev1.ConfigMap{}); err != nil {
		t.Fatalf("the live channel's ConfigMap: %v", err)
	}
}

// A namespace of live channels (no destruction reached them) deleted while
// the operator is stopped goes: no channel holds a finalizer.
func TestANamespaceOfLiveChannelsGoesWithTheOperatorStopped(t *testing.T) {
	useSuite(t)
	env.StartControllerManager(t)
	ns := "e2e-ns-stopped"
	kubectl(t, "create", "namespace", ns)
	for i := range 3 {
		createChannel(t, ns, fmt.Sprintf("news-%d", i))
		waitPhase(t, ns, fmt.Sprintf("news-%d", i), "Active")
		env.Create(t, &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, fmt.Sprintf("news-%d-config", i),
			testenv.Labelled(fmt.Sprintf("news-%d", i)))})
	}
	stopSuiteManager(t)
	kubectl(t, "delete", "namespace", ns, "--wait=false")
	waitNamespaceGone(t, ns, gcTimeout)
}

// A namespace deleted while a destroyed channel in it is mid-cleanup goes
// once the cleanup ends (the finalizer holds it only until then), and
// nothing outside it is deleted.
func TestANamespaceMidCleanupGoesWhenTheCleanupEnds(t *testing.T) {
	useSuite(t)
	env.StartControllerManager(t)
	ctx := context.Background()
	ns, other := "e2e-ns-midcleanup", "e2e-ns-midcleanup-other"
	kubectl(t, "create", "namespace", ns)
	kubectl(t, "create", "namespace", other)
	t.Cleanup(func() { _, _ = env.Kubectl(context.Background(), "delete", "namespace", other, "--wait=false") })
	createChannel(t, ns, "news")
	waitPhase(t, ns, "news", "Active")
	held := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "news-held", testenv.Labelled("news"))}
	held.Finalizers = []string{testenv.HoldFinalizer}
	elsewhere := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(other, "news-config", testenv.Labelled("news"))}
	env.Create(t, held, elsewhere)
	if status, a := postDestroyed(t, "@TOA#_"+ns+"_news", token); status != 200 {
		t.Fatalf("destroyed callback: %d %+v", status, a)
	}
	waitPhase(t, ns, "news", "CleaningUp")

	kubectl(t, "delete", "namespace", ns, "--wait=false")
	time.Sleep(2 * time.Second) // the namespace controller at work; the cleanup waits for the held object
	env.Release(t, held)
	waitNamespaceGone(t, ns, gcTimeout)
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(elsewhere), &corev1.ConfigMap{}); err != nil {
		t.Fatalf("the same label in another namespace: %v", err)
	}
}
