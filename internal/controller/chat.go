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

// answerRecheckAfter is how long a reconcile that waits for the observer
// waits before it looks again, in case the answer's wake-up is lost; the
// answer wakes it first (a new leader reconciles every channel anyway). Each
// such requeue is a reconcile of every channel that asked, so it is as long
// as the default resync (docs/benchmarks.md).
const answerRecheckAfter = 10 * time.Minute

// userSigWarning is how long before its expiry a given UserSig is mentioned
// in the Synced condition.
const userSigWarning = 7 * 24 * time.Hour

// gate is what Chat's REST API lets the reconcile do next.
type gate int

const (
	// proceed: nothing held (no credentials and a callback that decides,
	// a confirmed or found destruction, or none).
	proceed gate = iota
	// wait: a report waits for its answer; nothing is deleted yet.
	wait
	// refuted: Chat found the account; nothing is deleted.
	refuted
	// unanswerable: a report waits for an answer that cannot come now (no
	// usable credentials, or the REST API failed after the report). A
	// channel being deleted goes without deleting anything.
	unanswerable
)

// syncWithChat applies the observer's verdict about the channel's account:
// it confirms or refutes a reported destruction, records one it finds, and
// mirrors the profile. The gate says whether the reconcile goes on; res
// when to look again.
func (r *OfficialChannelReconciler) syncWithChat(ctx context.Context, ch *chatv1alpha1.OfficialChannel) (ctrl.Result, gate) {
	d := ch.Status.Destruction
	v := r.Chat.Verdict(ch)
	switch v.Answer {
	case observer.NoCredentials:
		status.MarkNoCredentials(ch)
		if ch.Status.Phase == chatv1alpha1.PhaseReported && status.NeedsConfirmation(ch) {
			// Recorded as a report while the app had credentials: it stays
			// one. Credentials that vanish or are refused by the operator's
			// own checks must not turn reports into deletions.
			status.AwaitConfirmation(ch, "the app has no usable REST credentials any more: nothing is deleted until "+
				"they are back in the Chat API Secret (deleting the OfficialChannel deletes nothing either)")
			return ctrl.Result{}, unanswerable
		}
		return ctrl.Result{}, proceed
	case observer.Pending:
		if d != nil {
			status.AwaitConfirmation(ch, status.AwaitingAnswer)
		}
		if c := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionSynced); c == nil ||
			c.Reason == chatv1alpha1.ReasonNoCredentials {
			status.MarkObserving(ch)
		}
		status.RefreshSynced(ch)
		return retryAt(v), holdIf(d != nil, wait)
	case observer.Failed:
		err := v.Observation.Err
		status.MarkSyncFailed(ch, string(err.Reason), "Chat's REST API could not answer: "+err.Error())
		if d != nil {
			status.AwaitConfirmation(ch, fmt.Sprintf("nothing is deleted until Chat's REST API answers (%s); asking again",
				err.Error()))
		}
		g := wait
		if v.Unanswerable() {
			g = unanswerable
		}
		return retryAt(v), holdIf(d != nil, g)
	case observer.Gone:
		r.applyGone(ctx, ch, v)
		return ctrl.Result{}, proceed
	default:
		return ctrl.Result{}, r.applyExists(ctx, ch, v)
	}
}

// holdIf is g when hold, proceed otherwise.
func holdIf(hold bool, g gate) gate {
	if hold {
		return g
	}
	return proceed
}

// retryAt requeues when the verdict says to look again, or after
// answerRecheckAfter in case the answer's wake-up is lost.
func retryAt(v observer.Verdict) ctrl.Result {
	if v.RetryAt.IsZero() {
		return ctrl.Result{RequeueAfter: answerRecheckAfter}
	}
	return ctrl.Result{RequeueAfter: max(time.Until(v.RetryAt), time.Millisecond)}
}

// applyGone confirms a reported destruction, or records one the REST API
// found without a callback; a destruction settled already is left as it is.
func (r *OfficialChannelReconciler) applyGone(ctx context.Context, ch *chatv1alpha1.OfficialChannel, v observer.Verdict) {
	app, account := ch.Spec.SDKAppID, ch.Spec.OfficialAccountID
	d := ch.Status.Destruction
	if d != nil && !status.NeedsConfirmation(ch) {
		status.RefreshSynced(ch) // destroyed and confirmed (or being cleaned up): nothing was asked
		return
	}
	at := metav1.NewTime(v.Observation.At)
	status.MarkSynced(ch, syncedMessage(v))
	if d != nil {
		status.Confirm(ch, at)
		r.Events.Eventf(ch, nil, corev1.EventTypeNormal, EventDestructionConfirmed, "ConfirmDestruction",
			"Chat's REST API confirmed that channel %s (app %d) does not exist", account, app)
		logf.FromContext(ctx).Info("Destruction confirmed by Chat's REST API")
		return
	}
	status.RecordDestruction(ch, chatv1alpha1.Destruction{EventTime: at.UnixMilli(), ReceivedAt: at,
		Source: chatv1alpha1.SourceChatAPI, ConfirmedAt: &at})
	r.Events.Eventf(ch, nil, corev1.EventTypeWarning, EventDestructionRecovered, "ObserveAccount",
		"Chat's REST API says channel %s (app %d) does not exist, though no destruction callback was received for it",
		account, app)
	logf.FromContext(ctx).Info("Destruction found by Chat's REST API (no callback reported it)")
}

// applyExists mirrors the account's profile and refutes a reported
// destruction.
func (r *OfficialChannelReconciler) applyExists(ctx context.Context, ch *chatv1alpha1.OfficialChannel, v observer.Verdict) gate {
	app, account := ch.Spec.SDKAppID, ch.Spec.OfficialAccountID
	obs := v.Observation
	at := metav1.NewTime(obs.At)
	status.MarkSynced(ch, syncedMessage(v))
	if obs.Info != nil && (ch.Status.Account == nil || ch.Status.Account.ObservedAt == nil || ch.Status.Account.ObservedAt.Before(&at)) {
		status.MirrorAccount(ch, profileOf(obs), at)
	}
	d := ch.Status.Destruction
	if d == nil {
		return proceed
	}
	reported := *d
	status.Refute(ch, at)
	if reported.Source == chatv1alpha1.SourceChatAPI {
		r.Events.Eventf(ch, nil, corev1.EventTypeWarning, EventDestructionRefuted, "ConfirmDestruction",
			"Another OfficialChannel of channel %s (app %d) holds an older destruction, but Chat's REST API found the account at %s "+
				"(created again?): nothing is deleted", account, app, at.UTC().Format(time.RFC3339))
		return refuted
	}
	// The peer is where the report came from; the ClientIP parameter is
	// only what its sender claims (the Sign does not cover it).
	peer, claimed := text.Abbrev(reported.PeerIP, maxEventField), text.Abbrev(reported.ClientIP, maxEventField)
	r.Events.Eventf(ch, nil, corev1.EventTypeWarning, EventDestructionRefuted, "ConfirmDestruction",
		"A callback from %q (claimed client IP %q) reported channel %s (app %d) destroyed, but Chat's REST API found it at %s: "+
			"nothing is deleted", peer, claimed, account, app, at.UTC().Format(time.RFC3339))
	logf.FromContext(ctx).Info("Destruction refuted by Chat's REST API; nothing is deleted", "peerIP", peer, "claimedClientIP", claimed)
	return refuted
}

// syncedMessage is the Synced condition's message after an answer; it
// warns of a given UserSig that expires soon. It changes only with the
// credentials, not with every observation, so that a resync writes only
// what it must.
func syncedMessage(v observer.Verdict) string {
	msg := "Chat's REST API answers for this channel"
	if exp := v.UserSigExpiry; !exp.IsZero() {
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
