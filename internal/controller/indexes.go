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
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
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
// cache), some tens of bytes per linked object: client-go's indexers would
// keep a set per value, twice over (per namespace and across them), which
// is several hundred bytes per channel and kind.
type linkIndex struct {
	mu    sync.Mutex
	kinds map[schema.GroupVersionKind]*kindLinks
}

func newLinkIndex() *linkIndex {
	return &linkIndex{kinds: map[schema.GroupVersionKind]*kindLinks{}}
}

func newKindLinks() *kindLinks {
	return &kindLinks{byLabel: map[labelKey][]string{}, byOwner: map[ownerKey][]string{}}
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
	// registration says when the handler has seen the informer's first list.
	registration toolscache.ResourceEventHandlerRegistration

	mu      sync.RWMutex
	byLabel map[labelKey][]string
	byOwner map[ownerKey][]string
}

// labelKey is a link label's value in a namespace.
type labelKey struct{ namespace, channel string }

// ownerKey is an owning OfficialChannel's UID in a namespace.
type ownerKey struct {
	namespace string
	uid       types.UID
}

// syncTimeout bounds the wait for a kind's index to have seen its informer's
// first list, as cacheListTimeout bounds a cache list.
const syncTimeout = cacheListTimeout

// watch indexes gvk's objects from informers. Once per kind: a kind already
// indexed is left as it is.
func (x *linkIndex) watch(ctx context.Context, informers cache.Informers, gvk schema.GroupVersionKind) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.kinds[gvk]; ok {
		return nil
	}
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(gvk)
	inf, err := informers.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("getting the informer of %s: %w", gvk.Kind, err)
	}
	k := newKindLinks()
	reg, err := inf.AddEventHandler(k.handler())
	if err != nil {
		return fmt.Errorf("indexing %s: %w", gvk.Kind, err)
	}
	k.registration = reg
	x.kinds[gvk] = k
	return nil
}

// linked returns the names of gvk's objects in ch's namespace that carry
// ch's link label or an ownerReference to ch, each once. It waits (bounded)
// for the index to have seen the informer's first list: an index that has
// not would miss objects, and the cleanup would finish with them left.
func (x *linkIndex) linked(ctx context.Context, gvk schema.GroupVersionKind, ch *chatv1alpha1.OfficialChannel) ([]string, error) {
	x.mu.Lock()
	k := x.kinds[gvk]
	x.mu.Unlock()
	if k == nil {
		return nil, fmt.Errorf("%s is not indexed", gvk.Kind)
	}
	if !k.registration.HasSynced() {
		ctx, cancel := context.WithTimeout(ctx, syncTimeout)
		defer cancel()
		err := wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(context.Context) (bool, error) {
			return k.registration.HasSynced(), nil
		})
		if err != nil {
			return nil, fmt.Errorf("the index of %s has not synced: %w", gvk.Kind, err)
		}
	}
	return k.names(ch), nil
}

// names are the objects linked to ch, each once.
func (k *kindLinks) names(ch *chatv1alpha1.OfficialChannel) []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	byLabel, byOwner := k.byLabel[labelKey{ch.Namespace, ch.Name}], k.byOwner[ownerKey{ch.Namespace, ch.UID}]
	names := make([]string, 0, len(byLabel)+len(byOwner))
	names = append(names, byLabel...)
	for _, n := range byOwner {
		if !slices.Contains(byLabel, n) {
			names = append(names, n)
		}
	}
	return names
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
			removeName(k.byLabel, labelKey{ns, oldLabel}, name)
		}
		for _, uid := range oldOwners {
			removeName(k.byOwner, ownerKey{ns, uid}, name)
		}
	}
	if obj != nil {
		ns, name := obj.GetNamespace(), obj.GetName()
		if newLabel != "" {
			addName(k.byLabel, labelKey{ns, newLabel}, name)
		}
		for _, uid := range newOwners {
			addName(k.byOwner, ownerKey{ns, uid}, name)
		}
	}
}

func addName[K comparable](m map[K][]string, key K, name string) {
	if names := m[key]; !slices.Contains(names, name) {
		m[key] = append(names, name)
	}
}

func removeName[K comparable](m map[K][]string, key K, name string) {
	names := slices.DeleteFunc(m[key], func(n string) bool { return n == name })
	if len(names) == 0 {
		delete(m, key)
		return
	}
	m[key] = names
}

// channelOwners are the UIDs of the OfficialChannels among obj's owners.
// Owners of other kinds are left out: most objects have one (a Job's
// CronJob), and the index would hold them all for nothing.
func channelOwners(obj metav1.Object) []types.UID {
	var uids []types.UID
	for _, ref := range obj.GetOwnerReferences() {
		if refersToChannel(ref) {
			uids = append(uids, ref.UID)
		}
	}
	return uids
}
