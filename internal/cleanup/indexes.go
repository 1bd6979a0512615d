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
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

// linkLookup names the objects of one cleanup kind that may be linked to a
// channel, in its namespace: by the link label or an ownerReference to it.
// The cleanup reads those objects, and only those, from the cache.
type linkLookup interface {
	linked(ctx context.Context, gvk schema.GroupVersionKind, ch *chatv1alpha1.OfficialChannel) ([]string, error)
}

// linkIndex is the linkLookup of the manager: for each watched cleanup kind,
// the names of the objects linked to each channel, kept up to date by an
// event handler on the kind's informer. A sweep then costs its channel's
// objects, not its namespace's. It holds names only (the objects stay in the
// cache), some tens of bytes per linked object: a field index
// (controller-runtime's IndexField on client-go's indexers) keeps a set per
// value, twice over (per namespace and across them), several hundred bytes
// per channel and kind.
//
// The handler runs just after the informer's store changes: for a moment an
// object new to the cache may be missing here. A cleanup that sweeps in that
// moment misses it as one that swept just before the object reached the
// cache would; the contract never promised more (an object linked after a
// channel's cleanup finished stays).
type linkIndex struct {
	mu    sync.Mutex
	kinds map[schema.GroupVersionKind]*kindLinks
}

func newLinkIndex() *linkIndex {
	return &linkIndex{kinds: map[schema.GroupVersionKind]*kindLinks{}}
}

func newKindLinks() *kindLinks {
	return &kindLinks{byLabel: newNameIndex[labelKey](), byOwner: newNameIndex[ownerKey]()}
}

// handler keeps k up to date with an informer's events.
func (k *kindLinks) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if o, ok := obj.(metav1.Object); ok {
				k.update(nil, o)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, okOld := oldObj.(metav1.Object)
			n, okNew := newObj.(metav1.Object)
			if okOld && okNew {
				k.update(o, n)
			}
		},
		DeleteFunc: func(obj any) {
			if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj // deleted while the watch was down
			}
			if o, ok := obj.(metav1.Object); ok {
				k.update(o, nil)
			}
		},
	}
}

// kindLinks is the index of one kind.
type kindLinks struct {
	// informer and registration: the registration says when the handler has
	// seen the informer's first list.
	informer     cache.Informer
	registration toolscache.ResourceEventHandlerRegistration

	mu      sync.RWMutex
	byLabel nameIndex[labelKey]
	byOwner nameIndex[ownerKey]
}

// labelKey is a link label's value in a namespace.
type labelKey struct{ namespace, channel string }

// ownerKey is an owning OfficialChannel's UID in a namespace.
type ownerKey struct {
	namespace string
	uid       types.UID
}

// watch indexes gvk's objects from informers. Once per kind: a kind already
// indexed is left as it is. The controller calls it when it starts (a
// source.Func), so that only the leader creates the informer.
func (x *linkIndex) watch(ctx context.Context, informers cache.Informers, gvk schema.GroupVersionKind) error {
	x.mu.Lock()
	_, done := x.kinds[gvk]
	x.mu.Unlock()
	if done {
		return nil
	}
	// Outside the lock: the informer's REST mapping may ask discovery.
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(gvk)
	inf, err := informers.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("getting the informer of %s: %w", gvk.GroupKind(), err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, done := x.kinds[gvk]; done {
		return nil
	}
	k := newKindLinks()
	reg, err := inf.AddEventHandler(k.handler())
	if err != nil {
		return fmt.Errorf("indexing %s: %w", gvk.GroupKind(), err)
	}
	k.informer, k.registration = inf, reg
	x.kinds[gvk] = k
	return nil
}

// stop removes every kind's handler; the index is of no use after.
func (x *linkIndex) stop() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var errs []error
	for gvk, k := range x.kinds {
		if err := k.informer.RemoveEventHandler(k.registration); err != nil {
			errs = append(errs, err)
		}
		delete(x.kinds, gvk)
	}
	return errors.Join(errs...)
}

// linked returns the names of gvk's objects in ch's namespace that carry
// ch's link label or an ownerReference to ch, each once. It waits, until ctx
// ends, for the index to have seen the informer's first list: an index that
// has not would miss objects, and the cleanup would finish with them left.
func (x *linkIndex) linked(ctx context.Context, gvk schema.GroupVersionKind, ch *chatv1alpha1.OfficialChannel) ([]string, error) {
	x.mu.Lock()
	k := x.kinds[gvk]
	x.mu.Unlock()
	if k == nil {
		return nil, fmt.Errorf("%s is not indexed", gvk.GroupKind())
	}
	if !k.registration.HasSynced() {
		select {
		case <-k.registration.HasSyncedChecker().Done():
		case <-ctx.Done():
			return nil, fmt.Errorf("the index of %s has not synced: %w", gvk.GroupKind(), ctx.Err())
		}
	}
	return k.names(ch), nil
}

// names are the objects linked to ch, each once.
func (k *kindLinks) names(ch *chatv1alpha1.OfficialChannel) []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	names := k.byLabel.appendTo(nil, labelKey{ch.Namespace, ch.Name})
	labelled := len(names)
	names = k.byOwner.appendTo(names, ownerKey{ch.Namespace, ch.UID})
	if labelled == 0 || labelled == len(names) {
		return names
	}
	// Labelled and owned: each object once.
	seen := make(map[string]bool, len(names))
	unique := names[:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			unique = append(unique, n)
		}
	}
	return unique
}

// update moves obj's entries from what old said to what obj says; nil old
// for an object added, nil obj for one deleted. An update that changes
// neither the link label nor the channel owners (most: a Deployment's
// status, say) changes nothing.
func (k *kindLinks) update(old, obj metav1.Object) {
	var oldLabel, newLabel string
	var oldOwners, newOwners []types.UID
	if old != nil {
		oldLabel, oldOwners = old.GetLabels()[chatv1alpha1.LinkLabel], channelOwners(old)
	}
	if obj != nil {
		newLabel, newOwners = obj.GetLabels()[chatv1alpha1.LinkLabel], channelOwners(obj)
	}
	if old != nil && obj != nil && oldLabel == newLabel && slices.Equal(oldOwners, newOwners) {
		return
	}
	if oldLabel == "" && newLabel == "" && len(oldOwners) == 0 && len(newOwners) == 0 {
		return // not linked, before or after: most objects of a cluster
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if old != nil {
		ns, name := old.GetNamespace(), old.GetName()
		if oldLabel != "" {
			k.byLabel.remove(labelKey{ns, oldLabel}, name)
		}
		for _, uid := range oldOwners {
			k.byOwner.remove(ownerKey{ns, uid}, name)
		}
	}
	if obj != nil {
		ns, name := obj.GetNamespace(), obj.GetName()
		if newLabel != "" {
			k.byLabel.add(labelKey{ns, newLabel}, name)
		}
		for _, uid := range newOwners {
			k.byOwner.add(ownerKey{ns, uid}, name)
		}
	}
}

// nameIndex holds names by key. Most keys have a few names (a channel's
// objects of one kind), kept in a slice; a key that gathers many (a label
// value on thousands of objects, which any tenant can write) moves to a set,
// so that no event costs more than a few dozen comparisons.
type nameIndex[K comparable] struct {
	few  map[K][]string
	many map[K]map[string]struct{}
}

// maxFew is the most names a key keeps in a slice.
const maxFew = 32

func newNameIndex[K comparable]() nameIndex[K] {
	return nameIndex[K]{few: map[K][]string{}, many: map[K]map[string]struct{}{}}
}

func (x nameIndex[K]) add(key K, name string) {
	if set, ok := x.many[key]; ok {
		set[name] = struct{}{}
		return
	}
	names := x.few[key]
	if slices.Contains(names, name) {
		return
	}
	if len(names) < maxFew {
		x.few[key] = append(names, name)
		return
	}
	set := make(map[string]struct{}, 2*maxFew)
	for _, n := range names {
		set[n] = struct{}{}
	}
	set[name] = struct{}{}
	x.many[key] = set
	delete(x.few, key)
}

func (x nameIndex[K]) remove(key K, name string) {
	if set, ok := x.many[key]; ok {
		delete(set, name)
		if len(set) == 0 {
			delete(x.many, key)
		}
		return
	}
	names := slices.DeleteFunc(x.few[key], func(n string) bool { return n == name })
	if len(names) == 0 {
		delete(x.few, key)
		return
	}
	x.few[key] = names
}

// appendTo appends key's names to dst.
func (x nameIndex[K]) appendTo(dst []string, key K) []string {
	if set, ok := x.many[key]; ok {
		for n := range set {
			dst = append(dst, n)
		}
		return dst
	}
	return append(dst, x.few[key]...)
}

// len is how many keys have names.
func (x nameIndex[K]) len() int { return len(x.few) + len(x.many) }

// channelOwners are the UIDs of the OfficialChannels among obj's owners, each
// once. Owners of other kinds are left out: most objects have one (a Job's
// CronJob), and the index would hold them all for nothing.
func channelOwners(obj metav1.Object) []types.UID {
	var uids []types.UID
	for _, ref := range obj.GetOwnerReferences() {
		if refersToChannel(ref) && !slices.Contains(uids, ref.UID) {
			uids = append(uids, ref.UID)
		}
	}
	return uids
}
