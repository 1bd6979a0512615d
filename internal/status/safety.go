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
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

// InventoryLive reports whether the channel's inventory follows its links:
// while no destruction is recorded, or one is reported and not confirmed
// yet. Once the destruction is recorded (phase Destroyed and after) the
// inventory is the cleanup's plan and stays as it is.
func InventoryLive(ch *chatv1alpha1.OfficialChannel) bool {
	switch ch.Status.Phase {
	case "", chatv1alpha1.PhaseActive, chatv1alpha1.PhaseReported:
		return true
	}
	return false
}

// SortInventory sorts entries by apiVersion, kind and name, the order of
// status.inventory.entries.
func SortInventory(entries []chatv1alpha1.InventoryEntry) {
	slices.SortFunc(entries, func(a, b chatv1alpha1.InventoryEntry) int {
		if c := strings.Compare(a.APIVersion, b.APIVersion); c != 0 {
			return c
		}
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// Inventory is status.inventory listing all (sorted): the count of all,
// the first MaxInventoryEntries of them.
func Inventory(all []chatv1alpha1.InventoryEntry, at metav1.Time) *chatv1alpha1.Inventory {
	inv := &chatv1alpha1.Inventory{Count: int32(len(all)), UpdatedAt: &at}
	if len(all) > chatv1alpha1.MaxInventoryEntries {
		all, inv.Truncated = all[:chatv1alpha1.MaxInventoryEntries], true
	}
	if len(all) > 0 {
		inv.Entries = slices.Clone(all)
	}
	return inv
}

// SameInventory reports whether a and b list the same objects, whenever
// each was taken.
func SameInventory(a, b *chatv1alpha1.Inventory) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Count == b.Count && a.Truncated == b.Truncated && equality.Semantic.DeepEqual(a.Entries, b.Entries)
}

// SetInventory sets status.inventory to inv unless it lists the same
// objects already, and reports whether it changed: an unchanged inventory
// is not written again.
func SetInventory(ch *chatv1alpha1.OfficialChannel, inv *chatv1alpha1.Inventory) bool {
	if SameInventory(ch.Status.Inventory, inv) {
		return false
	}
	ch.Status.Inventory = inv
	return true
}

// CleanupStarted reports whether a cleanup pass ran on the channel (phase
// CleaningUp or later): from then on no guard holds it.
func CleanupStarted(ch *chatv1alpha1.OfficialChannel) bool {
	return ch.Status.Phase == chatv1alpha1.PhaseCleaningUp || CleanedUp(ch) ||
		(ch.Status.Cleanup != nil && ch.Status.Cleanup.LastAttempt != nil)
}

// DestructionSettledAt is when the destruction became a fact the cleanup
// may act on: its confirmation by the REST API, or its recording for an
// app without credentials.
func DestructionSettledAt(d *chatv1alpha1.Destruction) time.Time {
	if d.ConfirmedAt != nil {
		return d.ConfirmedAt.Time
	}
	return d.ReceivedAt.Time
}

// MarkScheduled records that the cleanup waits until notBefore, and
// reports whether it did not wait for that already.
func MarkScheduled(ch *chatv1alpha1.OfficialChannel, notBefore time.Time) bool {
	at := metav1.NewTime(notBefore.UTC().Truncate(time.Second))
	c := cleanupStatus(ch)
	changed := c.NotBefore == nil || !c.NotBefore.Equal(&at)
	c.NotBefore = &at
	return markWaiting(ch, chatv1alpha1.ReasonScheduled,
		fmt.Sprintf("The cleanup is scheduled: it starts at %s (spec.cleanupDelay after the destruction); "+
			"annotate the OfficialChannel %s=true to hold it", at.Format(time.RFC3339), chatv1alpha1.HoldAnnotation)) || changed
}

// MarkHeld records that the hold annotation holds the cleanup, and reports
// whether it was not held before.
func MarkHeld(ch *chatv1alpha1.OfficialChannel) bool {
	return markWaiting(ch, chatv1alpha1.ReasonHeld,
		fmt.Sprintf("The cleanup is held by the annotation %s=true: nothing is deleted until it is removed",
			chatv1alpha1.HoldAnnotation))
}

// MarkBudgetExceeded records that the deletion budget holds the cleanup,
// and reports whether it was not held by it before. An approve-cleanup
// annotation already there when the cleanup is first held (set in advance,
// in a manifest say) is marked stale: it approves nothing until it is
// removed and set again, so that a held cleanup waits for a person.
func MarkBudgetExceeded(ch *chatv1alpha1.OfficialChannel, budget string) bool {
	c := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionCleanedUp)
	wasHeld := c != nil && c.Reason == chatv1alpha1.ReasonBudgetExceeded
	annotated := ch.Annotations[chatv1alpha1.ApproveCleanupAnnotation] == "true"
	stale := annotated && (!wasHeld || strings.Contains(c.Message, staleApproval))
	msg := fmt.Sprintf("The deletion budget (%s cleanups) is used up: the cleanup starts when it has room, "+
		"or at once when the OfficialChannel is annotated %s=true.", budget, chatv1alpha1.ApproveCleanupAnnotation)
	if stale {
		msg += " " + staleApproval + ": it approves nothing until it is removed and set again."
	}
	return markWaiting(ch, chatv1alpha1.ReasonBudgetExceeded, msg)
}

// staleApproval marks, in the BudgetExceeded condition's message, an
// approve-cleanup annotation that was there before the cleanup was held.
const staleApproval = "The approve-cleanup annotation was there before the cleanup was held"

// Approved reports whether a person approved the cleanup the deletion
// budget holds: the approve-cleanup annotation is "true", and was set while
// the budget held it (not in advance).
func Approved(ch *chatv1alpha1.OfficialChannel) bool {
	if ch.Annotations[chatv1alpha1.ApproveCleanupAnnotation] != "true" {
		return false
	}
	c := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionCleanedUp)
	return c != nil && c.Reason == chatv1alpha1.ReasonBudgetExceeded && !strings.Contains(c.Message, staleApproval)
}

// MarkDryRun records that the operator runs in audit mode: the cleanup is
// planned, not run. It reports whether it was not marked so before.
func MarkDryRun(ch *chatv1alpha1.OfficialChannel, plan string) bool {
	return markWaiting(ch, chatv1alpha1.ReasonDryRun,
		"The operator runs with --dry-run: nothing is deleted. "+plan)
}

// Waiting is the reason a due cleanup waits for (Scheduled, Held,
// BudgetExceeded, DryRun; a started one only DryRun), or "".
func Waiting(ch *chatv1alpha1.OfficialChannel) string {
	c := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionCleanedUp)
	if c == nil || (ch.Status.Phase != chatv1alpha1.PhaseDestroyed && ch.Status.Phase != chatv1alpha1.PhaseCleaningUp) {
		return ""
	}
	if slices.Contains(WaitingReasons, c.Reason) {
		return c.Reason
	}
	return ""
}

// WaitingReasons are the reasons of CleanedUp while a guard holds a due
// cleanup.
var WaitingReasons = []string{chatv1alpha1.ReasonScheduled, chatv1alpha1.ReasonHeld, chatv1alpha1.ReasonBudgetExceeded,
	chatv1alpha1.ReasonDryRun}

// markWaiting sets CleanedUp False with reason, and phase Destroyed (a
// cleanup that started stays CleaningUp: only audit mode holds one), and
// reports whether the reason is new.
func markWaiting(ch *chatv1alpha1.OfficialChannel, reason, message string) bool {
	c := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionCleanedUp)
	isNew := c == nil || c.Reason != reason
	if ch.Status.Phase != chatv1alpha1.PhaseCleaningUp {
		ch.Status.Phase = chatv1alpha1.PhaseDestroyed
	}
	set(ch, chatv1alpha1.ConditionCleanedUp, metav1.ConditionFalse, reason, message)
	return isNew
}

func cleanupStatus(ch *chatv1alpha1.OfficialChannel) *chatv1alpha1.CleanupStatus {
	if ch.Status.Cleanup == nil {
		ch.Status.Cleanup = &chatv1alpha1.CleanupStatus{}
	}
	return ch.Status.Cleanup
}

// ignoredMark begins the part of the CleanedUp condition's message that
// names annotations set to something other than "true".
const ignoredMark = " Ignored: "

// NoteIgnored appends notes (annotations whose value is not "true") to the
// CleanedUp condition's message, in place of the notes a previous reconcile
// appended; no notes removes them.
func NoteIgnored(ch *chatv1alpha1.OfficialChannel, notes []string) {
	c := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionCleanedUp)
	if c == nil {
		return
	}
	msg, _, _ := strings.Cut(c.Message, ignoredMark)
	if len(notes) > 0 {
		msg += ignoredMark + strings.Join(notes, "; ") + "."
	}
	c.Message = msg
}
