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

package cleanup

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

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
	// interval is how often a kind that is not usable is checked again.
	interval time.Duration
	log      logr.Logger
	// checked is closed once every kind has been checked a first time: a
	// sweep before that would find every kind unchecked and fail.
	checked     chan struct{}
	checkedOnce sync.Once

	mu sync.Mutex
	// state is, per kind, the GVK when usable or why not.
	state map[schema.GroupResource]kindState
}

// Usability is what the cleanup may do with a cleanup kind.
type Usability int

const (
	// Unchecked: not checked yet; objects of the kind may be linked.
	Unchecked Usability = iota
	// Usable: served, with list, watch and delete, granted by RBAC; watched.
	Usable
	// Unserved: the kind cannot hold a linked object (not served by the
	// cluster, or cluster-scoped); a cleanup finishes without it.
	Unserved
	// Refused: the operator is refused the kind (verbs missing, RBAC);
	// objects of it may be linked, and no cleanup can finish, but a deleted
	// channel may go without it, as with any refusal.
	Refused
	// Unknown: the check failed (an API error); objects of it may be linked,
	// and the cleanup waits for the next check.
	Unknown
)

type kindState struct {
	gvk    schema.GroupVersionKind
	use    Usability
	reason string // why the kind is not usable; "" when it is
}

// usable returns what is known of the kind: its GVK when usable, or why
// the cleanup cannot list it.
func (k *kindTracker) usable(gr schema.GroupResource) kindState {
	k.mu.Lock()
	defer k.mu.Unlock()
	st, ok := k.state[gr]
	if !ok {
		return kindState{use: Unchecked, reason: "not checked yet"}
	}
	return st
}

// awaitFirstCheck waits until every kind has been checked once, or ctx ends.
func (k *kindTracker) awaitFirstCheck(ctx context.Context) error {
	select {
	case <-k.checked:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the cleanup kinds have not been checked yet: %w", ctx.Err())
	}
}

// checkAll checks every kind that is not usable yet and starts the watch of
// each that is now. A kind once usable stays watched.
func (k *kindTracker) checkAll(ctx context.Context) {
	defer k.checkedOnce.Do(func() { close(k.checked) })
	log := logf.FromContext(ctx)
	for _, gr := range k.kinds {
		if k.usable(gr).use == Usable {
			continue
		}
		st, err := k.check(ctx, gr)
		if err != nil {
			st = kindState{gvk: st.gvk, use: Unknown, reason: "cannot be checked now: " + err.Error()}
		}
		if st.use == Usable {
			if err := k.watch(st.gvk); err != nil {
				st = kindState{gvk: st.gvk, use: Unknown, reason: "its watch did not start: " + err.Error()}
			}
		}
		k.mu.Lock()
		prev, seen := k.state[gr]
		k.state[gr] = st
		k.mu.Unlock()
		cleanupKindUsable.WithLabelValues(gr.String()).Set(boolGauge(st.use == Usable))
		switch {
		case st.use == Usable && seen:
			log.Info("Cleanup kind usable now: watching it, and waking the cleanups that wait", "kind", gr.String())
			k.wakeCleanups(ctx)
		case st.use == Usable:
			log.Info("Cleanup kind usable: watching it", "kind", gr.String())
		case !seen || prev.reason != st.reason:
			log.Info("Skipping a cleanup kind until it is usable", "kind", gr.String(), "reason", st.reason)
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

// check says whether gr can be used now, and if not why; err when it could
// not tell.
func (k *kindTracker) check(ctx context.Context, gr schema.GroupResource) (kindState, error) {
	gvk, err := k.mapper.KindFor(gr.WithVersion(""))
	if meta.IsNoMatchError(err) {
		if rm, ok := k.mapper.(meta.ResettableRESTMapper); ok {
			rm.Reset() // it may be served later
		}
		return kindState{gvk: gvk, use: Unserved, reason: "not served by the cluster"}, nil
	}
	if err != nil {
		return kindState{gvk: gvk}, err
	}
	mapping, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return kindState{gvk: gvk}, err
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return kindState{gvk: gvk, use: Unserved, reason: "cluster-scoped: never linked"}, nil
	}
	resources, err := k.discovery.ServerResourcesForGroupVersion(gvk.GroupVersion().String())
	if err != nil {
		return kindState{gvk: gvk}, fmt.Errorf("discovery of %s: %w", gvk.GroupVersion(), err)
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
			return kindState{gvk: gvk, use: Refused, reason: "the API serves no " + strings.Join(missing, ", ") + " for it"}, nil
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
				return kindState{gvk: gvk}, fmt.Errorf("asking whether the operator may %s %s: %w", verb, gr, err)
			}
			if !review.Status.Allowed {
				where := "cluster-wide"
				if ns != "" {
					where = "in namespace " + ns
				}
				return kindState{gvk: gvk, use: Refused,
					reason: fmt.Sprintf("RBAC does not allow %s %s (grant get, list, watch, delete)", verb, where)}, nil
			}
		}
	}
	return kindState{gvk: gvk, use: Usable}, nil
}

// Start checks every kind at once, then those that are not usable yet every
// interval, until ctx ends. It is a leader-elected runnable: only the
// leader's controller watches, and the set-up makes no call to the API
// server (the first check is here, in the leader).
func (k *kindTracker) Start(ctx context.Context) error {
	ctx = logf.IntoContext(ctx, k.log)
	k.checkAll(ctx)
	ticker := time.NewTicker(k.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			k.checkAll(ctx)
		}
	}
}

// NeedLeaderElection is true: only the leader's controller watches.
func (k *kindTracker) NeedLeaderElection() bool { return true }

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
