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
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// refusedPrefix marks the objects the suite's operator may not read or
// delete: refusingRBAC stands in for RBAC that refuses them (Forbidden), as
// it would for a kind or a namespace the operator was granted nothing on.
const refusedPrefix = "rbac-refused-"

type refusingRBAC struct{ client.Client }

func (c refusingRBAC) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	if strings.HasPrefix(obj.GetName(), refusedPrefix) {
		return forbidden(obj, "delete")
	}
	return c.Client.Delete(ctx, obj, opts...)
}

type refusingRBACReader struct{ client.Reader }

func (r refusingRBACReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if strings.HasPrefix(key.Name, refusedPrefix) {
		return forbidden(obj, "get")
	}
	return r.Reader.Get(ctx, key, obj, opts...)
}

func forbidden(obj client.Object, verb string) error {
	gvk := obj.GetObjectKind().GroupVersionKind()
	return apierrors.NewForbidden(schema.GroupResource{Group: gvk.Group, Resource: strings.ToLower(gvk.Kind) + "s"}, obj.GetName(),
		fmt.Errorf("the operator may not %s it", verb))
}

// A linked object the operator may not delete, and a linkedResources entry it
// may not read, are reported (CleanupFailed) and retried while the channel
// lives; once the OfficialChannel is deleted they no longer hold it (nor its
// namespace): it goes, with a CleanupRefused Event, and they stay.
func TestRefusedObjectsDoNotHoldADeletedChannel(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "refused")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyDelete,
		chatv1alpha1.LinkedResource{APIVersion: "v1", Kind: "Secret", Name: refusedPrefix + "unreadable"})
	refused := &corev1.ConfigMap{ObjectMeta: objectMeta(ns, refusedPrefix+"config", labelled("news"))}
	deletable := &corev1.ConfigMap{ObjectMeta: objectMeta(ns, "news-config", labelled("news"))}
	create(t, refused, deletable, &corev1.Secret{ObjectMeta: objectMeta(ns, refusedPrefix+"unreadable", nil)})

	destroy(t, ch)
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		c := condition(got, chatv1alpha1.ConditionCleanedUp)
		if c == nil || c.Reason != chatv1alpha1.ReasonCleanupFailed || !strings.Contains(c.Message, "may not delete") ||
			!strings.Contains(c.Message, "may not get") {
			return fmt.Errorf("CleanedUp = %+v", c)
		}
		return nil
	})
	if exists(t, deletable) {
		t.Fatal("the deletable linked object was not deleted")
	}

	if err := env.Client.Delete(ctx, getChannel(t, ch)); err != nil {
		t.Fatal(err)
	}
	env.WaitGone(t, ch)
	waitForEvents(t, ch, EventCleanupRefused)
	if !exists(t, refused) {
		t.Fatal("the refused object is gone: it was not refused")
	}
}

// An object held by its finalizers may be deleted again by a pass that runs
// before the cache shows its deletion: it is counted once.
func TestARepeatedDeleteIsCountedOnce(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "count-once")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyOrphan)
	held := &corev1.ConfigMap{ObjectMeta: objectMeta(ns, "held", labelled("news"))}
	held.Finalizers = []string{holdFinalizer}
	create(t, held)
	t.Cleanup(func() { release(t, held) })

	// What a cache that has not caught up with the deletion shows.
	snapshot := cachedConfigMaps(t, ns)
	c := frozenCleaner(snapshot)
	first, second := c.sweep(ctx, ch), c.sweep(ctx, ch)
	if len(first.errs)+len(second.errs) > 0 {
		t.Fatalf("sweep errors: %v %v", first.errs, second.errs)
	}
	if n := first.deletedTotal() + second.deletedTotal(); n != 1 {
		t.Fatalf("one object deleted twice counted %d times", n)
	}
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
		{name: "linked", labels: labelled("news"), linked: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ns := env.Namespace(t, "replaced-"+tc.name)
			ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyOrphan)
			old := &corev1.ConfigMap{ObjectMeta: objectMeta(ns, "news-config", labelled("news"))}
			create(t, old)
			snapshot := cachedConfigMaps(t, ns)
			// Someone replaces it before the cleanup's delete lands.
			if err := env.Client.Delete(ctx, old); err != nil {
				t.Fatal(err)
			}
			replacement := &corev1.ConfigMap{ObjectMeta: objectMeta(ns, "news-config", tc.labels)}
			create(t, replacement)

			c := frozenCleaner(snapshot)
			if res := c.sweep(ctx, ch); len(res.errs) > 0 || res.deletedTotal() != 0 || len(res.remaining) != 1 {
				t.Fatalf("first pass: errs %v, deleted %d, remaining %v: the replacement would be forgotten",
					res.errs, res.deletedTotal(), res.remaining)
			}
			got := &corev1.ConfigMap{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(replacement), got); err != nil || got.UID != replacement.UID {
				t.Fatalf("the first pass deleted or changed the replacement: %v", err)
			}

			c.cached, c.links = env.Manager.GetCache(), configMapLinks(t)
			testenv.Eventually(t, testenv.WaitTimeout, func() error {
				if res := c.sweep(ctx, ch); len(res.errs) > 0 || len(res.remaining) > 0 {
					return fmt.Errorf("next pass: errs %v, remaining %v", res.errs, res.remaining)
				}
				return nil
			})
			if exists(t, replacement) == tc.linked {
				t.Fatalf("after the next pass the replacement exists: %v, linked: %v", !tc.linked, tc.linked)
			}
		})
	}
}

// frozenCleaner is a cleaner of ConfigMaps over a snapshot of the cache.
func frozenCleaner(snapshot metav1.PartialObjectMetadataList) *cleaner {
	return &cleaner{cached: frozenReader{snapshot}, links: frozenReader{snapshot}, live: env.Client, writer: env.Client,
		mapper: env.Manager.GetRESTMapper(), kinds: configMapsOnly(), deletes: make(chan struct{}, 1)}
}

// configMapsOnly is a kindTracker that knows one usable kind: ConfigMaps.
func configMapsOnly() *kindTracker {
	gr := schema.GroupResource{Resource: "configmaps"}
	return &kindTracker{kinds: []schema.GroupResource{gr},
		state: map[schema.GroupResource]kindState{gr: {gvk: corev1.SchemeGroupVersion.WithKind("ConfigMap")}}}
}

// cachedConfigMaps waits until the manager's cache lists ConfigMaps in ns and
// returns that list: what a cache shows before it catches up with what the
// test does next.
func cachedConfigMaps(t *testing.T, ns string) metav1.PartialObjectMetadataList {
	t.Helper()
	var snapshot metav1.PartialObjectMetadataList
	snapshot.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
	testenv.Eventually(t, testenv.WaitTimeout, func() error {
		err := env.Manager.GetCache().List(context.Background(), &snapshot, client.InNamespace(ns))
		if err != nil || len(snapshot.Items) == 0 {
			return fmt.Errorf("not cached yet: %v", err)
		}
		return nil
	})
	return snapshot
}
