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

package status

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

func report(ch *chatv1alpha1.OfficialChannel, eventTime int64) bool {
	return ReportDestruction(ch, chatv1alpha1.Destruction{EventTime: eventTime, ClientIP: "203.0.113.9",
		ReceivedAt: metav1.Now(), ConfirmedAt: &metav1.Time{Time: time.Now()}})
}

// A report waits in phase Reported; its confirmedAt is never taken from the
// caller (a sibling's confirmation is not this channel's).
func TestReportWaitsForConfirmation(t *testing.T) {
	ch := channel(2)
	if !report(ch, 1670574414123) {
		t.Fatal("the report was not recorded")
	}
	if ch.Status.Phase != chatv1alpha1.PhaseReported || ch.Status.Destruction.ConfirmedAt != nil {
		t.Fatalf("after a report: phase %q, confirmedAt %v", ch.Status.Phase, ch.Status.Destruction.ConfirmedAt)
	}
	expectCondition(t, ch, chatv1alpha1.ConditionDestroyed, metav1.ConditionUnknown, chatv1alpha1.ReasonReported)
	if !NeedsConfirmation(ch) {
		t.Fatal("a report does not need confirmation")
	}
	if report(ch, 1670574499999) {
		t.Fatal("a second report replaced the first")
	}
}

func TestConfirm(t *testing.T) {
	ch := channel(1)
	report(ch, 1)
	at := metav1.NewTime(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	Confirm(ch, at)
	if ch.Status.Phase != chatv1alpha1.PhaseDestroyed || ch.Status.Destruction.ConfirmedAt == nil ||
		!ch.Status.Destruction.ConfirmedAt.Equal(&at) || NeedsConfirmation(ch) {
		t.Fatalf("after Confirm: %+v", ch.Status)
	}
	expectCondition(t, ch, chatv1alpha1.ConditionDestroyed, metav1.ConditionTrue, chatv1alpha1.ReasonConfirmed)
	if !Unannounced(ch) {
		t.Fatal("a confirmed destruction is not announced by the reconciler")
	}
}

// A refuted report leaves no destruction; a replay of it (same EventTime)
// changes nothing, a new report is recorded, and MarkActive keeps saying
// why the channel is active.
func TestRefute(t *testing.T) {
	ch := channel(1)
	report(ch, 1670574414123)
	Refute(ch, metav1.Now())
	st := ch.Status
	if st.Destruction != nil || st.DestroyedAt != "" || st.Phase != chatv1alpha1.PhaseActive ||
		st.RefutedDestruction == nil || st.RefutedDestruction.ClientIP != "203.0.113.9" {
		t.Fatalf("after Refute: %+v", st)
	}
	expectCondition(t, ch, chatv1alpha1.ConditionDestroyed, metav1.ConditionFalse, chatv1alpha1.ReasonRefuted)
	expectCondition(t, ch, chatv1alpha1.ConditionCleanedUp, metav1.ConditionFalse, chatv1alpha1.ReasonNotDestroyed)
	if CleanupDue(ch) {
		t.Fatal("a refuted channel is due for cleanup")
	}
	ch.Generation = 2
	MarkActive(ch)
	expectCondition(t, ch, chatv1alpha1.ConditionDestroyed, metav1.ConditionFalse, chatv1alpha1.ReasonRefuted)
	if report(ch, 1670574414123) || RecordDestruction(ch, chatv1alpha1.Destruction{EventTime: 1670574414123}) {
		t.Fatal("a replay of the refuted report was recorded again")
	}
	found := metav1.Now()
	if !RecordDestruction(ch, chatv1alpha1.Destruction{EventTime: 1670574499999, Source: chatv1alpha1.SourceChatAPI,
		ReceivedAt: found, ConfirmedAt: &found}) {
		t.Fatal("a destruction the REST API found was not recorded")
	}
	expectCondition(t, ch, chatv1alpha1.ConditionDestroyed, metav1.ConditionTrue, chatv1alpha1.ReasonConfirmed)
}

// A cleanup that started before the app had credentials is not taken back.
func TestNeedsConfirmation(t *testing.T) {
	for name, tc := range map[string]struct {
		prepare func(*chatv1alpha1.OfficialChannel)
		want    bool
	}{
		"no destruction": {func(*chatv1alpha1.OfficialChannel) {}, false},
		"reported":       {func(ch *chatv1alpha1.OfficialChannel) { report(ch, 5) }, true},
		"recorded without credentials, not acted on": {func(ch *chatv1alpha1.OfficialChannel) {
			RecordDestruction(ch, chatv1alpha1.Destruction{EventTime: 5})
		}, true},
		"cleanup started": {func(ch *chatv1alpha1.OfficialChannel) {
			RecordDestruction(ch, chatv1alpha1.Destruction{EventTime: 5})
			StartCleanup(ch)
			RecordCleanupPass(ch, CleanupPass{Remaining: 1, Message: "1 left"})
		}, false},
		"cleaned up": {func(ch *chatv1alpha1.OfficialChannel) {
			RecordDestruction(ch, chatv1alpha1.Destruction{EventTime: 5})
			MarkCleanedUp(ch)
		}, false},
	} {
		t.Run(name, func(t *testing.T) {
			ch := channel(1)
			tc.prepare(ch)
			if got := NeedsConfirmation(ch); got != tc.want {
				t.Fatalf("NeedsConfirmation = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMirrorAndMergeAccount(t *testing.T) {
	ch := channel(1)
	n := int64(42)
	long := strings.Repeat("é", 100) // 200 bytes
	MirrorAccount(ch, Profile{Name: long, OwnerAccount: "owner", SubscriberCount: &n, CreateTime: 1700000000,
		LastMessageTime: 0}, metav1.Now())
	a := ch.Status.Account
	if len(a.Name) != 150 || !strings.HasPrefix(long, a.Name) || *a.SubscriberCount != 42 ||
		a.CreateTime.Unix() != 1700000000 || a.LastMessageTime != nil || a.ObservedAt == nil {
		t.Fatalf("mirrored account: %+v", a)
	}
	if MergeAccount(ch, Profile{OwnerAccount: "owner"}) {
		t.Fatal("merging what status already says reported a change")
	}
	if !MergeAccount(ch, Profile{Introduction: "news"}) || ch.Status.Account.Introduction != "news" ||
		ch.Status.Account.OwnerAccount != "owner" || *ch.Status.Account.SubscriberCount != 42 {
		t.Fatalf("merge: %+v", ch.Status.Account)
	}
}

func TestSyncedConditions(t *testing.T) {
	ch := channel(4)
	ch.Spec.SDKAppID = 1400000001
	MarkNoCredentials(ch)
	expectCondition(t, ch, chatv1alpha1.ConditionSynced, metav1.ConditionUnknown, chatv1alpha1.ReasonNoCredentials)
	MarkObserving(ch)
	expectCondition(t, ch, chatv1alpha1.ConditionSynced, metav1.ConditionUnknown, chatv1alpha1.ReasonObserving)
	MarkSyncFailed(ch, chatv1alpha1.ReasonRateLimited, "slow down")
	expectCondition(t, ch, chatv1alpha1.ConditionSynced, metav1.ConditionFalse, chatv1alpha1.ReasonRateLimited)
	MarkSynced(ch, "answers")
	expectCondition(t, ch, chatv1alpha1.ConditionSynced, metav1.ConditionTrue, chatv1alpha1.ReasonObserved)
}

func TestUnixTimeAndCutAtTheirEdges(t *testing.T) {
	for sec, want := range map[int64]bool{-1: false, 0: false, 1: true, 253402300799: true, 253402300800: false} {
		if got := unixTime(sec) != nil; got != want {
			t.Errorf("unixTime(%d) set = %v, want %v", sec, got, want)
		}
	}
}
