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

package destruction

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// namespacedRBAC is an API reader for an operator that RBAC lets list
// OfficialChannels only in allowed (the namespaced Roles of
// config/namespaced): any other list is Forbidden. It records the
// namespaces listed.
type namespacedRBAC struct {
	client.Reader
	allowed []string

	mu     sync.Mutex
	listed []string
}

func (r *namespacedRBAC) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	ns := (&client.ListOptions{}).ApplyOptions(opts).Namespace
	r.mu.Lock()
	r.listed = append(r.listed, ns)
	r.mu.Unlock()
	if !slices.Contains(r.allowed, ns) {
		return apierrors.NewForbidden(chatv1alpha1.GroupVersion.WithResource("officialchannels").GroupResource(), "",
			errors.New("not allowed in namespace "+ns))
	}
	return r.Reader.List(ctx, list, opts...)
}

// confined is a Recorder for the watched namespaces, keeping records in s.
func confined(s *PendingStore, watched ...string) *Recorder {
	r := recorder(s, nil)
	r.Namespaces = watched
	return r
}

// A confined Recorder writes the matching channels of its namespaces and
// leaves the one elsewhere alone, though the cache (here not confined)
// lists it.
func TestConfinedRecordWritesOnlyWatchedChannels(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	in := newChannel(t, env.Namespace(t, "watched"), "news", "@TOA#_ns_cached")
	out := newChannel(t, env.Namespace(t, "unwatched"), "news", "@TOA#_ns_cached")

	got, err := confined(s, in.Namespace).Record(ctx, record("@TOA#_ns_cached", 21))
	if err != nil || got != (Outcome{Recorded: 1}) {
		t.Fatalf("Record = %+v, %v; want only the watched channel recorded", got, err)
	}
	if env.Get(t, in); in.Status.Destruction == nil {
		t.Fatalf("the watched channel was not written: %+v", in.Status)
	}
	if env.Get(t, out); out.Status.Destruction != nil {
		t.Fatalf("the channel in an unwatched namespace was written: %+v", out.Status)
	}
}

// When the cache has no match, Record keeps the destruction and asks the API
// server: a confined Recorder lists in each watched namespace (never in
// every namespace, which the namespaced Roles refuse) and writes no channel
// elsewhere.
func TestConfinedRecordListsLiveOnlyInWatchedNamespaces(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	w1, w2 := env.Namespace(t, "watched-1"), env.Namespace(t, "watched-2")
	in := newChannel(t, w1, "news", "@TOA#_ns_live")
	out := newChannel(t, env.Namespace(t, "unwatched"), "news", "@TOA#_ns_live")
	lonely := newChannel(t, env.Namespace(t, "unwatched"), "news", "@TOA#_ns_live_lonely")

	api := &namespacedRBAC{Reader: env.Client, allowed: []string{w1, w2}}
	r := confined(s, w1, w2)
	r.Cache = staleCache{} // not caught up: only the API server's list finds them
	r.API = api

	got, err := r.Record(ctx, record("@TOA#_ns_live", 22))
	if err != nil || got != (Outcome{Recorded: 1}) {
		t.Fatalf("Record = %+v, %v; want the watched channel recorded", got, err)
	}
	if env.Get(t, in); in.Status.Destruction == nil {
		t.Fatalf("the watched channel was not written: %+v", in.Status)
	}
	if env.Get(t, out); out.Status.Destruction != nil {
		t.Fatalf("the channel in an unwatched namespace was written: %+v", out.Status)
	}

	// A channel only outside: the destruction is kept, not written.
	got, err = r.Record(ctx, record("@TOA#_ns_live_lonely", 23))
	if err != nil || got != (Outcome{Pending: true}) {
		t.Fatalf("Record = %+v, %v; want the destruction kept as pending", got, err)
	}
	if env.Get(t, lonely); lonely.Status.Destruction != nil {
		t.Fatalf("the channel in an unwatched namespace was written: %+v", lonely.Status)
	}
	for _, ns := range api.listed {
		if ns != w1 && ns != w2 {
			t.Fatalf("listed in namespace %q; want only %s and %s", ns, w1, w2)
		}
	}
}

// A confined Recorder gives no kept destruction to a channel outside its
// namespaces, and takes none from a sibling there.
func TestConfinedApplyKeptIgnoresUnwatchedChannels(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	watched, unwatched := env.Namespace(t, "watched"), env.Namespace(t, "unwatched")

	// A pending destruction, and a new channel of its account outside.
	if _, err := recorder(s, nil).Record(ctx, record("@TOA#_ns_kept", 24)); err != nil {
		t.Fatal(err)
	}
	out := newChannel(t, unwatched, "news", "@TOA#_ns_kept")
	if given, err := confined(s, watched).ApplyKept(ctx, out.DeepCopy(), time.Now()); err != nil || given {
		t.Fatalf("ApplyKept on a channel outside = %v, %v; want nothing given", given, err)
	}
	// The same channel, were it watched, would get it: the record is there.
	if given, err := confined(s, watched, unwatched).ApplyKept(ctx, out.DeepCopy(), time.Now()); err != nil || !given {
		t.Fatalf("ApplyKept on a watched channel = %v, %v; want the pending destruction given", given, err)
	}

	// A destroyed sibling outside gives nothing to a watched channel, and
	// is not told of it.
	sibling := newChannel(t, unwatched, "sports", "@TOA#_ns_sibling")
	if _, err := recorder(s, nil).Record(ctx, record("@TOA#_ns_sibling", 25)); err != nil {
		t.Fatal(err)
	}
	waitDestroyedInCache(t, sibling)
	in := newChannel(t, watched, "sports", "@TOA#_ns_sibling")
	in.Status.Phase = chatv1alpha1.PhaseActive // seen before: only siblings count
	if given, err := confined(s, watched).ApplyKept(ctx, in.DeepCopy(), time.Now()); err != nil || given {
		t.Fatalf("ApplyKept = %v, %v; want nothing taken from a sibling outside", given, err)
	}
	if given, err := confined(s, watched, unwatched).ApplyKept(ctx, in.DeepCopy(), time.Now()); err != nil || !given {
		t.Fatalf("ApplyKept = %v, %v; want the sibling's destruction when both are watched", given, err)
	}
	env.Get(t, sibling)
	if reqs := confined(s, watched).SiblingsToTell(ctx, sibling); len(reqs) != 0 {
		t.Fatalf("SiblingsToTell of a channel outside = %v; want none", reqs)
	}

	// A watched channel that gets a destruction tells no sibling outside.
	w := newChannel(t, watched, "news", "@TOA#_ns_kept")
	w.Status.Destruction = &chatv1alpha1.Destruction{EventTime: 26}
	outKey := client.ObjectKeyFromObject(out)
	if reqs := confined(
		s,
		watched,
	).SiblingsToTell(ctx, w); slices.ContainsFunc(
		reqs,
		func(r reconcile.Request) bool { return r.NamespacedName == outKey },
	) {
		t.Fatalf("SiblingsToTell = %v; want no channel outside told", reqs)
	}
	if reqs := recorder(
		s,
		nil,
	).SiblingsToTell(ctx, w); !slices.ContainsFunc(
		reqs,
		func(r reconcile.Request) bool { return r.NamespacedName == outKey },
	) {
		t.Fatalf("SiblingsToTell unconfined = %v; want %s told", reqs, outKey)
	}
}

// waitDestroyedInCache waits until the manager's cache holds ch with a
// destruction.
func waitDestroyedInCache(t *testing.T, ch *chatv1alpha1.OfficialChannel) {
	t.Helper()
	testenv.Eventually(t, func() error {
		got := &chatv1alpha1.OfficialChannel{}
		if err := env.Manager.GetCache().Get(context.Background(), client.ObjectKeyFromObject(ch), got); err != nil {
			return err
		}
		if got.Status.Destruction == nil {
			return errors.New("no destruction in the cache yet")
		}
		return nil
	})
}
