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

// Package cleanup finds the objects linked to an OfficialChannel and deletes
// them: the cleanup kinds (which are usable, watched as metadata), the link
// index over them, and one pass of a cleanup (Sweep). It decides nothing of
// when a cleanup is due: the reconciler does.
package cleanup

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/status"
)

var (
	cleanupDeletions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "channel_operator_cleanup_deletions_total",
		Help: "Linked objects deleted by cleanups, by kind (resource.group).",
	}, []string{"kind"})

	cleanupKindUsable = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "channel_operator_cleanup_kind_usable",
		Help: "1 when a --cleanup-kinds kind is served, has list/watch/delete and RBAC grants them; 0 while it is skipped.",
	}, []string{"kind"})
)

func init() {
	metrics.Registry.MustRegister(cleanupDeletions, cleanupKindUsable)
}

// DefaultRecheckInterval is how often a cleanup kind that is not usable is
// checked again, unless Options say otherwise.
const DefaultRecheckInterval = time.Minute

// Options configure a Cleaner.
type Options struct {
	// Kinds are the kinds swept for labelled and owned objects (--cleanup-kinds).
	Kinds []schema.GroupResource
	// Namespaces are where RBAC must allow the kinds' verbs (--watch-namespaces);
	// empty: cluster-wide.
	Namespaces []string
	// RecheckInterval is how often a kind that is not usable is checked
	// again; DefaultRecheckInterval when zero.
	RecheckInterval time.Duration
	// MaxDeletes bounds the deletions in flight across all cleanups.
	MaxDeletes int
	// Cache reads OfficialChannels and the kinds' metadata: the manager's cache.
	Cache client.Reader
	// API reads spec.linkedResources entries from the API server.
	API client.Reader
	// Client deletes, and asks the API server what the operator may do.
	Client client.Client
	// InventoryInterval coalesces the wake-ups of channels whose linked
	// objects change: a channel is woken at most once per interval for its
	// inventory. Zero: DefaultInventoryInterval.
	InventoryInterval time.Duration
}

// DefaultInventoryInterval is --inventory-interval's default.
const DefaultInventoryInterval = 30 * time.Second

// New returns a Cleaner for mgr. It makes no call to the API server: the
// kinds are checked once the leader runs (SetupWithController).
func New(mgr ctrl.Manager, o Options) (*Cleaner, error) {
	disco, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return nil, fmt.Errorf("creating the discovery client: %w", err)
	}
	interval := o.RecheckInterval
	if interval <= 0 {
		interval = DefaultRecheckInterval
	}
	kinds := newKindTracker(o.Kinds)
	kinds.mapper, kinds.discovery, kinds.reviews = mgr.GetRESTMapper(), disco, o.Client
	kinds.namespaces, kinds.channels, kinds.interval = o.Namespaces, o.Cache, interval
	kinds.woken, kinds.log = make(chan event.GenericEvent), mgr.GetLogger().WithName("cleanup-kinds")
	inventory := o.InventoryInterval
	if inventory <= 0 {
		inventory = DefaultInventoryInterval
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &chatv1alpha1.OfficialChannel{}, listedIndex,
		listedKeys); err != nil {
		return nil, fmt.Errorf("indexing spec.linkedResources: %w", err)
	}
	return &Cleaner{Cache: o.Cache, API: o.API, Client: o.Client, links: newLinkIndex(), mapper: mgr.GetRESTMapper(),
		kinds: kinds, deletes: make(chan struct{}, max(1, o.MaxDeletes)), inventoryInterval: inventory}, nil
}

// listedIndex is the field index of OfficialChannels by the objects their
// spec.linkedResources name, as listedKey renders them.
const listedIndex = "spec.linkedResources.object"

func listedKeys(obj client.Object) []string {
	ch, ok := obj.(*chatv1alpha1.OfficialChannel)
	if !ok || len(ch.Spec.LinkedResources) == 0 {
		return nil
	}
	keys := make([]string, 0, len(ch.Spec.LinkedResources))
	for _, ref := range ch.Spec.LinkedResources {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			continue
		}
		keys = append(keys, listedKey(gv.Group, ref.Kind, ref.Name))
	}
	return keys
}

// listedKey names an object of a kind (group and kind, any version).
func listedKey(group, kind, name string) string { return group + "/" + kind + "/" + name }

func newKindTracker(kinds []schema.GroupResource) *kindTracker {
	return &kindTracker{kinds: kinds, state: map[schema.GroupResource]kindState{}, checked: make(chan struct{})}
}

// SetupWithController makes ctl watch what the cleanup waits for, and adds
// the leader's check of the kinds to mgr. The metadata of every usable
// cleanup kind is watched: the cleanup reads linked objects from that cache
// (through the link index), and a linked object that goes wakes its
// channel's cleanup at once instead of at the next retry. A kind that
// becomes usable wakes the cleanups waiting for it.
func (c *Cleaner) SetupWithController(mgr ctrl.Manager, ctl controller.Controller) error {
	links, ok := c.links.(*linkIndex)
	if !ok {
		return fmt.Errorf("the cleaner's link lookup is not an index")
	}
	c.kinds.watch = c.watchMetadata(ctl, mgr, links)
	if err := ctl.Watch(source.Channel(c.kinds.woken, &handler.EnqueueRequestForObject{})); err != nil {
		return fmt.Errorf("watching the cleanups woken by a kind: %w", err)
	}
	return mgr.Add(c.kinds)
}

// watchMetadata returns the watch function of the kind tracker: the metadata
// of a cleanup kind, into the manager's cache, indexed by links, waking a
// channel whose cleanup waits for one of its objects. Both start with the
// controller (at once if it runs already), so that only the leader caches
// the cleanup kinds, and before its workers.
func (c *Cleaner) watchMetadata(ctl controller.Controller, mgr ctrl.Manager, links *linkIndex) func(schema.GroupVersionKind) error {
	return func(gvk schema.GroupVersionKind) error {
		index := source.Func(func(ctx context.Context, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			return links.watch(ctx, mgr.GetCache(), gvk)
		})
		if err := ctl.Watch(index); err != nil {
			return err
		}
		obj := &metav1.PartialObjectMetadata{}
		obj.SetGroupVersionKind(gvk)
		if err := ctl.Watch(source.Kind[client.Object](mgr.GetCache(), obj, handler.EnqueueRequestsFromMapFunc(c.channelOfLinked),
			beingDeleted)); err != nil {
			return err
		}
		return ctl.Watch(source.Kind[client.Object](mgr.GetCache(), obj.DeepCopy(), c.inventoryChanges()))
	}
}

// inventoryChanges wakes the channels whose inventory an object's change
// changes (it is linked or unlinked, protected or not), once per inventory
// interval at most: a change waits that long for the next ones, and a
// channel whose objects change all the time is reconciled, and written,
// once per interval. Channels whose inventory is the plan already
// (destroyed) are not woken.
func (c *Cleaner) inventoryChanges() handler.TypedEventHandler[client.Object, reconcile.Request] {
	wake := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], objs ...client.Object) {
		for _, key := range c.inventoryChannels(ctx, objs...) {
			q.AddAfter(reconcile.Request{NamespacedName: key}, c.inventoryInterval)
		}
	}
	return handler.TypedFuncs[client.Object, reconcile.Request]{
		CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[client.Object],
			q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			wake(ctx, q, e.Object)
		},
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[client.Object],
			q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if inventoryFieldsChanged(e.ObjectOld, e.ObjectNew) {
				wake(ctx, q, e.ObjectOld, e.ObjectNew)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.TypedDeleteEvent[client.Object],
			q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			wake(ctx, q, e.Object)
		},
	}
}

// inventoryFieldsChanged reports whether an update changes what an
// inventory says of the object: its link label, its channel owners, its
// protect annotation. Most updates (a Deployment's status) change none.
func inventoryFieldsChanged(old, obj client.Object) bool {
	return old.GetLabels()[chatv1alpha1.LinkLabel] != obj.GetLabels()[chatv1alpha1.LinkLabel] ||
		old.GetAnnotations()[chatv1alpha1.ProtectAnnotation] != obj.GetAnnotations()[chatv1alpha1.ProtectAnnotation] ||
		!slices.Equal(channelOwners(old), channelOwners(obj))
}

// inventoryChannels are the channels objs may be linked to (by label,
// ownerReference or spec.linkedResources) whose inventory is live.
func (c *Cleaner) inventoryChannels(ctx context.Context, objs ...client.Object) []types.NamespacedName {
	var keys []types.NamespacedName
	add := func(ch *chatv1alpha1.OfficialChannel) {
		key := types.NamespacedName{Namespace: ch.Namespace, Name: ch.Name}
		if status.InventoryLive(ch) && !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	for _, obj := range objs {
		for _, name := range channelNames(obj) {
			ch := &chatv1alpha1.OfficialChannel{}
			// Read only: every change of every linked object passes here.
			if err := c.Cache.Get(ctx, client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}, ch,
				client.UnsafeDisableDeepCopy); err == nil {
				add(ch)
			}
		}
		gvk := obj.GetObjectKind().GroupVersionKind()
		var listing chatv1alpha1.OfficialChannelList
		if err := c.Cache.List(ctx, &listing, client.InNamespace(obj.GetNamespace()), client.UnsafeDisableDeepCopy,
			client.MatchingFields{listedIndex: listedKey(gvk.Group, gvk.Kind, obj.GetName())}); err == nil {
			for i := range listing.Items {
				add(&listing.Items[i])
			}
		}
	}
	return keys
}

// channelNames are the names of the OfficialChannels obj may be linked
// to by ownerReference or by the link label, in its namespace.
func channelNames(obj client.Object) []string {
	var names []string
	for _, ref := range obj.GetOwnerReferences() {
		if refersToChannel(ref) {
			names = append(names, ref.Name)
		}
	}
	if name := obj.GetLabels()[chatv1alpha1.LinkLabel]; name != "" {
		names = append(names, name)
	}
	return names
}

// beingDeleted passes the events of objects that wait for their finalizers:
// the ones a cleanup waits for. Objects the cleanup deletes outright, and
// every other change of every object of the cleanup kinds, wake nothing.
var beingDeleted = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	UpdateFunc:  func(e event.UpdateEvent) bool { return e.ObjectNew.GetDeletionTimestamp() != nil },
	DeleteFunc:  func(e event.DeleteEvent) bool { return e.Object.GetDeletionTimestamp() != nil },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// channelOfLinked maps a linked object (by label or ownerReference) to its
// OfficialChannel, and only while that channel is being cleaned up: objects
// change all the time, channels that are not being cleaned up need no wake-up.
func (c *Cleaner) channelOfLinked(ctx context.Context, obj client.Object) []reconcile.Request {
	names := channelNames(obj)
	var reqs []reconcile.Request
	for _, name := range names {
		key := client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}
		ch := &chatv1alpha1.OfficialChannel{}
		if err := c.Cache.Get(ctx, key, ch); err != nil || ch.Status.Destruction == nil || status.CleanedUp(ch) {
			continue
		}
		reqs = append(reqs, reconcile.Request{NamespacedName: key})
	}
	return reqs
}
