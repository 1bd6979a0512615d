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

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

func TestFormatEventTime(t *testing.T) {
	for ms, want := range map[int64]string{
		1670574414123: "2022-12-09T08:26:54.123Z", // the documented sample
		1670574414000: "2022-12-09T08:26:54.000Z",
		1:             "1970-01-01T00:00:00.001Z",
		// The last instant callback.MaxEventTime lets through.
		253402300799999: "9999-12-31T23:59:59.999Z",
	} {
		got := FormatEventTime(ms)
		if got != want {
			t.Errorf("FormatEventTime(%d) = %q, want %q", ms, got, want)
		}
		if parsed, err := time.Parse(time.RFC3339, got); err != nil || parsed.UnixMilli() != ms {
			t.Errorf("FormatEventTime(%d) = %q does not parse back as RFC 3339: %v", ms, got, err)
		}
	}
}

func TestRecordDestructionFirstWins(t *testing.T) {
	ch := channel(3)
	first := chatv1alpha1.Destruction{EventTime: 1670574414123, OwnerAccount: "107867", ReceivedAt: metav1.Now()}
	if !RecordDestruction(ch, first) {
		t.Fatal("the first destruction was not recorded")
	}
	st := ch.Status
	first.Source = chatv1alpha1.SourceCallback // the default
	if st.Phase != chatv1alpha1.PhaseDestroyed || st.DestroyedAt != "2022-12-09T08:26:54.123Z" || *st.Destruction != first {
		t.Fatalf("status after RecordDestruction: %+v", st)
	}
	expectCondition(t, ch, chatv1alpha1.ConditionDestroyed, metav1.ConditionTrue, chatv1alpha1.ReasonCallbackReceived)
	expectCondition(t, ch, chatv1alpha1.ConditionCleanedUp, metav1.ConditionFalse, chatv1alpha1.ReasonCleanupPending)
	if !Unannounced(ch) {
		t.Fatal("a fresh destruction is not Unannounced")
	}
	for _, later := range []int64{1670574414123, 1670574414122, 1670574499999} {
		if RecordDestruction(ch, chatv1alpha1.Destruction{EventTime: later}) {
			t.Errorf("a repeat with EventTime %d changed the status", later)
		}
	}
	if ch.Status.Destruction.EventTime != first.EventTime {
		t.Fatalf("destruction replaced: %+v", ch.Status.Destruction)
	}
}

// Each step of a channel's life, from the status the step before left.
func TestTransitions(t *testing.T) {
	destroyed := func(ch *chatv1alpha1.OfficialChannel) {
		RecordDestruction(ch, chatv1alpha1.Destruction{EventTime: 1, ReceivedAt: metav1.Now()})
	}
	tests := []struct {
		name   string
		before func(*chatv1alpha1.OfficialChannel)
		step   func(*chatv1alpha1.OfficialChannel)
		phase  chatv1alpha1.Phase
		// CleanedUp's status and reason after the step; Destroyed's when set.
		cleaned         metav1.ConditionStatus
		cleanedReason   string
		destroyedReason string
		deleted         int32
		remaining       int32
	}{
		{name: "new channel becomes active", step: MarkActive, phase: chatv1alpha1.PhaseActive,
			cleaned: metav1.ConditionFalse, cleanedReason: chatv1alpha1.ReasonNotDestroyed, destroyedReason: chatv1alpha1.ReasonActive},
		{name: "destroyed, policy Orphan", before: destroyed, step: MarkOrphaned, phase: chatv1alpha1.PhaseDestroyed,
			cleaned: metav1.ConditionFalse, cleanedReason: chatv1alpha1.ReasonOrphaned, destroyedReason: chatv1alpha1.ReasonCallbackReceived},
		{name: "a pass leaves objects", before: destroyed, step: func(ch *chatv1alpha1.OfficialChannel) {
			StartCleanup(ch)
			RecordCleanupPass(ch, CleanupPass{Deleted: 3, Remaining: 2, Message: "2 remain"})
		}, phase: chatv1alpha1.PhaseCleaningUp, cleaned: metav1.ConditionFalse, cleanedReason: chatv1alpha1.ReasonCleaningUp,
			deleted: 3, remaining: 2},
		{name: "a pass fails", before: destroyed, step: func(ch *chatv1alpha1.OfficialChannel) {
			StartCleanup(ch)
			RecordCleanupPass(ch, CleanupPass{Deleted: 1, Remaining: 0, Failed: true, Message: "listing secrets: forbidden"})
		}, phase: chatv1alpha1.PhaseCleaningUp, cleaned: metav1.ConditionFalse, cleanedReason: chatv1alpha1.ReasonCleanupFailed,
			deleted: 1},
		{name: "passes add up, then nothing remains", before: func(ch *chatv1alpha1.OfficialChannel) {
			destroyed(ch)
			StartCleanup(ch)
			RecordCleanupPass(ch, CleanupPass{Deleted: 3, Remaining: 1})
		}, step: func(ch *chatv1alpha1.OfficialChannel) {
			RecordCleanupPass(ch, CleanupPass{Deleted: 1})
			MarkCleanedUp(ch)
		}, phase: chatv1alpha1.PhaseCleanedUp, cleaned: metav1.ConditionTrue, cleanedReason: chatv1alpha1.ReasonCleanedUp,
			deleted: 4},
		{name: "cleaned up, then a spec edit: the cleanup stays done", before: func(ch *chatv1alpha1.OfficialChannel) {
			destroyed(ch)
			StartCleanup(ch)
			RecordCleanupPass(ch, CleanupPass{Deleted: 2})
			MarkCleanedUp(ch)
			ch.Generation++
		}, step: MarkCleanedUp, phase: chatv1alpha1.PhaseCleanedUp, cleaned: metav1.ConditionTrue, cleanedReason: chatv1alpha1.ReasonCleanedUp,
			deleted: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := channel(2)
			if tt.before != nil {
				tt.before(ch)
			}
			tt.step(ch)
			if ch.Status.Phase != tt.phase {
				t.Fatalf("phase %q, want %q", ch.Status.Phase, tt.phase)
			}
			expectCondition(t, ch, chatv1alpha1.ConditionCleanedUp, tt.cleaned, tt.cleanedReason)
			if tt.destroyedReason != "" {
				want := metav1.ConditionFalse
				if ch.Status.Destruction != nil {
					want = metav1.ConditionTrue
				}
				expectCondition(t, ch, chatv1alpha1.ConditionDestroyed, want, tt.destroyedReason)
			}
			if c := ch.Status.Cleanup; tt.deleted+tt.remaining > 0 && (c == nil || c.Deleted != tt.deleted || c.Remaining != tt.remaining) {
				t.Fatalf("cleanup %+v, want deleted %d remaining %d", c, tt.deleted, tt.remaining)
			}
			if Unannounced(ch) {
				t.Fatal("still Unannounced after the reconciler's step")
			}
		})
	}
}

func TestStartCleanupReportsTheStartOnce(t *testing.T) {
	ch := channel(1)
	if !StartCleanup(ch) || ch.Status.Phase != chatv1alpha1.PhaseCleaningUp {
		t.Fatalf("first StartCleanup: phase %q", ch.Status.Phase)
	}
	if StartCleanup(ch) {
		t.Fatal("a second StartCleanup reported a start")
	}
}

func TestQueries(t *testing.T) {
	destroyed := func(gen int64, policy chatv1alpha1.CleanupPolicy) *chatv1alpha1.OfficialChannel {
		ch := channel(gen)
		ch.Spec.CleanupPolicy = policy
		RecordDestruction(ch, chatv1alpha1.Destruction{EventTime: 1})
		return ch
	}
	cleanedAt := func(gen int64, policy chatv1alpha1.CleanupPolicy) *chatv1alpha1.OfficialChannel {
		ch := destroyed(gen, policy)
		MarkCleanedUp(ch)
		return ch
	}
	bumped := cleanedAt(1, chatv1alpha1.CleanupPolicyDelete)
	bumped.Generation = 2 // a spec edit, or the deletion itself
	thenOrphan := cleanedAt(1, chatv1alpha1.CleanupPolicyDelete)
	thenOrphan.Generation, thenOrphan.Spec.CleanupPolicy = 2, chatv1alpha1.CleanupPolicyOrphan
	orphan := destroyed(1, chatv1alpha1.CleanupPolicyOrphan)
	MarkOrphaned(orphan)
	orphanThenDelete := destroyed(1, chatv1alpha1.CleanupPolicyOrphan)
	MarkOrphaned(orphanThenDelete)
	orphanThenDelete.Generation, orphanThenDelete.Spec.CleanupPolicy = 2, chatv1alpha1.CleanupPolicyDelete
	cleaning := destroyed(1, chatv1alpha1.CleanupPolicyDelete)
	StartCleanup(cleaning)
	RecordCleanupPass(cleaning, CleanupPass{Deleted: 1, Remaining: 1})
	active := channel(1)
	MarkActive(active)

	tests := []struct {
		name           string
		ch             *chatv1alpha1.OfficialChannel
		due, cleanedUp bool
	}{
		{name: "active", ch: active},
		{name: "destroyed, Orphan", ch: orphan},
		{name: "destroyed, cleanup under way", ch: cleaning, due: true},
		{name: "cleaned up this generation", ch: cleanedAt(1, chatv1alpha1.CleanupPolicyDelete), due: true, cleanedUp: true},
		// A finished cleanup is final: a later generation does not run it again.
		{name: "cleaned up an earlier generation", ch: bumped, due: true, cleanedUp: true},
		{name: "cleaned up, then policy Orphan", ch: thenOrphan, cleanedUp: true},
		// Orphan never ran the cleanup: policy Delete runs it now.
		{name: "destroyed under Orphan, then policy Delete", ch: orphanThenDelete, due: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CleanupDue(tt.ch); got != tt.due {
				t.Errorf("CleanupDue = %v, want %v", got, tt.due)
			}
			if got := CleanedUp(tt.ch); got != tt.cleanedUp {
				t.Errorf("CleanedUp = %v, want %v", got, tt.cleanedUp)
			}
		})
	}
}

func TestConditionsCarryTheGeneration(t *testing.T) {
	ch := channel(7)
	MarkActive(ch)
	for _, c := range ch.Status.Conditions {
		if c.ObservedGeneration != 7 {
			t.Fatalf("condition %s observedGeneration %d, want 7", c.Type, c.ObservedGeneration)
		}
	}
	if ch.Status.ObservedGeneration != 0 {
		t.Fatal("a transition set status.observedGeneration; only MarkObserved may")
	}
	MarkObserved(ch)
	if ch.Status.ObservedGeneration != 7 {
		t.Fatalf("observedGeneration %d after MarkObserved", ch.Status.ObservedGeneration)
	}
}

func channel(generation int64) *chatv1alpha1.OfficialChannel {
	return &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Generation: generation}}
}

func expectCondition(t *testing.T, ch *chatv1alpha1.OfficialChannel, condType string, s metav1.ConditionStatus, reason string) {
	t.Helper()
	c := meta.FindStatusCondition(ch.Status.Conditions, condType)
	if c == nil || c.Status != s || c.Reason != reason || c.Message == "" || c.ObservedGeneration != ch.Generation {
		t.Fatalf("%s condition %+v, want %s/%s with a message at generation %d", condType, c, s, reason, ch.Generation)
	}
}

// A callback chooses every string of a destruction: each is cut to the
// schema's bound on a UTF-8 boundary, at the bound exactly and not before.
func TestRecordedDestructionsAreBounded(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	for _, tt := range []struct {
		field string
		max   int
		set   func(*chatv1alpha1.Destruction, string)
		get   func(*chatv1alpha1.Destruction) string
	}{
		{"ownerAccount", 256, func(d *chatv1alpha1.Destruction, s string) { d.OwnerAccount = s },
			func(d *chatv1alpha1.Destruction) string { return d.OwnerAccount }},
		{"name", 150, func(d *chatv1alpha1.Destruction, s string) { d.Name = s },
			func(d *chatv1alpha1.Destruction) string { return d.Name }},
		{"clientIP", 64, func(d *chatv1alpha1.Destruction, s string) { d.ClientIP = s },
			func(d *chatv1alpha1.Destruction) string { return d.ClientIP }},
		{"peerIP", 64, func(d *chatv1alpha1.Destruction, s string) { d.PeerIP = s },
			func(d *chatv1alpha1.Destruction) string { return d.PeerIP }},
		{"optPlatform", 32, func(d *chatv1alpha1.Destruction, s string) { d.OptPlatform = s },
			func(d *chatv1alpha1.Destruction) string { return d.OptPlatform }},
	} {
		for in, want := range map[string]string{
			long(tt.max):              long(tt.max),
			long(tt.max + 1):          long(tt.max),
			long(30 << 10):            long(tt.max),
			long(tt.max-1) + "\u00e9": long(tt.max - 1), // a two-byte rune across the bound goes whole
		} {
			d := chatv1alpha1.Destruction{EventTime: 1}
			tt.set(&d, in)
			ch := &chatv1alpha1.OfficialChannel{}
			if !RecordDestruction(ch, d) {
				t.Fatalf("%s: not recorded", tt.field)
			}
			if got := tt.get(ch.Status.Destruction); got != want {
				t.Errorf("%s of %d bytes recorded as %d bytes, want %d", tt.field, len(in), len(got), len(want))
			}
			if got := tt.get(&d); got != in {
				t.Errorf("%s: the caller's destruction was changed", tt.field)
			}
		}
	}
}
