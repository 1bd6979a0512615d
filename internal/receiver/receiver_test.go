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
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
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

const documentedAccount = "@TOA#_test_OA_for_penn"
const documentedEventTime = 1670574414123

// The documented destroyed sample, signed with the app's token, turns the
// matching OfficialChannel's phase to Destroyed with the sample's EventTime.
func TestSignedDocumentedSampleRecordsDestruction(t *testing.T) {
	ns := env.Namespace(t, "documented")
	ch := newChannel(t, ns, "penn", signedApp, documentedAccount)

	a := post(t, callbackURL(signedApp, testToken, callback.CommandDestroyed), sample(t, "destroyed.json"))
	if a.status != http.StatusOK || a.ActionStatus != "OK" || a.ErrorCode != 0 {
		t.Fatalf("answer = %+v", a)
	}

	// Written before the answer: no waiting.
	got := get(t, ch)
	st := got.Status
	if st.Phase != chatv1alpha1.PhaseDestroyed || st.DestroyedAt != "2022-12-09T08:26:54.123Z" {
		t.Fatalf("phase %q destroyedAt %q", st.Phase, st.DestroyedAt)
	}
	d := st.Destruction
	if d == nil || d.EventTime != documentedEventTime || d.OwnerAccount != "107867" || d.Name != "TestOfficialAccount" ||
		d.ClientIP != "203.0.113.7" || d.OptPlatform != "RESTAPI" || d.ReceivedAt.IsZero() {
		t.Fatalf("destruction = %+v", d)
	}
	c := meta.FindStatusCondition(st.Conditions, chatv1alpha1.ConditionDestroyed)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != chatv1alpha1.ReasonCallbackReceived || c.ObservedGeneration != got.Generation {
		t.Fatalf("Destroyed condition = %+v", c)
	}
}

func TestBadRequestsAreRefusedAndWriteNothing(t *testing.T) {
	ns := env.Namespace(t, "refused")
	account := "@TOA#_refused"
	ch := newChannel(t, ns, "refused", signedApp, account)
	body := destroyedBody(t, account, 1700000000000)
	good := func(mods ...func(url.Values)) string {
		return callbackURL(signedApp, testToken, callback.CommandDestroyed, mods...)
	}
	set := func(k, v string) func(url.Values) { return func(q url.Values) { q.Set(k, v) } }
	add := func(k, v string) func(url.Values) { return func(q url.Values) { q.Add(k, v) } }
	del := func(k string) func(url.Values) { return func(q url.Values) { q.Del(k) } }
	signedAt := func(at time.Time) func(url.Values) {
		return func(q url.Values) {
			rt := strconv.FormatInt(at.Unix(), 10)
			q.Set(callback.ParamRequestTime, rt)
			q.Set(callback.ParamSign, callback.Sign(testToken, rt))
		}
	}

	tests := []struct {
		name        string
		method      string
		url         string
		body        []byte
		contentType string
		chunked     bool
		want        int
	}{
		{name: "GET", method: http.MethodGet, url: good(), want: http.StatusMethodNotAllowed},
		{name: "PUT", method: http.MethodPut, url: good(), body: body, want: http.StatusMethodNotAllowed},
		{name: "body over 64 KiB", url: good(), body: padded(body, callback.MaxBodyBytes+1), want: http.StatusRequestEntityTooLarge},
		{name: "chunked body over 64 KiB", url: good(), body: padded(body, callback.MaxBodyBytes+1), chunked: true, want: http.StatusRequestEntityTooLarge},
		{name: "too large wins over unknown app", url: good(set(callback.ParamSDKAppID, "42")), body: padded(body, 2*callback.MaxBodyBytes), want: http.StatusRequestEntityTooLarge},
		{name: "SdkAppid missing", url: good(del(callback.ParamSDKAppID)), body: body, want: http.StatusForbidden},
		{name: "SdkAppid unknown", url: good(set(callback.ParamSDKAppID, "1400009999")), body: body, want: http.StatusForbidden},
		{name: "SdkAppid twice", url: good(add(callback.ParamSDKAppID, "1400009999")), body: body, want: http.StatusForbidden},
		{name: "SdkAppid not a number", url: good(set(callback.ParamSDKAppID, "penn")), body: body, want: http.StatusForbidden},
		{name: "forged Sign", url: good(set(callback.ParamSign, callback.Sign("guessed", "1"))), body: body, want: http.StatusUnauthorized},
		{name: "Sign missing", url: good(del(callback.ParamSign)), body: body, want: http.StatusUnauthorized},
		{name: "RequestTime missing", url: good(del(callback.ParamRequestTime)), body: body, want: http.StatusUnauthorized},
		{name: "Sign twice", url: good(add(callback.ParamSign, "00")), body: body, want: http.StatusUnauthorized},
		{name: "replayed 61 s later", url: good(signedAt(time.Now().Add(-61 * time.Second))), body: body, want: http.StatusUnauthorized},
		{name: "RequestTime from the future", url: good(signedAt(time.Now().Add(90 * time.Second))), body: body, want: http.StatusUnauthorized},
		{name: "unsigned app without --allow-unsigned-callbacks", url: callbackURL(unsignedApp, "", callback.CommandDestroyed), body: body, want: http.StatusUnauthorized},
		{name: "unauthorized wins over bad body", url: good(del(callback.ParamSign)), body: []byte("nonsense"), want: http.StatusUnauthorized},
		{name: "body not JSON", url: good(), body: []byte("CallbackCommand=x"), want: http.StatusBadRequest},
		{name: "body empty", url: good(), body: nil, want: http.StatusBadRequest},
		{name: "body JSON array", url: good(), body: []byte(`[` + string(body) + `]`), want: http.StatusBadRequest},
		{name: "deeply nested JSON", url: good(), body: []byte(strings.Repeat("[", 30000) + strings.Repeat("]", 30000)), want: http.StatusBadRequest},
		{name: "body command differs from query", url: good(set(callback.ParamCommand, callback.CommandAfterCreate)), body: body, want: http.StatusBadRequest},
		{name: "query command missing", url: good(del(callback.ParamCommand)), body: body, want: http.StatusBadRequest},
		{name: "query command twice", url: good(add(callback.ParamCommand, callback.CommandDestroyed)), body: body, want: http.StatusBadRequest},
		{name: "contenttype not json", url: good(set(callback.ParamContentType, "xml")), body: body, want: http.StatusBadRequest},
		{name: "Content-Type XML", url: good(), body: body, contentType: "application/xml", want: http.StatusBadRequest},
		{name: "Official_Account malformed", url: good(), body: destroyedBody(t, "news", 1700000000000), want: http.StatusBadRequest},
		{name: "EventTime missing", url: good(), body: []byte(`{"CallbackCommand":"` + callback.CommandDestroyed + `","Official_Account":"` + account + `"}`), want: http.StatusBadRequest},
	}
	before := get(t, ch)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			var reader = bytes.NewReader(tt.body)
			req, err := http.NewRequest(method, tt.url, reader)
			if err != nil {
				t.Fatal(err)
			}
			if tt.chunked {
				req.ContentLength = -1 // sent chunked: the size is only known by reading
				req.Body = io.NopCloser(struct{ io.Reader }{reader})
			}
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			a := do(t, req)
			if a.status != tt.want || a.ActionStatus != callback.StatusFail || a.ErrorCode != tt.want || a.ErrorInfo == "" {
				t.Fatalf("answer = %+v, want %d FAIL with a reason", a, tt.want)
			}
			after := get(t, ch)
			if after.ResourceVersion != before.ResourceVersion || after.Status.Destruction != nil {
				t.Fatalf("a refused callback changed the OfficialChannel: %+v", after.Status)
			}
			if hasPending(t, signedApp, account) {
				t.Fatal("a refused callback kept a pending destruction")
			}
		})
	}
}

// padded makes a body of n bytes by adding spaces, still a valid JSON object.
func padded(body []byte, n int) []byte {
	return append(bytes.Repeat([]byte(" "), n-len(body)), body...)
}

func TestOptPlatformIsAFreeString(t *testing.T) {
	ns := env.Namespace(t, "platform")
	for i, platform := range []string{"IOS", "iOS", "HarmonyOS", ""} {
		account := fmt.Sprintf("@TOA#_platform_%d", i)
		ch := newChannel(t, ns, fmt.Sprintf("p%d", i), signedApp, account)
		a := post(t, callbackURL(signedApp, testToken, callback.CommandDestroyed, func(v url.Values) {
			v.Set(callback.ParamOptPlatform, platform)
		}), destroyedBody(t, account, 1700000000000))
		if a.status != http.StatusOK {
			t.Fatalf("OptPlatform %q: answer %+v", platform, a)
		}
		if got := get(t, ch).Status.Destruction; got == nil || got.OptPlatform != platform {
			t.Fatalf("OptPlatform %q: destruction %+v", platform, got)
		}
	}
}

func TestOtherCommandsAreAnsweredOKAndCounted(t *testing.T) {
	ns := env.Namespace(t, "other")
	ch := newChannel(t, ns, "penn-other", signedApp, "@TOA#_other_commands")

	for _, tt := range []struct {
		command, label string
		body           []byte
	}{
		{callback.CommandAfterCreate, callback.CommandAfterCreate, sample(t, "created.json")},
		{callback.CommandInfoChanged, callback.CommandInfoChanged, sample(t, "info-changed.json")},
		{"OfficialAccount.CallbackSomethingNew", otherCommand, []byte(`{"CallbackCommand":"OfficialAccount.CallbackSomethingNew","EventTime":1}`)},
	} {
		counter := callbacksTotal.WithLabelValues(tt.label, resultIgnored)
		before := testutil.ToFloat64(counter)
		a := post(t, callbackURL(signedApp, testToken, tt.command), tt.body)
		if a.status != http.StatusOK || a.ActionStatus != callback.StatusOK {
			t.Fatalf("%s: answer %+v", tt.command, a)
		}
		if got := testutil.ToFloat64(counter); got != before+1 {
			t.Fatalf("%s: counter %s/%s went %v -> %v", tt.command, tt.label, resultIgnored, before, got)
		}
	}
	if got := get(t, ch); got.ResourceVersion != ch.ResourceVersion {
		t.Fatalf("a command the operator does not act on changed the OfficialChannel: %+v", got.Status)
	}
}

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
		if got := get(t, ch); got.Status.Phase != chatv1alpha1.PhaseDestroyed || got.Status.DestroyedAt != "2023-11-14T22:13:20.123Z" {
			t.Fatalf("%s/%s: status %+v", ch.Namespace, ch.Name, got.Status)
		}
	}
	if got := get(t, other); got.Status.Destruction != nil {
		t.Fatalf("the same channel ID of another app was marked destroyed: %+v", got.Status)
	}
}

func TestDuplicatesAndOutOfOrderRepeatsChangeNothing(t *testing.T) {
	ns := env.Namespace(t, "dups")
	account := "@TOA#_dups"
	ch := newChannel(t, ns, "dups", signedApp, account)
	const first = int64(1700000005000)

	if a := post(t, callbackURL(signedApp, testToken, callback.CommandDestroyed), destroyedBody(t, account, first)); a.status != http.StatusOK {
		t.Fatalf("answer %+v", a)
	}
	recorded := get(t, ch)
	if recorded.Status.Destruction == nil {
		t.Fatal("the first destruction was answered OK but not recorded")
	}
	for _, eventTime := range []int64{first, first, first - 60000, first + 60000} {
		a := post(t, callbackURL(signedApp, testToken, callback.CommandDestroyed), destroyedBody(t, account, eventTime))
		if a.status != http.StatusOK || a.ActionStatus != callback.StatusOK {
			t.Fatalf("repeat with EventTime %d: answer %+v", eventTime, a)
		}
		got := get(t, ch)
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
	key := client.ObjectKey{Namespace: testenv.OperatorNamespace, Name: secretName}
	if err := env.Client.Get(ctx, key, secret); err != nil {
		t.Fatal(err)
	}
	secret.Data[strconv.FormatInt(rotatingApp, 10)] = []byte("second-token")
	if err := env.Client.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	// Probe with a command the receiver does not act on, so that nothing is
	// recorded while the change propagates.
	eventually(t, func() error {
		if a := post(t, callbackURL(rotatingApp, "first-token", callback.CommandAfterCreate), sample(t, "created.json")); a.status != http.StatusUnauthorized {
			return fmt.Errorf("old token: answer %+v", a)
		}
		return nil
	})
	if a := post(t, callbackURL(rotatingApp, "first-token", callback.CommandDestroyed), body); a.status != http.StatusUnauthorized {
		t.Fatalf("old token after the change: answer %+v", a)
	}
	if got := get(t, ch); got.Status.Destruction != nil {
		t.Fatal("a callback signed with the old token was recorded")
	}
	if a := post(t, callbackURL(rotatingApp, "second-token", callback.CommandDestroyed), body); a.status != http.StatusOK {
		t.Fatalf("new token: answer %+v", a)
	}
	if got := get(t, ch); got.Status.Destruction == nil {
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
	eventually(t, func() error {
		if a := post(t, callbackURL(rotatingApp, "second-token", callback.CommandDestroyed), body); a.status != http.StatusForbidden {
			return fmt.Errorf("removed app: answer %+v", a)
		}
		return nil
	})
}

// A status write made by the reconciler between the receiver's read and its
// write is kept: the receiver's write conflicts, and it applies the
// destruction to a fresh copy.
func TestConcurrentStatusWriteIsPreserved(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "concurrent")
	account := "@TOA#_concurrent"
	ch := newChannel(t, ns, "concurrent", signedApp, account)

	var patches, conflicts atomic.Int32
	base, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	racing := interceptor.NewClient(base, interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
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
			err := c.SubResource(sub).Patch(ctx, obj, patch, opts...)
			if apierrors.IsConflict(err) {
				conflicts.Add(1)
			}
			return err
		},
	})
	w := &destruction.Recorder{Cache: recorder.Cache, API: recorder.API, Client: racing, Pending: pending}
	out, err := w.Record(ctx, destruction.Record{SDKAppID: signedApp, OfficialAccountID: account,
		Destruction: chatv1alpha1.Destruction{EventTime: 1700000001000, ReceivedAt: metav1.Now()}})
	if err != nil || out.Recorded != 1 {
		t.Fatalf("Record = %+v, %v", out, err)
	}
	if conflicts.Load() != 1 || patches.Load() != 2 {
		t.Fatalf("patches %d, conflicts %d: want the first write to conflict and the second to land", patches.Load(), conflicts.Load())
	}
	got := get(t, ch)
	if got.Status.Destruction == nil || got.Status.Destruction.EventTime != 1700000001000 {
		t.Fatalf("destruction lost: %+v", got.Status)
	}
	if got.Status.Cleanup == nil || got.Status.Cleanup.Message != "written by the reconciler" {
		t.Fatalf("the reconciler's concurrent write was lost: %+v", got.Status)
	}
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
	if got := get(t, ch); got.Status.Destruction != nil {
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
	r.inflight <- struct{}{} // one callback in flight
	a := serve(t, r, callbackURL(signedApp, testToken, callback.CommandDestroyed), destroyedBody(t, "@TOA#_overload", 1))
	if a.status != http.StatusServiceUnavailable {
		t.Fatalf("answer %+v, want 503", a)
	}
	<-r.inflight
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
	rec := newRecorder()
	r.ServeHTTP(rec, req)
	return rec.answer(t)
}

// Answer latency on the local control plane, for the record (the benchmark
// issue makes it formal): every answer OK and every channel recorded.
func TestAnswerLatency(t *testing.T) {
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
	eventually(t, func() error {
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
