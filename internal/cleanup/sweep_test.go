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
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// A pass over many objects held by finalizers, half of them deleted by the
// pass and half already terminating, reports every one of them as
// remaining: the deletes report from their goroutines while the pass
// reports the terminating ones, and none is lost (run under -race, the
// race detector watches the two). A lost entry would let the channel be
// CleanedUp with an object still there.
func TestAPassKeepsEveryRemainingObject(t *testing.T) {
	const n = 200
	ctx := context.Background()
	ns := env.Namespace(t, "remaining")
	ch := channel(t, ns, "news")
	objs := make([]*corev1.ConfigMap, n)
	for i := range objs {
		objs[i] = &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, fmt.Sprintf("held-%03d", i), testenv.Labelled("news"))}
		objs[i].Finalizers = []string{testenv.HoldFinalizer}
		env.Create(t, objs[i])
	}
	t.Cleanup(func() {
		for _, obj := range objs {
			env.Release(t, obj)
		}
	})
	// Every other one, so that the pass meets them while its deletes report.
	for i := 0; i < n; i += 2 {
		if err := env.Client.Delete(ctx, objs[i]); err != nil {
			t.Fatal(err)
		}
	}
	c := configMapCleaner(env.Manager.GetCache(), configMapLinks(t))
	testenv.Eventually(t, func() error { // the index and the cache show all, half terminating
		found, _, errs := c.findLinked(ctx, ch)
		terminating := 0
		for _, l := range found {
			if l.obj.DeletionTimestamp != nil {
				terminating++
			}
		}
		if len(errs) > 0 || len(found) != n || terminating != n/2 {
			return fmt.Errorf("found %d, %d terminating, errs %v", len(found), terminating, errs)
		}
		return nil
	})

	pass := c.Sweep(ctx, ch)
	if pass.Failed() || pass.Done() {
		t.Fatalf("pass: errs %v, done %v", pass.Errs, pass.Done())
	}
	if len(pass.Remaining) != n || pass.DeletedTotal() != n/2 {
		t.Fatalf("remaining %d, deleted %d; want %d and %d", len(pass.Remaining), pass.DeletedTotal(), n, n/2)
	}
	seen := map[types.UID]bool{}
	for _, l := range pass.Remaining {
		seen[l.obj.UID] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct objects remaining, want %d", len(seen), n)
	}
}

// Passes run concurrently for many channels share the deletion pool and the
// cleaner's memory of what it counted, without a race.
func TestConcurrentPassesOfManyChannels(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "concurrent")
	const channels, each = 8, 5
	chs := make([]*chatv1alpha1.OfficialChannel, channels)
	for i := range chs {
		chs[i] = channel(t, ns, fmt.Sprintf("ch-%d", i))
		for j := range each {
			env.Create(t, &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, fmt.Sprintf("ch-%d-%d", i, j), testenv.Labelled(chs[i].Name))})
		}
	}
	c := configMapCleaner(env.Manager.GetCache(), configMapLinks(t))
	testenv.Eventually(t, func() error {
		for _, ch := range chs {
			if found, _, errs := c.findLinked(ctx, ch); len(errs) > 0 || len(found) != each {
				return fmt.Errorf("%s: found %d, errs %v", ch.Name, len(found), errs)
			}
		}
		return nil
	})
	var wg sync.WaitGroup
	passes := make([]Pass, channels)
	for i, ch := range chs {
		wg.Go(func() { passes[i] = c.Sweep(ctx, ch) })
	}
	wg.Wait()
	for i, p := range passes {
		if !p.Done() || p.DeletedTotal() != each {
			t.Errorf("%s: done %v, deleted %d, errs %v", chs[i].Name, p.Done(), p.DeletedTotal(), p.Errs)
		}
		c.Forget(types.NamespacedName{Namespace: ns, Name: chs[i].Name})
	}
	var left corev1.ConfigMapList
	if err := env.Client.List(ctx, &left, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, cm := range left.Items {
		if cm.Labels[chatv1alpha1.LinkLabel] != "" {
			t.Errorf("%s survived its channel's pass", cm.Name)
		}
	}
}

// An object held by its finalizers, met again by a pass that runs before
// the cache shows its deletion, is counted once: the second delete carries
// the resourceVersion of the stale read and is refused (it stays remaining).
func TestARepeatedDeleteIsCountedOnce(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "count-once")
	ch := channel(t, ns, "news")
	held := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "held", testenv.Labelled("news"))}
	held.Finalizers = []string{testenv.HoldFinalizer}
	env.Create(t, held)
	t.Cleanup(func() { env.Release(t, held) })

	// What a cache that has not caught up with the deletion shows.
	snapshot := cachedConfigMaps(t, ns)
	c := frozenCleaner(snapshot)
	first, second := c.Sweep(ctx, ch), c.Sweep(ctx, ch)
	if first.Failed() || second.Failed() {
		t.Fatalf("sweep errors: %v %v", first.Errs, second.Errs)
	}
	if n := first.DeletedTotal() + second.DeletedTotal(); n != 1 {
		t.Fatalf("one object deleted twice counted %d times", n)
	}
	if len(second.Remaining) != 1 {
		t.Fatalf("the object met again is not remaining: %v", second.Remaining)
	}
	// Forgotten, the channel's count starts again, and a stale read still
	// deletes nothing more.
	c.Forget(types.NamespacedName{Namespace: ns, Name: ch.Name})
	if third := c.Sweep(ctx, ch); third.DeletedTotal() != 0 || len(third.Remaining) != 1 {
		t.Fatalf("after Forget, on the stale read: deleted %d, remaining %v", third.DeletedTotal(), third.Remaining)
	}
}

// An object created anew under a linked object's name between the cache's
// read and the delete is another object: the UID precondition keeps it from
// that delete, and the pass keeps it as remaining rather than forget it. The
// next pass, on the cache as it is now, deletes it only if it is linked too.
func TestAnObjectReplacedUnderTheSameNameIsReadAfresh(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		linked bool
	}{
		{name: "unlinked", labels: nil},
		{name: "linked", labels: testenv.Labelled("news"), linked: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ns := env.Namespace(t, "replaced-"+tc.name)
			ch := channel(t, ns, "news")
			old := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "news-config", testenv.Labelled("news"))}
			env.Create(t, old)
			snapshot := cachedConfigMaps(t, ns)
			// Someone replaces it before the cleanup's delete lands.
			if err := env.Client.Delete(ctx, old); err != nil {
				t.Fatal(err)
			}
			replacement := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "news-config", tc.labels)}
			env.Create(t, replacement)

			c := frozenCleaner(snapshot)
			if res := c.Sweep(ctx, ch); res.Failed() || res.DeletedTotal() != 0 || len(res.Remaining) != 1 {
				t.Fatalf("first pass: errs %v, deleted %d, remaining %v: the replacement would be forgotten",
					res.Errs, res.DeletedTotal(), res.Remaining)
			}
			got := &corev1.ConfigMap{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(replacement), got); err != nil || got.UID != replacement.UID {
				t.Fatalf("the first pass deleted or changed the replacement: %v", err)
			}

			c.Cache, c.links = env.Manager.GetCache(), configMapLinks(t)
			testenv.Eventually(t, func() error {
				if res := c.Sweep(ctx, ch); !res.Done() {
					return fmt.Errorf("next pass: errs %v, remaining %v", res.Errs, res.Remaining)
				}
				return nil
			})
			if env.Exists(t, replacement) == tc.linked {
				t.Fatalf("after the next pass the replacement exists: %v, linked: %v", !tc.linked, tc.linked)
			}
		})
	}
}

// frozenCleaner is a cleaner of ConfigMaps over a snapshot of the cache.
func frozenCleaner(snapshot metav1.PartialObjectMetadataList) *Cleaner {
	return configMapCleaner(frozenReader{snapshot}, frozenReader{snapshot})
}

// frozenReader reads and indexes a fixed snapshot, as a cache that has not
// caught up. Its index is the link rule itself: these tests are about what
// a stale cache makes the cleanup do, not about the index (indexes_test.go).
type frozenReader struct {
	snapshot metav1.PartialObjectMetadataList
}

func (f frozenReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	out, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return fmt.Errorf("frozenReader reads metadata only")
	}
	for _, item := range f.snapshot.Items {
		if item.Namespace == key.Namespace && item.Name == key.Name {
			item.DeepCopyInto(out)
			return nil
		}
	}
	return apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, key.Name)
}

func (f frozenReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return fmt.Errorf("the cleanup does not list")
}

// linked is the snapshot's index: the names of its objects linked to ch.
func (f frozenReader) linked(_ context.Context, _ schema.GroupVersionKind, ch *chatv1alpha1.OfficialChannel) ([]string, error) {
	var names []string
	for i := range f.snapshot.Items {
		item := &f.snapshot.Items[i]
		if item.Namespace == ch.Namespace && (item.Labels[chatv1alpha1.LinkLabel] == ch.Name || ownedBy(item, ch)) {
			names = append(names, item.Name)
		}
	}
	return names, nil
}

// A large channel's pass deletes from a read a few seconds old. An object
// unlabelled since (zzz-keep, last in the pass's order) is not deleted on
// that read: each delete carries the resourceVersion it was read at, and a
// changed object is read afresh by the next pass, which finds it unlinked.
func TestAnObjectUnlinkedSinceTheReadIsKept(t *testing.T) {
	const n = 400
	ctx := context.Background()
	ns := env.Namespace(t, "unlinked-since")
	ch := channel(t, ns, "news")
	for i := range n {
		env.Create(t, &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, fmt.Sprintf("cm-%03d", i), testenv.Labelled("news"))})
	}
	keep := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "zzz-keep", testenv.Labelled("news"))}
	env.Create(t, keep)
	var snapshot metav1.PartialObjectMetadataList
	testenv.Eventually(t, func() error {
		if snapshot = cachedConfigMaps(t, ns); len(snapshot.Items) != n+1 {
			return fmt.Errorf("%d of %d cached", len(snapshot.Items), n+1)
		}
		return nil
	})
	// Unlabelled right after the destruction, before the pass reaches it.
	keep.Labels = nil
	if err := env.Client.Update(ctx, keep); err != nil {
		t.Fatal(err)
	}

	c := frozenCleaner(snapshot)
	res := c.Sweep(ctx, ch)
	if res.Failed() || res.DeletedTotal() != n || len(res.Remaining) != 1 || res.Remaining[0].obj.Name != "zzz-keep" {
		t.Fatalf("pass on the stale read: errs %v, deleted %d, remaining %v", res.Errs, res.DeletedTotal(), res.Remaining)
	}
	if !env.Exists(t, keep) {
		t.Fatal("zzz-keep, unlabelled before the delete, was deleted on a stale read")
	}

	c.Cache, c.links = env.Manager.GetCache(), configMapLinks(t)
	testenv.Eventually(t, func() error {
		if res := c.Sweep(ctx, ch); !res.Done() {
			return fmt.Errorf("next pass: errs %v, remaining %v", res.Errs, res.Remaining)
		}
		return nil
	})
	if !env.Exists(t, keep) {
		t.Fatal("the next pass deleted zzz-keep, which is no longer linked")
	}
}
