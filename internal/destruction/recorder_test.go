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
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/status"
	"github.com/channel-operator/channel-operator/test/testenv"
)

func TestRecordWritesEveryMatchingChannel(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	a := newChannel(t, env.Namespace(t, "team-a"), "news", "@TOA#_rec_all")
	b := newChannel(t, env.Namespace(t, "team-b"), "news", "@TOA#_rec_all")

	out, err := recorder(s, nil).Record(ctx, record("@TOA#_rec_all", 1700000000123))
	if err != nil || out != (Outcome{Recorded: 2}) {
		t.Fatalf("Record = %+v, %v; want both recorded", out, err)
	}
	for _, ch := range []*chatv1alpha1.OfficialChannel{a, b} {
		env.Get(t, ch)
		if d := ch.Status.Destruction; d == nil || d.EventTime != 1700000000123 || ch.Status.Phase != chatv1alpha1.PhaseDestroyed {
			t.Fatalf("%s: status %+v", ch.Namespace, ch.Status)
		}
	}
	// A repeat changes nothing and says so.
	out, err = recorder(s, nil).Record(ctx, record("@TOA#_rec_all", 1700000009999))
	if err != nil || out != (Outcome{Unchanged: 2}) {
		t.Fatalf("repeat: Record = %+v, %v", out, err)
	}
	if rec, _ := s.Get(ctx, app, "@TOA#_rec_all", time.Now()); rec != nil {
		t.Fatal("a matched destruction was also kept as pending")
	}
}

func TestRecordKeepsAnUnmatchedDestruction(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	out, err := recorder(s, nil).Record(ctx, record("@TOA#_rec_none", 7))
	if err != nil || !out.Pending || out.Recorded+out.Unchanged != 0 {
		t.Fatalf("Record = %+v, %v; want pending", out, err)
	}
	if rec, err := s.Get(ctx, app, "@TOA#_rec_none", time.Now()); err != nil || rec == nil || rec.Destruction.EventTime != 7 {
		t.Fatalf("kept %+v, %v", rec, err)
	}
}

// A channel the cache still lists but that was deleted before the write is
// as good as no match: the destruction is kept, not lost.
func TestRecordKeepsWhenTheCachedMatchIsGone(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	ch := newChannel(t, env.Namespace(t, "gone"), "gone", "@TOA#_rec_gone")
	r := recorder(s, nil)
	r.Cache = staleCache{items: []chatv1alpha1.OfficialChannel{*ch}}
	if err := env.Client.Delete(ctx, ch); err != nil {
		t.Fatal(err)
	}
	out, err := r.Record(ctx, record("@TOA#_rec_gone", 8))
	if err != nil || !out.Pending {
		t.Fatalf("Record = %+v, %v; want the destruction kept", out, err)
	}
	if rec, _ := s.Get(ctx, app, "@TOA#_rec_gone", time.Now()); rec == nil {
		t.Fatal("the destruction was answered but neither written nor kept")
	}
}

// A channel deleted and created again under its name for another app after
// the cache read is no longer of this channel: the fresh read after the
// conflict sees it, and it is not written.
func TestRecordDoesNotWriteAChannelReplacedForAnotherApp(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	ns := env.Namespace(t, "moved")
	ch := newChannel(t, ns, "moved", "@TOA#_rec_moved")
	stale := *ch.DeepCopy()
	if err := env.Client.Delete(ctx, ch); err != nil {
		t.Fatal(err)
	}
	replaced := env.NewChannel(t, ns, "moved", chatv1alpha1.OfficialChannelSpec{SDKAppID: app + 1, OfficialAccountID: "@TOA#_rec_moved"})
	r := recorder(s, nil)
	r.Cache = staleCache{items: []chatv1alpha1.OfficialChannel{stale}}
	out, err := r.Record(ctx, record("@TOA#_rec_moved", 9))
	if err != nil || !out.Pending {
		t.Fatalf("Record = %+v, %v; want the destruction kept, not written", out, err)
	}
	if env.Get(t, replaced); replaced.Status.Destruction != nil {
		t.Fatalf("the destruction was written to a channel of another app: %+v", replaced.Status)
	}
}

// Of two matching channels, one write fails: the outcome is an error (the
// receiver answers FAIL), even though the other one was written.
func TestRecordFailsWhenOneOfTwoWritesFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	s := store(t, 10)
	ok := newChannel(t, env.Namespace(t, "two-ok"), "ok", "@TOA#_rec_two")
	newChannel(t, env.Namespace(t, "two-bad"), "bad", "@TOA#_rec_two")
	out, err := recorder(s, failingPatches(t, "bad")).Record(ctx, record("@TOA#_rec_two", 10))
	if err == nil {
		t.Fatalf("Record = %+v, nil; want an error", out)
	}
	if out.Recorded != 1 {
		t.Fatalf("Record = %+v; want the other channel recorded", out)
	}
	if env.Get(t, ok); ok.Status.Destruction == nil {
		t.Fatal("the channel whose write worked was not written")
	}
}

// A status write made by the reconciler between the recorder's read and its
// write is kept: the recorder's write conflicts, and it applies the
// destruction to a fresh copy.
func TestRecordPreservesAConcurrentStatusWrite(t *testing.T) {
	ctx := context.Background()
	ch := newChannel(t, env.Namespace(t, "concurrent"), "concurrent", "@TOA#_rec_concurrent")

	var patches, conflicts atomic.Int32
	racing := interceptPatches(t, func(ctx context.Context, obj client.Object, write func() error) error {
		if patches.Add(1) == 1 {
			// The reconciler writes first.
			other := &chatv1alpha1.OfficialChannel{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), other); err != nil {
				return err
			}
			other.Status.Cleanup = &chatv1alpha1.CleanupStatus{Message: "written by the reconciler"}
			if err := env.Client.Status().Update(ctx, other); err != nil {
				return err
			}
		}
		err := write()
		if apierrors.IsConflict(err) {
			conflicts.Add(1)
		}
		return err
	})
	out, err := recorder(store(t, 10), racing).Record(ctx, record("@TOA#_rec_concurrent", 1700000001000))
	if err != nil || out.Recorded != 1 {
		t.Fatalf("Record = %+v, %v", out, err)
	}
	if conflicts.Load() != 1 || patches.Load() != 2 {
		t.Fatalf("patches %d, conflicts %d: want the first write to conflict and the second to land", patches.Load(), conflicts.Load())
	}
	env.Get(t, ch)
	if ch.Status.Destruction == nil || ch.Status.Destruction.EventTime != 1700000001000 {
		t.Fatalf("destruction lost: %+v", ch.Status)
	}
	if ch.Status.Cleanup == nil || ch.Status.Cleanup.Message != "written by the reconciler" {
		t.Fatalf("the reconciler's concurrent write was lost: %+v", ch.Status)
	}
}

// A status the API server refuses as invalid (422) is not retried until the
// budget runs out: asking again cannot change its answer.
func TestRecordDoesNotRetryAnInvalidWrite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	newChannel(t, env.Namespace(t, "invalid"), "invalid", "@TOA#_rec_invalid")
	var patches atomic.Int32
	refusing := interceptPatches(t, func(context.Context, client.Object, func() error) error {
		patches.Add(1)
		return apierrors.NewInvalid(chatv1alpha1.GroupVersion.WithKind("OfficialChannel").GroupKind(), "invalid", nil)
	})
	_, err := recorder(store(t, 10), refusing).Record(ctx, record("@TOA#_rec_invalid", 12))
	if !apierrors.IsInvalid(err) || patches.Load() != 1 {
		t.Fatalf("Record = %v after %d writes; want the 422 after one", err, patches.Load())
	}
}

func TestApplyKeptHandsTheDestructionToANewChannel(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	r := recorder(s, nil)
	if _, err := r.Record(ctx, record("@TOA#_kept", 11)); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	fresh := func(mod func(*chatv1alpha1.OfficialChannel)) *chatv1alpha1.OfficialChannel {
		ch := &chatv1alpha1.OfficialChannel{Spec: chatv1alpha1.OfficialChannelSpec{SDKAppID: app, OfficialAccountID: "@TOA#_kept"}}
		mod(ch)
		return ch
	}
	tests := []struct {
		name string
		ch   *chatv1alpha1.OfficialChannel
		at   time.Time
		want bool
	}{
		{name: "seen for the first time", ch: fresh(func(*chatv1alpha1.OfficialChannel) {}), at: now, want: true},
		{name: "already has a phase", ch: fresh(func(ch *chatv1alpha1.OfficialChannel) { ch.Status.Phase = chatv1alpha1.PhaseActive }), at: now},
		{name: "another app", ch: fresh(func(ch *chatv1alpha1.OfficialChannel) { ch.Spec.SDKAppID = app + 1 }), at: now},
		{name: "another account", ch: fresh(func(ch *chatv1alpha1.OfficialChannel) { ch.Spec.OfficialAccountID = "@TOA#_other" }), at: now},
		{name: "the record expired", ch: fresh(func(*chatv1alpha1.OfficialChannel) {}), at: now.Add(2 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			applied, err := r.ApplyKept(ctx, tt.ch, tt.at)
			if err != nil || applied != tt.want {
				t.Fatalf("ApplyKept = %v, %v; want %v", applied, err, tt.want)
			}
			if got := tt.ch.Status.Destruction != nil && tt.ch.Status.Destruction.EventTime == 11; got != tt.want {
				t.Fatalf("status %+v", tt.ch.Status)
			}
		})
	}
}

// staleCache answers every list with items, as a cache that has not caught
// up with the API server would.
type staleCache struct {
	client.Reader
	items []chatv1alpha1.OfficialChannel
}

func (c staleCache) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	list.(*chatv1alpha1.OfficialChannelList).Items = c.items
	return nil
}

// A destruction is a fact about the account: a channel of the same account
// without one (already Active, or created after the callback) learns the
// first recorded on a sibling, whatever its namespace.
func TestApplyKeptHandsASiblingsDestruction(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	first := newChannel(t, env.Namespace(t, "sib-a"), "first", "@TOA#_sibling")
	if _, err := recorder(s, nil).Record(ctx, record("@TOA#_sibling", 13)); err != nil {
		t.Fatal(err)
	}
	later := newChannel(t, env.Namespace(t, "sib-b"), "later", "@TOA#_sibling")
	later.Status.Phase = chatv1alpha1.PhaseActive // seen before the destruction
	testenv.Eventually(t, func() error {
		applied, err := recorder(s, nil).ApplyKept(ctx, later, time.Now())
		if err != nil || !applied {
			return fmt.Errorf("ApplyKept = %v, %v", applied, err)
		}
		return nil
	})
	if d := later.Status.Destruction; d == nil || d.EventTime != 13 || later.Status.Phase != chatv1alpha1.PhaseDestroyed {
		t.Fatalf("status %+v", later.Status)
	}
	env.Get(t, first)
	if applied, err := recorder(s, nil).ApplyKept(ctx, first, time.Now()); err != nil || applied {
		t.Fatalf("ApplyKept on the channel that holds it = %v, %v", applied, err)
	}
	// The reconciler's watch wakes the sibling that does not hold it yet.
	if reqs := recorder(s, nil).SiblingsToTell(ctx, first); len(reqs) != 1 || reqs[0].Name != "later" {
		t.Fatalf("SiblingsToTell = %v, want the later channel", reqs)
	}
	other := newChannel(t, env.Namespace(t, "sib-c"), "other", "@TOA#_sibling_not")
	other.Status.Phase = chatv1alpha1.PhaseActive
	if applied, err := recorder(s, nil).ApplyKept(ctx, other, time.Now()); err != nil || applied {
		t.Fatalf("ApplyKept on another account = %v, %v", applied, err)
	}
}

// However many channels claim one account, Record writes a bounded number,
// the oldest first and a bounded number at a time, and defers the rest.
func TestRecordBoundsItsFanOut(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "fan-out")
	const n = MaxDirectWrites + 8
	channels := make([]*chatv1alpha1.OfficialChannel, 0, n)
	for i := range n {
		channels = append(channels, newChannel(t, ns, fmt.Sprintf("c%02d", i), "@TOA#_fan_out"))
	}
	testenv.Eventually(t, func() error {
		list, err := ListCached(ctx, env.Manager.GetCache(), app, "@TOA#_fan_out")
		if err != nil || len(list) != n {
			return fmt.Errorf("%d of %d cached: %v", len(list), n, err)
		}
		return nil
	})
	var inFlight, most atomic.Int32
	counting := interceptPatches(t, func(_ context.Context, _ client.Object, write func() error) error {
		now := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
		}
		time.Sleep(10 * time.Millisecond) // let concurrent writes overlap
		return write()
	})
	recorderStore := store(t, 10)
	out, err := recorder(recorderStore, counting).Record(ctx, record("@TOA#_fan_out", 14))
	if err != nil || out.Recorded != MaxDirectWrites || out.Deferred != n-MaxDirectWrites {
		t.Fatalf("Record = %+v, %v; want %d recorded, %d deferred", out, err, MaxDirectWrites, n-MaxDirectWrites)
	}
	if m := most.Load(); m > ParallelWrites {
		t.Fatalf("%d writes at once, want at most %d", m, ParallelWrites)
	}
	// One namespace, created one after another (names break the ties of a
	// creation second): the first MaxDirectWrites are written, no other.
	for i, ch := range channels {
		env.Get(t, ch)
		if written := ch.Status.Destruction != nil; written != (i < MaxDirectWrites) {
			t.Errorf("%s written: %v", ch.Name, written)
		}
	}
	// The deferred ones are kept once more, where no tenant can delete it.
	if rec, err := recorderStore.Get(ctx, app, "@TOA#_fan_out", time.Now()); err != nil || rec == nil {
		t.Fatalf("the deferred destruction is not kept: %v", err)
	}
}

// A destruction recorded long before a channel of the account was created
// (more than the pending TTL) is history: the new channel does not inherit it.
func TestApplyKeptIgnoresAnOldSiblingDestruction(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	old := record("@TOA#_old_news", 15)
	old.Destruction.ReceivedAt = metav1.NewTime(time.Now().Add(-2 * s.TTL))
	newChannel(t, env.Namespace(t, "old-a"), "old", "@TOA#_old_news")
	if _, err := recorder(s, nil).Record(ctx, old); err != nil {
		t.Fatal(err)
	}
	later := newChannel(t, env.Namespace(t, "old-b"), "later", "@TOA#_old_news")
	testenv.Eventually(t, func() error {
		list, err := ListCached(ctx, env.Manager.GetCache(), app, "@TOA#_old_news")
		for _, ch := range list {
			if ch.Status.Destruction != nil {
				return err
			}
		}
		return fmt.Errorf("the old destruction is not cached yet: %v", err)
	})
	if applied, err := recorder(s, nil).ApplyKept(ctx, later, time.Now()); err != nil || applied {
		t.Fatalf("ApplyKept of a destruction older than the TTL = %v, %v", applied, err)
	}
}

// The hand-over gap: the receiving replica's cache lacks channel C, which
// the leader has reconciled already (it has a phase); the record is kept,
// the API server's list then fails, and the callback is answered FAIL,
// which Chat does not resend. ApplyKept reads the store only for a channel
// without a phase, so the leader's sweep hands the record over.
func TestAKeptRecordReachesAChannelTheReceiverMissed(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	const account = "@TOA#_rec_missed"
	ch := newChannel(t, env.Namespace(t, "missed"), "missed", account)
	base := ch.DeepCopy()
	status.MarkActive(ch)
	if err := env.Client.Status().Patch(ctx, ch, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}

	receiving := recorder(s, nil)
	receiving.Cache = staleCache{}
	direct, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	receiving.API = interceptor.NewClient(direct, interceptor.Funcs{
		List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
			return errors.New("injected: the API server's list failed")
		},
	})
	if _, err := receiving.Record(ctx, record(account, 11)); err == nil {
		t.Fatal("Record succeeded with the list failing: the callback would be answered OK")
	}
	if rec, err := s.Get(ctx, app, account, time.Now()); err != nil || rec == nil {
		t.Fatalf("the record was not kept: %+v, %v", rec, err)
	}

	leader := recorder(s, nil)
	cached := &chatv1alpha1.OfficialChannel{}
	testenv.Eventually(t, func() error { // the leader's cache shows the phase
		if err := leader.Cache.Get(ctx, client.ObjectKeyFromObject(ch), cached); err != nil ||
			cached.Status.Phase != chatv1alpha1.PhaseActive {
			return fmt.Errorf("phase %q, %v", cached.Status.Phase, err)
		}
		return nil
	})
	if applied, err := leader.ApplyKept(ctx, cached, time.Now()); err != nil || applied {
		t.Fatalf("ApplyKept = %v, %v: the gap this test is about is closed elsewhere; revisit it", applied, err)
	}
	if n, err := leader.HandOver(ctx, live(t, s)); err != nil || n != 1 {
		t.Fatalf("HandOver = %d, %v; want the one channel written", n, err)
	}
	if d := env.Channel(t, ch).Status.Destruction; d == nil || d.EventTime != 11 {
		t.Fatalf("destruction %+v", d)
	}
	// Once written, nothing more to hand over: the next sweeps write nothing.
	testenv.Eventually(t, func() error {
		if n, err := leader.HandOver(ctx, live(t, s)); err != nil || n != 0 {
			return fmt.Errorf("HandOver = %d, %v", n, err)
		}
		return nil
	})
}

func live(t *testing.T, s *PendingStore) []Record {
	t.Helper()
	records, err := s.Live(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return records
}
