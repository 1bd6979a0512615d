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

package faults

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// kube-apiserver stops for 5 s in the middle of a burst of callbacks: every
// callback answered OK has its destruction in status afterwards, every other
// one was answered FAIL with a 5xx. Zero answered-OK-but-lost.
func TestAPIServerOutageLosesNoAnsweredCallback(t *testing.T) {
	mgr := startManager(t, "outage")
	const n = 90 // one every 100 ms: 9 s of burst around a 5 s outage
	chs := channels(t, "outage", n, chatv1alpha1.CleanupPolicyOrphan)

	answers := make([]answer, n)
	var outage sync.WaitGroup
	var down, up time.Time
	outage.Go(func() {
		time.Sleep(1500 * time.Millisecond)
		down = time.Now()
		if err := env.StopAPIServer(); err != nil {
			t.Errorf("stopping kube-apiserver: %v", err)
			return
		}
		time.Sleep(5 * time.Second)
		if err := env.StartAPIServer(); err != nil {
			t.Errorf("starting kube-apiserver: %v", err)
		}
		up = time.Now()
	})
	var burst sync.WaitGroup
	for i := range n {
		burst.Go(func() { answers[i] = destroy(mgr.CallbackURL, chs[i], 1700000000000+int64(i)) })
		time.Sleep(100 * time.Millisecond)
	}
	burst.Wait()
	outage.Wait()
	t.Logf("kube-apiserver down for %s", up.Sub(down).Round(time.Millisecond))

	var ok, failed []int
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("callback %d got no answer: %v", i, a.err)
		case a.ok():
			ok = append(ok, i)
		case a.status >= 500 && a.ErrorCode >= 500:
			failed = append(failed, i)
		default:
			t.Errorf("callback %d: answer %d %+v, want OK or a 5xx FAIL", i, a.status, a.Answer)
		}
	}
	if len(failed) == 0 || len(ok) == 0 {
		t.Fatalf("%d OK, %d FAIL: the outage did not fall inside the burst", len(ok), len(failed))
	}
	lost := 0
	for _, i := range ok {
		if d := env.Channel(t, chs[i]).Status.Destruction; d == nil || d.EventTime != 1700000000000+int64(i) {
			lost++
			t.Errorf("callback %d answered OK but its destruction is not in status: %+v", i, d)
		}
	}
	t.Logf("burst of %d callbacks: %d answered OK, %d answered FAIL (5xx), %d answered OK but lost", n, len(ok), len(failed), lost)

	// The Chat backend, with retries on, sends the failed ones again: now
	// they are recorded.
	testenv.EventuallyWithin(t, waitTimeout, func() error {
		for _, i := range failed {
			if env.Channel(t, chs[i]).Status.Destruction != nil {
				continue
			}
			if a := destroy(mgr.CallbackURL, chs[i], 1700000000000+int64(i)); !a.ok() {
				return fmt.Errorf("retry of callback %d: %d %+v %v", i, a.status, a.Answer, a.err)
			}
		}
		return nil
	})
	for _, ch := range chs {
		if env.Channel(t, ch).Status.Destruction == nil {
			t.Errorf("%s: no destruction after the retries", ch.Name)
		}
	}
}

// The manager is killed (SIGKILL) in the middle of a cleanup and started
// again: the cleanup finishes, and nothing unlinked is touched.
func TestKilledManagerFinishesCleanup(t *testing.T) {
	ctx := context.Background()
	first := startManager(t, "first", killableLeader...)
	ch := channels(t, "killed", 1, chatv1alpha1.CleanupPolicyDelete)[0]
	ns := ch.Namespace
	label := map[string]string{chatv1alpha1.LinkLabel: ch.Name}
	held := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "held", Labels: label,
		Finalizers: []string{"example.com/hold"}}}
	linked := []client.Object{held,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "token", Labels: label}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "config", Labels: label}},
	}
	bystanders := []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "other",
			Labels: map[string]string{chatv1alpha1.LinkLabel: "other"}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unlabelled"}},
	}
	for _, obj := range append(append([]client.Object{}, linked...), bystanders...) {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	rv := map[string]string{}
	for _, obj := range bystanders {
		rv[obj.GetName()] = obj.GetResourceVersion()
	}

	if a := destroy(first.CallbackURL, ch, 1700000000000); !a.ok() {
		t.Fatalf("callback: %+v", a)
	}
	testenv.EventuallyWithin(t, waitTimeout, func() error {
		got := env.Channel(t, ch)
		if got.Status.Phase != chatv1alpha1.PhaseCleaningUp || got.Status.Cleanup == nil || got.Status.Cleanup.Remaining != 1 {
			return fmt.Errorf("phase %q cleanup %+v", got.Status.Phase, got.Status.Cleanup)
		}
		return nil
	})
	first.Kill()

	// While no manager runs: the hold goes, and another linked object appears.
	testenv.EventuallyWithin(t, waitTimeout, func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(held), held); err != nil {
			return err
		}
		controllerutil.RemoveFinalizer(held, "example.com/hold")
		return env.Client.Update(ctx, held)
	})
	late := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "late", Labels: label}}
	if err := env.Client.Create(ctx, late); err != nil {
		t.Fatal(err)
	}

	// The killed leader never released its lease: the second one takes over
	// once the lease expires.
	startManager(t, "second", "--leader-elect")
	testenv.EventuallyWithin(t, waitTimeout, func() error {
		if p := env.Channel(t, ch).Status.Phase; p != chatv1alpha1.PhaseCleanedUp {
			return fmt.Errorf("phase %q", p)
		}
		return nil
	})
	for _, obj := range append(linked, late) {
		// Only NotFound means deleted; any other error proves nothing.
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); !apierrors.IsNotFound(err) {
			t.Errorf("linked %s/%s still there or unreadable: %v", ns, obj.GetName(), err)
		}
	}
	for _, obj := range bystanders {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil || obj.GetResourceVersion() != rv[obj.GetName()] {
			t.Errorf("unlinked %s was touched: %v", obj.GetName(), err)
		}
	}
}

// Two replicas with leader election; each callback is POSTed to both at once,
// and repeated: exactly one destruction per channel (the first EventTime),
// one cleanup, and no error answer.
func TestTwoReplicasRecordOnceAndCleanUpOnce(t *testing.T) {
	ctx := context.Background()
	a := startManager(t, "replica-a", "--leader-elect")
	b := startManager(t, "replica-b", "--leader-elect")
	const n = 20
	chs := channels(t, "replicas", n, chatv1alpha1.CleanupPolicyDelete)
	for _, ch := range chs {
		for i := range 3 {
			obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ch.Namespace, Name: fmt.Sprintf("%s-%d", ch.Name, i),
				Labels: map[string]string{chatv1alpha1.LinkLabel: ch.Name}}}
			if err := env.Client.Create(ctx, obj); err != nil {
				t.Fatal(err)
			}
		}
	}

	const first = int64(1700000000000)
	var mu sync.Mutex
	var bad []string
	parallelDo(n, 8, func(i int) {
		// Three rounds: the callback twice, then a replay with a later EventTime.
		for round, eventTime := range []int64{first, first, first + 60000} {
			var wg sync.WaitGroup
			for _, replica := range []string{a.CallbackURL, b.CallbackURL} {
				wg.Go(func() {
					if ans := destroy(replica, chs[i], eventTime); !ans.ok() {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("%s round %d: %d %+v %v", chs[i].Name, round, ans.status, ans.Answer, ans.err))
						mu.Unlock()
					}
				})
			}
			wg.Wait()
		}
	})
	for _, s := range bad {
		t.Errorf("error answer: %s", s)
	}

	testenv.EventuallyWithin(t, waitTimeout, func() error {
		for _, ch := range chs {
			if p := env.Channel(t, ch).Status.Phase; p != chatv1alpha1.PhaseCleanedUp {
				return fmt.Errorf("%s phase %q", ch.Name, p)
			}
		}
		return nil
	})
	// Events are sent apart from the status write: wait until every one the
	// cleanup emits has arrived, then count them.
	testenv.EventuallyWithin(t, waitTimeout, func() error {
		for _, ch := range chs {
			for _, reason := range []string{"DestructionRecorded", "CleanupStarted", "CleanedUp"} {
				if eventCount(t, ch, reason) == 0 {
					return fmt.Errorf("%s: no %s Event yet", ch.Name, reason)
				}
			}
		}
		return nil
	})
	for _, ch := range chs {
		got := env.Channel(t, ch)
		if got.Status.Destruction.EventTime != first {
			t.Errorf("%s: recorded EventTime %d, want the first one %d", ch.Name, got.Status.Destruction.EventTime, first)
		}
		if got.Status.Cleanup.Deleted != 3 {
			t.Errorf("%s: cleanup deleted %d, want 3", ch.Name, got.Status.Cleanup.Deleted)
		}
		for _, reason := range []string{"DestructionRecorded", "CleanupStarted", "CleanedUp"} {
			if c := eventCount(t, ch, reason); c != 1 {
				t.Errorf("%s: %d %s events, want 1", ch.Name, c, reason)
			}
		}
	}
}
