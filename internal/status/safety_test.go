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
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

func entries(n int) []chatv1alpha1.InventoryEntry {
	all := make([]chatv1alpha1.InventoryEntry, n)
	for i := range all {
		all[i] = chatv1alpha1.InventoryEntry{APIVersion: "v1", Kind: "ConfigMap", Name: fmt.Sprintf("cm-%03d", i)}
	}
	return all
}

func TestInventoryCountsAllListsAHundred(t *testing.T) {
	at := metav1.NewTime(time.Unix(1000, 0))
	for _, tc := range []struct {
		n, listed int
		truncated bool
	}{{0, 0, false}, {1, 1, false}, {100, 100, false}, {101, 100, true}, {250, 100, true}} {
		inv := Inventory(entries(tc.n), at)
		if int(inv.Count) != tc.n || len(inv.Entries) != tc.listed || inv.Truncated != tc.truncated || !inv.UpdatedAt.Equal(&at) {
			t.Errorf("%d objects: count %d, %d listed, truncated %v; want %d, %d, %v", tc.n, inv.Count, len(inv.Entries),
				inv.Truncated, tc.n, tc.listed, tc.truncated)
		}
		if tc.n > 0 && inv.Entries[0].Name != "cm-000" {
			t.Errorf("%d objects: the first entry is %s, want cm-000", tc.n, inv.Entries[0].Name)
		}
	}
}

func TestSetInventoryWritesOnlyAChange(t *testing.T) {
	ch := &chatv1alpha1.OfficialChannel{}
	first := Inventory(entries(2), metav1.NewTime(time.Unix(1000, 0)))
	if !SetInventory(ch, first) || ch.Status.Inventory != first {
		t.Fatal("the first inventory was not set")
	}
	// The same objects later: no change, the time stays.
	if SetInventory(ch, Inventory(entries(2), metav1.NewTime(time.Unix(2000, 0)))) || ch.Status.Inventory != first {
		t.Fatal("an unchanged inventory was set again")
	}
	protected := entries(2)
	protected[1].Protected = true
	for name, inv := range map[string]*chatv1alpha1.Inventory{
		"one more":  Inventory(entries(3), metav1.Now()),
		"protected": Inventory(protected, metav1.Now()),
		"truncated": {Count: 2, Entries: entries(2), Truncated: true},
		"count":     {Count: 5, Entries: entries(2)},
	} {
		if SameInventory(first, inv) {
			t.Errorf("%s: the same as the first", name)
		}
	}
	if !SameInventory(nil, nil) || SameInventory(first, nil) || SameInventory(nil, first) {
		t.Error("SameInventory with nil")
	}
}

func TestSortInventory(t *testing.T) {
	got := []chatv1alpha1.InventoryEntry{
		{APIVersion: "v1", Kind: "Secret", Name: "a"},
		{APIVersion: "apps/v1", Kind: "Deployment", Name: "z"},
		{APIVersion: "v1", Kind: "ConfigMap", Name: "b"},
		{APIVersion: "v1", Kind: "ConfigMap", Name: "a"},
	}
	SortInventory(got)
	names := make([]string, 0, len(got))
	for _, e := range got {
		names = append(names, e.Kind+"/"+e.Name)
	}
	if s := strings.Join(names, " "); s != "Deployment/z ConfigMap/a ConfigMap/b Secret/a" {
		t.Fatalf("sorted %s", s)
	}
}

func TestInventoryLiveUntilTheDestructionIsRecorded(t *testing.T) {
	for phase, live := range map[chatv1alpha1.Phase]bool{
		"": true, chatv1alpha1.PhaseActive: true, chatv1alpha1.PhaseReported: true,
		chatv1alpha1.PhaseDestroyed: false, chatv1alpha1.PhaseCleaningUp: false, chatv1alpha1.PhaseCleanedUp: false,
	} {
		ch := &chatv1alpha1.OfficialChannel{Status: chatv1alpha1.OfficialChannelStatus{Phase: phase}}
		if InventoryLive(ch) != live {
			t.Errorf("phase %q: live %v, want %v", phase, !live, live)
		}
	}
}

func destroyed() *chatv1alpha1.OfficialChannel {
	ch := &chatv1alpha1.OfficialChannel{}
	ch.Generation = 3
	RecordDestruction(ch, chatv1alpha1.Destruction{EventTime: 1, ReceivedAt: metav1.NewTime(time.Unix(1000, 0))})
	return ch
}

func TestWaitingReasons(t *testing.T) {
	ch := destroyed()
	if Waiting(ch) != "" || CleanupStarted(ch) {
		t.Fatal("a destruction just recorded waits for nothing and has not started")
	}
	nb := time.Unix(5000, 500)
	if !MarkScheduled(ch, nb) || Waiting(ch) != chatv1alpha1.ReasonScheduled {
		t.Fatal("not marked Scheduled")
	}
	if got := ch.Status.Cleanup.NotBefore; got == nil || !got.Time.Equal(time.Unix(5000, 0)) {
		t.Fatalf("notBefore %v", got)
	}
	if MarkScheduled(ch, nb) {
		t.Fatal("the same schedule reported as new")
	}
	if !MarkScheduled(ch, nb.Add(time.Hour)) {
		t.Fatal("a new notBefore not reported")
	}
	c := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionCleanedUp)
	if c.Status != metav1.ConditionFalse || c.ObservedGeneration != 3 || ch.Status.Phase != chatv1alpha1.PhaseDestroyed {
		t.Fatalf("condition %+v, phase %s", c, ch.Status.Phase)
	}
	for _, step := range []struct {
		mark   func() bool
		reason string
	}{
		{func() bool { return MarkHeld(ch) }, chatv1alpha1.ReasonHeld},
		{func() bool { return MarkBudgetExceeded(ch, "20/10m") }, chatv1alpha1.ReasonBudgetExceeded},
		{func() bool { return MarkDryRun(ch, "The cleanup would delete 1 linked object(s)") }, chatv1alpha1.ReasonDryRun},
	} {
		if !step.mark() || Waiting(ch) != step.reason {
			t.Fatalf("not marked %s", step.reason)
		}
		if step.mark() {
			t.Fatalf("marked %s twice as new", step.reason)
		}
	}
	// A pass keeps notBefore and counts the protected objects.
	ch.Status.Phase = chatv1alpha1.PhaseCleaningUp
	RecordCleanupPass(ch, CleanupPass{Deleted: 2, Remaining: 1, Protected: 1, At: metav1.Now()})
	if c := ch.Status.Cleanup; c.Protected != 1 || c.Deleted != 2 || c.NotBefore == nil {
		t.Fatalf("cleanup %+v", c)
	}
	if Waiting(ch) != "" || !CleanupStarted(ch) {
		t.Fatal("a cleanup CleaningUp waits, or has not started")
	}
	// Audit mode holds even a started cleanup, which stays CleaningUp.
	if !MarkDryRun(ch, "") || Waiting(ch) != chatv1alpha1.ReasonDryRun || ch.Status.Phase != chatv1alpha1.PhaseCleaningUp {
		t.Fatalf("a started cleanup in audit mode: phase %s, waiting %q", ch.Status.Phase, Waiting(ch))
	}
}

// An approval counts only when given while the budget holds the cleanup:
// one set in advance is stale until removed and set again.
func TestAnApprovalCountsOnlyWhileHeld(t *testing.T) {
	approve := map[string]string{chatv1alpha1.ApproveCleanupAnnotation: "true"}
	ch := destroyed()
	ch.Annotations = approve
	if Approved(ch) {
		t.Fatal("approved before the budget held the cleanup")
	}
	MarkBudgetExceeded(ch, "20/10m")
	if Approved(ch) {
		t.Fatal("an approval set in advance counts")
	}
	MarkBudgetExceeded(ch, "20/10m") // still there: still stale
	if Approved(ch) {
		t.Fatal("an approval set in advance counts at the next reconcile")
	}
	ch.Annotations = nil
	MarkBudgetExceeded(ch, "20/10m")
	ch.Annotations = approve
	if !Approved(ch) {
		t.Fatal("an approval given while held does not count")
	}
	ch.Annotations = map[string]string{chatv1alpha1.ApproveCleanupAnnotation: "yes"}
	if Approved(ch) {
		t.Fatal("an approval other than \"true\" counts")
	}
	held := destroyed()
	MarkBudgetExceeded(held, "20/10m")
	held.Annotations = approve
	if !Approved(held) {
		t.Fatal("an approval given after the hold does not count")
	}
}

func TestRefuteForgetsASchedule(t *testing.T) {
	ch := destroyed()
	MarkScheduled(ch, time.Unix(5000, 0))
	Refute(ch, metav1.Now())
	if ch.Status.Cleanup != nil {
		t.Fatalf("cleanup %+v after a refutation of a cleanup that never ran", ch.Status.Cleanup)
	}
}

func TestNoteIgnoredReplacesItsNotes(t *testing.T) {
	ch := destroyed()
	MarkHeld(ch)
	base := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionCleanedUp).Message
	NoteIgnored(ch, []string{"note a"})
	NoteIgnored(ch, []string{"note b", "note c"})
	got := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionCleanedUp).Message
	if got != base+" Ignored: note b; note c." {
		t.Fatalf("message %q", got)
	}
	NoteIgnored(ch, nil)
	if got := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionCleanedUp).Message; got != base {
		t.Fatalf("message %q, want the notes gone", got)
	}
	NoteIgnored(&chatv1alpha1.OfficialChannel{}, []string{"x"}) // no condition: nothing to note on
}

func TestASettledDestructionsTime(t *testing.T) {
	received, confirmed := metav1.NewTime(time.Unix(1000, 0)), metav1.NewTime(time.Unix(2000, 0))
	if got := DestructionSettledAt(&chatv1alpha1.Destruction{ReceivedAt: received}); !got.Equal(received.Time) {
		t.Errorf("unconfirmed: %v", got)
	}
	if got := DestructionSettledAt(&chatv1alpha1.Destruction{ReceivedAt: received, ConfirmedAt: &confirmed}); !got.Equal(confirmed.Time) {
		t.Errorf("confirmed: %v", got)
	}
}

// A cleanup that waits has not started: a report recorded without
// credentials is still confirmed first; a pass that ran ends that.
func TestAWaitingCleanupStillNeedsConfirmation(t *testing.T) {
	ch := destroyed()
	MarkScheduled(ch, time.Unix(5000, 0))
	if !NeedsConfirmation(ch) {
		t.Fatal("a scheduled cleanup does not need the confirmation")
	}
	RecordCleanupPass(ch, CleanupPass{At: metav1.Now()})
	if NeedsConfirmation(ch) {
		t.Fatal("a cleanup that ran a pass needs the confirmation")
	}
}
