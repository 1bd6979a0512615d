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

// Package status holds every status transition of an OfficialChannel as a
// pure function over the object: the phase, the conditions with their
// reasons and messages, and the fields each step of a channel's life sets.
// The destruction recorder and the reconciler change status only through
// these functions, so the rules of a channel's life are read in one place.
package status

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

// FormatEventTime renders a Chat EventTime (Unix milliseconds) as RFC 3339
// with milliseconds, the form of status.destroyedAt.
func FormatEventTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// RecordDestruction records d and reports whether it changed anything. The
// first destruction wins: once one is recorded, duplicates and replays, older
// or newer, change nothing; nor does a replay of the report last refuted
// (same EventTime), nor the same destruction copied again from a sibling. For an app without REST credentials the callback alone
// decides; a destruction the REST API found (d.ConfirmedAt set) is confirmed
// from the start.
func RecordDestruction(ch *chatv1alpha1.OfficialChannel, d chatv1alpha1.Destruction) bool {
	if !record(ch, d) {
		return false
	}
	ch.Status.Phase = chatv1alpha1.PhaseDestroyed
	if d.ConfirmedAt != nil {
		set(ch, chatv1alpha1.ConditionDestroyed, metav1.ConditionTrue, chatv1alpha1.ReasonConfirmed,
			fmt.Sprintf("Chat's REST API says the account does not exist (observed %s)", d.ConfirmedAt.UTC().Format(time.RFC3339)))
	} else {
		set(ch, chatv1alpha1.ConditionDestroyed, metav1.ConditionTrue, chatv1alpha1.ReasonCallbackReceived,
			fmt.Sprintf("Chat reported the channel destroyed at %s", ch.Status.DestroyedAt))
	}
	return true
}

// ReportDestruction records d as RecordDestruction does, for an app whose
// REST API confirms destructions: phase Reported, Destroyed Unknown, until
// Confirm or Refute.
func ReportDestruction(ch *chatv1alpha1.OfficialChannel, d chatv1alpha1.Destruction) bool {
	d.ConfirmedAt = nil
	if !record(ch, d) {
		return false
	}
	AwaitConfirmation(ch, AwaitingAnswer)
	return true
}

// AwaitingAnswer is why a report waits while Chat's REST API has not answered
// yet; the reconciler says the same, so that asking writes nothing new.
const AwaitingAnswer = "waiting for Chat's REST API to answer before anything is deleted"

func record(ch *chatv1alpha1.OfficialChannel, d chatv1alpha1.Destruction) bool {
	if ch.Status.Destruction != nil {
		return false
	}
	if r := ch.Status.RefutedDestruction; r != nil && r.EventTime == d.EventTime {
		return false
	}
	if d.Source == "" {
		d.Source = chatv1alpha1.SourceCallback
	}
	d = BoundDestruction(d)
	ch.Status.Destruction = d.DeepCopy()
	ch.Status.DestroyedAt = FormatEventTime(d.EventTime)
	set(ch, chatv1alpha1.ConditionCleanedUp, metav1.ConditionFalse, chatv1alpha1.ReasonCleanupPending,
		"The destruction is recorded; cleanup has not started yet")
	return true
}

// AwaitConfirmation keeps a reported destruction in phase Reported; why
// says what the confirmation waits for (an answer, or an API that fails).
func AwaitConfirmation(ch *chatv1alpha1.OfficialChannel, why string) {
	ch.Status.Phase = chatv1alpha1.PhaseReported
	set(ch, chatv1alpha1.ConditionDestroyed, metav1.ConditionUnknown, chatv1alpha1.ReasonReported,
		fmt.Sprintf("A callback reported the channel destroyed at %s; %s", ch.Status.DestroyedAt, why))
}

// NeedsConfirmation reports whether a recorded destruction waits for the
// REST API: not confirmed, and no cleanup has started on it (a cleanup
// started before the app had credentials is not taken back). A cleanup
// that waits (scheduled, held, over the budget) has not started: an app
// given credentials meanwhile has its report confirmed or refuted first.
func NeedsConfirmation(ch *chatv1alpha1.OfficialChannel) bool {
	d := ch.Status.Destruction
	if d == nil || d.ConfirmedAt != nil || CleanedUp(ch) || ch.Status.Phase == chatv1alpha1.PhaseCleaningUp {
		return false
	}
	return ch.Status.Cleanup == nil || ch.Status.Cleanup.LastAttempt == nil
}

// Confirm records that the REST API found the reported account gone at at.
func Confirm(ch *chatv1alpha1.OfficialChannel, at metav1.Time) {
	ch.Status.Destruction.ConfirmedAt = &at
	ch.Status.Phase = chatv1alpha1.PhaseDestroyed
	set(ch, chatv1alpha1.ConditionDestroyed, metav1.ConditionTrue, chatv1alpha1.ReasonConfirmed,
		fmt.Sprintf("Chat's REST API confirmed the reported destruction (%s: the account does not exist)",
			at.UTC().Format(time.RFC3339)))
}

// Refute records that the REST API found the reported account alive after
// the report: the report moves to refutedDestruction, nothing is destroyed.
func Refute(ch *chatv1alpha1.OfficialChannel, at metav1.Time) {
	ch.Status.RefutedDestruction = ch.Status.Destruction
	ch.Status.Destruction = nil
	ch.Status.DestroyedAt = ""
	if c := ch.Status.Cleanup; c != nil && c.LastAttempt == nil {
		ch.Status.Cleanup = nil // a schedule of a cleanup that never ran
	}
	ch.Status.Phase = chatv1alpha1.PhaseActive
	set(ch, chatv1alpha1.ConditionDestroyed, metav1.ConditionFalse, chatv1alpha1.ReasonRefuted,
		fmt.Sprintf("A callback reported the channel destroyed, but Chat's REST API found the account at %s; nothing is deleted",
			at.UTC().Format(time.RFC3339)))
	set(ch, chatv1alpha1.ConditionCleanedUp, metav1.ConditionFalse, chatv1alpha1.ReasonNotDestroyed,
		"Nothing is cleaned up while the channel is active")
}

// Unannounced reports whether a destruction is recorded that the reconciler
// has not acted on yet (CleanedUp still CleanupPending, as RecordDestruction
// left it).
func Unannounced(ch *chatv1alpha1.OfficialChannel) bool {
	c := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionCleanedUp)
	return ch.Status.Destruction != nil && c != nil && c.Reason == chatv1alpha1.ReasonCleanupPending
}

// MarkActive records that no destruction is known. A refutation stays what
// the Destroyed condition says.
func MarkActive(ch *chatv1alpha1.OfficialChannel) {
	ch.Status.Phase = chatv1alpha1.PhaseActive
	if c := meta.FindStatusCondition(
		ch.Status.Conditions,
		chatv1alpha1.ConditionDestroyed,
	); c == nil ||
		c.Reason != chatv1alpha1.ReasonRefuted {
		set(ch, chatv1alpha1.ConditionDestroyed, metav1.ConditionFalse, chatv1alpha1.ReasonActive,
			"No destruction callback has been received for this channel")
	} else {
		c.ObservedGeneration = ch.Generation
	}
	set(ch, chatv1alpha1.ConditionCleanedUp, metav1.ConditionFalse, chatv1alpha1.ReasonNotDestroyed,
		"Nothing is cleaned up while the channel is active")
}

// MarkOrphaned records that policy Orphan leaves the linked objects alone.
func MarkOrphaned(ch *chatv1alpha1.OfficialChannel) {
	ch.Status.Phase = chatv1alpha1.PhaseDestroyed
	set(ch, chatv1alpha1.ConditionCleanedUp, metav1.ConditionFalse, chatv1alpha1.ReasonOrphaned,
		"cleanupPolicy is Orphan: linked objects are left in place")
}

// StartCleanup moves the channel to phase CleaningUp and reports whether
// this call started it (it was in another phase before).
func StartCleanup(ch *chatv1alpha1.OfficialChannel) bool {
	if ch.Status.Phase == chatv1alpha1.PhaseCleaningUp {
		return false
	}
	ch.Status.Phase = chatv1alpha1.PhaseCleaningUp
	return true
}

// CleanupPass is what one pass over a channel's linked objects did.
type CleanupPass struct {
	// Deleted counts the objects this pass deleted.
	Deleted int
	// Remaining counts the linked objects still there.
	Remaining int
	// Protected counts the linked objects kept by the protect annotation.
	Protected int
	// Failed is true when a list or delete call failed.
	Failed bool
	// Message says what remains or failed, for people.
	Message string
	// At is when the pass ran.
	At metav1.Time
}

// RecordCleanupPass adds a pass to status.cleanup. Unless the pass found
// nothing left and nothing failed, CleanedUp becomes False: reason
// CleanupFailed when a call failed, CleaningUp while objects remain. A
// finished pass is sealed with MarkCleanedUp.
func RecordCleanupPass(ch *chatv1alpha1.OfficialChannel, pass CleanupPass) {
	prev := int32(0)
	if ch.Status.Cleanup != nil {
		prev = ch.Status.Cleanup.Deleted
	}
	at := pass.At
	var notBefore *metav1.Time
	if ch.Status.Cleanup != nil {
		notBefore = ch.Status.Cleanup.NotBefore
	}
	ch.Status.Cleanup = &chatv1alpha1.CleanupStatus{
		Deleted:     prev + int32(pass.Deleted),
		Remaining:   int32(pass.Remaining),
		Protected:   int32(pass.Protected),
		LastAttempt: &at,
		Message:     pass.Message,
		NotBefore:   notBefore,
	}
	switch {
	case pass.Failed:
		set(ch, chatv1alpha1.ConditionCleanedUp, metav1.ConditionFalse, chatv1alpha1.ReasonCleanupFailed, pass.Message)
	case pass.Remaining > 0:
		set(ch, chatv1alpha1.ConditionCleanedUp, metav1.ConditionFalse, chatv1alpha1.ReasonCleaningUp, pass.Message)
	}
}

// MarkCleanedUp records that no linked object remains. On a channel
// already CleanedUp it only brings the condition's observedGeneration to the
// current generation: the finished cleanup holds for it too.
func MarkCleanedUp(ch *chatv1alpha1.OfficialChannel) {
	deleted := int32(0)
	if ch.Status.Cleanup != nil {
		deleted = ch.Status.Cleanup.Deleted
	}
	ch.Status.Phase = chatv1alpha1.PhaseCleanedUp
	set(ch, chatv1alpha1.ConditionCleanedUp, metav1.ConditionTrue, chatv1alpha1.ReasonCleanedUp,
		fmt.Sprintf("Deleted %d linked object(s); none remains", deleted))
}

// CleanupDue reports whether the channel's linked objects are to be deleted:
// a destruction is recorded and the policy is Delete.
func CleanupDue(ch *chatv1alpha1.OfficialChannel) bool {
	return ch.Status.Destruction != nil && ch.Spec.CleanupPolicy != chatv1alpha1.CleanupPolicyOrphan
}

// CleanedUp reports whether a cleanup finished, at any generation. A
// finished cleanup is final: no later spec edit runs it again (a policy
// flipped to Orphan and back, say, would otherwise delete whatever carries
// the link label by then), nor does the deletion of the OfficialChannel,
// which bumps its generation too. spec.linkedResources cannot change once
// the channel is destroyed, so no edit can add to what was due. A cleanup
// that never finished (policy Orphan until now, say) still runs when due.
func CleanedUp(ch *chatv1alpha1.OfficialChannel) bool {
	return meta.IsStatusConditionTrue(ch.Status.Conditions, chatv1alpha1.ConditionCleanedUp)
}

// MarkObserved records that a reconcile of the current generation succeeded.
func MarkObserved(ch *chatv1alpha1.OfficialChannel) {
	ch.Status.ObservedGeneration = ch.Generation
}

// set sets a condition computed from the channel's current generation.
func set(ch *chatv1alpha1.OfficialChannel, condType string, s metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&ch.Status.Conditions, metav1.Condition{
		Type: condType, Status: s, Reason: reason, Message: message, ObservedGeneration: ch.Generation,
	})
}
