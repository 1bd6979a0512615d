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
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/chatapi/fakechat"
	"github.com/channel-operator/channel-operator/internal/controller"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// chatChannel creates an OfficialChannel of chatApp with a linked ConfigMap,
// for account (created in the fake first when live), and waits for its
// first observation.
func chatChannel(t *testing.T, prefix string, live bool) (*chatv1alpha1.OfficialChannel, *corev1.ConfigMap) {
	t.Helper()
	ns := env.Namespace(t, prefix)
	account := "@TOA#_" + ns
	if live {
		chat.CreateAccount(chatApp, chatapi.AccountInfo{Account: account, Name: "News of " + ns, OwnerAccount: "owner-1",
			SubscriberCount: 1234, Introduction: "the news"})
	}
	cm := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "bot-config", testenv.Labelled("bot"))}
	env.Create(t, cm)
	ch := env.NewChannel(t, ns, "bot", chatv1alpha1.OfficialChannelSpec{SDKAppID: chatApp, OfficialAccountID: account})
	return ch, cm
}

// report records a destruction as the callback receiver does for it.
func report(t *testing.T, ch *chatv1alpha1.OfficialChannel, clientIP string) {
	t.Helper()
	out, err := op.Recorder.Record(context.Background(), destruction.Record{SDKAppID: ch.Spec.SDKAppID,
		OfficialAccountID: ch.Spec.OfficialAccountID, Destruction: chatv1alpha1.Destruction{
			EventTime: time.Now().UnixMilli(), ClientIP: clientIP, ReceivedAt: metav1.Now()}})
	if err != nil || out.Recorded != 1 {
		t.Fatalf("Record: %+v, %v", out, err)
	}
}

func failChat(t *testing.T, mode fakechat.FailMode) {
	t.Helper()
	chat.SetFailure(mode)
	t.Cleanup(chat.ClearFailure)
}

func waitSynced(
	t *testing.T,
	ch *chatv1alpha1.OfficialChannel,
	status metav1.ConditionStatus,
	reason string,
) *chatv1alpha1.OfficialChannel {
	t.Helper()
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if c := condition(got, chatv1alpha1.ConditionSynced); c == nil || c.Status != status || c.Reason != reason {
			return fmt.Errorf("Synced %+v, want %s/%s", c, status, reason)
		}
		return nil
	})
	return env.Channel(t, ch)
}

// A forged destruction of an account that exists deletes nothing: the
// report is refuted, kept in refutedDestruction, and a Warning Event names
// the reporting client.
func TestForgedDestructionIsRefuted(t *testing.T) {
	ch, cm := chatChannel(t, "forged", true)
	got := waitSynced(t, ch, metav1.ConditionTrue, chatv1alpha1.ReasonObserved)
	if a := got.Status.Account; a == nil || a.Name != "News of "+ch.Namespace || a.SubscriberCount == nil ||
		*a.SubscriberCount != 1234 || a.OwnerAccount != "owner-1" || a.ObservedAt == nil {
		t.Fatalf("status.account %+v", got.Status.Account)
	}
	report(t, ch, "198.51.100.66")
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		c := condition(got, chatv1alpha1.ConditionDestroyed)
		if got.Status.RefutedDestruction == nil || c == nil || c.Reason != chatv1alpha1.ReasonRefuted {
			return fmt.Errorf("phase %s, Destroyed %+v", got.Status.Phase, c)
		}
		return nil
	})
	got = env.Channel(t, ch)
	if got.Status.Phase != chatv1alpha1.PhaseActive || got.Status.Destruction != nil || got.Status.DestroyedAt != "" ||
		got.Status.RefutedDestruction.ClientIP != "198.51.100.66" || got.Status.Cleanup != nil {
		t.Fatalf("status after refutation %+v", got.Status)
	}
	waitForEvents(t, ch, controller.EventDestructionRefuted)
	// Nothing is deleted, now or later.
	time.Sleep(time.Second)
	if !env.Exists(t, cm) {
		t.Fatal("the linked ConfigMap of a channel whose destruction was refuted was deleted")
	}
	if countEvents(t, ch, controller.EventCleanupStarted) != 0 {
		t.Fatal("a cleanup started for a refuted destruction")
	}
}

// A reported destruction the REST API confirms is cleaned up.
func TestReportedDestructionIsConfirmed(t *testing.T) {
	ch, cm := chatChannel(t, "confirmed", true)
	waitSynced(t, ch, metav1.ConditionTrue, chatv1alpha1.ReasonObserved)
	chat.Destroy(chatApp, ch.Spec.OfficialAccountID)
	report(t, ch, "203.0.113.1")
	got := waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	d := got.Status.Destruction
	if d == nil || d.Source != chatv1alpha1.SourceCallback || d.ConfirmedAt == nil || d.ConfirmedAt.Before(&d.ReceivedAt) {
		t.Fatalf("destruction %+v", d)
	}
	if c := condition(got, chatv1alpha1.ConditionDestroyed); c.Reason != chatv1alpha1.ReasonConfirmed {
		t.Fatalf("Destroyed %+v", c)
	}
	if env.Exists(t, cm) {
		t.Fatal("the linked ConfigMap survived a confirmed destruction")
	}
	waitForEvents(t, ch, controller.EventDestructionConfirmed, controller.EventCleanedUp)
}

// A destruction no callback reported is found by the next resync and
// cleaned up. (The resync's timer is the observer's own test; here the
// suite's resync is long and a sweep is asked for, as a change of the
// credentials does.)
func TestMissedDestructionIsRecovered(t *testing.T) {
	ch, cm := chatChannel(t, "missed", true)
	waitSynced(t, ch, metav1.ConditionTrue, chatv1alpha1.ReasonObserved)
	chat.Destroy(chatApp, ch.Spec.OfficialAccountID)
	destroyedAt := time.Now()
	op.Observer.Kick()
	got := waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	d := got.Status.Destruction
	if d == nil || d.Source != chatv1alpha1.SourceChatAPI || d.ConfirmedAt == nil || time.UnixMilli(d.EventTime).Before(destroyedAt) {
		t.Fatalf("destruction %+v", d)
	}
	if env.Exists(t, cm) {
		t.Fatal("the linked ConfigMap survived a recovered destruction")
	}
	waitForEvents(t, ch, controller.EventDestructionRecovered, controller.EventCleanedUp)
}

// A new OfficialChannel for an account that no longer exists (destroyed
// long ago: nothing is pending) is cleaned up on its first observation.
func TestNewChannelOfADestroyedAccountIsCleanedUp(t *testing.T) {
	ch, cm := chatChannel(t, "long-gone", false)
	got := waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	if d := got.Status.Destruction; d == nil || d.Source != chatv1alpha1.SourceChatAPI {
		t.Fatalf("destruction %+v", d)
	}
	if env.Exists(t, cm) {
		t.Fatal("the linked ConfigMap survived")
	}
}

// While the REST API cannot answer, nothing is deleted: the channel stays
// Reported with a message naming the error; once the API is back the
// destruction is confirmed and cleaned up.
func TestUnansweredReportDeletesNothing(t *testing.T) {
	for _, tc := range []struct {
		mode   fakechat.FailMode
		reason string
	}{
		{fakechat.FailHTTP500, chatv1alpha1.ReasonUnreachable},
		{fakechat.FailNetwork, chatv1alpha1.ReasonUnreachable},
		{fakechat.FailWrongKey, chatv1alpha1.ReasonCredentialsRefused},
		{fakechat.FailServiceNotEnabled, chatv1alpha1.ReasonServiceNotEnabled},
		{fakechat.FailRateLimit, chatv1alpha1.ReasonRateLimited},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			ch, cm := chatChannel(t, "down-"+tc.mode.String(), true)
			waitSynced(t, ch, metav1.ConditionTrue, chatv1alpha1.ReasonObserved)
			failChat(t, tc.mode)
			chat.Destroy(chatApp, ch.Spec.OfficialAccountID)
			report(t, ch, "203.0.113.2")
			got := waitSynced(t, ch, metav1.ConditionFalse, tc.reason)
			c := condition(got, chatv1alpha1.ConditionDestroyed)
			if got.Status.Phase != chatv1alpha1.PhaseReported || c.Status != metav1.ConditionUnknown ||
				!strings.Contains(c.Message, tc.reason) {
				t.Fatalf("phase %s, Destroyed %+v", got.Status.Phase, c)
			}
			if !env.Exists(t, cm) || got.Status.Cleanup != nil {
				t.Fatal("something was deleted while the API could not confirm")
			}
			chat.ClearFailure()
			waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
			if env.Exists(t, cm) {
				t.Fatal("the linked ConfigMap survived the confirmed destruction")
			}
		})
	}
}

// A channel of an app without credentials behaves as before: the callback
// alone decides, and Synced says why.
func TestAppWithoutCredentialsIsNotObserved(t *testing.T) {
	before := chat.Calls()
	ch := newChannel(t, env.Namespace(t, "no-creds"), "plain", chatv1alpha1.CleanupPolicyDelete)
	got := waitSynced(t, ch, metav1.ConditionUnknown, chatv1alpha1.ReasonNoCredentials)
	destroy(t, got)
	waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	if got := env.Channel(t, ch); got.Status.Destruction.ConfirmedAt != nil {
		t.Fatalf("a destruction of an app without credentials says it was confirmed: %+v", got.Status.Destruction)
	}
	if n := chat.CallsFor(testenv.DemoApp); n != 0 {
		t.Fatalf("%d REST calls for an app without credentials (%d calls in all since the test began)", n, chat.Calls()-before)
	}
}

// The credentials are read again when their Secret changes: a key Chat
// refuses leaves a report unconfirmed; the right key, written to the Secret,
// confirms it without a restart.
func TestChatCredentialsAreHotReloaded(t *testing.T) {
	ch, cm := chatChannel(t, "reload", true)
	waitSynced(t, ch, metav1.ConditionTrue, chatv1alpha1.ReasonObserved)
	setChatKey(t, strings.Repeat("0", 64))
	t.Cleanup(func() { setChatKey(t, chatAppKey) })
	chat.Destroy(chatApp, ch.Spec.OfficialAccountID)
	report(t, ch, "203.0.113.3")
	waitSynced(t, ch, metav1.ConditionFalse, chatv1alpha1.ReasonCredentialsRefused)
	if got := env.Channel(t, ch); got.Status.Phase != chatv1alpha1.PhaseReported || !env.Exists(t, cm) {
		t.Fatalf("phase %s with a refused key", got.Status.Phase)
	}
	setChatKey(t, chatAppKey)
	waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
}

func setChatKey(t *testing.T, key string) {
	t.Helper()
	secret := &corev1.Secret{}
	if err := env.Client.Get(context.Background(), chatSecret, secret); err != nil {
		t.Fatal(err)
	}
	secret.Data = nil
	secret.StringData = chatSecretData(key)
	if err := env.Client.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
}

// Deleting a Reported channel while its report cannot be confirmed lets it
// go with nothing deleted.
func TestDeletingAnUnconfirmedChannelDeletesNothing(t *testing.T) {
	ch, cm := chatChannel(t, "gone-unconfirmed", true)
	waitSynced(t, ch, metav1.ConditionTrue, chatv1alpha1.ReasonObserved)
	failChat(t, fakechat.FailHTTP500)
	report(t, ch, "203.0.113.4")
	waitSynced(t, ch, metav1.ConditionFalse, chatv1alpha1.ReasonUnreachable)
	if err := env.Client.Delete(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	env.WaitGone(t, ch)
	if !env.Exists(t, cm) {
		t.Fatal("deleting an OfficialChannel with an unconfirmed report deleted its linked ConfigMap")
	}
}

// The fake never saw more calls per second than --chat-api-qps allows.
func TestChatCallsStayWithinTheRateLimit(t *testing.T) {
	ns := env.Namespace(t, "burst")
	for i := range 30 {
		account := fmt.Sprintf("@TOA#_%s-%d", ns, i)
		chat.CreateAccount(chatApp, chatapi.AccountInfo{Account: account})
		env.NewChannel(t, ns, fmt.Sprintf("c%d", i), chatv1alpha1.OfficialChannelSpec{SDKAppID: chatApp, OfficialAccountID: account})
	}
	var list chatv1alpha1.OfficialChannelList
	waitForList := func() error {
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return err
		}
		for i := range list.Items {
			if c := condition(&list.Items[i], chatv1alpha1.ConditionSynced); c == nil || c.Reason != chatv1alpha1.ReasonObserved {
				return fmt.Errorf("%s not observed yet", list.Items[i].Name)
			}
		}
		return nil
	}
	testenv.Eventually(t, waitForList)
	if got := chat.MaxCallsInAnySecond(chatApp); got > chatQPS {
		t.Fatalf("the fake saw %d calls in one second; --chat-api-qps is %d", got, chatQPS)
	}
}

// Credentials that go while a report waits for confirmation do not turn it
// into a deletion: the channel stays Reported, nothing is deleted, and once
// the credentials are back the report is confirmed.
func TestReportHoldsWhileCredentialsAreGone(t *testing.T) {
	ch, cm := chatChannel(t, "creds-gone", true)
	waitSynced(t, ch, metav1.ConditionTrue, chatv1alpha1.ReasonObserved)
	failChat(t, fakechat.FailHTTP500)
	chat.Destroy(chatApp, ch.Spec.OfficialAccountID)
	report(t, ch, "203.0.113.5")
	waitSynced(t, ch, metav1.ConditionFalse, chatv1alpha1.ReasonUnreachable)

	secret := &corev1.Secret{}
	if err := env.Client.Get(context.Background(), chatSecret, secret); err != nil {
		t.Fatal(err)
	}
	secret.Data, secret.StringData = map[string][]byte{}, nil
	if err := env.Client.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { setChatKey(t, chatAppKey) })
	waitSynced(t, ch, metav1.ConditionUnknown, chatv1alpha1.ReasonNoCredentials)
	time.Sleep(2 * time.Second)
	if got := env.Channel(t, ch); got.Status.Phase != chatv1alpha1.PhaseReported || got.Status.Cleanup != nil || !env.Exists(t, cm) {
		t.Fatalf("without credentials: phase %s, cleanup %+v", got.Status.Phase, got.Status.Cleanup)
	}
	chat.ClearFailure()
	setChatKey(t, chatAppKey)
	waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	if env.Exists(t, cm) {
		t.Fatal("the linked ConfigMap survived the confirmed destruction")
	}
}

// An answer given before a channel existed does not decide its fate: an
// account destroyed (its first channel cleaned up) and created again is
// asked about anew for a channel declared afterwards, which stays Active.
func TestAnOldVerdictDoesNotDestroyANewChannel(t *testing.T) {
	first, _ := chatChannel(t, "recreated", false)
	waitForPhase(t, first, chatv1alpha1.PhaseCleanedUp) // gone in Chat: recorded from the REST API
	chat.CreateAccount(chatApp, chatapi.AccountInfo{Account: first.Spec.OfficialAccountID, Name: "again"})
	cm := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(first.Namespace, "second-config", testenv.Labelled("second"))}
	env.Create(t, cm)
	second := env.NewChannel(t, first.Namespace, "second", chatv1alpha1.OfficialChannelSpec{SDKAppID: chatApp,
		OfficialAccountID: first.Spec.OfficialAccountID})
	waitFor(t, second, func(got *chatv1alpha1.OfficialChannel) error {
		if got.Status.Account == nil || got.Status.Account.Name != "again" {
			return fmt.Errorf("phase %s, account %+v", got.Status.Phase, got.Status.Account)
		}
		return nil
	})
	waitForPhase(t, second, chatv1alpha1.PhaseActive)
	if got := env.Channel(t, second); got.Status.Destruction != nil || got.Status.Cleanup != nil || !env.Exists(t, cm) {
		t.Fatalf("a channel of a re-created account was destroyed by an old answer: %+v", got.Status)
	}
}
