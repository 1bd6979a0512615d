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

// Package observer asks the Chat REST API about the accounts of
// OfficialChannels, in batches across channels, and keeps the latest answer
// per account for the reconciler. It runs in the leader: every observation
// goes through one queue per app, so batching and the per-app rate limit hold
// however many channels ask at once. The reconciler never calls Chat itself:
// it asks the observer for a channel's Verdict, which answers from the latest
// observation or asks for a newer one, and is woken when the answer comes.
package observer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/internal/status"
)

// AccountGetter is the REST call; *chatapi.Client is the real one.
type AccountGetter interface {
	GetAccounts(ctx context.Context, creds chatapi.Credentials, accounts []string) []chatapi.Result
}

// Observation is the latest answer about one account.
type Observation struct {
	chatapi.Result
	// Asked is when the question was sent: the answer says how the account
	// was at some time after it.
	Asked time.Time
	// Failures counts the failed observations of the account in a row.
	Failures int
}

// RetryAfter is how long after a failed observation the next is asked for:
// 5 s, doubling with each failure in a row, at most 5 minutes.
func (o Observation) RetryAfter() time.Duration {
	if o.Err == nil {
		return 0
	}
	d := 5 * time.Second
	for i := 1; i < o.Failures && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// Defaults.
const (
	DefaultResyncInterval = 10 * time.Minute
	// linger lets requests that come together share a call.
	defaultLinger = 20 * time.Millisecond
	// maxWorkersPerApp bounds the calls of one app in flight: a hanging
	// call does not hold the others, and the rate limit still holds.
	maxWorkersPerApp = 4
	// pauseAfterRefusal is how long an app whose credentials Chat refused
	// is not asked about again, unless its credentials change.
	pauseAfterRefusal = 10 * time.Second
)

// Observer batches observations and remembers their answers.
type Observer struct {
	API   AccountGetter
	Creds *Credentials
	// Channels reads OfficialChannels from the manager's cache (with the
	// destruction index).
	Channels client.Reader
	// Resync is how often every channel not yet destroyed is observed (±10%).
	Resync time.Duration
	// Linger is how long a worker waits for more requests before its first call.
	Linger time.Duration

	mu      sync.Mutex
	ctx     context.Context
	queues  map[int64]*queue
	answers map[string]Observation
	// questions remembers when this process first saw each open question
	// (askedAfter).
	questions map[string]question
	// paused holds apps whose credentials Chat refused, until when: asking
	// again at once cannot help, and repeated refusals can lock the app out
	// (70050). A change of the credentials ends the pause.
	paused map[int64]time.Time
	kick   chan struct{}
	events chan event.GenericEvent
}

type question struct {
	account string // its destruction.Key
	seen    time.Time
}

type queue struct {
	order   []string
	queued  map[string]struct{}
	workers int
}

// New returns an Observer of the apps in creds, woken by each change of
// them; add it to the manager (it runs in the leader) and watch Events() in
// the reconciler.
func New(api AccountGetter, creds *Credentials, channels client.Reader, resync time.Duration) *Observer {
	if resync <= 0 {
		resync = DefaultResyncInterval
	}
	o := &Observer{API: api, Creds: creds, Channels: channels, Resync: resync, Linger: defaultLinger,
		queues: map[int64]*queue{}, answers: map[string]Observation{}, questions: map[string]question{}, paused: map[int64]time.Time{},
		kick: make(chan struct{}, 1), events: make(chan event.GenericEvent, 1024)}
	// New credentials end every pause and are tried at once.
	creds.onChange(o.Kick)
	return o
}

// Events wakes the OfficialChannels of each account an answer came for.
func (o *Observer) Events() <-chan event.GenericEvent { return o.events }

// HasCredentials reports whether app's channels are observed.
func (o *Observer) HasCredentials(app int64) bool { return o != nil && o.Creds.Has(app) }

// Answer is what Chat's REST API says, for a Verdict, about a channel's
// account.
type Answer int

const (
	// NoCredentials: the app has no usable REST credentials; nothing is
	// asked, the callback alone decides.
	NoCredentials Answer = iota
	// Pending: no answer decides the question yet; one is asked for, and
	// the channel is woken when it comes.
	Pending
	// Failed: the REST API could not answer (Observation.Err).
	Failed
	// Gone: the account does not exist, by an answer asked after the
	// question arose.
	Gone
	// Exists: the account exists (Observation.Info), by an answer asked
	// after the question arose when the channel holds a destruction.
	Exists
)

func (a Answer) String() string {
	return [...]string{"NoCredentials", "Pending", "Failed", "Gone", "Exists"}[a]
}

// Verdict is the observer's answer to a channel's question: does its
// account exist? The question is the channel's first verdict, or the
// destruction it holds; an answer counts for it only if it was asked after
// the question arose (the account may have been re-created since).
type Verdict struct {
	Answer Answer
	// Observation is the answer (Failed, Gone, Exists).
	Observation Observation
	// RetryAt is when to look again (Pending, Failed): the end of a
	// back-off or of a pause of the app. Zero: the answer wakes the
	// channel; look again at the caller's own pace.
	RetryAt time.Time
	// UserSigExpiry is when the app's given UserSig stops working; zero:
	// renewed from the key, or none.
	UserSigExpiry time.Time
	// current is true for a failure of a call asked after the question
	// arose: the REST API cannot answer it now.
	current bool
}

// Unanswerable is true when the question cannot be answered now: the app
// has no usable credentials, or the REST API failed on a call asked after
// the question arose.
func (v Verdict) Unanswerable() bool {
	return v.Answer == NoCredentials || (v.Answer == Failed && v.current)
}

// Verdict answers ch's question from the latest observation of its
// account, and asks for a new one when that does not decide it (none yet,
// one asked before the question arose, or a failure whose back-off is
// over). A Gone or Exists verdict settles the question: the caller acts on
// it. It does not ask about a channel whose destruction is settled already
// (confirmed, or its cleanup started): such a question has no verdict to
// wait for, and the verdict is Gone.
func (o *Observer) Verdict(ch *chatv1alpha1.OfficialChannel) Verdict {
	app, account := ch.Spec.SDKAppID, ch.Spec.OfficialAccountID
	if !o.HasCredentials(app) {
		return Verdict{Answer: NoCredentials}
	}
	v := Verdict{UserSigExpiry: o.Creds.UserSigExpiry(app)}
	d := ch.Status.Destruction
	if d != nil && !status.NeedsConfirmation(ch) {
		v.Answer = Gone
		return v
	}
	obs, ok := o.latest(app, account)
	q := questionOf(ch)
	switch {
	case !ok:
		v.Answer, v.RetryAt = Pending, o.requestUnlessPaused(app, account)
	case obs.Err != nil:
		v.Answer, v.Observation = Failed, obs
		v.current = d != nil && o.askedAfter(app, account, q, obs, questionSince(ch))
		if v.RetryAt = obs.At.Add(obs.RetryAfter()); !time.Now().Before(v.RetryAt) {
			v.RetryAt = o.requestUnlessPaused(app, account)
		}
	case (d != nil || obs.Gone) && !o.askedAfter(app, account, q, obs, questionSince(ch)):
		// A verdict (gone, or exists against a report) counts only from a
		// question asked after the report and after the channel existed.
		v.Answer, v.RetryAt = Pending, o.requestUnlessPaused(app, account)
	case obs.Gone:
		o.settle(app, account, q)
		v.Answer, v.Observation = Gone, obs
	default:
		o.settle(app, account, q)
		v.Answer, v.Observation = Exists, obs
	}
	return v
}

// questionOf names what a verdict about the channel decides: the channel
// (its first verdict) and the report it holds, if any; two reports within
// the same second differ by their EventTime.
func questionOf(ch *chatv1alpha1.OfficialChannel) string {
	q := string(ch.UID)
	if d := ch.Status.Destruction; d != nil {
		q += fmt.Sprintf("/%d/%d", d.ReceivedAt.Unix(), d.EventTime)
	}
	return q
}

// questionSince is when the question arose: the report's arrival, or the
// channel's creation for a report copied from an older sibling, or for a
// channel's first verdict. A verdict asked before that is about another
// moment (the account may have been re-created since).
func questionSince(ch *chatv1alpha1.OfficialChannel) time.Time {
	since := ch.CreationTimestamp.Time
	if d := ch.Status.Destruction; d != nil && d.ReceivedAt.After(since) {
		since = d.ReceivedAt.Time
	}
	return since
}

// latest is the latest observation of the account.
func (o *Observer) latest(app int64, account string) (Observation, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	obs, ok := o.answers[destruction.Key(app, account)]
	return obs, ok
}

// askedAfter reports whether obs was asked after the question q arose at
// since, so that it may decide it. since comes from status, to the second,
// rounded down: an observation asked within that second may predate the
// question. So it must have been asked after that second, or after this
// process first saw the question (then it existed already). The first call
// for q notes that moment; settle forgets it.
func (o *Observer) askedAfter(app int64, account, q string, obs Observation, since time.Time) bool {
	o.mu.Lock()
	key := destruction.Key(app, account)
	id := key + "|" + q
	seen, ok := o.questions[id]
	if !ok {
		seen = question{account: key, seen: time.Now()}
		o.questions[id] = seen
	}
	o.mu.Unlock()
	return !obs.Asked.Before(seen.seen) || !obs.Asked.Before(since.Truncate(time.Second).Add(time.Second))
}

// settle forgets question q once a verdict decided it.
func (o *Observer) settle(app int64, account, q string) {
	o.mu.Lock()
	delete(o.questions, destruction.Key(app, account)+"|"+q)
	o.mu.Unlock()
}

// requestUnlessPaused queues a new observation of the account, unless the
// app is paused (Chat refused its credentials): then it returns when the
// pause ends, and asks nothing. The account's channels are woken when the
// answer comes; requests for an account already queued are one request.
func (o *Observer) requestUnlessPaused(app int64, account string) (pausedUntil time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if until := o.paused[app]; time.Now().Before(until) {
		return until
	}
	q := o.queues[app]
	if q == nil {
		q = &queue{queued: map[string]struct{}{}}
		o.queues[app] = q
	}
	if _, ok := q.queued[account]; ok {
		return time.Time{}
	}
	q.queued[account] = struct{}{}
	q.order = append(q.order, account)
	o.startWorkers(app, q)
	return time.Time{}
}

// Kick makes the leader observe every channel soon, as after a change of
// the credentials; it ends every pause.
func (o *Observer) Kick() {
	o.mu.Lock()
	clear(o.paused)
	o.mu.Unlock()
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// startWorkers starts a worker for app's queue when none runs, or more (up
// to maxWorkersPerApp) while more than a full batch waits per worker.
// Called with mu held; workers start only once the leader runs the Observer.
func (o *Observer) startWorkers(app int64, q *queue) {
	if o.ctx == nil {
		return
	}
	for q.workers < maxWorkersPerApp && (q.workers == 0 || len(q.order) > chatapi.MaxBatch*q.workers) {
		q.workers++
		go o.work(o.ctx, app)
	}
}

// NeedLeaderElection is true: one replica asks Chat.
func (o *Observer) NeedLeaderElection() bool { return true }

// Start runs the resync loop until ctx ends. Requests made before it (the
// reconciler's first pass) are served once it runs.
func (o *Observer) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("chat-api-observer")
	ctx = logf.IntoContext(ctx, log)
	o.mu.Lock()
	o.ctx = ctx
	for app, q := range o.queues {
		o.startWorkers(app, q)
	}
	o.mu.Unlock()
	log.Info("Observing channels through Chat's REST API", "resyncInterval", o.Resync, "apps", o.Creds.Apps())
	for {
		timer := time.NewTimer(jitter(o.Resync))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-o.kick:
			timer.Stop()
		case <-timer.C:
		}
		o.sweep(ctx, log)
	}
}

// jitter spreads d by ±10%, so that replicas and restarts do not line up.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}

// sweep asks for an observation of every channel that is not yet
// (confirmed) destroyed, of every app with credentials, and forgets the
// answers about accounts no channel names any more.
func (o *Observer) sweep(ctx context.Context, log logr.Logger) {
	var list chatv1alpha1.OfficialChannelList
	if err := o.Channels.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		log.Error(err, "Listing OfficialChannels for the resync")
		return
	}
	seen := make(map[string]struct{}, len(list.Items))
	asked := 0
	for i := range list.Items {
		ch := &list.Items[i]
		seen[destruction.Key(ch.Spec.SDKAppID, ch.Spec.OfficialAccountID)] = struct{}{}
		if !o.HasCredentials(ch.Spec.SDKAppID) || !Observable(ch) {
			continue
		}
		o.requestUnlessPaused(ch.Spec.SDKAppID, ch.Spec.OfficialAccountID)
		asked++
	}
	o.mu.Lock()
	for key := range o.answers {
		if _, ok := seen[key]; !ok {
			delete(o.answers, key)
		}
	}
	for id, q := range o.questions {
		if _, ok := seen[q.account]; !ok {
			delete(o.questions, id)
		}
	}
	o.mu.Unlock()
	log.V(1).Info("Resync asked for observations", "channels", asked)
}

// Observable reports whether a channel is worth observing: its account is
// not known gone (no destruction, or one not confirmed yet).
func Observable(ch *chatv1alpha1.OfficialChannel) bool {
	return ch.DeletionTimestamp.IsZero() && (ch.Status.Destruction == nil || status.NeedsConfirmation(ch))
}

// work serves app's queue, a batch per call, until it is empty.
func (o *Observer) work(ctx context.Context, app int64) {
	log := logf.FromContext(ctx).WithValues("sdkAppID", app)
	select {
	case <-ctx.Done():
		return
	case <-time.After(o.Linger):
	}
	for {
		batch := o.take(app)
		if len(batch) == 0 {
			return
		}
		creds, ok := o.Creds.Lookup(app)
		if !ok {
			// The credentials went meanwhile: the channels learn it in
			// their reconcile (NoCredentials).
			o.wake(ctx, app, batch)
			continue
		}
		asked := time.Now()
		results := o.API.GetAccounts(ctx, creds, batch)
		if ctx.Err() != nil {
			return
		}
		o.store(app, asked, results)
		for _, r := range results {
			if r.Err != nil {
				log.Info("Chat's REST API could not answer for an account", "officialAccountID", r.Account,
					"reason", r.Err.Reason, "error", r.Err.Error())
				break // one line per batch: they usually share the cause
			}
		}
		o.wake(ctx, app, batch)
	}
}

// take removes up to a batch from app's queue; with none left the worker ends.
func (o *Observer) take(app int64) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.queues[app]
	n := min(len(q.order), chatapi.MaxBatch)
	if n == 0 {
		q.workers--
		return nil
	}
	batch := q.order[:n:n]
	q.order = q.order[n:]
	for _, a := range batch {
		delete(q.queued, a)
	}
	return batch
}

func (o *Observer) store(app int64, asked time.Time, results []chatapi.Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range results {
		key := destruction.Key(app, r.Account)
		obs := Observation{Result: r, Asked: asked}
		if r.Err != nil {
			obs.Failures = o.answers[key].Failures + 1
			if r.Err.Reason == chatapi.ReasonCredentialsRefused || r.Err.Reason == chatapi.ReasonServiceNotEnabled {
				o.paused[app] = time.Now().Add(pauseAfterRefusal)
			}
		}
		o.answers[key] = obs
	}
}

// wake enqueues the channels of each account for a reconcile.
func (o *Observer) wake(ctx context.Context, app int64, accounts []string) {
	for _, account := range accounts {
		channels, err := destruction.ListCached(ctx, o.Channels, app, account)
		if err != nil {
			continue
		}
		for i := range channels {
			ev := event.GenericEvent{Object: &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{
				Name: channels[i].Name, Namespace: channels[i].Namespace}}}
			select {
			case o.events <- ev:
			case <-ctx.Done():
				return
			}
		}
	}
}
