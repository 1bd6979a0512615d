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

package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/observer"
	"github.com/channel-operator/channel-operator/internal/status"
	"github.com/channel-operator/channel-operator/internal/text"
)

// Event reasons of the REST API's verdicts.
const (
	EventDestructionConfirmed = "DestructionConfirmed"
	EventDestructionRefuted   = "DestructionRefuted"
	EventDestructionRecovered = "DestructionRecovered"
)

// awaitAnswer re-runs a reconcile that waits for the observer, in case its
// wake-up is lost; the answer wakes it first (a new leader reconciles every
// channel anyway). Each such requeue is a reconcile of every channel that
// asked: at 10,000 channels a minute made one needless pass a minute after
// start, so it is as long as the default resync.
const awaitAnswer = 10 * time.Minute

// userSigWarning is how long before its expiry a given UserSig is mentioned
// in the Synced condition.
const userSigWarning = 7 * 24 * time.Hour

// syncWithChat applies what Chat's REST API says about the channel's account,
// for an app with credentials: it confirms or refutes a reported destruction,
// records one it finds, and mirrors the profile. hold is true while nothing
// may be deleted yet (a report not confirmed) or any more (one refuted); res
// says when to look again.
func (r *OfficialChannelReconciler) syncWithChat(ctx context.Context, ch *chatv1alpha1.OfficialChannel) (res ctrl.Result, hold bool) {
	app, account := ch.Spec.SDKAppID, ch.Spec.OfficialAccountID
	d := ch.Status.Destruction
	if !r.Chat.HasCredentials(app) {
		status.MarkNoCredentials(ch)
		if ch.Status.Phase == chatv1alpha1.PhaseReported && status.NeedsConfirmation(ch) {
			// Recorded as a report while the app had credentials: it stays
			// one. Credentials that vanish or are refused by the operator's
			// own checks must not turn reports into deletions.
			status.AwaitConfirmation(ch, "the app has no usable REST credentials any more: nothing is deleted until "+
				"they are back in the Chat API Secret (deleting the OfficialChannel deletes nothing either)")
			return ctrl.Result{}, true
		}
		return ctrl.Result{}, false
	}
	if d != nil && !status.NeedsConfirmation(ch) {
		status.RefreshSynced(ch) // destroyed and confirmed (or being cleaned up): nothing to ask
		return ctrl.Result{}, false
	}
	obs, ok := r.Chat.Latest(app, account)
	if ok && obs.Err == nil && (d != nil || obs.Gone) && !r.Chat.AskedAfter(app, account, question(ch), obs, questionSince(ch)) {
		// A verdict (gone, or exists against a report) counts only from a
		// question asked after the report and after the channel existed.
		// A failure is never a verdict: it is retried below.
		ok = false
	}
	if !ok {
		wait := awaitAnswer
		if until := r.Chat.Request(app, account); !until.IsZero() {
			wait = time.Until(until)
		}
		if d != nil {
			status.AwaitConfirmation(ch, status.AwaitingAnswer)
		}
		if c := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionSynced); c == nil ||
			c.Reason == chatv1alpha1.ReasonNoCredentials {
			status.MarkObserving(ch)
		}
		status.RefreshSynced(ch)
		return ctrl.Result{RequeueAfter: wait}, d != nil
	}
	if obs.Err != nil {
		status.MarkSyncFailed(ch, string(obs.Err.Reason), "Chat's REST API could not answer: "+obs.Err.Error())
		wait := obs.RetryAfter() - time.Since(obs.At)
		if wait <= 0 {
			wait = awaitAnswer
			if until := r.Chat.Request(app, account); !until.IsZero() {
				wait = time.Until(until)
			}
		}
		if d != nil {
			status.AwaitConfirmation(ch, fmt.Sprintf("nothing is deleted until Chat's REST API answers (%s); asking again",
				obs.Err.Error()))
		}
		return ctrl.Result{RequeueAfter: wait}, d != nil
	}
	at := metav1.NewTime(obs.At)
	status.MarkSynced(ch, r.syncedMessage(app))
	switch {
	case obs.Gone && d != nil:
		status.Confirm(ch, at)
		r.Chat.Settled(app, account, question(ch))
		r.Events.Eventf(ch, nil, corev1.EventTypeNormal, EventDestructionConfirmed, "ConfirmDestruction",
			"Chat's REST API confirmed that channel %s (app %d) does not exist", account, app)
		logf.FromContext(ctx).Info("Destruction confirmed by Chat's REST API")
		return ctrl.Result{}, false
	case obs.Gone:
		r.Chat.Settled(app, account, question(ch))
		status.RecordDestruction(ch, chatv1alpha1.Destruction{EventTime: obs.At.UnixMilli(), ReceivedAt: at,
			Source: chatv1alpha1.SourceChatAPI, ConfirmedAt: &at})
		r.Events.Eventf(ch, nil, corev1.EventTypeWarning, EventDestructionRecovered, "ObserveAccount",
			"Chat's REST API says channel %s (app %d) does not exist, though no destruction callback was received for it",
			account, app)
		logf.FromContext(ctx).Info("Destruction found by Chat's REST API (no callback reported it)")
		return ctrl.Result{}, false
	}
	if obs.Info != nil && (ch.Status.Account == nil || ch.Status.Account.ObservedAt == nil || ch.Status.Account.ObservedAt.Before(&at)) {
		status.MirrorAccount(ch, profileOf(obs), at)
	}
	if d == nil {
		return ctrl.Result{}, false
	}
	r.Chat.Settled(app, account, question(ch))
	refuted := *d
	status.Refute(ch, at)
	if refuted.Source == chatv1alpha1.SourceChatAPI {
		r.Events.Eventf(ch, nil, corev1.EventTypeWarning, EventDestructionRefuted, "ConfirmDestruction",
			"Another OfficialChannel of channel %s (app %d) holds an older destruction, but Chat's REST API found the account at %s "+
				"(created again?): nothing is deleted", account, app, at.UTC().Format(time.RFC3339))
		return ctrl.Result{}, true
	}
	r.Events.Eventf(ch, nil, corev1.EventTypeWarning, EventDestructionRefuted, "ConfirmDestruction",
		"A callback from client IP %q reported channel %s (app %d) destroyed, but Chat's REST API found it at %s: nothing is deleted",
		text.Abbrev(refuted.ClientIP, maxEventField), account, app, at.UTC().Format(time.RFC3339))
	logf.FromContext(ctx).Info("Destruction refuted by Chat's REST API; nothing is deleted", "clientIP", text.Abbrev(refuted.ClientIP, maxEventField))
	return ctrl.Result{}, true
}

// question names what a verdict about the channel decides: the channel
// (its first verdict) and the report it holds, if any; two reports within
// the same second differ by their EventTime.
func question(ch *chatv1alpha1.OfficialChannel) string {
	q := string(ch.UID)
	if d := ch.Status.Destruction; d != nil {
		q += fmt.Sprintf("/%d/%d", d.ReceivedAt.Unix(), d.EventTime)
	}
	return q
}

// questionSince is when the question arose: the report's arrival, or the
// channel's creation for a report copied from an older sibling, or for a
// channel's first verdict. A verdict asked before that is about another
// moment (the account may have been re-created since).
func questionSince(ch *chatv1alpha1.OfficialChannel) time.Time {
	since := ch.CreationTimestamp.Time
	if d := ch.Status.Destruction; d != nil && d.ReceivedAt.After(since) {
		since = d.ReceivedAt.Time
	}
	return since
}

// unanswerable reports whether the channel's report cannot be confirmed
// now: the app has no usable credentials, or the REST API failed on a
// question asked after the report.
func (r *OfficialChannelReconciler) unanswerable(ch *chatv1alpha1.OfficialChannel) bool {
	app, account := ch.Spec.SDKAppID, ch.Spec.OfficialAccountID
	if !r.Chat.HasCredentials(app) {
		return true
	}
	obs, ok := r.Chat.Latest(app, account)
	return ok && obs.Err != nil && r.Chat.AskedAfter(app, account, question(ch), obs, questionSince(ch))
}

// syncedMessage is the Synced condition's message after an answer; it
// warns of a given UserSig that expires soon. It changes only with the
// credentials, not with every observation, so that a resync writes only
// what it must.
func (r *OfficialChannelReconciler) syncedMessage(app int64) string {
	msg := "Chat's REST API answers for this channel"
	if exp := r.Chat.UserSigExpiry(app); !exp.IsZero() {
		left := time.Until(exp)
		switch {
		case left <= 0:
			msg += fmt.Sprintf("; the app's UserSig expired at %s: renew it in the Chat API Secret", exp.UTC().Format(time.RFC3339))
		case left < userSigWarning:
			msg += fmt.Sprintf("; the app's UserSig expires at %s: renew it in the Chat API Secret", exp.UTC().Format(time.RFC3339))
		}
	}
	return msg
}

func profileOf(obs observer.Observation) status.Profile {
	i := obs.Info
	n := i.SubscriberCount
	return status.Profile{Name: i.Name, OwnerAccount: i.OwnerAccount, Introduction: i.Introduction, FaceURL: i.FaceURL,
		Organization: i.Organization, SubscriberCount: &n, CreateTime: i.CreateTime, LastMessageTime: i.LastMessageTime}
}
