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
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/cleanup"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/internal/observer"
	"github.com/channel-operator/channel-operator/internal/safety"
	"github.com/channel-operator/channel-operator/internal/status"
	"github.com/channel-operator/channel-operator/internal/text"
)

// Event reasons on OfficialChannels.
const (
	EventDestructionRecorded = "DestructionRecorded"
	EventCleanupStarted      = "CleanupStarted"
	EventCleanedUp           = "CleanedUp"
	EventCleanupFailed       = "CleanupFailed"
	EventCleanupRefused      = "CleanupRefused"
	EventCleanupSkipped      = "CleanupSkipped"
	EventCleanupScheduled    = "CleanupScheduled"
	EventCleanupHeld         = "CleanupHeld"
	EventCleanupPlanned      = "CleanupPlanned"
	EventBudgetExceeded      = "CleanupBudgetExceeded"
)

// Requeue back-off while linked objects remain (held by finalizers, say).
const (
	minCleanupRetry = 500 * time.Millisecond
	maxCleanupRetry = 2 * time.Minute
)

// unheldPassTimeout bounds a first pass, which the manager's shutdown does
// not cut short, and writeTimeout each write after it: within the
// manager's 30s graceful shutdown. What the deadline cuts off remains for
// the next pass, under the finalizer.
const (
	unheldPassTimeout = 15 * time.Second
	writeTimeout      = 5 * time.Second
)

// OfficialChannelReconciler drives an OfficialChannel's status and, once the
// channel is destroyed on the Chat side, the cleanup of its linked objects.
type OfficialChannelReconciler struct {
	// Client reads OfficialChannels and the cleanup kinds' metadata from the
	// cache, and writes.
	client.Client
	// APIReader reads spec.linkedResources entries from the API server.
	APIReader client.Reader
	// CleanupKinds are the kinds swept for labelled and owned objects.
	CleanupKinds []schema.GroupResource
	// Destructions hands a destruction kept before an OfficialChannel
	// existed to that channel.
	Destructions *destruction.Recorder
	Events       events.EventRecorder
	// MaxConcurrentReconciles is how many channels are reconciled at once,
	// and how many deletions are in flight at most.
	MaxConcurrentReconciles int
	// WatchNamespaces are the namespaces the operator works in; empty: all.
	// RBAC must allow the cleanup kinds' verbs there.
	WatchNamespaces []string
	// Chat observes accounts through the Chat REST API, for apps with
	// credentials; nil: no app has any.
	Chat *observer.Observer
	// KindRecheckInterval is how often a cleanup kind that is not usable
	// (not served, or not granted) is checked again; a minute when zero.
	KindRecheckInterval time.Duration
	// InventoryInterval coalesces the writes of status.inventory: a changed
	// inventory is written at most once per interval (--inventory-interval).
	InventoryInterval time.Duration
	// Safety is the grace period and the audit mode of cleanups.
	Safety safety.Policy
	// Budget bounds how many cleanups start per window; nil: no bound.
	Budget *safety.Budget

	cleaner *cleanup.Cleaner
	// backoff paces the passes of a cleanup that waits for objects held by
	// their finalizers; a failed pass returns an error, and the
	// controller's own rate limiter paces it.
	backoff workqueue.TypedRateLimiter[ctrl.Request]
}

// +kubebuilder:rbac:groups=chat.channel-operator.io,resources=officialchannels,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=chat.channel-operator.io,resources=officialchannels/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=chat.channel-operator.io,resources=officialchannels/finalizers,verbs=update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// The default --cleanup-kinds: metadata is watched (list, watch) into the
// cache, spec.linkedResources entries are read (get), objects are deleted;
// nothing else. Kinds added with the flag need the same grant.
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=batch,resources=jobs;cronjobs,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups="",resources=services;configmaps;secrets;persistentvolumeclaims;serviceaccounts,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;delete

// scope is one reconcile's view of an OfficialChannel: what it started from,
// what it is becoming, and whether the finalizer may go.
type scope struct {
	base    *chatv1alpha1.OfficialChannel
	channel *chatv1alpha1.OfficialChannel
	release bool
	forget  func()
}

// Release lets the channel go: the finalizer is removed with the status
// patch, and what the reconciler remembers of the channel is forgotten.
func (s *scope) Release() {
	s.release = true
	s.forget()
}

// forget drops the side state the reconciler keeps per channel: what its
// cleanup counted, and its back-off. Keyed by name, so that a channel found
// gone (its finalizer removed by a person, say) is forgotten too.
func (r *OfficialChannelReconciler) forget(key types.NamespacedName) {
	r.cleaner.Forget(key)
	r.backoff.Forget(ctrl.Request{NamespacedName: key})
}

// Reconcile follows the Cluster API shape: fetch, patch the status once on
// the way out, then the delete or the normal path. The finalizer is not
// ensured here: a channel holds it only while its cleanup runs
// (holdForCleanup), so that one no destruction reached never blocks its own
// or its namespace's deletion, operator running or not.
func (r *OfficialChannelReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	ch := &chatv1alpha1.OfficialChannel{}
	if err := r.Get(ctx, req.NamespacedName, ch); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	s := &scope{base: ch.DeepCopy(), channel: ch, forget: func() { r.forget(req.NamespacedName) }}
	defer func() {
		status.NoteIgnored(ch, safety.Ignored(ch))
		if reterr == nil {
			status.MarkObserved(ch)
		}
		// Written even when the manager is stopping: a first pass that ran
		// to its end through the shutdown is recorded, not done again.
		patchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		defer cancel()
		if err := r.patch(patchCtx, s); err != nil {
			reterr = kerrors.NewAggregate([]error{reterr, err})
		}
	}()

	if !ch.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, s, req)
	}
	return r.reconcileNormal(ctx, s, req)
}

func (r *OfficialChannelReconciler) reconcileNormal(ctx context.Context, s *scope, req ctrl.Request) (ctrl.Result, error) {
	ch := s.channel
	defer func() {
		// The finalizer goes as soon as no cleanup runs: the cleanup ended,
		// it waits, or none is due (a channel from before this rule too).
		if ch.Status.Phase != chatv1alpha1.PhaseCleaningUp && controllerutil.ContainsFinalizer(ch, chatv1alpha1.CleanupFinalizer) {
			s.Release()
		}
	}()
	applied, err := r.Destructions.ApplyKept(ctx, ch, time.Now())
	if err != nil {
		return ctrl.Result{}, err
	}
	if applied {
		logf.FromContext(ctx).Info("Recorded a destruction received before the OfficialChannel existed",
			"eventTime", ch.Status.Destruction.EventTime)
	}
	inventoryDue, plan := r.refreshInventory(ctx, ch)
	res, g := r.syncWithChat(ctx, ch)
	res = soonest(res, inventoryDue)
	if g != proceed {
		return res, nil
	}
	r.announceDestruction(ch)
	switch {
	case ch.Status.Destruction == nil:
		status.MarkActive(ch)
		return res, nil
	case status.CleanedUp(ch):
		// Final, whatever the spec says now (even policy Orphan): no edit
		// runs the cleanup again.
		status.MarkCleanedUp(ch)
	case !status.CleanupDue(ch):
		status.MarkOrphaned(ch)
	default:
		if held, waits, err := r.guard(ctx, ch); waits || err != nil {
			return soonest(res, held.RequeueAfter), err
		}
		res, pass := r.cleanUp(ctx, s, req, plan)
		return res, pass.Err()
	}
	return ctrl.Result{}, nil
}

// soonest is res, requeued after d if that comes first (d 0: no requeue).
func soonest(res ctrl.Result, d time.Duration) ctrl.Result {
	if d > 0 && (res.RequeueAfter == 0 || d < res.RequeueAfter) {
		res.RequeueAfter = d
	}
	return res
}

// refreshInventory brings status.inventory up to date while it is live
// (no destruction recorded, or one only reported), and returns when to look
// again: a changed inventory is written at most once per inventory interval,
// and waits for the interval's end. A destruction the reconciler has not
// acted on yet (just recorded, or reported and not confirmed) takes the plan
// as it is now, whatever the interval: the plan it freezes is never one
// that waited for its interval, nor missing (a destruction recorded before
// any inventory was). Once the destruction is acted on, the inventory is the
// cleanup's plan and stays as it is. A plan that cannot be read (a list
// failed) leaves the inventory as it was, for the next try. The plan it
// took is returned for a cleanup in the same reconcile.
func (r *OfficialChannelReconciler) refreshInventory(ctx context.Context, ch *chatv1alpha1.OfficialChannel) (
	time.Duration, *cleanup.Plan) {
	planning := status.Unannounced(ch)
	if (!status.InventoryLive(ch) && !planning) || !ch.DeletionTimestamp.IsZero() {
		return 0, nil
	}
	interval := r.inventoryInterval()
	plan, err := r.cleaner.Plan(ctx, ch)
	if err != nil {
		logf.FromContext(ctx).Error(err, "Inventory not refreshed; trying again", "after", interval)
		return interval, nil
	}
	now := time.Now()
	inv := status.Inventory(plan.Entries(), metav1.NewTime(now))
	if status.SameInventory(ch.Status.Inventory, inv) {
		return 0, &plan
	}
	if last := ch.Status.Inventory; last != nil && last.UpdatedAt != nil && !planning {
		// updatedAt is kept to the second: a second more, so that no two
		// writes fall within one interval.
		if wait := last.UpdatedAt.Add(interval + time.Second).Sub(now); wait > 0 {
			return wait, &plan
		}
	}
	status.SetInventory(ch, inv)
	return 0, &plan
}

func (r *OfficialChannelReconciler) inventoryInterval() time.Duration {
	if r.InventoryInterval > 0 {
		return r.InventoryInterval
	}
	return cleanup.DefaultInventoryInterval
}

// guard holds a due cleanup that has not started yet: by the hold
// annotation, until spec.cleanupDelay has passed, in audit mode, or while
// the deletion budget has no room. waits says it is held; res says when to
// look again. A started cleanup is never held: it finishes.
func (r *OfficialChannelReconciler) guard(ctx context.Context, ch *chatv1alpha1.OfficialChannel) (
	res ctrl.Result, waits bool, err error) {
	if r.Safety.DryRun {
		// Audit mode deletes nothing, not even for a cleanup that started
		// before the operator was restarted with --dry-run to stop it.
		return r.planOnly(ctx, ch)
	}
	if status.CleanupStarted(ch) {
		return ctrl.Result{}, false, nil
	}
	now := time.Now()
	switch g, notBefore := r.Safety.Check(ch, now); g {
	case safety.Held:
		if status.MarkHeld(ch) {
			r.Events.Eventf(ch, nil, corev1.EventTypeNormal, EventCleanupHeld, "Cleanup",
				"The cleanup of channel %s is held by the annotation %s=true", ch.Spec.OfficialAccountID,
				chatv1alpha1.HoldAnnotation)
		}
		return ctrl.Result{}, true, nil
	case safety.Scheduled:
		if status.MarkScheduled(ch, notBefore) {
			r.Events.Eventf(ch, nil, corev1.EventTypeNormal, EventCleanupScheduled, "Cleanup",
				"The cleanup of channel %s starts at %s (cleanupDelay %s)", ch.Spec.OfficialAccountID,
				ch.Status.Cleanup.NotBefore.UTC().Format(time.RFC3339), r.Safety.Delay(ch))
		}
		return ctrl.Result{RequeueAfter: max(notBefore.Sub(now), time.Millisecond)}, true, nil
	case safety.DryRun:
		return r.planOnly(ctx, ch)
	}
	if r.Budget == nil {
		return ctrl.Result{}, false, nil
	}
	approved := status.Approved(ch)
	ahead, err := r.budgetQueueAhead(ctx, ch, now)
	if err != nil {
		return ctrl.Result{}, true, err
	}
	grant, err := r.Budget.Take(ctx, safety.Request{Channel: ch, Approved: approved, Ahead: ahead}, now)
	if err != nil {
		return ctrl.Result{}, true, err
	}
	if grant.Started {
		return ctrl.Result{}, false, nil
	}
	if status.MarkBudgetExceeded(ch, r.Budget.Limit.String()) {
		r.Events.Eventf(ch, nil, corev1.EventTypeWarning, EventBudgetExceeded, "Cleanup",
			"The deletion budget (%s cleanups) is used up: the cleanup of channel %s waits; annotate the OfficialChannel "+
				"%s=true to start it now", r.Budget.Limit, ch.Spec.OfficialAccountID, chatv1alpha1.ApproveCleanupAnnotation)
	}
	return ctrl.Result{RequeueAfter: max(time.Until(grant.RetryAt), time.Millisecond)}, true, nil
}

// planOnly records what the cleanup would do, in audit mode, and holds it.
func (r *OfficialChannelReconciler) planOnly(ctx context.Context, ch *chatv1alpha1.OfficialChannel) (ctrl.Result, bool, error) {
	plan, err := r.cleaner.Plan(ctx, ch)
	if err != nil {
		return ctrl.Result{}, true, fmt.Errorf("planning the cleanup: %w", err)
	}
	msg := planMessage(plan)
	if status.MarkDryRun(ch, msg) {
		r.Events.Eventf(ch, nil, corev1.EventTypeNormal, EventCleanupPlanned, "Cleanup", "%s", msg)
	}
	return ctrl.Result{}, true, nil
}

// planMessage says what a cleanup would delete and keep.
func planMessage(p cleanup.Plan) string {
	msg := fmt.Sprintf("The cleanup would delete %d linked object(s)", len(p.Delete))
	if len(p.Delete) > 0 {
		msg += ": " + cleanup.Names(p.Delete, 5)
	}
	if len(p.Protected) > 0 {
		msg += fmt.Sprintf("; it keeps %d protected one(s): %s", len(p.Protected), cleanup.Names(p.Protected, 5))
	}
	return msg
}

// budgetQueue is the field index of the channels whose cleanup is due and
// has not started: those that may wait for the deletion budget.
const budgetQueue = "status.cleanup.due"

func waitsForBudget(obj client.Object) []string {
	ch, ok := obj.(*chatv1alpha1.OfficialChannel)
	if !ok || ch.Status.Phase != chatv1alpha1.PhaseDestroyed || !status.CleanupDue(ch) || status.CleanupStarted(ch) ||
		!ch.DeletionTimestamp.IsZero() {
		return nil
	}
	return []string{"true"}
}

// budgetQueueAhead lists the cleanups that go before ch's in the deletion
// budget's queue: due now (not held, not scheduled later), not approved
// (those never wait), of older destructions (then by namespace and name).
// A new leader finds every due cleanup at once, and the oldest go first.
// The budget leaves out those it has counted already (started, their
// CleaningUp not cached yet).
func (r *OfficialChannelReconciler) budgetQueueAhead(ctx context.Context, ch *chatv1alpha1.OfficialChannel, now time.Time) (
	[]types.UID, error) {
	var due chatv1alpha1.OfficialChannelList
	if err := r.List(ctx, &due, client.MatchingFields{budgetQueue: "true"}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the cleanups waiting for the deletion budget: %w", err)
	}
	var ahead []types.UID
	for i := range due.Items {
		o := &due.Items[i]
		if o.UID == ch.UID || o.Status.Destruction == nil || !before(o, ch) {
			continue
		}
		if g, _ := r.Safety.Check(o, now); g != safety.None || status.Approved(o) {
			continue
		}
		ahead = append(ahead, o.UID)
	}
	return ahead, nil
}

// before orders the budget's queue: the older destruction first.
func before(a, b *chatv1alpha1.OfficialChannel) bool {
	ta, tb := a.Status.Destruction.ReceivedAt.Time, b.Status.Destruction.ReceivedAt.Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// reconcileDelete lets an OfficialChannel go once nothing needs it any more.
// A cleanup that is due (destroyed, policy Delete) finishes first. A channel
// that was never destroyed is let go without deleting anything by label:
// only ownerReference garbage collection applies to it.
func (r *OfficialChannelReconciler) reconcileDelete(ctx context.Context, s *scope, req ctrl.Request) (ctrl.Result, error) {
	ch := s.channel
	if status.NeedsConfirmation(ch) {
		// An unconfirmed report deletes nothing, even of a channel on its
		// way out: it waits for the answer, and a refuted report, or one
		// that cannot be confirmed (no usable credentials, or the API failed
		// after the report), lets the channel go with nothing deleted
		// (holding it would hold its namespace too).
		switch res, g := r.syncWithChat(ctx, ch); g {
		case wait:
			return res, nil
		case unanswerable:
			r.Events.Eventf(ch, nil, corev1.EventTypeWarning, EventCleanupSkipped, "Cleanup",
				"Letting the OfficialChannel go without deleting anything: the reported destruction could not be confirmed")
			logf.FromContext(ctx).Info("Releasing OfficialChannel with an unconfirmed destruction; nothing deleted")
			s.Release()
			return ctrl.Result{}, nil
		}
	}
	r.announceDestruction(ch)
	if status.CleanupDue(ch) && !status.CleanedUp(ch) {
		if _, waits, err := r.guard(ctx, ch); err != nil {
			return ctrl.Result{}, err
		} else if waits {
			// A cleanup that has not started is not run for a channel on its
			// way out while a guard holds it: nothing is deleted, and the
			// channel (and its namespace) is not held either.
			reason := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionCleanedUp).Reason
			r.Events.Eventf(ch, nil, corev1.EventTypeWarning, EventCleanupSkipped, "Cleanup",
				"Letting the OfficialChannel go without deleting anything: its cleanup had not started (%s)", reason)
			logf.FromContext(ctx).Info("Releasing OfficialChannel whose cleanup had not started; nothing deleted",
				"reason", reason)
			s.Release()
			return ctrl.Result{}, nil
		}
		res, pass := r.cleanUp(ctx, s, req, nil)
		switch {
		case pass.BlockedOnlyByRefusals():
			// The API server refuses the operator these objects: waiting
			// cannot help, and the finalizer would hold the OfficialChannel
			// (and its namespace) forever. Say so, and let it go.
			r.Events.Eventf(ch, nil, corev1.EventTypeWarning, EventCleanupRefused, "Cleanup",
				"Letting the OfficialChannel go with %d linked object(s) the operator may not delete or read: %s",
				pass.Refused, ch.Status.Cleanup.Message)
			logf.FromContext(ctx).Info("Releasing OfficialChannel with refused linked objects", "refused", pass.Refused)
		case pass.Failed():
			return ctrl.Result{}, pass.Err()
		case !res.IsZero():
			return res, nil
		}
	}
	logf.FromContext(ctx).Info("Releasing OfficialChannel", "phase", ch.Status.Phase)
	s.Release()
	return ctrl.Result{}, nil
}

// cleanUp runs one pass over the channel's linked objects (those plan
// found, when this reconcile took the plan) and records it.
// It returns a requeue while linked objects wait for their finalizers, and
// the pass: a failed one is the reconcile's error (counted, retried by the
// controller's rate limiter, and observedGeneration stays where it was).
//
// A cleanup that ends in its first pass (most do: the objects go as they
// are deleted) writes the channel once, its status, and never holds the
// finalizer. Each write of an OfficialChannel costs the API server
// as much as a dozen deletes, and a mass destruction is where the cleanup's
// speed matters. The first pass runs without the finalizer, then: it runs
// to its end even when the channel is deleted meanwhile (it deletes what it
// read), and through the manager's shutdown (unheld). A cleanup that needs
// another pass takes the finalizer before this one ends, and holds the
// channel (and its namespace) until it ends. What is not covered, when the
// channel is deleted at that moment: the manager killed (not stopped: a
// SIGKILL, or its leader lease lost) during a first pass, or a first pass
// whose deletes failed and that found the channel gone when it came to hold
// it; the objects that pass had not reached stay, linked by name to a
// channel that is gone, and are not deleted (README, docs/security.md).
func (r *OfficialChannelReconciler) cleanUp(ctx context.Context, s *scope, req ctrl.Request,
	plan *cleanup.Plan) (ctrl.Result, cleanup.Pass) {
	ch := s.channel
	log := logf.FromContext(ctx)
	if status.NeedsConfirmation(ch) && ch.Status.Phase == chatv1alpha1.PhaseReported {
		// Never reached while syncWithChat holds unconfirmed reports; kept
		// so that no future path deletes on an unconfirmed report.
		log.Info("Not cleaning up: the reported destruction is not confirmed")
		return ctrl.Result{RequeueAfter: answerRecheckAfter}, cleanup.Pass{}
	}
	if status.StartCleanup(ch) {
		r.Events.Eventf(ch, nil, corev1.EventTypeNormal, EventCleanupStarted, "Cleanup",
			"Deleting the objects linked to channel %s", ch.Spec.OfficialAccountID)
		log.Info("Cleanup started")
	}
	parent := ctx
	unheld := !controllerutil.ContainsFinalizer(ch, chatv1alpha1.CleanupFinalizer) && ch.DeletionTimestamp.IsZero()
	if unheld {
		// Without the finalizer's optimistic lock, the pass must not run on
		// a stale read: the channel as the API server has it now (a hold,
		// a policy or a delay set a moment ago; deleted, or re-created
		// under its name) is read again first, for nothing but a read.
		if fresh, err := r.unchanged(ctx, ch); err != nil || !fresh {
			return ctrl.Result{RequeueAfter: minCleanupRetry}, cleanup.Pass{Errs: nonNil(err)}
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), unheldPassTimeout)
		defer cancel()
	}

	var pass cleanup.Pass
	if plan != nil {
		pass = r.cleaner.SweepPlan(ctx, ch, *plan) // found a moment ago, for the plan
	} else {
		pass = r.cleaner.Sweep(ctx, ch)
	}
	if unheld && !pass.Done() {
		// Objects the pass's deadline cut off remain: not a failure.
		pass.Errs = slices.DeleteFunc(pass.Errs, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) })
		holdCtx, cancel := context.WithTimeout(context.WithoutCancel(parent), writeTimeout)
		defer cancel()
		switch gone, err := r.holdForCleanup(holdCtx, s); {
		case gone:
			log.Info("Cleanup left unfinished: the OfficialChannel was deleted during its first pass",
				"remaining", len(pass.Remaining))
		case err != nil:
			pass.Errs = append(pass.Errs, err)
		}
	}
	status.RecordCleanupPass(ch, status.CleanupPass{
		Deleted: pass.DeletedTotal(), Remaining: len(pass.Remaining), Protected: len(pass.Protected), Failed: pass.Failed(),
		Message: pass.Message(), At: metav1.Now(),
	})
	if pass.Failed() {
		// The controller logs the error it is returned; the Event tells
		// the channel's users.
		r.Events.Eventf(ch, nil, corev1.EventTypeWarning, EventCleanupFailed, "Cleanup", "%s", ch.Status.Cleanup.Message)
		return ctrl.Result{}, pass
	}
	if !pass.Done() {
		return ctrl.Result{RequeueAfter: r.backoff.When(req)}, pass
	}

	r.forget(req.NamespacedName)
	status.MarkCleanedUp(ch)
	cleanupDuration.Observe(time.Since(ch.Status.Destruction.ReceivedAt.Time).Seconds())
	if len(pass.Protected) > 0 {
		r.Events.Eventf(ch, nil, corev1.EventTypeNormal, EventCleanedUp, "Cleanup",
			"Deleted %d linked object(s) of channel %s; kept %d protected: %s", ch.Status.Cleanup.Deleted,
			ch.Spec.OfficialAccountID, len(pass.Protected), cleanup.Names(pass.Protected, 10))
	} else {
		r.Events.Eventf(ch, nil, corev1.EventTypeNormal, EventCleanedUp, "Cleanup",
			"Deleted %d linked object(s) of channel %s; none remains", ch.Status.Cleanup.Deleted, ch.Spec.OfficialAccountID)
	}
	log.Info("Cleanup done", "deleted", ch.Status.Cleanup.Deleted)
	return ctrl.Result{}, pass
}

// announceDestruction emits the DestructionRecorded Event the first time the
// reconciler sees a recorded destruction (CleanedUp still CleanupPending, as
// status.RecordDestruction left it). The reconciler, not the receiver, emits it:
// one Event per channel however many replicas received the callback, and no
// extra API call on the callback's path.
func (r *OfficialChannelReconciler) announceDestruction(ch *chatv1alpha1.OfficialChannel) {
	if !status.Unannounced(ch) {
		return
	}
	d := ch.Status.Destruction
	next := "its linked objects will be deleted"
	if ch.Spec.CleanupPolicy == chatv1alpha1.CleanupPolicyOrphan {
		next = "cleanupPolicy Orphan leaves its linked objects in place"
	}
	if d.Source == chatv1alpha1.SourceChatAPI {
		r.Events.Eventf(ch, nil, corev1.EventTypeNormal, EventDestructionRecorded, "RecordDestruction",
			"Chat's REST API found channel %s (app %d) gone at %s; %s", ch.Spec.OfficialAccountID, ch.Spec.SDKAppID,
			ch.Status.DestroyedAt, next)
		return
	}
	r.Events.Eventf(ch, nil, corev1.EventTypeNormal, EventDestructionRecorded, "RecordDestruction",
		"Chat reported channel %s (app %d) destroyed at %s; owner %q, platform %q; %s",
		ch.Spec.OfficialAccountID, ch.Spec.SDKAppID, ch.Status.DestroyedAt, text.Abbrev(d.OwnerAccount, maxEventField),
		text.Abbrev(d.OptPlatform, maxEventField), next)
}

// maxEventField bounds the caller-chosen strings (they come from the
// callback) an Event repeats.
const maxEventField = 64

// fresh reads ch from the API server, past the cache: nil when it is gone.
func (r *OfficialChannelReconciler) fresh(ctx context.Context, ch *chatv1alpha1.OfficialChannel) (
	*chatv1alpha1.OfficialChannel, error) {
	got := &chatv1alpha1.OfficialChannel{}
	switch err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(ch), got); {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading the OfficialChannel from the API server: %w", err)
	}
	return got, nil
}

// unchanged reports whether the API server has ch as the reconcile read
// it (same UID and resourceVersion).
func (r *OfficialChannelReconciler) unchanged(ctx context.Context, ch *chatv1alpha1.OfficialChannel) (bool, error) {
	fresh, err := r.fresh(ctx, ch)
	return fresh != nil && fresh.UID == ch.UID && fresh.ResourceVersion == ch.ResourceVersion, err
}

func nonNil(err error) []error {
	if err == nil {
		return nil
	}
	return []error{err}
}

// holdForCleanup puts the finalizer on a channel whose cleanup needs
// another pass, so that it ends before the channel can go. The patch
// carries the resourceVersion the reconcile read; a channel whose metadata
// alone changed since (an annotation, a label) is read again and held;
// one whose status changed is not (the error: the reconcile runs again on
// fresh data), and gone says the channel went. The status patch on the way
// out then follows the finalizer's.
func (r *OfficialChannelReconciler) holdForCleanup(ctx context.Context, s *scope) (gone bool, err error) {
	ch := s.channel
	if controllerutil.ContainsFinalizer(ch, chatv1alpha1.CleanupFinalizer) {
		return false, nil
	}
	// A copy takes the answer: it carries the stored status, and this
	// reconcile's status is still to be written.
	held := s.base.DeepCopy()
	patch := client.MergeFromWithOptions(s.base, client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(held, chatv1alpha1.CleanupFinalizer)
	err = r.Patch(ctx, held, patch)
	if apierrors.IsConflict(err) {
		fresh, ferr := r.fresh(ctx, ch)
		switch {
		case ferr == nil && fresh == nil:
			return true, nil
		case fresh != nil && fresh.UID == ch.UID && fresh.DeletionTimestamp.IsZero() &&
			equality.Semantic.DeepEqual(fresh.Status, s.base.Status):
			held = fresh.DeepCopy()
			controllerutil.AddFinalizer(held, chatv1alpha1.CleanupFinalizer)
			err = r.Patch(ctx, held, client.MergeFromWithOptions(fresh, client.MergeFromWithOptimisticLock{}))
		}
	}
	switch {
	case apierrors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("adding finalizer: %w", err)
	}
	for _, obj := range []*chatv1alpha1.OfficialChannel{s.base, ch} {
		obj.ResourceVersion, obj.Finalizers = held.ResourceVersion, slices.Clone(held.Finalizers)
	}
	return false, nil
}

// patch writes what the reconcile changed: the status first, then, when the
// channel may go, the finalizer's removal. Both carry the resourceVersion
// they were computed from, so a destruction the callback receiver recorded
// in the meantime is never overwritten: the patch fails with a conflict and
// the reconcile runs again on fresh data.
func (r *OfficialChannelReconciler) patch(ctx context.Context, s *scope) error {
	if !equality.Semantic.DeepEqual(s.base.Status, s.channel.Status) {
		err := r.Status().Patch(ctx, s.channel, client.MergeFromWithOptions(s.base, client.MergeFromWithOptimisticLock{}))
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("patching status: %w", err)
		}
	}
	if !s.release || !controllerutil.ContainsFinalizer(s.channel, chatv1alpha1.CleanupFinalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(s.channel.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(s.channel, chatv1alpha1.CleanupFinalizer)
	err := r.Patch(ctx, s.channel, patch)
	if apierrors.IsConflict(err) && r.finalizerGone(ctx, s.channel) {
		// A reconcile woken by this channel's last status write read the
		// cache before that reconcile took the finalizer off: done already.
		return nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing finalizer: %w", err)
	}
	return nil
}

// finalizerGone reads ch from the API server: true when it is gone or no
// longer holds the finalizer.
func (r *OfficialChannelReconciler) finalizerGone(ctx context.Context, ch *chatv1alpha1.OfficialChannel) bool {
	fresh, err := r.fresh(ctx, ch)
	return err == nil && (fresh == nil || !controllerutil.ContainsFinalizer(fresh, chatv1alpha1.CleanupFinalizer))
}

// SetupWithManager registers the reconciler with the manager. It makes no
// call to the API server: the cleanup kinds are checked once this replica
// leads.
func (r *OfficialChannelReconciler) SetupWithManager(mgr ctrl.Manager) error {
	workers := max(1, r.MaxConcurrentReconciles)
	cleaner, err := cleanup.New(mgr, cleanup.Options{Kinds: r.CleanupKinds, Namespaces: r.WatchNamespaces,
		RecheckInterval: r.KindRecheckInterval, MaxDeletes: workers, Cache: r.Client, API: r.APIReader, Client: r.Client,
		InventoryInterval: r.InventoryInterval})
	if err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &chatv1alpha1.OfficialChannel{}, budgetQueue,
		waitsForBudget); err != nil {
		return fmt.Errorf("indexing the cleanups that wait for the deletion budget: %w", err)
	}
	r.cleaner = cleaner
	r.backoff = workqueue.NewTypedItemExponentialFailureRateLimiter[ctrl.Request](minCleanupRetry, maxCleanupRetry)
	if err := mgr.Add(phaseMetrics{newPhaseCollector(mgr.GetCache())}); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&chatv1alpha1.OfficialChannel{}, builder.WithPredicates(notOnlyFinalizers)).
		// A destruction is a fact about the account: when one channel gets
		// it, the others of its account learn it in their reconcile.
		Watches(&chatv1alpha1.OfficialChannel{}, handler.EnqueueRequestsFromMapFunc(r.Destructions.SiblingsToTell),
			builder.WithPredicates(destructionRecorded))
	if r.Chat != nil {
		// An answer of Chat's REST API wakes the channels of its account.
		b = b.WatchesRawSource(source.Channel(r.Chat.Events(), &handler.EnqueueRequestForObject{}))
	}
	c, err := b.Named("officialchannel").
		WithOptions(controller.Options{MaxConcurrentReconciles: workers, RateLimiter: errorRateLimiter()}).
		Build(r)
	if err != nil {
		return err
	}
	return r.cleaner.SetupWithController(mgr, c)
}

// errorRateLimiter paces the retries of a reconcile that failed (a cleanup
// pass whose calls failed, say): controller-runtime's default, with the
// per-item back-off capped at maxCleanupRetry rather than 16 minutes, so a
// cleanup refused a grant that is then given resumes within two minutes.
func errorRateLimiter() workqueue.TypedRateLimiter[ctrl.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[ctrl.Request](5*time.Millisecond, maxCleanupRetry),
		&workqueue.TypedBucketRateLimiter[ctrl.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}

// notOnlyFinalizers drops the updates that change nothing but the
// finalizers: the reconciler's own (holdForCleanup, Release), between two of
// its writes. A reconcile woken by one would read the channel as it was
// before the writes that follow (the status of that same reconcile) and act
// on it again: a second DestructionRecorded Event, a second pass. The
// write after it wakes the reconcile, or its requeue does.
var notOnlyFinalizers = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		before, ok := e.ObjectOld.(*chatv1alpha1.OfficialChannel)
		after, ok2 := e.ObjectNew.(*chatv1alpha1.OfficialChannel)
		if !ok || !ok2 {
			return true
		}
		b := before.DeepCopy()
		b.Finalizers, b.ResourceVersion, b.ManagedFields = after.Finalizers, after.ResourceVersion, after.ManagedFields
		return !equality.Semantic.DeepEqual(b, after)
	},
}

// destructionRecorded passes the events of OfficialChannels that have just
// got a destruction (or hold one when the cache starts).
var destructionRecorded = predicate.Funcs{
	CreateFunc: func(e event.CreateEvent) bool { return hasDestruction(e.Object) },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return hasDestruction(e.ObjectNew) && !hasDestruction(e.ObjectOld)
	},
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

func hasDestruction(obj client.Object) bool {
	ch, ok := obj.(*chatv1alpha1.OfficialChannel)
	return ok && ch.Status.Destruction != nil
}
