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
	obs, ok := o.Latest(app, "@TOA#_bot7")
	if !ok || obs.Info == nil || obs.Gone || obs.Err != nil || obs.Asked.IsZero() || obs.At.Before(obs.Asked) {
		t.Fatalf("latest observation of bot7: %+v, %v", obs, ok)
	}
	if _, ok := o.Latest(app, "@TOA#_done"); ok {
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
		o.Request(app, "@TOA#_bot0")
	}
	run(t, o)
	drain(t, o, 1)
	obs, _ := o.Latest(app, "@TOA#_bot0")
	if obs.Err == nil || obs.Err.Reason != chatapi.ReasonUnreachable || obs.Failures != 1 || obs.RetryAfter() != 5*time.Second {
		t.Fatalf("after a failure: %+v (retry after %s)", obs, obs.RetryAfter())
	}
	o.Request(app, "@TOA#_bot0")
	drain(t, o, 1)
	if obs, _ = o.Latest(app, "@TOA#_bot0"); obs.Failures != 2 || obs.RetryAfter() != 10*time.Second {
		t.Fatalf("after two failures: %+v", obs)
	}
	chat.ClearFailure()
	o.Request(app, "@TOA#_bot0")
	drain(t, o, 1)
	if obs, _ = o.Latest(app, "@TOA#_bot0"); obs.Err != nil || obs.Failures != 0 || obs.RetryAfter() != 0 {
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
	if o.AskedAfter(app, "@TOA#_x", "report-1", within, since) {
		t.Fatal("an answer asked within the question's second, before the question was seen, decides it")
	}
	if !o.AskedAfter(app, "@TOA#_x", "report-1", Observation{Asked: since.Add(time.Second)}, since) {
		t.Fatal("an answer asked after the question's second does not decide it")
	}
	if !o.AskedAfter(app, "@TOA#_x", "report-1", Observation{Asked: time.Now().Add(time.Millisecond)}, time.Now()) {
		t.Fatal("an answer asked after the question was seen does not decide it")
	}
	// Another question of the same account is seen on its own.
	late := time.Now().Add(time.Hour)
	if o.AskedAfter(app, "@TOA#_x", "report-2", Observation{Asked: time.Now()}, late) {
		t.Fatal("an answer decides a question that arose after it was asked")
	}
	o.Settled(app, "@TOA#_x", "report-1")
	o.Settled(app, "@TOA#_x", "report-2")
	if n := len(o.questions); n != 0 {
		t.Fatalf("%d questions remembered after they were settled", n)
	}
}
