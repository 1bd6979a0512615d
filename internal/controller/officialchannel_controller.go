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
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/destruction"
)

// OfficialChannelReconciler drives an OfficialChannel's status and, once the
// channel is destroyed on the Chat side, the cleanup of its linked objects.
type OfficialChannelReconciler struct {
	client.Client
	// Pending holds destructions that arrived before their OfficialChannel.
	Pending *destruction.PendingStore
	Events  events.EventRecorder
}

// +kubebuilder:rbac:groups=chat.channel-operator.io,resources=officialchannels,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=chat.channel-operator.io,resources=officialchannels/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=chat.channel-operator.io,resources=officialchannels/finalizers,verbs=update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile follows the Cluster API shape: fetch, ensure the finalizer, patch
// the status once on the way out, then the delete or the normal path.
func (r *OfficialChannelReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	ch := &chatv1alpha1.OfficialChannel{}
	if err := r.Get(ctx, req.NamespacedName, ch); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	if ch.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(ch, chatv1alpha1.CleanupFinalizer) {
		// The patch triggers the next reconcile, which carries on from here.
		return ctrl.Result{}, r.addFinalizer(ctx, ch)
	}

	base := ch.DeepCopy()
	defer func() {
		if err := r.patchStatus(ctx, base, ch); err != nil {
			reterr = kerrors.NewAggregate([]error{reterr, err})
		}
	}()

	if !ch.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, ch)
	}
	return r.reconcileNormal(ctx, ch)
}

func (r *OfficialChannelReconciler) reconcileNormal(ctx context.Context, ch *chatv1alpha1.OfficialChannel) (ctrl.Result, error) {
	ch.Status.ObservedGeneration = ch.Generation
	if ch.Status.Destruction == nil {
		if err := r.applyPending(ctx, ch); err != nil {
			return ctrl.Result{}, err
		}
	}
	if ch.Status.Destruction == nil {
		markActive(ch)
	}
	return ctrl.Result{}, nil
}

// applyPending records a destruction that Chat reported before this
// OfficialChannel existed. Only a channel seen for the first time (no phase
// yet) can have one: for any channel already in the cache, the receiver
// writes the destruction itself, and for one created while the receiver
// kept a record, the receiver's own fresh list after keeping it finds it.
func (r *OfficialChannelReconciler) applyPending(ctx context.Context, ch *chatv1alpha1.OfficialChannel) error {
	if ch.Status.Phase != "" {
		return nil
	}
	rec, err := r.Pending.Get(ctx, ch.Spec.SDKAppID, ch.Spec.OfficialAccountID, time.Now())
	if err != nil || rec == nil {
		return err
	}
	if destruction.Apply(ch, rec.Destruction) {
		logf.FromContext(ctx).Info("Recorded a destruction received before the OfficialChannel existed",
			"eventTime", rec.Destruction.EventTime)
		r.Events.Eventf(ch, nil, corev1.EventTypeNormal, "DestructionRecorded", "RecordDestruction",
			"Chat reported channel %s (app %d) destroyed at %s, before this OfficialChannel was created",
			ch.Spec.OfficialAccountID, ch.Spec.SDKAppID, ch.Status.DestroyedAt)
	}
	return nil
}

// reconcileDelete lets an OfficialChannel go once nothing needs it any more.
// A channel that was never destroyed is let go without deleting anything by
// label: only ownerReference garbage collection applies to it.
func (r *OfficialChannelReconciler) reconcileDelete(ctx context.Context, ch *chatv1alpha1.OfficialChannel) (ctrl.Result, error) {
	logf.FromContext(ctx).Info("Releasing OfficialChannel", "phase", ch.Status.Phase)
	return ctrl.Result{}, r.removeFinalizer(ctx, ch)
}

// markActive records that no destruction is known.
func markActive(ch *chatv1alpha1.OfficialChannel) {
	ch.Status.Phase = chatv1alpha1.PhaseActive
	meta.SetStatusCondition(&ch.Status.Conditions, metav1.Condition{
		Type:               chatv1alpha1.ConditionDestroyed,
		Status:             metav1.ConditionFalse,
		Reason:             chatv1alpha1.ReasonActive,
		Message:            "No destruction callback has been received for this channel",
		ObservedGeneration: ch.Generation,
	})
	meta.SetStatusCondition(&ch.Status.Conditions, metav1.Condition{
		Type:               chatv1alpha1.ConditionCleanedUp,
		Status:             metav1.ConditionFalse,
		Reason:             chatv1alpha1.ReasonNotDestroyed,
		Message:            "Nothing is cleaned up while the channel is active",
		ObservedGeneration: ch.Generation,
	})
}

func (r *OfficialChannelReconciler) addFinalizer(ctx context.Context, ch *chatv1alpha1.OfficialChannel) error {
	patch := client.MergeFromWithOptions(ch.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(ch, chatv1alpha1.CleanupFinalizer)
	if err := r.Patch(ctx, ch, patch); err != nil {
		return fmt.Errorf("adding finalizer: %w", err)
	}
	return nil
}

func (r *OfficialChannelReconciler) removeFinalizer(ctx context.Context, ch *chatv1alpha1.OfficialChannel) error {
	if !controllerutil.ContainsFinalizer(ch, chatv1alpha1.CleanupFinalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(ch.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(ch, chatv1alpha1.CleanupFinalizer)
	if err := r.Patch(ctx, ch, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing finalizer: %w", err)
	}
	return nil
}

// patchStatus writes the status when it changed. The patch carries the
// resourceVersion the reconcile started from, so a destruction the callback
// receiver recorded in the meantime is never overwritten: the patch fails with
// a conflict and the reconcile runs again on fresh data.
func (r *OfficialChannelReconciler) patchStatus(ctx context.Context, base, ch *chatv1alpha1.OfficialChannel) error {
	if equality.Semantic.DeepEqual(base.Status, ch.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, ch, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patching status: %w", err)
	}
	return nil
}

// SetupWithManager registers the reconciler with the manager.
func (r *OfficialChannelReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&chatv1alpha1.OfficialChannel{}).
		Named("officialchannel").
		Complete(r)
}
