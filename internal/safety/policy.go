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

// Package safety holds the guards between a recorded destruction and the
// deletion of a channel's objects: the grace period, the hold, the audit
// mode (Policy.Check, pure), and the deletion budget kept in the cluster
// (Budget). It decides whether a due cleanup may start; the cleanup itself
// is the cleanup package's.
package safety

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/status"
	"github.com/channel-operator/channel-operator/internal/text"
)

// Guard is what keeps a due cleanup from starting, checked in this order.
type Guard int

const (
	// None: the cleanup may start (the budget permitting).
	None Guard = iota
	// Held: the hold annotation is "true".
	Held
	// Scheduled: spec.cleanupDelay has not passed yet.
	Scheduled
	// DryRun: the operator runs with --dry-run.
	DryRun
)

// Policy is the operator's configuration of the guards.
type Policy struct {
	// DefaultDelay is the cleanup delay of channels without
	// spec.cleanupDelay (--default-cleanup-delay).
	DefaultDelay time.Duration
	// DryRun deletes nothing (--dry-run).
	DryRun bool
}

// Check says what keeps ch's due cleanup from starting at now, and, for
// Scheduled, until when. Call it only for a cleanup that is due and has not
// started: a started one finishes whatever the guards say.
func (p Policy) Check(ch *chatv1alpha1.OfficialChannel, now time.Time) (Guard, time.Time) {
	if held, _ := Annotation(ch, chatv1alpha1.HoldAnnotation); held {
		return Held, time.Time{}
	}
	if nb := p.NotBefore(ch); now.Before(nb) {
		return Scheduled, nb
	}
	if p.DryRun {
		return DryRun, time.Time{}
	}
	return None, time.Time{}
}

// Delay is ch's cleanup delay: spec.cleanupDelay, or the default.
func (p Policy) Delay(ch *chatv1alpha1.OfficialChannel) time.Duration {
	if d := ch.Spec.CleanupDelay; d != nil && d.Duration >= 0 {
		return d.Duration
	}
	return p.DefaultDelay
}

// NotBefore is when ch's cleanup may start: the delay after its
// destruction was confirmed (or recorded, without REST credentials).
func (p Policy) NotBefore(ch *chatv1alpha1.OfficialChannel) time.Time {
	d := ch.Status.Destruction
	if d == nil {
		return time.Time{}
	}
	return status.DestructionSettledAt(d).Add(p.Delay(ch))
}

// Annotation reports whether obj carries the annotation key set to "true".
// Any other value is ignored; note then says so, for the condition message.
func Annotation(obj metav1.Object, key string) (set bool, note string) {
	v, ok := obj.GetAnnotations()[key]
	switch {
	case !ok:
		return false, ""
	case v == "true":
		return true, ""
	}
	return false, fmt.Sprintf("annotation %s=%q (only \"true\" counts)", key, text.Abbrev(v, maxNoteValue))
}

// maxNoteValue bounds the value a note repeats: annotations may hold up to
// 256 KiB.
const maxNoteValue = 32

// Ignored lists the notes of ch's hold and approve annotations that are set
// to something other than "true".
func Ignored(ch *chatv1alpha1.OfficialChannel) []string {
	var notes []string
	for _, key := range []string{chatv1alpha1.HoldAnnotation, chatv1alpha1.ApproveCleanupAnnotation} {
		if _, note := Annotation(ch, key); note != "" {
			notes = append(notes, note)
		}
	}
	return notes
}
