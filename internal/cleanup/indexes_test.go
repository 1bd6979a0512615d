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
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// The index follows each object through adds, edits and deletes, names an
// object once however it is linked, and knows nothing across namespaces or
// of owners that are not OfficialChannels.
func TestLinkIndexFollowsTheObjects(t *testing.T) {
	news := &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "news", UID: "u-news"}}
	weather := &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "weather", UID: "u-weather"}}
	elsewhere := &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "news", UID: "u-news-b"}}
	ownedBy := func(ch *chatv1alpha1.OfficialChannel) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: chatv1alpha1.GroupVersion.String(), Kind: "OfficialChannel", Name: ch.Name, UID: ch.UID}
	}
	obj := func(ns, name string, labels map[string]string, owners ...metav1.OwnerReference) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, OwnerReferences: owners},
		}
	}
	k := newKindLinks()
	h := k.handler()
	assert := func(step string, want map[*chatv1alpha1.OfficialChannel][]string) {
		t.Helper()
		for _, ch := range []*chatv1alpha1.OfficialChannel{news, weather, elsewhere} {
			got := k.names(ch)
			slices.Sort(got)
			if !slices.Equal(got, want[ch]) {
				t.Errorf("%s: %s/%s has %q, want %q", step, ch.Namespace, ch.Name, got, want[ch])
			}
		}
	}

	labelled1 := obj("a", "one", testenv.Labelled("news"))
	both := obj("a", "both", testenv.Labelled("news"), ownedBy(news), ownedBy(news))
	owned := obj("a", "owned", nil, ownedBy(news),
		metav1.OwnerReference{APIVersion: "batch/v1", Kind: "CronJob", Name: "c", UID: "u-weather"})
	otherNS := obj("b", "one", testenv.Labelled("news"), ownedBy(news))
	for _, o := range []metav1.Object{labelled1, both, owned, otherNS,
		obj("a", "plain", map[string]string{"app": "news"}),
		obj("a", "empty-label", map[string]string{chatv1alpha1.LinkLabel: ""}),
		obj("a", "other-group", nil, metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "OfficialChannel", UID: "u-news"}),
		obj("a", "group-prefix", nil, metav1.OwnerReference{APIVersion: chatv1alpha1.GroupVersion.Group + ".evil/v1",
			Kind: "OfficialChannel", UID: "u-news"}),
	} {
		h.OnAdd(o, false)
	}
	assert("added", map[*chatv1alpha1.OfficialChannel][]string{news: {"both", "one", "owned"}, elsewhere: {"one"}})

	relabelled := obj("a", "one", testenv.Labelled("weather"))
	h.OnUpdate(labelled1, relabelled)
	h.OnUpdate(owned, obj("a", "owned", map[string]string{"app": "x"}, ownedBy(news))) // no link changed
	assert("relabelled", map[*chatv1alpha1.OfficialChannel][]string{news: {"both", "owned"}, weather: {"one"}, elsewhere: {"one"}})

	h.OnDelete(both)
	h.OnAdd(obj("a", "both", nil), false) // recreated unlinked
	h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "a/one", Obj: relabelled})
	assert("deleted", map[*chatv1alpha1.OfficialChannel][]string{news: {"owned"}, elsewhere: {"one"}})

	plain := obj("a", "plain-then-owned", nil)
	h.OnAdd(plain, false)
	ownedNow := obj("a", "plain-then-owned", nil, ownedBy(weather))
	h.OnUpdate(plain, ownedNow)
	labelledAndOwned := obj("a", "label-dropped", testenv.Labelled("weather"), ownedBy(weather))
	h.OnAdd(labelledAndOwned, false)
	h.OnUpdate(labelledAndOwned, obj("a", "label-dropped", nil, ownedBy(weather)))
	assert("owner added, label dropped", map[*chatv1alpha1.OfficialChannel][]string{news: {"owned"}, elsewhere: {"one"},
		weather: {"label-dropped", "plain-then-owned"}})
	h.OnUpdate(ownedNow, obj("a", "plain-then-owned", nil))
	h.OnDelete(obj("a", "label-dropped", nil, ownedBy(weather)))
	assert("owner removed", map[*chatv1alpha1.OfficialChannel][]string{news: {"owned"}, elsewhere: {"one"}})
	if k.byLabel.len() != 1 || k.byOwner.len() != 2 {
		t.Fatalf("entries left behind: %v %v", k.byLabel, k.byOwner)
	}
}

// A label value on many objects (any tenant can write one) moves to a set,
// and comes and goes like any other.
func TestLinkIndexOfManyObjects(t *testing.T) {
	k := newKindLinks()
	h := k.handler()
	ch := &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "news"}}
	objs := make([]*metav1.PartialObjectMetadata, 0, 3*maxFew)
	for i := range 3 * maxFew {
		o := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: fmt.Sprintf("o-%03d", i),
			Labels: testenv.Labelled("news")}}
		objs = append(objs, o)
		h.OnAdd(o, false)
		h.OnAdd(o, false) // twice: still once
	}
	if got := k.names(ch); len(got) != len(objs) {
		t.Fatalf("%d names, want %d", len(got), len(objs))
	}
	for _, o := range objs[1:] {
		h.OnDelete(o)
	}
	if got := k.names(ch); !slices.Equal(got, []string{"o-000"}) {
		t.Fatalf("names %q, want o-000 alone", got)
	}
	h.OnDelete(objs[0])
	if k.byLabel.len() != 0 {
		t.Fatal("an empty key was kept")
	}
}

// The index answers only once it has seen its informer's first list, and
// not for a kind it does not index.
func TestLinkIndexAnswersOnlyWhenSynced(t *testing.T) {
	ch := &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "news"}}
	links := newLinkIndex()
	gvk := corev1.SchemeGroupVersion.WithKind("ConfigMap")
	if _, err := links.linked(context.Background(), gvk, ch); err == nil {
		t.Fatal("a kind never indexed answered")
	}
	unsynced := newKindLinks()
	unsynced.registration = neverSynced{}
	links.kinds[gvk] = unsynced
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := links.linked(ctx, gvk, ch); err == nil || !strings.Contains(err.Error(), "has not synced") {
		t.Fatalf("an index that has not synced answered: %v", err)
	}
}

// neverSynced is a handler registration whose informer never lists.
type neverSynced struct {
	toolscache.ResourceEventHandlerRegistration
}

func (neverSynced) HasSynced() bool { return false }

func (neverSynced) HasSyncedChecker() toolscache.DoneChecker { return neverDone{} }

type neverDone struct{}

func (neverDone) Name() string { return "never" }

func (neverDone) Done() <-chan struct{} { return make(chan struct{}) }

// countingReader counts the objects the cache hands the cleanup.
type countingReader struct {
	client.Reader
	gets, listed atomic.Int64
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.gets.Add(1)
	return c.Reader.Get(ctx, key, obj, opts...)
}

func (c *countingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	err := c.Reader.List(ctx, list, opts...)
	if l, ok := list.(*metav1.PartialObjectMetadataList); ok {
		c.listed.Add(int64(len(l.Items)))
	}
	return err
}

// configMapLinks is a linkIndex of ConfigMaps, from the manager's cache,
// until the test ends.
func configMapLinks(t *testing.T) *linkIndex {
	t.Helper()
	links := newLinkIndex()
	if err := links.watch(context.Background(), env.Manager.GetCache(), corev1.SchemeGroupVersion.WithKind("ConfigMap")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := links.stop(); err != nil {
			t.Error(err)
		}
	})
	return links
}

// A sweep reads its own channel's objects from the cache, not its
// namespace's: with a hundred other channels' objects beside them, the
// cache hands it the channel's three, once each.
func TestASweepReadsOnlyItsChannelsObjects(t *testing.T) {
	ns := env.Namespace(t, "dense")
	ch := channel(t, ns, "news")
	owner := []metav1.OwnerReference{{APIVersion: chatv1alpha1.GroupVersion.String(), Kind: "OfficialChannel", Name: ch.Name, UID: ch.UID}}
	own := []client.Object{
		&corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "news-labelled", testenv.Labelled("news"))},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "news-owned", OwnerReferences: owner}},
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "news-both", Labels: testenv.Labelled("news"), OwnerReferences: owner},
		},
	}
	env.Create(t, own...)
	for i := range 100 {
		env.Create(
			t,
			&corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, fmt.Sprintf("other-%d", i), testenv.Labelled(fmt.Sprintf("other-%d", i)))},
		)
	}
	reader := &countingReader{Reader: env.Manager.GetCache()}
	c := configMapCleaner(reader, configMapLinks(t))
	var names []string
	testenv.Eventually(t, func() error { // the cache and the index have them all
		found, notes, errs := c.findLinked(context.Background(), ch)
		if len(errs) > 0 || len(notes) > 0 {
			return fmt.Errorf("findLinked: errs %v, notes %v", errs, notes)
		}
		names = names[:0]
		for _, l := range found {
			names = append(names, l.obj.Name)
		}
		if !slices.Equal(names, []string{"news-both", "news-labelled", "news-owned"}) {
			return fmt.Errorf("found %v", names)
		}
		return nil
	})
	reader.gets.Store(0)
	if _, _, errs := c.findLinked(context.Background(), ch); len(errs) > 0 {
		t.Fatal(errs)
	}
	if n, listed := reader.gets.Load(), reader.listed.Load(); n != 3 || listed != 0 {
		t.Fatalf("the sweep read %d objects and listed %d from the cache, want 3 and none: it read beyond the channel's own", n, listed)
	}
}

// The index follows the objects: an object relabelled from one channel to
// another goes with the second channel's cleanup, not the first's.
func TestARelabelledObjectGoesWithItsNewChannel(t *testing.T) {
	ns := env.Namespace(t, "relabel")
	news := channel(t, ns, "news")
	weather := channel(t, ns, "weather")
	moved := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "moved", testenv.Labelled("news"))}
	env.Create(t, moved)
	c := configMapCleaner(env.Manager.GetCache(), configMapLinks(t))
	linkedTo := func(ch *chatv1alpha1.OfficialChannel) func() error {
		return func() error {
			found, _, errs := c.findLinked(context.Background(), ch)
			if len(errs) > 0 {
				return fmt.Errorf("%v", errs)
			}
			if len(found) != 1 || found[0].obj.UID != moved.UID {
				return fmt.Errorf("%s finds %v", ch.Name, found)
			}
			return nil
		}
	}
	testenv.Eventually(t, linkedTo(news))

	moved.Labels = testenv.Labelled("weather")
	if err := env.Client.Update(context.Background(), moved); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, linkedTo(weather))
	if pass := c.Sweep(context.Background(), news); !pass.Done() || pass.DeletedTotal() != 0 {
		t.Fatalf("news's pass: deleted %d, errs %v: it took an object relabelled to weather", pass.DeletedTotal(), pass.Errs)
	}
	if !env.Exists(t, moved) {
		t.Fatal("news's pass deleted an object relabelled to weather")
	}
	if pass := c.Sweep(context.Background(), weather); !pass.Done() || pass.DeletedTotal() != 1 {
		t.Fatalf("weather's pass: deleted %d, errs %v", pass.DeletedTotal(), pass.Errs)
	}
	if env.Exists(t, moved) {
		t.Fatal("weather's pass left its relabelled object")
	}
}
