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
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/controller"
	"github.com/channel-operator/channel-operator/test/testenv"
)

func configMap(ns, name string, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, name, labels)}
}

func protect(obj client.Object, value string) client.Object {
	obj.SetAnnotations(map[string]string{chatv1alpha1.ProtectAnnotation: value})
	return obj
}

// inventoryNames renders the inventory as kind/name[*] (* for protected), in its order.
func inventoryNames(inv *chatv1alpha1.Inventory) []string {
	if inv == nil {
		return nil
	}
	names := make([]string, 0, len(inv.Entries))
	for _, e := range inv.Entries {
		n := e.Kind + "/" + e.Name
		if e.Protected {
			n += "*"
		}
		names = append(names, n)
	}
	return names
}

func waitForInventory(t *testing.T, ch *chatv1alpha1.OfficialChannel, want ...string) *chatv1alpha1.OfficialChannel {
	t.Helper()
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		names := inventoryNames(got.Status.Inventory)
		if !slices.Equal(names, want) || got.Status.Inventory.Count != int32(len(want)) {
			return fmt.Errorf("inventory %v (%+v), want %v", names, got.Status.Inventory, want)
		}
		return nil
	})
	return env.Channel(t, ch)
}

// The inventory lists what a cleanup would delete, by label, ownerReference
// and spec.linkedResources, protected objects marked; it follows the
// links while the channel is active, is frozen by the destruction, and the
// cleanup deletes the plan and what was linked after it, nothing else: not
// what was unlinked, not what is protected.
func TestTheInventoryIsTheCleanupsPlan(t *testing.T) {
	ns := env.Namespace(t, "inventory")
	env.Create(t, configMap(ns, "listed", nil))
	ch := newChannel(t, ns, "bot", chatv1alpha1.CleanupPolicyDelete,
		chatv1alpha1.LinkedResource{APIVersion: "v1", Kind: "ConfigMap", Name: "listed"})
	owned := configMap(ns, "owned", nil)
	owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: chatv1alpha1.GroupVersion.String(), Kind: "OfficialChannel",
		Name: ch.Name, UID: ch.UID}}
	env.Create(t, configMap(ns, "config", testenv.Labelled("bot")), owned,
		protect(&corev1.Secret{ObjectMeta: testenv.ObjectMeta(ns, "database", testenv.Labelled("bot"))}, "true"),
		configMap(ns, "other", testenv.Labelled("other-bot")))
	waitForInventory(t, ch, "ConfigMap/config", "ConfigMap/listed", "ConfigMap/owned", "Secret/database*")

	// Relabelled away, and a new one: the inventory follows.
	leaving := configMap(ns, "config", nil)
	env.Get(t, leaving)
	leaving.Labels = nil
	if err := env.Client.Update(context.Background(), leaving); err != nil {
		t.Fatal(err)
	}
	env.Create(t, configMap(ns, "cache", testenv.Labelled("bot")))
	plan := waitForInventory(t, ch, "ConfigMap/cache", "ConfigMap/listed", "ConfigMap/owned", "Secret/database*").Status.Inventory

	// The destruction freezes it; what is linked after it is deleted too.
	chWithHold := env.Channel(t, ch)
	chWithHold.Annotations = map[string]string{chatv1alpha1.HoldAnnotation: "true"}
	if err := env.Client.Update(context.Background(), chWithHold); err != nil {
		t.Fatal(err)
	}
	destroy(t, ch)
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if r := condition(got, chatv1alpha1.ConditionCleanedUp).Reason; r != chatv1alpha1.ReasonHeld {
			return fmt.Errorf("CleanedUp reason %s, want Held", r)
		}
		return nil
	})
	env.Create(t, configMap(ns, "late", testenv.Labelled("bot")))
	time.Sleep(2 * inventoryInterval) // a live inventory would list it by now
	if got := env.Channel(t, ch).Status.Inventory; !slices.Equal(inventoryNames(got), inventoryNames(plan)) {
		t.Fatalf("the plan changed after the destruction: %v, was %v", inventoryNames(got), inventoryNames(plan))
	}

	released := env.Channel(t, ch)
	released.Annotations = nil
	if err := env.Client.Update(context.Background(), released); err != nil {
		t.Fatal(err)
	}
	got := waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	for _, name := range []string{"cache", "listed", "owned", "late"} {
		if env.Exists(t, configMap(ns, name, nil)) {
			t.Errorf("ConfigMap %s, in the plan or linked after it, was not deleted", name)
		}
	}
	for _, name := range []string{"config", "other"} {
		if !env.Exists(t, configMap(ns, name, nil)) {
			t.Errorf("ConfigMap %s, not linked, was deleted", name)
		}
	}
	if !env.Exists(t, &corev1.Secret{ObjectMeta: testenv.ObjectMeta(ns, "database", nil)}) {
		t.Error("the protected Secret was deleted")
	}
	if c := got.Status.Cleanup; c.Deleted != 4 || c.Protected != 1 || c.Remaining != 0 {
		t.Errorf("cleanup %+v, want 4 deleted, 1 protected, none remaining", c)
	}
	if !slices.Equal(inventoryNames(got.Status.Inventory), inventoryNames(plan)) {
		t.Errorf("the inventory after the cleanup %v, want the plan %v", inventoryNames(got.Status.Inventory), inventoryNames(plan))
	}
	if !strings.Contains(got.Status.Cleanup.Message, "secrets/database") {
		t.Errorf("cleanup message %q does not name the protected Secret", got.Status.Cleanup.Message)
	}
	if n := countEvents(t, ch, controller.EventCleanedUp); n != 1 {
		t.Errorf("%d CleanedUp Events, want 1", n)
	}
}

// An inventory that does not change is not written, whatever its objects do;
// one that changes all the time is written once per interval at most.
func TestTheInventoryIsWrittenOnlyWhenItChanges(t *testing.T) {
	ns := env.Namespace(t, "inventory-writes")
	env.Create(t, configMap(ns, "config", testenv.Labelled("bot")))
	ch := newChannel(t, ns, "bot", chatv1alpha1.CleanupPolicyDelete)
	ch = waitForInventory(t, ch, "ConfigMap/config")

	// Changes that are not the inventory's: data, other labels and annotations.
	cm := configMap(ns, "config", nil)
	for i := range 5 {
		env.Get(t, cm)
		cm.Data = map[string]string{"n": fmt.Sprint(i)}
		cm.Annotations = map[string]string{"example.com/n": fmt.Sprint(i)}
		cm.Labels["app"] = fmt.Sprint(i)
		if err := env.Client.Update(context.Background(), cm); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * inventoryInterval)
	if rv := env.Channel(t, ch).ResourceVersion; rv != ch.ResourceVersion {
		t.Fatalf("the channel was written (resourceVersion %s, was %s) though its inventory did not change", rv, ch.ResourceVersion)
	}

	// A burst of changes: one write per interval at most.
	watcher, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	w, err := watcher.Watch(context.Background(), &chatv1alpha1.OfficialChannelList{}, client.InNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	for i := range 20 {
		env.Create(t, configMap(ns, fmt.Sprintf("burst-%02d", i), testenv.Labelled("bot")))
		time.Sleep(inventoryInterval / 10)
	}
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if got.Status.Inventory.Count != 21 {
			return fmt.Errorf("inventory count %d, want 21", got.Status.Inventory.Count)
		}
		return nil
	})
	elapsed := time.Since(start)
	time.Sleep(inventoryInterval / 10) // the last write's event
	writes := 0
	for drained := false; !drained; {
		select {
		case ev := <-w.ResultChan():
			if ev.Type == watch.Modified {
				writes++
			}
		default:
			drained = true
		}
	}
	if most := int(elapsed/inventoryInterval) + 1; writes > most {
		t.Fatalf("%d writes of the channel in %s, want at most %d (one per %s)", writes, elapsed, most, inventoryInterval)
	}
}

func setAnnotations(t *testing.T, ch *chatv1alpha1.OfficialChannel, annotations map[string]string) {
	t.Helper()
	testenv.Eventually(t, func() error {
		got := env.Channel(t, ch)
		got.Annotations = annotations
		return env.Client.Update(context.Background(), got)
	})
}

func waitForReason(t *testing.T, ch *chatv1alpha1.OfficialChannel, reason string) *chatv1alpha1.OfficialChannel {
	t.Helper()
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if c := condition(got, chatv1alpha1.ConditionCleanedUp); c == nil || c.Reason != reason ||
			got.Status.Phase != chatv1alpha1.PhaseDestroyed {
			return fmt.Errorf("phase %s, CleanedUp %+v, want Destroyed and reason %s", got.Status.Phase, c, reason)
		}
		return nil
	})
	return env.Channel(t, ch)
}

// spec.cleanupDelay schedules the cleanup: phase Destroyed, reason
// Scheduled, notBefore the delay after the destruction, nothing deleted
// until then; then the cleanup runs by itself.
func TestACleanupDelaySchedulesTheCleanup(t *testing.T) {
	ns := env.Namespace(t, "delay")
	env.Create(t, configMap(ns, "config", testenv.Labelled("bot")))
	ch := env.NewChannel(t, ns, "bot", chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp,
		OfficialAccountID: "@TOA#_delay", CleanupDelay: &metav1.Duration{Duration: 3 * time.Second}})
	waitForInventory(t, ch, "ConfigMap/config")
	destroy(t, ch)
	got := waitForReason(t, ch, chatv1alpha1.ReasonScheduled)
	want := got.Status.Destruction.ReceivedAt.Add(3 * time.Second).Truncate(time.Second)
	if nb := got.Status.Cleanup.NotBefore; nb == nil || !nb.Time.Equal(want) {
		t.Fatalf("notBefore %v, want %v (the delay after the destruction)", nb, want)
	}
	if !env.Exists(t, configMap(ns, "config", nil)) {
		t.Fatal("the ConfigMap was deleted before notBefore")
	}
	waitForEvents(t, ch, controller.EventCleanupScheduled)
	waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	if env.Exists(t, configMap(ns, "config", nil)) {
		t.Fatal("the ConfigMap is still there after the scheduled cleanup")
	}
}

// The hold annotation holds a cleanup that has not started for as long as
// it is there; any value but "true" is ignored and the condition says so.
func TestTheHoldAnnotationHoldsOnlyWhenTrue(t *testing.T) {
	ns := env.Namespace(t, "hold")
	env.Create(t, configMap(ns, "config", testenv.Labelled("bot")), configMap(ns, "other", testenv.Labelled("ignored")))
	ch := env.NewChannel(t, ns, "bot", chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp,
		OfficialAccountID: "@TOA#_hold", CleanupDelay: &metav1.Duration{Duration: time.Hour}})
	ignored := env.NewChannel(t, ns, "ignored", chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp,
		OfficialAccountID: "@TOA#_hold_ignored"})
	setAnnotations(t, ignored, map[string]string{chatv1alpha1.HoldAnnotation: "yes"})
	destroy(t, ignored)
	got := waitForPhase(t, ignored, chatv1alpha1.PhaseCleanedUp)
	if msg := condition(got, chatv1alpha1.ConditionCleanedUp).Message; !strings.Contains(msg, chatv1alpha1.HoldAnnotation+`="yes"`) {
		t.Errorf("CleanedUp message %q does not say the hold annotation was ignored", msg)
	}

	// Scheduled, then held: the hold outlasts the delay.
	destroy(t, ch)
	waitForReason(t, ch, chatv1alpha1.ReasonScheduled)
	setAnnotations(t, ch, map[string]string{chatv1alpha1.HoldAnnotation: "true"})
	waitForReason(t, ch, chatv1alpha1.ReasonHeld)
	waitForEvents(t, ch, controller.EventCleanupHeld)
	spec := env.Channel(t, ch)
	spec.Spec.CleanupDelay = &metav1.Duration{}
	if err := env.Client.Update(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	waitForReason(t, ch, chatv1alpha1.ReasonHeld)
	if !env.Exists(t, configMap(ns, "config", nil)) {
		t.Fatal("a held cleanup deleted the ConfigMap")
	}
	if n := metricValue(t, "channel_operator_cleanups_held", "reason", chatv1alpha1.ReasonHeld); n < 1 {
		t.Errorf("channel_operator_cleanups_held{reason=Held} = %v, want at least 1", n)
	}
	setAnnotations(t, ch, nil)
	waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	if env.Exists(t, configMap(ns, "config", nil)) {
		t.Fatal("the ConfigMap is still there once the hold was lifted")
	}
}

// A channel deleted while its cleanup waits goes without deleting anything:
// only a started cleanup finishes before its channel goes.
func TestDeletingAChannelWhoseCleanupWaitsDeletesNothing(t *testing.T) {
	ns := env.Namespace(t, "waiting-delete")
	env.Create(t, configMap(ns, "config", testenv.Labelled("bot")))
	ch := env.NewChannel(t, ns, "bot", chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp,
		OfficialAccountID: "@TOA#_waiting_delete", CleanupDelay: &metav1.Duration{Duration: time.Hour}})
	destroy(t, ch)
	waitForReason(t, ch, chatv1alpha1.ReasonScheduled)
	if err := env.Client.Delete(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	env.WaitGone(t, ch)
	if !env.Exists(t, configMap(ns, "config", nil)) {
		t.Fatal("deleting a channel whose cleanup was scheduled deleted its ConfigMap")
	}
}

// A destruction recorded without REST credentials waits out its delay; the
// app's credentials added meanwhile, Chat finds the account and the report
// is refuted: the cleanup is cancelled, nothing is deleted.
func TestARefutationDuringTheDelayCancelsTheCleanup(t *testing.T) {
	ns := env.Namespace(t, "refuted-wait")
	const app, key = int64(1400000078), "c0ffee0000000000000000000000000000000000000000000000000000000078"
	const account = "@TOA#_refuted_wait"
	env.Create(t, configMap(ns, "config", testenv.Labelled("bot")))
	ch := env.NewChannel(t, ns, "bot", chatv1alpha1.OfficialChannelSpec{SDKAppID: app, OfficialAccountID: account,
		CleanupDelay: &metav1.Duration{Duration: time.Hour}})
	waitForPhase(t, ch, chatv1alpha1.PhaseActive)
	destroy(t, ch)
	waitForReason(t, ch, chatv1alpha1.ReasonScheduled)

	chat.AddApp(app, key)
	chat.CreateAccount(app, chatapi.AccountInfo{Account: account, Name: "Still here"})
	secret := &corev1.Secret{}
	if err := env.Client.Get(context.Background(), chatSecret, secret); err != nil {
		t.Fatal(err)
	}
	appKey := strconv.FormatInt(app, 10)
	patch := client.MergeFrom(secret.DeepCopy())
	secret.StringData = map[string]string{appKey + ".secretKey": key, appKey + ".endpoint": chat.URL()}
	if err := env.Client.Patch(context.Background(), secret, patch); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Client.Get(context.Background(), chatSecret, secret); err == nil {
			delete(secret.Data, appKey+".secretKey")
			delete(secret.Data, appKey+".endpoint")
			_ = env.Client.Update(context.Background(), secret)
		}
	})

	got := waitForPhase(t, ch, chatv1alpha1.PhaseActive)
	if c := condition(got, chatv1alpha1.ConditionDestroyed); c.Reason != chatv1alpha1.ReasonRefuted {
		t.Fatalf("Destroyed %+v, want reason Refuted", c)
	}
	if !env.Exists(t, configMap(ns, "config", nil)) {
		t.Fatal("a refuted destruction deleted the ConfigMap")
	}
}

// A destruction recorded before the reconciler wrote any inventory (a
// callback a moment after the channel was created) still gets its plan,
// taken when the reconciler first sees the destruction.
func TestADestructionRecordedAtOnceStillGetsItsPlan(t *testing.T) {
	ns := env.Namespace(t, "plan-at-once")
	env.Create(t, configMap(ns, "config", testenv.Labelled("bot")), configMap(ns, "cache", testenv.Labelled("bot")))
	ch := env.NewChannel(t, ns, "bot", chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp,
		OfficialAccountID: "@TOA#_plan_at_once", CleanupDelay: &metav1.Duration{Duration: time.Hour}})
	destroy(t, ch)
	got := waitForReason(t, ch, chatv1alpha1.ReasonScheduled)
	if names := inventoryNames(got.Status.Inventory); !slices.Equal(names, []string{"ConfigMap/cache", "ConfigMap/config"}) {
		t.Fatalf("the plan of a destruction recorded at once: %v (%+v)", names, got.Status.Inventory)
	}
}
