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

package receiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/internal/status"
	"github.com/channel-operator/channel-operator/test/testenv"
)

func TestChannelInTwoNamespacesIsRecordedInBoth(t *testing.T) {
	account := "@TOA#_two_namespaces"
	a := newChannel(t, env.Namespace(t, "team-a"), "news", signedApp, account)
	b := newChannel(t, env.Namespace(t, "team-b"), "news-mirror", signedApp, account)
	// Same channel ID, another app: not the same channel.
	other := newChannel(t, env.Namespace(t, "team-c"), "news", unsignedApp, account)

	ans := post(t, callbackURL(signedApp, testToken, callback.CommandDestroyed), destroyedBody(t, account, 1700000000123))
	if ans.status != http.StatusOK {
		t.Fatalf("answer %+v", ans)
	}
	for _, ch := range []*chatv1alpha1.OfficialChannel{a, b} {
		if got := env.Channel(
			t,
			ch,
		); got.Status.Phase != chatv1alpha1.PhaseDestroyed ||
			got.Status.DestroyedAt != "2023-11-14T22:13:20.123Z" {
			t.Fatalf("%s/%s: status %+v", ch.Namespace, ch.Name, got.Status)
		}
	}
	if got := env.Channel(t, other); got.Status.Destruction != nil {
		t.Fatalf("the same channel ID of another app was marked destroyed: %+v", got.Status)
	}
}

func TestDuplicatesAndOutOfOrderRepeatsChangeNothing(t *testing.T) {
	ns := env.Namespace(t, "dups")
	account := "@TOA#_dups"
	ch := newChannel(t, ns, "dups", signedApp, account)
	const first = int64(1700000005000)

	if a := post(
		t,
		callbackURL(signedApp, testToken, callback.CommandDestroyed),
		destroyedBody(t, account, first),
	); a.status != http.StatusOK {
		t.Fatalf("answer %+v", a)
	}
	recorded := env.Channel(t, ch)
	if recorded.Status.Destruction == nil {
		t.Fatal("the first destruction was answered OK but not recorded")
	}
	for _, eventTime := range []int64{first, first, first - 60000, first + 60000} {
		a := post(t, callbackURL(signedApp, testToken, callback.CommandDestroyed), destroyedBody(t, account, eventTime))
		if a.status != http.StatusOK || a.ActionStatus != callback.StatusOK {
			t.Fatalf("repeat with EventTime %d: answer %+v", eventTime, a)
		}
		got := env.Channel(t, ch)
		if got.ResourceVersion != recorded.ResourceVersion || got.Status.Destruction == nil ||
			*got.Status.Destruction != *recorded.Status.Destruction || got.Status.DestroyedAt != status.FormatEventTime(first) {
			t.Fatalf("repeat with EventTime %d changed the destruction: %+v", eventTime, got.Status.Destruction)
		}
	}
}

// A destruction no OfficialChannel matches is kept, under its own app, and
// answered OK (internal/destruction hands it to a channel created later).
func TestUnmatchedDestructionIsKept(t *testing.T) {
	account := "@TOA#_early_bird"
	a := post(t, callbackURL(signedApp, testToken, callback.CommandDestroyed), destroyedBody(t, account, 1700000009000))
	if a.status != http.StatusOK || a.ActionStatus != callback.StatusOK {
		t.Fatalf("answer %+v", a)
	}
	rec, err := pending.Get(context.Background(), signedApp, account, time.Now())
	if err != nil || rec == nil {
		t.Fatalf("no pending destruction kept for a channel without OfficialChannel: %v", err)
	}
	if rec.Destruction.EventTime != 1700000009000 || rec.Destruction.ClientIP != "203.0.113.7" {
		t.Fatalf("kept %+v", rec)
	}
	// Another app's channel of the same ID is not affected.
	if hasPending(t, unsignedApp, account) {
		t.Fatal("pending destruction kept under the wrong app")
	}
}

func TestTokenChangeIsHonouredWithoutRestart(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "rotate")
	account := "@TOA#_rotate"
	ch := newChannel(t, ns, "rotate", rotatingApp, account)
	body := destroyedBody(t, account, 1700000007000)

	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: testenv.OperatorNamespace, Name: SecretName}
	if err := env.Client.Get(ctx, key, secret); err != nil {
		t.Fatal(err)
	}
	secret.Data[strconv.FormatInt(rotatingApp, 10)] = []byte("second-token")
	if err := env.Client.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	// Probe with a command the receiver does not act on, so that nothing is
	// recorded while the change propagates.
	testenv.Eventually(t, func() error {
		if a := post(
			t,
			callbackURL(rotatingApp, "first-token", callback.CommandAfterCreate),
			sample(t, "created.json"),
		); a.status != http.StatusUnauthorized {
			return fmt.Errorf("old token: answer %+v", a)
		}
		return nil
	})
	if a := post(t, callbackURL(rotatingApp, "first-token", callback.CommandDestroyed), body); a.status != http.StatusUnauthorized {
		t.Fatalf("old token after the change: answer %+v", a)
	}
	if got := env.Channel(t, ch); got.Status.Destruction != nil {
		t.Fatal("a callback signed with the old token was recorded")
	}
	if a := post(t, callbackURL(rotatingApp, "second-token", callback.CommandDestroyed), body); a.status != http.StatusOK {
		t.Fatalf("new token: answer %+v", a)
	}
	if got := env.Channel(t, ch); got.Status.Destruction == nil {
		t.Fatal("a callback signed with the new token was not recorded")
	}

	// Removing the app from the Secret refuses it.
	if err := env.Client.Get(ctx, key, secret); err != nil {
		t.Fatal(err)
	}
	delete(secret.Data, strconv.FormatInt(rotatingApp, 10))
	if err := env.Client.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, func() error {
		if a := post(t, callbackURL(rotatingApp, "second-token", callback.CommandDestroyed), body); a.status != http.StatusForbidden {
			return fmt.Errorf("removed app: answer %+v", a)
		}
		return nil
	})
}

// A write that keeps failing is retried inside the answer budget, then
// answered FAIL with a 5xx: never OK.
func TestFailedWriteIsAnsweredFail(t *testing.T) {
	ns := env.Namespace(t, "failing")
	account := "@TOA#_failing"
	ch := newChannel(t, ns, "failing", signedApp, account)

	var attempts atomic.Int32
	base, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	failing := interceptor.NewClient(base, interceptor.Funcs{
		SubResourcePatch: func(context.Context, client.Client, string, client.Object, client.Patch, ...client.SubResourcePatchOption) error {
			attempts.Add(1)
			return apierrors.NewServiceUnavailable("etcd is having a bad day")
		},
	})
	opts := testOptions()
	opts.AnswerBudget = 400 * time.Millisecond
	r := New(opts, &destruction.Recorder{Cache: recorder.Cache, API: recorder.API, Client: failing, Pending: pending})
	r.tokens.Store(recv.tokens.Load())
	r.ready.Store(true)

	start := time.Now()
	a := serve(t, r, callbackURL(signedApp, testToken, callback.CommandDestroyed), destroyedBody(t, account, 1700000002000))
	elapsed := time.Since(start)
	if a.status < 500 || a.ActionStatus != callback.StatusFail {
		t.Fatalf("answer %+v, want FAIL with a 5xx", a)
	}
	if attempts.Load() < 2 {
		t.Fatalf("%d write attempts, want retries", attempts.Load())
	}
	if elapsed > 1500*time.Millisecond {
		t.Fatalf("answered after %s, beyond the 1.5 s ceiling", elapsed)
	}
	if got := env.Channel(t, ch); got.Status.Destruction != nil {
		t.Fatalf("status written despite failures: %+v", got.Status)
	}
}

func TestNotReadyAnswers503(t *testing.T) {
	r := New(testOptions(), recorder)
	r.tokens.Store(recv.tokens.Load())
	if err := r.ReadyCheck(nil); err == nil {
		t.Fatal("ReadyCheck passed before the caches synced")
	}
	a := serve(t, r, callbackURL(signedApp, testToken, callback.CommandDestroyed), destroyedBody(t, "@TOA#_not_ready", 1))
	if a.status != http.StatusServiceUnavailable || a.ActionStatus != callback.StatusFail {
		t.Fatalf("answer %+v, want 503 FAIL", a)
	}
}

func TestOverloadIsShedAt503(t *testing.T) {
	opts := testOptions()
	opts.MaxInflight = 1
	r := New(opts, recorder)
	r.tokens.Store(recv.tokens.Load())
	r.ready.Store(true)
	if !r.inflight.acquire(signedApp, 1) { // one callback in flight
		t.Fatal("no slot for the first callback")
	}
	a := serve(t, r, callbackURL(signedApp, testToken, callback.CommandDestroyed), destroyedBody(t, "@TOA#_overload", 1))
	if a.status != http.StatusServiceUnavailable {
		t.Fatalf("answer %+v, want 503", a)
	}
	r.inflight.release(signedApp)
	a = serve(t, r, callbackURL(signedApp, testToken, callback.CommandAfterCreate), sample(t, "created.json"))
	if a.status != http.StatusOK {
		t.Fatalf("answer after the load went %+v, want 200", a)
	}
}

// serve runs one request through r's handler, without a network.
func serve(t testing.TB, r *Receiver, u string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "192.0.2.1:40000" // as the server would set it
	rec := newRecorder()
	r.ServeHTTP(rec, req)
	return rec.answer(t)
}

// A hundred destructions in a row are each answered OK only once recorded.
// The latency figures are make bench's (docs/benchmarks.md); this only logs
// them.
func TestSequentialCallbacksAreAllRecorded(t *testing.T) {
	const n = 100
	ns := env.Namespace(t, "latency")
	for i := 0; i < n; i++ {
		ch := &chatv1alpha1.OfficialChannel{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("c%d", i)},
			Spec:       chatv1alpha1.OfficialChannelSpec{SDKAppID: signedApp, OfficialAccountID: fmt.Sprintf("@TOA#_latency_%d", i)},
		}
		if err := env.Client.Create(context.Background(), ch); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, func() error {
		list, err := destruction.ListCached(context.Background(), recorder.Cache, signedApp, fmt.Sprintf("@TOA#_latency_%d", n-1))
		if err != nil || len(list) == 0 {
			return errors.New("channels not cached yet")
		}
		return nil
	})
	durations := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		account := fmt.Sprintf("@TOA#_latency_%d", i)
		start := time.Now()
		a := post(t, callbackURL(signedApp, testToken, callback.CommandDestroyed), destroyedBody(t, account, 1700000000000+int64(i)))
		durations = append(durations, time.Since(start))
		if a.status != http.StatusOK {
			t.Fatalf("callback %d: %+v", i, a)
		}
	}
	var list chatv1alpha1.OfficialChannelList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, ch := range list.Items {
		if ch.Status.Destruction == nil {
			t.Fatalf("%s answered OK but not recorded", ch.Name)
		}
	}
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	t.Logf("answer latency over %d sequential callbacks: p50 %s, p99 %s, max %s", n,
		durations[n/2].Round(time.Microsecond), durations[n*99/100].Round(time.Microsecond), durations[n-1].Round(time.Microsecond))
}

// Deleting the callback Secret refuses every app; creating it again accepts
// them again, without a restart.
func TestDeletedCallbackSecretRefusesEveryApp(t *testing.T) {
	ctx := context.Background()
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: testenv.OperatorNamespace, Name: SecretName}
	if err := env.Client.Get(ctx, key, secret); err != nil {
		t.Fatal(err)
	}
	restore := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Data: secret.Data}
	if err := env.Client.Delete(ctx, secret); err != nil {
		t.Fatal(err)
	}
	probe := func(app int64, token string) int {
		return post(t, callbackURL(app, token, callback.CommandAfterCreate), sample(t, "created.json")).status
	}
	testenv.Eventually(t, func() error {
		for app, token := range map[int64]string{signedApp: testToken, unsignedApp: ""} {
			if s := probe(app, token); s != http.StatusForbidden {
				return fmt.Errorf("app %d answered %d with the Secret gone", app, s)
			}
		}
		return nil
	})
	if err := env.Client.Create(ctx, restore); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, func() error {
		if s := probe(signedApp, testToken); s != http.StatusOK {
			return fmt.Errorf("answered %d after the Secret came back", s)
		}
		return nil
	})
}

// An unmatched destruction its app's full share of the pending store cannot
// take is answered 503 FAIL, not OK: Chat may send it again.
func TestFullPendingStoreIsAnswered503(t *testing.T) {
	ctx := context.Background()
	full := &destruction.PendingStore{Client: env.Client, Namespace: env.Namespace(t, "full"), MaxRecords: 1, TTL: time.Hour}
	if err := full.Put(ctx, destruction.Record{SDKAppID: signedApp, OfficialAccountID: "@TOA#_fills_the_store",
		Destruction: chatv1alpha1.Destruction{EventTime: 1, ReceivedAt: metav1.Now()}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	r := New(testOptions(), &destruction.Recorder{Cache: recorder.Cache, API: recorder.API, Client: recorder.Client, Pending: full})
	r.tokens.Store(recv.tokens.Load())
	r.ready.Store(true)
	a := serve(t, r, callbackURL(signedApp, testToken, callback.CommandDestroyed), destroyedBody(t, "@TOA#_no_room", 1700000003000))
	if a.status != http.StatusServiceUnavailable || a.ActionStatus != callback.StatusFail {
		t.Fatalf("answer %+v, want 503 FAIL", a)
	}
	if rec, _ := full.Get(ctx, signedApp, "@TOA#_no_room", time.Now()); rec != nil {
		t.Fatal("a refused destruction was kept")
	}
}

// For an app whose REST API confirms destructions, the callback is
// recorded as a report (phase Reported, Destroyed Unknown) and answered OK at
// once: the answer path makes no REST call.
func TestDestructionOfAnAppWithCredentialsIsReported(t *testing.T) {
	ns := env.Namespace(t, "reported")
	ch := newChannel(t, ns, "penn", signedApp, "@TOA#_"+ns)
	confirms := func(app int64) bool { return app == signedApp }
	r := New(testOptions(), &destruction.Recorder{Cache: recorder.Cache, API: recorder.API, Client: recorder.Client,
		Pending: recorder.Pending, Confirms: confirms})
	r.tokens.Store(recv.tokens.Load())
	r.ready.Store(true)
	a := serve(
		t,
		r,
		callbackURL(signedApp, testToken, callback.CommandDestroyed),
		destroyedBody(t, ch.Spec.OfficialAccountID, 1700000004000),
	)
	if a.status != http.StatusOK {
		t.Fatalf("answer %+v", a)
	}
	got := env.Channel(t, ch)
	c := meta.FindStatusCondition(got.Status.Conditions, chatv1alpha1.ConditionDestroyed)
	d := got.Status.Destruction
	if got.Status.Phase != chatv1alpha1.PhaseReported || c == nil || c.Status != metav1.ConditionUnknown ||
		c.Reason != chatv1alpha1.ReasonReported || d == nil || d.Source != chatv1alpha1.SourceCallback || d.ConfirmedAt != nil {
		t.Fatalf("status %+v", got.Status)
	}
}
