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
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/channel-operator/channel-operator/test/testenv"
)

func TestPendingRecordExpiresAfterTTL(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	now := time.Now()
	if err := s.Put(ctx, record("@TOA#_ttl", 1), now); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at   time.Time
		kept bool
	}{{now, true}, {now.Add(time.Hour - time.Second), true}, {now.Add(time.Hour), false}, {now.Add(48 * time.Hour), false}} {
		rec, err := s.Get(ctx, app, "@TOA#_ttl", tt.at)
		if err != nil {
			t.Fatal(err)
		}
		if (rec != nil) != tt.kept {
			t.Fatalf("at now+%s: record %+v, want kept=%v", tt.at.Sub(now), rec, tt.kept)
		}
	}
}

func TestPendingFirstDestructionWins(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	if err := s.Put(ctx, record("@TOA#_first", 100), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, record("@TOA#_first", 200), time.Now()); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Get(ctx, app, "@TOA#_first", time.Now())
	if err != nil || rec == nil || rec.Destruction.EventTime != 100 {
		t.Fatalf("kept %+v, %v; want the first (EventTime 100)", rec, err)
	}
}

// A full store refuses a new record (the receiver answers 503 FAIL), but a
// repeat of a kept one is not refused: it is already kept.
func TestPendingStoreFull(t *testing.T) {
	ctx := context.Background()
	s := store(t, 2)
	for _, account := range []string{"@TOA#_full_1", "@TOA#_full_2"} {
		if err := s.Put(ctx, record(account, 1), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Put(ctx, record("@TOA#_full_3", 1), time.Now())
	if !errors.Is(err, ErrStoreFull) {
		t.Fatalf("Put into a full store = %v, want ErrStoreFull", err)
	}
	if rec, _ := s.Get(ctx, app, "@TOA#_full_3", time.Now()); rec != nil {
		t.Fatal("a refused record was kept")
	}
	if err := s.Put(ctx, record("@TOA#_full_1", 2), time.Now()); err != nil {
		t.Fatalf("repeat of a kept record into a full store = %v", err)
	}
}

// Each app has its own share: one app filling its share does not refuse
// another app's destructions, and expired records take no place.
func TestPendingShareIsPerApp(t *testing.T) {
	ctx := context.Background()
	s := store(t, 2)
	now := time.Now()
	if err := s.Put(ctx, record("@TOA#_share_old", 1), now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, account := range []string{"@TOA#_share_1", "@TOA#_share_2"} {
		if err := s.Put(ctx, record(account, 1), now); err != nil {
			t.Fatalf("%s: %v (an expired record must not take a place)", account, err)
		}
	}
	if err := s.Put(ctx, record("@TOA#_share_3", 1), now); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("third live record of the app = %v, want ErrStoreFull", err)
	}
	other := record("@TOA#_share_1", 1)
	other.SDKAppID = app + 1
	if err := s.Put(ctx, other, now); err != nil {
		t.Fatalf("another app's record = %v, want kept", err)
	}
}

// Concurrent callbacks of one app cannot together go past its share.
func TestPendingShareHoldsUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	s := store(t, 3)
	errs := make([]error, 10)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = s.Put(ctx, record(fmt.Sprintf("@TOA#_race_%d", i), 1), time.Now()) })
	}
	wg.Wait()
	kept, full := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			kept++
		case errors.Is(err, ErrStoreFull):
			full++
		default:
			t.Fatal(err)
		}
	}
	var list corev1.ConfigMapList
	if err := env.Client.List(ctx, &list, client.InNamespace(s.Namespace)); err != nil {
		t.Fatal(err)
	}
	if kept != 3 || full != 7 || len(list.Items) != 3 {
		t.Fatalf("kept %d, refused %d, stored %d; want 3, 7, 3", kept, full, len(list.Items))
	}
}

// A destruction of a channel whose earlier record expired is kept anew,
// not answered OK and dropped with the old record.
func TestExpiredRecordIsReplaced(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	then := time.Now().Add(-2 * time.Hour)
	if err := s.Put(ctx, record("@TOA#_again", 1), then); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.Put(ctx, record("@TOA#_again", 2), now); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Get(ctx, app, "@TOA#_again", now)
	if err != nil || rec == nil || rec.Destruction.EventTime != 2 {
		t.Fatalf("Get = %+v, %v; want the new destruction", rec, err)
	}
	if n, err := s.Sweep(ctx, now); err != nil || n != 0 {
		t.Fatalf("Sweep = %d, %v; the new record is not expired", n, err)
	}
}

// Names are hashes: a record found under a channel's name but written for
// another channel is not that channel's.
func TestPendingHashCollisionIsNotAMatch(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	other, err := json.Marshal(record("@TOA#_someone_else", 1))
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name(app, "@TOA#_victim"),
			Labels:      map[string]string{PendingLabel: "true"},
			Annotations: map[string]string{ExpiresAnnotation: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}},
		Data: map[string]string{pendingDataKey: string(other)},
	}
	if err := env.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Get(ctx, app, "@TOA#_victim", time.Now())
	if err != nil || rec != nil {
		t.Fatalf("Get = %+v, %v; want no record", rec, err)
	}
}

// Sweep deletes the expired records and nothing else: not a live record,
// not a labelled ConfigMap it did not name, not one without an expiry.
func TestSweepDeletesOnlyExpiredRecords(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	now := time.Now()
	if err := s.Put(ctx, record("@TOA#_old", 1), now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, record("@TOA#_fresh", 1), now); err != nil {
		t.Fatal(err)
	}
	expired := now.Add(-time.Hour).UTC().Format(time.RFC3339)
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: "someone-elses",
		Labels: map[string]string{PendingLabel: "true"}, Annotations: map[string]string{ExpiresAnnotation: expired}}}
	noExpiry := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: pendingNamePrefix + "hand-made",
		Labels: map[string]string{PendingLabel: "true"}}}
	for _, cm := range []*corev1.ConfigMap{foreign, noExpiry} {
		if err := env.Client.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}

	n, err := s.Sweep(ctx, now)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 deleted", n, err)
	}
	for name, want := range map[string]bool{
		s.Name(app, "@TOA#_old"): false, s.Name(app, "@TOA#_fresh"): true, foreign.Name: true, noExpiry.Name: true,
	} {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: name}, &corev1.ConfigMap{})
		if got := err == nil; got != want || err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("%s: present=%v (%v), want %v", name, got, err, want)
		}
	}
}

// A record replaced (a new destruction of the channel) between Sweep's list
// and its delete is a new record: the UID precondition keeps it, and the
// sweep goes on.
func TestSweepKeepsARecordReplacedMeanwhile(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	now := time.Now()
	if err := s.Put(ctx, record("@TOA#_replaced", 1), now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	base, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	replaced := false
	sweeping := &PendingStore{Namespace: s.Namespace, MaxRecords: 10, TTL: time.Hour}
	sweeping.Client = interceptor.NewClient(base, interceptor.Funcs{
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			if !replaced {
				replaced = true
				// A new destruction replaces the record before the delete lands.
				if err := s.Put(ctx, record("@TOA#_replaced", 2), now); err != nil {
					return err
				}
			}
			return c.Delete(ctx, obj, opts...)
		},
	})
	if n, err := sweeping.Sweep(ctx, now); err != nil || n != 0 || !replaced {
		t.Fatalf("Sweep = %d, %v (replaced %v); want nothing deleted, no error", n, err, replaced)
	}
	rec, err := s.Get(ctx, app, "@TOA#_replaced", now)
	if err != nil || rec == nil || rec.Destruction.EventTime != 2 {
		t.Fatalf("the replacing record is gone: %+v, %v", rec, err)
	}
}

func TestSweeperSweepsUntilStopped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := store(t, 10)
	if err := s.Put(ctx, record("@TOA#_swept", 1), time.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	sweeper := &Sweeper{Recorder: recorder(s, nil), Interval: 50 * time.Millisecond}
	if !sweeper.NeedLeaderElection() {
		t.Fatal("every replica would sweep")
	}
	done := make(chan error)
	go func() { done <- sweeper.Start(ctx) }()
	testenv.Eventually(t, func() error {
		rec, err := s.Get(ctx, app, "@TOA#_swept", time.Now().Add(-2*time.Hour))
		if err != nil || rec != nil {
			return errors.New("the expired record is still there")
		}
		return nil
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Start = %v", err)
		}
	case <-time.After(testenv.WaitTimeout):
		t.Fatal("the sweeper did not stop with its context")
	}
}

// A record written before records carried their app (no app label), expired
// and not swept yet, is replaced, not taken for a live one.
func TestExpiredRecordWithoutAppLabelIsReplaced(t *testing.T) {
	ctx := context.Background()
	s := store(t, 10)
	legacy := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name(app, "@TOA#_legacy"),
		Labels:      map[string]string{PendingLabel: "true"},
		Annotations: map[string]string{ExpiresAnnotation: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}}}
	if err := env.Client.Create(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, record("@TOA#_legacy", 3), time.Now()); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Get(ctx, app, "@TOA#_legacy", time.Now()); err != nil || rec == nil || rec.Destruction.EventTime != 3 {
		t.Fatalf("Get = %+v, %v; want the new destruction", rec, err)
	}
}

// An app's lock is taken within the caller's deadline: while one Put waits
// on a slow LIST, another callback of the app fails in time (and is
// answered FAIL within its budget) rather than wait for it.
func TestPendingLockHonoursTheDeadline(t *testing.T) {
	s := store(t, 10)
	release := make(chan struct{})
	listing := make(chan struct{}, 1)
	direct, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	s.Client = interceptor.NewClient(direct, interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			select {
			case listing <- struct{}{}:
			default:
			}
			<-release // a LIST slow under load
			return c.List(ctx, list, opts...)
		},
	})
	first := make(chan error, 1)
	go func() { first <- s.Put(context.Background(), record("@TOA#_lock_first", 1), time.Now()) }()
	<-listing // the first Put holds the app's lock

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = s.Put(ctx, record("@TOA#_lock_second", 2), time.Now())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Put = %v, want the deadline exceeded while the lock is held", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first Put = %v", err)
	}
	// The lock is free again.
	if err := s.Put(context.Background(), record("@TOA#_lock_second", 2), time.Now()); err != nil {
		t.Fatalf("Put after the lock was released = %v", err)
	}
}

// The per-app count is the leader's full count; the limit is
// --pending-destruction-max; a Put wakes the Sweeper.
func TestPendingDestructionsAreCounted(t *testing.T) {
	ctx := context.Background()
	s := store(t, 7)
	const other = app + 77
	gauge := func(a int64) float64 {
		return testutil.ToFloat64(pendingRecords.WithLabelValues(strconv.FormatInt(a, 10)))
	}
	for i, account := range []string{"@TOA#_count_a", "@TOA#_count_b"} {
		if err := s.Put(ctx, record(account, int64(i+1)), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-s.kicked():
	default:
		t.Fatal("keeping a record did not wake the Sweeper")
	}
	pendingRecords.WithLabelValues(strconv.FormatInt(other, 10)).Set(3) // counted before, gone since
	s.countAllPending(live(t, s))
	if gauge(app) != 2 || testutil.CollectAndCount(pendingRecords) != 1 || testutil.ToFloat64(pendingLimit) != 7 {
		t.Fatalf("after a full count: app %v, %d apps listed, limit %v", gauge(app), testutil.CollectAndCount(pendingRecords),
			testutil.ToFloat64(pendingLimit))
	}
}
