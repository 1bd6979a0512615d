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
	"slices"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/status"
)

// A cleanup kind is watched (its metadata cached) only once it is usable:
// served, with the verbs the cleanup needs in discovery, and granted by RBAC.
// Watching a kind the operator may not list would leave its informer unsynced
// forever: the controller would wait for it, clean up nothing, and the manager
// would exit at the cache-sync timeout. So each kind is checked first; an
// unusable one is reported (log, metric, status.cleanup.message) and skipped,
// every other kind keeps working, and the check is made again every
// recheckInterval, so that a grant added later is picked up without a restart.

// neededVerbs are what the cleanup does with a cleanup kind.
var neededVerbs = []string{"list", "watch", "delete"}

// kindTracker knows which cleanup kinds are usable, and starts the watch of
// a kind when it becomes so.
type kindTracker struct {
	kinds      []schema.GroupResource
	mapper     meta.RESTMapper
	discovery  discovery.DiscoveryInterface
	reviews    client.Client
	namespaces []string // where RBAC must allow the verbs; empty: cluster-wide
	// watch starts the metadata watch of a usable kind.
	watch func(gvk schema.GroupVersionKind) error
	// channels reads OfficialChannels (the cache); woken receives those whose
	// cleanup waits, when a kind becomes usable: their retry may be minutes
	// away.
	channels client.Reader
	woken    chan event.GenericEvent

	mu sync.Mutex
	// state is, per kind, the GVK when usable or why not.
	state map[schema.GroupResource]kindState
}

type kindState struct {
	gvk    schema.GroupVersionKind
	reason string // "" when usable
	// skip is true when the kind cannot hold a linked object (not served,
	// cluster-scoped): the cleanup can finish without it. Otherwise (verbs
	// missing, RBAC refuses, the check failed) objects of the kind may be
	// linked, and no cleanup can finish until the kind is usable.
	skip bool
	// refused is true when the operator is refused the kind (verbs missing,
	// RBAC); false when it could not be checked (an API error): only a
	// refusal lets a deleted channel go without the kind.
	refused bool
}

// usable returns what is known of the kind: its GVK when usable (no
// reason), or why the cleanup cannot list it.
func (k *kindTracker) usable(gr schema.GroupResource) kindState {
	k.mu.Lock()
	defer k.mu.Unlock()
	st, ok := k.state[gr]
	if !ok {
		return kindState{reason: "not checked yet"}
	}
	return st
}

// checkAll checks every kind that is not usable yet and starts the watch of
// each that is now. A kind once usable stays watched.
func (k *kindTracker) checkAll(ctx context.Context) {
	log := logf.FromContext(ctx)
	for _, gr := range k.kinds {
		if k.usable(gr).reason == "" {
			continue
		}
		gvk, reason, skip, err := k.check(ctx, gr)
		if err != nil {
			reason = "cannot be checked now: " + err.Error()
		}
		refused := err == nil && reason != "" && !skip
		if reason == "" {
			if err := k.watch(gvk); err != nil {
				reason = "its watch did not start: " + err.Error()
			}
		}
		k.mu.Lock()
		prev, seen := k.state[gr]
		k.state[gr] = kindState{gvk: gvk, reason: reason, skip: skip && reason != "", refused: refused}
		k.mu.Unlock()
		cleanupKindUsable.WithLabelValues(gr.String()).Set(boolGauge(reason == ""))
		switch {
		case reason == "" && seen:
			log.Info("Cleanup kind usable now: watching it, and waking the cleanups that wait", "kind", gr.String())
			k.wakeCleanups(ctx)
		case reason == "":
			log.Info("Cleanup kind usable: watching it", "kind", gr.String())
		case !seen || prev.reason != reason:
			log.Info("Skipping a cleanup kind until it is usable", "kind", gr.String(), "reason", reason)
		}
	}
}

// wakeCleanups sends every OfficialChannel whose cleanup has not finished
// to the controller.
func (k *kindTracker) wakeCleanups(ctx context.Context) {
	if k.woken == nil {
		return
	}
	var list chatv1alpha1.OfficialChannelList
	if err := k.channels.List(ctx, &list); err != nil {
		logf.FromContext(ctx).Error(err, "Listing the cleanups to wake")
		return
	}
	for i := range list.Items {
		ch := &list.Items[i]
		if !status.CleanupDue(ch) || status.CleanedUp(ch) {
			continue
		}
		select {
		case k.woken <- event.GenericEvent{Object: ch}:
		case <-ctx.Done():
			return
		}
	}
}

// check says whether gr can be used now, if not why, and whether the
// cleanup may then skip it (no object of it can be linked).
func (k *kindTracker) check(ctx context.Context, gr schema.GroupResource) (gvk schema.GroupVersionKind, reason string, skip bool, err error) {
	gvk, err = k.mapper.KindFor(gr.WithVersion(""))
	if meta.IsNoMatchError(err) {
		if rm, ok := k.mapper.(meta.ResettableRESTMapper); ok {
			rm.Reset() // it may be served later
		}
		return gvk, "not served by the cluster", true, nil
	}
	if err != nil {
		return gvk, "", false, err
	}
	mapping, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return gvk, "", false, err
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return gvk, "cluster-scoped: never linked", true, nil
	}
	resources, err := k.discovery.ServerResourcesForGroupVersion(gvk.GroupVersion().String())
	if err != nil {
		return gvk, "", false, fmt.Errorf("discovery of %s: %w", gvk.GroupVersion(), err)
	}
	for _, r := range resources.APIResources {
		if r.Name != gr.Resource {
			continue
		}
		var missing []string
		for _, v := range neededVerbs {
			if !slices.Contains(r.Verbs, v) {
				missing = append(missing, v)
			}
		}
		if len(missing) > 0 {
			return gvk, "the API serves no " + strings.Join(missing, ", ") + " for it", false, nil
		}
	}
	namespaces := k.namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	for _, ns := range namespaces {
		for _, verb := range neededVerbs {
			review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authorizationv1.ResourceAttributes{Group: gr.Group, Resource: gr.Resource, Verb: verb, Namespace: ns},
			}}
			if err := k.reviews.Create(ctx, review); err != nil {
				return gvk, "", false, fmt.Errorf("asking whether the operator may %s %s: %w", verb, gr, err)
			}
			if !review.Status.Allowed {
				where := "cluster-wide"
				if ns != "" {
					where = "in namespace " + ns
				}
				return gvk, fmt.Sprintf("RBAC does not allow %s %s (grant get, list, watch, delete)", verb, where), false, nil
			}
		}
	}
	return gvk, "", false, nil
}

// Start checks the kinds that are not usable yet every interval, until ctx
// ends. Only the leader runs it: only the leader's controller watches.
func (k *kindTracker) Start(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			k.checkAll(ctx)
		}
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// watchMetadata returns the watch function of a kindTracker: the metadata of
// a cleanup kind, into the manager's cache, indexed by links, waking a
// channel whose cleanup waits for one of its objects. Both start with the
// controller (at once if it runs already), so that only the leader caches
// the cleanup kinds, and before its workers.
func (r *OfficialChannelReconciler) watchMetadata(c controller.Controller, from cache.Cache, links *linkIndex) func(
	schema.GroupVersionKind) error {
	return func(gvk schema.GroupVersionKind) error {
		index := source.Func(func(ctx context.Context, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			return links.watch(ctx, from, gvk)
		})
		if err := c.Watch(index); err != nil {
			return err
		}
		obj := &metav1.PartialObjectMetadata{}
		obj.SetGroupVersionKind(gvk)
		return c.Watch(source.Kind[client.Object](from, obj, handler.EnqueueRequestsFromMapFunc(r.channelOfLinked), beingDeleted))
	}
}

// kindRechecker runs kindTracker.Start as a leader-elected runnable.
type kindRechecker struct {
	tracker  *kindTracker
	interval time.Duration
}

func (k kindRechecker) Start(ctx context.Context) error {
	k.tracker.Start(ctx, k.interval)
	return nil
}

// NeedLeaderElection is true: only the leader's controller watches.
func (kindRechecker) NeedLeaderElection() bool { return true }
