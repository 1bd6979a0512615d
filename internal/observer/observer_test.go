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

package observer

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/chatapi/fakechat"
	"github.com/channel-operator/channel-operator/internal/destruction"
)

const (
	app      int64 = 1400000001
	otherApp int64 = 1400000002 // no credentials
	key            = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
)

// setup serves app from a fake Chat with accounts live accounts, and a
// cache-like reader holding one OfficialChannel per account plus the given
// extra channels.
func setup(t *testing.T, accounts int, extra ...*chatv1alpha1.OfficialChannel) (*Observer, *fakechat.Server) {
	t.Helper()
	chat, err := fakechat.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(chat.Close)
	chat.AddApp(app, key)
	scheme := runtime.NewScheme()
	if err := chatv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme).
		WithIndex(&chatv1alpha1.OfficialChannel{}, destruction.ChannelIndex, destruction.IndexChannel)
	for i := range accounts {
		account := chat.CreateAccount(app, chatapi.AccountInfo{Account: fmt.Sprintf("@TOA#_bot%d", i), Name: "bot"})
		b = b.WithObjects(channel(fmt.Sprintf("bot%d", i), app, account))
	}
	for _, ch := range extra {
		b = b.WithObjects(ch)
	}
	creds := &Credentials{Log: logr.Discard()}
	creds.SecretChanged(&corev1.Secret{Data: map[string][]byte{
		strconv.FormatInt(app, 10) + ".secretKey": []byte(key),
		strconv.FormatInt(app, 10) + ".endpoint":  []byte(chat.URL()),
	}})
	o := New(chatapi.NewClient(chatapi.ClientOptions{QPS: 200}), creds, b.Build(), time.Hour)
	o.Linger = time.Millisecond
	return o, chat
}

func channel(name string, sdkAppID int64, account string) *chatv1alpha1.OfficialChannel {
	return &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Namespace: "bots", Name: name},
		Spec: chatv1alpha1.OfficialChannelSpec{SDKAppID: sdkAppID, OfficialAccountID: account}}
}

// run starts o as the leader would and stops it at the end of the test.
func run(t *testing.T, o *Observer) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = o.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ctx
}

// drain counts wake-ups until want came or the deadline passed.
func drain(t *testing.T, o *Observer, want int) map[string]int {
	t.Helper()
	got := map[string]int{}
	n := 0
	deadline := time.After(time.Minute)
	for n < want {
		select {
		case ev := <-o.Events():
			got[client.ObjectKeyFromObject(ev.Object).String()]++
			n++
		case <-deadline:
			t.Fatalf("%d wake-ups of %d", n, want)
		}
	}
	return got
}

// A sweep of 500 channels asks in full batches: 10 calls, never more than
// 50 accounts in one, and every channel is woken once with its answer. A
// channel of an app without credentials and one already confirmed destroyed
// are not asked about.
func TestSweepAsksInFullBatches(t *testing.T) {
	confirmed := channel("done", app, "@TOA#_done")
	at := metav1.Now()
	confirmed.Status.Destruction = &chatv1alpha1.Destruction{EventTime: 1, ReceivedAt: at, ConfirmedAt: &at}
	o, chat := setup(t, 500, channel("plain", otherApp, "@TOA#_plain"), confirmed)
	// Time enough for the sweep to queue all 500 before the worker's first
	// take, on a loaded machine too: the batches are the subject, not the wait.
	o.Linger = time.Second
	ctx := run(t, o)
	o.sweep(ctx, logr.Discard())
	woken := drain(t, o, 500)
	if len(woken) != 500 {
		t.Fatalf("%d channels woken, want 500", len(woken))
	}
	if calls, most := chat.Calls(), chat.MaxBatchSeen(); calls != 10 || most != chatapi.MaxBatch {
		t.Fatalf("%d calls with at most %d accounts each; want 10 full batches", calls, most)
	}
	if chat.CallsFor(otherApp) != 0 || chat.AccountsAsked() != 500 {
		t.Fatalf("asked about %d accounts (%d calls for the app without credentials)", chat.AccountsAsked(), chat.CallsFor(otherApp))
	}
	obs, ok := o.latest(app, "@TOA#_bot7")
	if !ok || obs.Info == nil || obs.Gone || obs.Err != nil || obs.Asked.IsZero() || obs.At.Before(obs.Asked) {
		t.Fatalf("latest observation of bot7: %+v, %v", obs, ok)
	}
	if _, ok := o.latest(app, "@TOA#_done"); ok {
		t.Fatal("a confirmed destroyed channel was observed")
	}
}

// The resync runs on its own, every interval.
func TestResyncRunsEveryInterval(t *testing.T) {
	o, chat := setup(t, 3)
	o.Resync = 100 * time.Millisecond
	run(t, o)
	drain(t, o, 9) // three sweeps' answers
	if chat.Calls() < 3 {
		t.Fatalf("%d calls after three sweeps", chat.Calls())
	}
}

// Requests for the same account while one is queued are one request; a
// failure counts up and its retry backs off.
func TestRequestsAndFailures(t *testing.T) {
	o, chat := setup(t, 1)
	chat.SetFailure(fakechat.FailInternal)
	for range 5 {
		o.requestUnlessPaused(app, "@TOA#_bot0")
	}
	run(t, o)
	drain(t, o, 1)
	obs, _ := o.latest(app, "@TOA#_bot0")
	if obs.Err == nil || obs.Err.Reason != chatapi.ReasonUnreachable || obs.Failures != 1 || obs.RetryAfter() != 5*time.Second {
		t.Fatalf("after a failure: %+v (retry after %s)", obs, obs.RetryAfter())
	}
	o.requestUnlessPaused(app, "@TOA#_bot0")
	drain(t, o, 1)
	if obs, _ = o.latest(app, "@TOA#_bot0"); obs.Failures != 2 || obs.RetryAfter() != 10*time.Second {
		t.Fatalf("after two failures: %+v", obs)
	}
	chat.ClearFailure()
	o.requestUnlessPaused(app, "@TOA#_bot0")
	drain(t, o, 1)
	if obs, _ = o.latest(app, "@TOA#_bot0"); obs.Err != nil || obs.Failures != 0 || obs.RetryAfter() != 0 {
		t.Fatalf("after a success: %+v", obs)
	}
}

// Only an answer asked after a question arose may decide it. since is
// stored to the second, so an answer asked within that second counts only
// if asked after this process first saw the question; after the second, it
// counts. Each question has its own first sighting, forgotten once settled.
func TestAskedAfter(t *testing.T) {
	o := New(nil, &Credentials{}, nil, time.Hour)
	since := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) // as status stores it
	within := Observation{Asked: since.Add(500 * time.Millisecond)}
	// First sighting now (long after since): the answer within since's
	// second predates it.
	if o.askedAfter(app, "@TOA#_x", "report-1", within, since) {
		t.Fatal("an answer asked within the question's second, before the question was seen, decides it")
	}
	if !o.askedAfter(app, "@TOA#_x", "report-1", Observation{Asked: since.Add(time.Second)}, since) {
		t.Fatal("an answer asked after the question's second does not decide it")
	}
	if !o.askedAfter(app, "@TOA#_x", "report-1", Observation{Asked: time.Now().Add(time.Millisecond)}, time.Now()) {
		t.Fatal("an answer asked after the question was seen does not decide it")
	}
	// Another question of the same account is seen on its own.
	late := time.Now().Add(time.Hour)
	if o.askedAfter(app, "@TOA#_x", "report-2", Observation{Asked: time.Now()}, late) {
		t.Fatal("an answer decides a question that arose after it was asked")
	}
	o.settle(app, "@TOA#_x", "report-1")
	o.settle(app, "@TOA#_x", "report-2")
	if n := len(o.questions); n != 0 {
		t.Fatalf("%d questions remembered after they were settled", n)
	}
}

// Each verdict from what the observer holds: no credentials, no answer, an
// answer too old for the question, a failure (current or older than the
// question, in back-off or not), the account gone or there. A Gone or Exists
// verdict settles its question; a verdict that waits asks for an answer.
func TestVerdict(t *testing.T) {
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	reported := created.Add(time.Hour)
	fresh := func(r chatapi.Result) *Observation {
		return &Observation{Result: r, Asked: reported.Add(2 * time.Second)}
	}
	failure := &chatapi.Error{Reason: chatapi.ReasonUnreachable, Message: "down"}
	for _, tc := range []struct {
		name       string
		app        int64
		report     bool
		confirmed  bool
		obs        *Observation
		want       Answer
		asks       bool // a new observation is queued
		retry      bool // RetryAt is set
		unanswered bool
	}{
		{name: "no credentials", app: otherApp, report: true, want: NoCredentials, unanswered: true},
		{name: "no answer yet", want: Pending, asks: true},
		{name: "report, no answer yet", report: true, want: Pending, asks: true},
		{name: "report, answer before it", report: true,
			obs:  &Observation{Result: chatapi.Result{Info: &chatapi.AccountInfo{}}, Asked: reported.Add(-time.Minute)},
			want: Pending, asks: true},
		{name: "gone, asked before the channel existed",
			obs: &Observation{Result: chatapi.Result{Gone: true}, Asked: created.Add(-time.Minute)}, want: Pending, asks: true},
		{name: "exists, no report: any answer", obs: &Observation{Result: chatapi.Result{Info: &chatapi.AccountInfo{}},
			Asked: created.Add(-time.Minute)}, want: Exists},
		{name: "report, gone after it", report: true, obs: fresh(chatapi.Result{Gone: true}), want: Gone},
		{name: "no report, gone after creation", obs: fresh(chatapi.Result{Gone: true}), want: Gone},
		{name: "report, exists after it", report: true, obs: fresh(chatapi.Result{Info: &chatapi.AccountInfo{}}), want: Exists},
		{name: "report, failed after it, in back-off", report: true,
			obs:  &Observation{Result: chatapi.Result{Err: failure, At: time.Now()}, Asked: time.Now(), Failures: 1},
			want: Failed, retry: true, unanswered: true},
		{name: "report, failed after it, back-off over", report: true,
			obs: &Observation{Result: chatapi.Result{Err: failure, At: reported.Add(2 * time.Second)},
				Asked: reported.Add(2 * time.Second), Failures: 1},
			want: Failed, asks: true, unanswered: true},
		{name: "report, failed before it", report: true,
			obs:  &Observation{Result: chatapi.Result{Err: failure, At: reported.Add(-time.Minute)}, Asked: reported.Add(-time.Minute), Failures: 1},
			want: Failed, asks: true},
		{name: "confirmed: nothing to ask", report: true, confirmed: true, want: Gone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, _ := setup(t, 0)
			appID := app
			if tc.app != 0 {
				appID = tc.app
			}
			ch := channel("news", appID, "@TOA#_news")
			ch.UID, ch.CreationTimestamp = "uid-news", metav1.NewTime(created)
			if tc.report {
				ch.Status.Destruction = &chatv1alpha1.Destruction{EventTime: 1, ReceivedAt: metav1.NewTime(reported)}
				if tc.confirmed {
					at := metav1.NewTime(reported)
					ch.Status.Destruction.ConfirmedAt = &at
				}
			}
			if tc.obs != nil {
				o.answers[destruction.Key(appID, "@TOA#_news")] = *tc.obs
			}
			v := o.Verdict(ch)
			if v.Answer != tc.want || v.Unanswerable() != tc.unanswered || v.RetryAt.IsZero() == tc.retry {
				t.Fatalf("verdict %v (unanswerable %v, retry at %v), want %v (unanswerable %v, retry %v)",
					v.Answer, v.Unanswerable(), v.RetryAt, tc.want, tc.unanswered, tc.retry)
			}
			if queued := len(o.queues[appID].queuedOrNil()); (queued == 1) != tc.asks {
				t.Fatalf("%d observations queued, asks %v", queued, tc.asks)
			}
			if tc.want == Gone || tc.want == Exists {
				if n := len(o.questions); n != 0 {
					t.Fatalf("%d questions remembered after a verdict settled one", n)
				}
			}
		})
	}
}

func (q *queue) queuedOrNil() map[string]struct{} {
	if q == nil {
		return nil
	}
	return q.queued
}

// The observer follows its credentials by itself: a change of them ends
// every pause and wakes the resync loop.
func TestNewCredentialsKickTheObserver(t *testing.T) {
	creds := &Credentials{Log: logr.Discard()}
	o := New(nil, creds, nil, time.Hour)
	o.paused[app] = time.Now().Add(time.Hour)
	creds.SecretChanged(nil)
	select {
	case <-o.kick:
	default:
		t.Fatal("a change of the credentials did not kick the observer")
	}
	if len(o.paused) != 0 {
		t.Fatalf("pauses after new credentials: %v", o.paused)
	}
}
