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
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/safety"
	"github.com/channel-operator/channel-operator/internal/status"
	"github.com/channel-operator/channel-operator/internal/text"
)

// Linked is one object linked to an OfficialChannel, as metadata only.
type Linked struct {
	resource schema.GroupResource
	obj      *metav1.PartialObjectMetadata
}

func (l Linked) String() string {
	return fmt.Sprintf("%s/%s", l.resource, l.obj.Name)
}

// Protected reports whether the object carries the protect annotation set
// to "true"; note says so when it is set to anything else.
func (l Linked) Protected() (bool, string) {
	protected, note := safety.Annotation(l.obj, chatv1alpha1.ProtectAnnotation)
	if note != "" {
		note = fmt.Sprintf("%s: %s; it protects nothing", l, note)
	}
	return protected, note
}

// Entry is the object as status.inventory lists it.
func (l Linked) Entry() chatv1alpha1.InventoryEntry {
	gvk := l.obj.GroupVersionKind()
	protected, _ := l.Protected()
	return chatv1alpha1.InventoryEntry{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: l.obj.Name,
		Protected: protected}
}

// Pass is what one pass over a channel's linked objects found and did.
type Pass struct {
	// Deleted counts, by resource, the objects this pass deleted.
	Deleted map[schema.GroupResource]int
	// Remaining lists linked objects that still exist after the pass: held
	// by finalizers, or whose deletion failed.
	Remaining []Linked
	// Notes explain what was skipped (kinds the cluster does not serve).
	Notes []string
	// Errs are the list, get and delete calls that failed.
	Errs []error
	// Refused counts the remaining objects whose deletion the API server
	// refused (Forbidden): no retry will delete them until someone grants it.
	Refused int
	// Protected lists the linked objects kept by the protect annotation:
	// never deleted, not waited for.
	Protected []Linked
}

// cacheListTimeout bounds the reads of one cleanup kind from its index and
// the cache, and the wait for the kinds' first check.
const cacheListTimeout = 30 * time.Second

// errUnusableKind marks a cleanup kind the operator may not list, watch or
// delete: a refusal, like a Forbidden answer.
var errUnusableKind = errors.New("cannot use cleanup kind")

// Done is true when nothing linked remains and no call failed.
func (p Pass) Done() bool { return len(p.Remaining) == 0 && len(p.Errs) == 0 }

// Failed is true when a call of the pass failed.
func (p Pass) Failed() bool { return len(p.Errs) > 0 }

// Err joins the pass's failed calls; nil when none failed.
func (p Pass) Err() error { return errors.Join(p.Errs...) }

// BlockedOnlyByRefusals is true when nothing but refusals (Forbidden) kept
// the pass from finishing: no object waits for its finalizers, no other call
// failed. Waiting longer cannot help such a cleanup.
func (p Pass) BlockedOnlyByRefusals() bool {
	if len(p.Errs) == 0 || len(p.Remaining) != p.Refused {
		return false
	}
	for _, err := range p.Errs {
		if !apierrors.IsForbidden(err) && !errors.Is(err, errUnusableKind) {
			return false
		}
	}
	return true
}

// DeletedTotal is how many objects the pass deleted.
func (p Pass) DeletedTotal() int {
	n := 0
	for _, c := range p.Deleted {
		n += c
	}
	return n
}

// Cleaner finds and deletes the objects linked to an OfficialChannel. It
// reads metadata only: the cleanup kinds from the manager's metadata-only
// cache, spec.linkedResources from the API server. Secret or ConfigMap
// contents are never read, let alone cached.
type Cleaner struct {
	// Cache reads the cleanup kinds' metadata (and OfficialChannels).
	Cache client.Reader
	// API reads spec.linkedResources entries, of any kind, from the API
	// server.
	API client.Reader
	// Client deletes.
	Client client.Client

	// links names, per kind, the objects that may be linked to a channel.
	links  linkLookup
	mapper meta.RESTMapper
	// kinds says which cleanup kinds are usable.
	kinds *kindTracker

	// deletes bounds the deletions in flight across all reconciles.
	deletes chan struct{}
	// inventoryInterval coalesces the wake-ups of changed inventories.
	inventoryInterval time.Duration

	// counted holds, per channel, the UIDs of the objects whose deletion
	// was counted: the cache may still show an object held by its finalizers
	// as not deleted, and deleting it again must not count it twice.
	counted sync.Map
}

// countOnce reports whether the deletion of obj, for channel, is counted now
// for the first time.
func (c *Cleaner) countOnce(channel types.NamespacedName, obj types.UID) bool {
	seen, _ := c.counted.LoadOrStore(channel, &sync.Map{})
	_, again := seen.(*sync.Map).LoadOrStore(obj, struct{}{})
	return !again
}

// Forget drops what the cleaner remembers of channel: its cleanup finished,
// or it went away. Keyed by name, so that a reconcile that finds the
// channel gone (NotFound) can forget it too.
func (c *Cleaner) Forget(channel types.NamespacedName) { c.counted.Delete(channel) }

// findLinked returns every object linked to ch: in ch's namespace and (a)
// carrying the link label with ch's name, (b) owned by ch, or (c) listed in
// spec.linkedResources. Each object appears once.
func (c *Cleaner) findLinked(ctx context.Context, ch *chatv1alpha1.OfficialChannel) ([]Linked, []string, []error) {
	var (
		found []Linked
		notes []string
		errs  []error
		seen  = map[types.UID]bool{}
	)
	waitCtx, cancel := context.WithTimeout(ctx, cacheListTimeout)
	defer cancel()
	if err := c.kinds.awaitFirstCheck(waitCtx); err != nil {
		return nil, nil, []error{err}
	}
	add := func(l Linked) {
		if !seen[l.obj.UID] {
			seen[l.obj.UID] = true
			found = append(found, l)
		}
	}

	for _, gr := range c.kinds.kinds {
		kind := c.kinds.usable(gr)
		switch kind.use {
		case Usable:
		case Unserved:
			notes = append(notes, fmt.Sprintf("%s skipped: %s", gr, kind.reason))
			continue
		case Refused:
			// Objects of the kind may be linked: the cleanup is not done.
			errs = append(errs, fmt.Errorf("%w %s: %s", errUnusableKind, gr, kind.reason))
			continue
		default:
			errs = append(errs, fmt.Errorf("cleanup kind %s: %s", gr, kind.reason))
			continue
		}
		objs, err := c.listLinked(ctx, kind.gvk, ch)
		if err != nil {
			errs = append(errs, fmt.Errorf("finding the linked %s in %s: %w", gr, ch.Namespace, err))
			continue
		}
		for _, obj := range objs {
			add(Linked{resource: gr, obj: obj})
		}
	}

	for _, ref := range ch.Spec.LinkedResources {
		l, note, err := c.getListed(ctx, ch.Namespace, ref)
		switch {
		case err != nil:
			errs = append(errs, err)
		case note != "":
			notes = append(notes, note)
		case l != nil:
			add(*l)
		}
	}

	sort.Slice(found, func(i, j int) bool { return found[i].String() < found[j].String() })
	return found, notes, errs
}

// listLinked returns the objects of one cleanup kind in ch's namespace that
// carry ch's link label or an ownerReference to ch: the index names them,
// the cache has their metadata. A sweep reads its channel's objects, not its
// namespace's. Each object is checked again here, as the cache has it now:
// the index may name one that has changed or gone since.
func (c *Cleaner) listLinked(ctx context.Context, gvk schema.GroupVersionKind, ch *chatv1alpha1.OfficialChannel) (
	[]*metav1.PartialObjectMetadata, error) {
	// One bound for the kind, its index's first sync and the reads alike, so
	// that a kind whose informer cannot sync (a grant revoked, a conversion
	// webhook down after it was found usable) stalls no worker for good.
	ctx, cancel := context.WithTimeout(ctx, cacheListTimeout)
	defer cancel()
	names, err := c.links.linked(ctx, gvk, ch)
	if err != nil {
		return nil, err
	}
	objs := make([]*metav1.PartialObjectMetadata, 0, len(names))
	for _, name := range names {
		obj := &metav1.PartialObjectMetadata{}
		obj.SetGroupVersionKind(gvk)
		if err := c.Cache.Get(ctx, client.ObjectKey{Namespace: ch.Namespace, Name: name}, obj); err != nil {
			if apierrors.IsNotFound(err) {
				continue // gone since the index named it
			}
			return nil, fmt.Errorf("reading %s %s/%s: %w", gvk.Kind, ch.Namespace, name, err)
		}
		if obj.Namespace == ch.Namespace && (obj.Labels[chatv1alpha1.LinkLabel] == ch.Name || ownedBy(obj, ch)) {
			obj.SetGroupVersionKind(gvk)
			objs = append(objs, obj)
		}
	}
	return objs, nil
}

// getListed reads one spec.linkedResources entry; nil when it does not exist.
func (c *Cleaner) getListed(ctx context.Context, namespace string, ref chatv1alpha1.LinkedResource) (*Linked, string, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, fmt.Sprintf("linkedResources: apiVersion %q: %v", ref.APIVersion, err), nil
	}
	mapping, err := c.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, gv.Version)
	if meta.IsNoMatchError(err) {
		return nil, fmt.Sprintf("linkedResources: %s %s is not served by the cluster; skipped", ref.APIVersion, ref.Kind), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("resolving %s %s: %w", ref.APIVersion, ref.Kind, err)
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return nil, fmt.Sprintf("linkedResources: %s is cluster-scoped and never linked; skipped", ref.Kind), nil
	}
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(mapping.GroupVersionKind)
	if err := c.API.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", nil
		}
		return nil, "", fmt.Errorf("reading %s %s/%s: %w", ref.Kind, namespace, ref.Name, err)
	}
	return &Linked{resource: mapping.Resource.GroupResource(), obj: obj}, "", nil
}

// Sweep deletes every linked object of ch that is not already being
// deleted, with background propagation and a UID precondition, so that an
// object created anew under the same name is never touched.
func (c *Cleaner) Sweep(ctx context.Context, ch *chatv1alpha1.OfficialChannel) Pass {
	found, notes, errs := c.findLinked(ctx, ch)
	return c.sweep(ctx, ch, found, notes, errs)
}

// SweepPlan is Sweep over the objects p found, a moment ago, in the same
// reconcile: the first pass of a cleanup whose plan was just taken does
// not find them all again.
func (c *Cleaner) SweepPlan(ctx context.Context, ch *chatv1alpha1.OfficialChannel, p Plan) Pass {
	return c.sweep(ctx, ch, p.found, p.notes, p.errs)
}

func (c *Cleaner) sweep(ctx context.Context, ch *chatv1alpha1.OfficialChannel, found []Linked, notes []string,
	errs []error) Pass {
	key := types.NamespacedName{Namespace: ch.Namespace, Name: ch.Name}
	res := Pass{Deleted: map[schema.GroupResource]int{}, Notes: notes, Errs: errs}
	var (
		// mu guards res: the deletes report from their goroutines.
		mu sync.Mutex
		wg sync.WaitGroup
	)
	remain := func(l Linked, err error) {
		mu.Lock()
		defer mu.Unlock()
		res.Remaining = append(res.Remaining, l)
		if err != nil {
			if apierrors.IsForbidden(err) {
				res.Refused++
			}
			res.Errs = append(res.Errs, fmt.Errorf("deleting %s: %w", l, err))
		}
	}
	for _, l := range found {
		protected, note := l.Protected()
		if note != "" {
			res.Notes = append(res.Notes, note)
		}
		if protected {
			res.Protected = append(res.Protected, l)
			continue
		}
		if l.obj.DeletionTimestamp != nil {
			remain(l, nil) // held by its finalizers
			continue
		}
		// Deletes of all channels share one pool, so the operator never has
		// more than --max-concurrent-reconciles of them in flight, while a
		// worker busy writing status leaves its share to the others.
		select {
		case c.deletes <- struct{}{}:
		case <-ctx.Done():
			remain(l, ctx.Err())
			continue
		}
		wg.Go(func() {
			defer func() { <-c.deletes }()
			// Deleted only as it was read: an object replaced (UID) or changed
			// (resourceVersion: unlabelled, its owner removed) since is
			// read afresh by the next pass, not deleted on a stale read.
			uid, rv := l.obj.UID, l.obj.ResourceVersion
			err := c.Client.Delete(ctx, l.obj, client.PropagationPolicy(metav1.DeletePropagationBackground),
				client.Preconditions{UID: &uid, ResourceVersion: &rv})
			switch {
			case err == nil:
				if c.countOnce(key, uid) {
					mu.Lock()
					res.Deleted[l.resource]++
					mu.Unlock()
					cleanupDeletions.WithLabelValues(l.resource.String()).Inc()
				}
				if len(l.obj.Finalizers) > 0 {
					remain(l, nil)
				}
			case apierrors.IsNotFound(err):
				// Gone already.
			case apierrors.IsConflict(err):
				// Changed, or replaced by another object of that name: it may
				// be linked still, so the next pass reads it afresh and decides.
				remain(l, nil)
			default:
				remain(l, err)
			}
		})
	}
	wg.Wait()
	sort.Slice(res.Remaining, func(i, j int) bool { return res.Remaining[i].String() < res.Remaining[j].String() })
	return res
}

// Message summarises the pass for status.cleanup.message.
func (p Pass) Message() string {
	var parts []string
	switch {
	case p.Done() && len(p.Protected) > 0:
		parts = append(parts, "No linked object remains but the protected ones")
	case p.Done():
		parts = append(parts, "No linked object remains")
	case len(p.Remaining) > 0:
		parts = append(parts, fmt.Sprintf("Waiting for %d linked object(s) to go: %s", len(p.Remaining), Names(p.Remaining, 5)))
	}
	if len(p.Protected) > 0 {
		parts = append(parts, fmt.Sprintf("Kept %d protected object(s) (%s=true): %s", len(p.Protected),
			chatv1alpha1.ProtectAnnotation, Names(p.Protected, 5)))
	}
	if len(p.Errs) > 0 {
		parts = append(parts, "Errors: "+p.Err().Error())
	}
	parts = append(parts, p.Notes...)
	// Status messages stay within 1 KiB, the mark included.
	return text.Abbrev(strings.Join(parts, ". "), 1021)
}

// Names lists the first n objects, and how many more there are.
func Names(objs []Linked, n int) string {
	names := make([]string, 0, n+1)
	for i, l := range objs {
		if i == n {
			names = append(names, fmt.Sprintf("and %d more", len(objs)-n))
			break
		}
		names = append(names, l.String())
	}
	return strings.Join(names, ", ")
}

// Plan is every object linked to a channel now: what a cleanup would
// delete (Delete), and what it would keep (Protected).
type Plan struct {
	Delete    []Linked
	Protected []Linked

	// What the plan was made from, for a sweep in the same reconcile
	// (SweepPlan): found, the notes, the kinds it may not use.
	found []Linked
	notes []string
	errs  []error
}

// Entries are the plan as status.inventory lists it: all of it, sorted.
func (p Plan) Entries() []chatv1alpha1.InventoryEntry {
	entries := make([]chatv1alpha1.InventoryEntry, 0, len(p.Delete)+len(p.Protected))
	for _, l := range slices.Concat(p.Delete, p.Protected) {
		entries = append(entries, l.Entry())
	}
	status.SortInventory(entries)
	return entries
}

// Plan finds what a cleanup of ch would do now, deleting nothing. Kinds
// the operator may not use are left out (their objects cannot be found);
// any other failed read fails the plan.
func (c *Cleaner) Plan(ctx context.Context, ch *chatv1alpha1.OfficialChannel) (Plan, error) {
	found, notes, errs := c.findLinked(ctx, ch)
	var failed []error
	for _, err := range errs {
		if !errors.Is(err, errUnusableKind) {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return Plan{}, errors.Join(failed...)
	}
	p := Plan{found: found, notes: notes, errs: errs}
	for _, l := range found {
		if protected, _ := l.Protected(); protected {
			p.Protected = append(p.Protected, l)
		} else {
			p.Delete = append(p.Delete, l)
		}
	}
	return p, nil
}

// ownedBy is true when obj has an ownerReference to ch: to an
// OfficialChannel of this API group with ch's UID. A reference that only
// carries the UID under another kind points at no channel.
func ownedBy(obj metav1.Object, ch *chatv1alpha1.OfficialChannel) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == ch.UID && refersToChannel(ref) {
			return true
		}
	}
	return false
}

// refersToChannel is true when ref names an OfficialChannel of this API group,
// at any version.
func refersToChannel(ref metav1.OwnerReference) bool {
	return ref.Kind == "OfficialChannel" && strings.HasPrefix(ref.APIVersion, chatv1alpha1.GroupVersion.Group+"/")
}
