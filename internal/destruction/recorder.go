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
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/status"
)

// Recorder owns the hand-over of a destruction from Chat to the cluster. The
// callback receiver calls Record: the destruction goes into the status of
// every matching OfficialChannel or, while none matches, into the pending
// store. The reconciler calls ApplyKept for an OfficialChannel it sees for
// the first time: a destruction kept before that channel existed becomes its
// own. Record's one API call per channel is the status write; the Event
// about it comes from the reconciler, off the callback's path.
type Recorder struct {
	// Cache is the manager's cache, with destruction.ChannelIndex.
	Cache client.Reader
	// API reads the API server directly, for fresh copies after a conflict.
	API client.Reader
	// Client writes status.
	Client  client.Client
	Pending *PendingStore
	// Namespaces confines the Recorder to the OfficialChannels of these
	// namespaces (--watch-namespaces); empty: every namespace. A channel
	// elsewhere is never written, never listed from the API server (the
	// operator may be allowed to list only in these namespaces), and never
	// given, nor gives, a kept destruction.
	Namespaces []string
	// Confirms reports whether an app's reported destructions wait for
	// confirmation by Chat's REST API (the app has credentials); nil: none do.
	Confirms func(sdkAppID int64) bool
}

// apply records d in ch's status: reported, to be confirmed, for an app
// whose REST API confirms destructions; decided otherwise. A copy from a
// sibling is confirmed again for this channel (its confirmedAt is not
// inherited), from the observation its account already has.
func (r *Recorder) apply(ch *chatv1alpha1.OfficialChannel, d chatv1alpha1.Destruction) bool {
	if r.Confirms != nil && r.Confirms(ch.Spec.SDKAppID) {
		return status.ReportDestruction(ch, d)
	}
	return status.RecordDestruction(ch, d)
}

// Outcome says what Record did.
type Outcome struct {
	// Recorded counts the OfficialChannels whose status now holds the destruction.
	Recorded int
	// Unchanged counts matching OfficialChannels that held a destruction already.
	Unchanged int
	// Pending is true when no OfficialChannel matched and the destruction was
	// kept in the pending store.
	Pending bool
	// Deferred counts matching OfficialChannels beyond MaxDirectWrites: the
	// reconciler hands them the destruction from the ones written.
	Deferred int
}

// A destruction can match many OfficialChannels (a tenant can create hundreds
// claiming one account). Record writes at most MaxDirectWrites of them, every
// namespace's oldest first (fairFirst), ParallelWrites at a time, so that the answer stays within its
// budget whatever the count; once one of them holds the destruction it is
// durable, and ApplyKept gives it to every other channel of the account.
const (
	MaxDirectWrites = 32
	ParallelWrites  = 8
)

// retryBackoff is the first wait after a failed write; it doubles each time,
// until the caller's deadline.
const retryBackoff = 25 * time.Millisecond

// Record writes rec and returns once it is durable, or with an error once
// ctx's deadline makes that impossible. Each write carries the resourceVersion
// it was computed from, so a concurrent status update (by the reconciler or
// another replica) is never overwritten: on a conflict the object is read
// again and the destruction applied to the fresh copy, if it still needs it.
// Only OfficialChannels in Namespaces (all, when empty) are written.
func (r *Recorder) Record(ctx context.Context, rec Record) (Outcome, error) {
	channels, err := r.listCached(ctx, rec.SDKAppID, rec.OfficialAccountID)
	if err != nil {
		return Outcome{}, err
	}
	if len(channels) > 0 {
		out, err := r.recordSome(ctx, channels, rec)
		if err == nil && out.Deferred > 0 {
			// Kept once more where no tenant can delete it, for channels of
			// the account that come after all the written ones went. The
			// written ones make it durable already: a full store is no failure.
			if err := r.Pending.Put(ctx, rec, rec.Destruction.ReceivedAt.Time); err != nil {
				logf.FromContext(ctx).Error(err, "Keeping a deferred destruction in the pending store")
			}
		}
		if err != nil || out.Recorded+out.Unchanged > 0 {
			return out, err
		}
		// Every match went away (deleted, or its sdkAppID changed) between
		// the cache and the API server: as good as no match.
	}
	if err := r.Pending.Put(ctx, rec, rec.Destruction.ReceivedAt.Time); err != nil {
		return Outcome{}, err
	}
	// An OfficialChannel created an instant ago may be missing from the
	// cache, and its reconcile may have looked for a pending record before
	// this one existed; the API server's own list closes that gap.
	if channels, err = r.listLive(ctx, rec.SDKAppID, rec.OfficialAccountID); err != nil {
		return Outcome{}, err
	}
	out, err := r.recordSome(ctx, channels, rec)
	out.Pending = out.Recorded+out.Unchanged == 0
	return out, err
}

// watches reports whether the Recorder is for the OfficialChannels of
// namespace ns.
func (r *Recorder) watches(ns string) bool {
	return len(r.Namespaces) == 0 || slices.Contains(r.Namespaces, ns)
}

// watched keeps, of channels, those in the watched namespaces.
func (r *Recorder) watched(channels []chatv1alpha1.OfficialChannel) []chatv1alpha1.OfficialChannel {
	if len(r.Namespaces) == 0 {
		return channels
	}
	return slices.DeleteFunc(channels, func(ch chatv1alpha1.OfficialChannel) bool { return !r.watches(ch.Namespace) })
}

// listCached is ListCached, confined to the watched namespaces (the
// manager's cache is confined already; a cache that is not, as in tests,
// is filtered).
func (r *Recorder) listCached(ctx context.Context, sdkAppID int64, officialAccountID string) ([]chatv1alpha1.OfficialChannel, error) {
	channels, err := ListCached(ctx, r.Cache, sdkAppID, officialAccountID)
	return r.watched(channels), err
}

// listLive is ListLive, confined to the watched namespaces: one list in
// every namespace, or one list in each watched namespace, ParallelWrites at
// a time, since the operator may be allowed to list nowhere else.
func (r *Recorder) listLive(ctx context.Context, sdkAppID int64, officialAccountID string) ([]chatv1alpha1.OfficialChannel, error) {
	if len(r.Namespaces) == 0 {
		return ListLive(ctx, r.API, sdkAppID, officialAccountID)
	}
	lists := make([][]chatv1alpha1.OfficialChannel, len(r.Namespaces))
	errs := make([]error, len(r.Namespaces))
	slots := make(chan struct{}, ParallelWrites)
	var wg sync.WaitGroup
	for i, ns := range r.Namespaces {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			lists[i], errs[i] = ListLive(ctx, r.API, sdkAppID, officialAccountID, client.InNamespace(ns))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r.watched(slices.Concat(lists...)), nil
}

// fairFirst orders channels so that every namespace comes early: the oldest
// channel of each namespace first (namespaces by their oldest channel), then
// the second oldest of each, and so on. A tenant that floods its namespace
// with channels of an account cannot push another team's channel out of the
// writes Record makes itself.
func fairFirst(channels []chatv1alpha1.OfficialChannel) []chatv1alpha1.OfficialChannel {
	slices.SortFunc(channels, func(a, b chatv1alpha1.OfficialChannel) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	rank := make([]int, len(channels)) // the channel's place in its namespace
	seen := map[string]int{}
	for i, ch := range channels {
		rank[i] = seen[ch.Namespace]
		seen[ch.Namespace]++
	}
	order := make([]int, len(channels))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rank[a] - rank[b] })
	out := make([]chatv1alpha1.OfficialChannel, len(channels))
	for i, j := range order {
		out[i] = channels[j]
	}
	return out
}

// recordSome applies rec to the MaxDirectWrites first of channels in
// fairFirst's order, ParallelWrites at a time; the rest are counted as
// deferred.
func (r *Recorder) recordSome(ctx context.Context, channels []chatv1alpha1.OfficialChannel, rec Record) (Outcome, error) {
	deferred := 0
	if len(channels) > MaxDirectWrites {
		channels = fairFirst(channels)
		deferred = len(channels) - MaxDirectWrites
		channels = channels[:MaxDirectWrites]
	}
	results := make([]oneResult, len(channels))
	errs := make([]error, len(channels))
	slots := make(chan struct{}, ParallelWrites)
	var wg sync.WaitGroup
	for i := range channels {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			results[i], errs[i] = r.recordOne(ctx, &channels[i], rec)
		})
	}
	wg.Wait()

	out := Outcome{Deferred: deferred}
	for _, r := range results {
		switch r {
		case recorded:
			out.Recorded++
		case alreadyRecorded:
			out.Unchanged++
		}
	}
	return out, errors.Join(errs...)
}

// oneResult is what recordOne did to one OfficialChannel.
type oneResult int

const (
	failed          oneResult = iota
	recorded                  // the destruction is now in its status
	alreadyRecorded           // it held a destruction already: first one wins
	gone                      // deleted, or no longer of this channel
)

// recordOne applies rec to one OfficialChannel, retrying until ctx ends.
func (r *Recorder) recordOne(ctx context.Context, ch *chatv1alpha1.OfficialChannel, rec Record) (oneResult, error) {
	key := client.ObjectKeyFromObject(ch)
	backoff := retryBackoff
	stale := false
	var lastErr error
	for {
		if stale {
			fresh := &chatv1alpha1.OfficialChannel{}
			err := r.API.Get(ctx, key, fresh)
			switch {
			case apierrors.IsNotFound(err):
				return gone, nil
			case err != nil:
				lastErr = fmt.Errorf("reading OfficialChannel %s: %w", key, err)
			default:
				ch, stale = fresh, false
			}
		}
		if !stale {
			if !Matches(ch, rec.SDKAppID, rec.OfficialAccountID) {
				return gone, nil // its sdkAppID was changed meanwhile
			}
			base := ch.DeepCopy()
			if !r.apply(ch, rec.Destruction) {
				return alreadyRecorded, nil
			}
			err := r.Client.Status().Patch(ctx, ch, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
			switch {
			case err == nil:
				logf.FromContext(ctx).Info("Recorded channel destruction", "officialChannel", key)
				return recorded, nil
			case apierrors.IsNotFound(err):
				return gone, nil
			case apierrors.IsConflict(err):
				stale = true
				continue // a fresh read decides; no need to wait
			case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
				// The API server refuses this status outright: asking again
				// cannot change its mind, and the budget is better answered.
				return failed, fmt.Errorf("writing status of OfficialChannel %s: %w", key, err)
			default:
				lastErr = fmt.Errorf("writing status of OfficialChannel %s: %w", key, err)
				stale = true
			}
		}
		select {
		case <-ctx.Done():
			return failed, fmt.Errorf("%w (gave up: %w)", lastErr, context.Cause(ctx))
		case <-time.After(backoff):
			backoff *= 2
		}
	}
}

// ApplyKept gives ch the destruction already known for its account, if any,
// and reports whether it did; the reconciler calls it for every
// OfficialChannel without one. A destruction is a fact about the account: the
// first one recorded on another OfficialChannel of the same (sdkAppID,
// officialAccountID) is ch's too (found through the cache's index: no API
// call), and so is one kept in the pending store before ch existed. Only the
// status in memory changes: the reconciler's own status patch writes it.
// Confined to Namespaces, a channel elsewhere gets nothing and no sibling
// elsewhere counts.
//
// The pending store is read only for a channel seen for the first time (no
// phase yet): a channel that has a phase was in the cache when any later
// destruction came, and Record wrote to it, or to a sibling it learns from
// here; one created while Record kept a record is found by Record's own
// fresh list after keeping it.
func (r *Recorder) ApplyKept(ctx context.Context, ch *chatv1alpha1.OfficialChannel, now time.Time) (bool, error) {
	if ch.Status.Destruction != nil || !r.watches(ch.Namespace) {
		return false, nil
	}
	siblings, err := r.listCached(ctx, ch.Spec.SDKAppID, ch.Spec.OfficialAccountID)
	if err != nil {
		return false, err
	}
	// As for a kept record, a destruction received more than the pending TTL
	// before the channel was created is history, not this channel's fate: an
	// account ID re-created long after is a new channel.
	created := ch.CreationTimestamp.Time
	if created.IsZero() {
		created = now
	}
	if d := firstRecorded(siblings, ch.UID, created.Add(-r.Pending.TTL)); d != nil {
		return r.apply(ch, *d), nil
	}
	if ch.Status.Phase != "" {
		return false, nil
	}
	rec, err := r.Pending.Get(ctx, ch.Spec.SDKAppID, ch.Spec.OfficialAccountID, now)
	if err != nil || rec == nil {
		return false, err
	}
	return r.apply(ch, rec.Destruction), nil
}

// handOverTimeout bounds HandOver's writes for one record.
const handOverTimeout = 10 * time.Second

// HandOver writes records (the live pending destructions) into the channels
// of their account that the cache shows without one, and returns how many
// it wrote.
// A record is kept when no channel matched when it came; a channel may
// match by now that ApplyKept will not look for it again: one that had a
// phase already, missing from the receiving replica's cache while the API
// server's list failed (the callback was answered FAIL, and Chat does not
// resend it). The leader's sweep calls it, so such a record waits at most
// one sweep interval.
func (r *Recorder) HandOver(ctx context.Context, records []Record) (int, error) {
	written := 0
	var errs []error
	for _, rec := range records {
		channels, err := r.listCached(ctx, rec.SDKAppID, rec.OfficialAccountID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// A channel without a phase has not been reconciled yet: its first
		// reconcile takes the record itself (ApplyKept), and a write here
		// would race it.
		channels = slices.DeleteFunc(channels, func(ch chatv1alpha1.OfficialChannel) bool {
			return ch.Status.Destruction != nil || ch.Status.Phase == ""
		})
		if len(channels) == 0 {
			continue
		}
		// Each record's writes retry within their own bound, so that one
		// channel that cannot be written does not hold the others.
		rctx, cancel := context.WithTimeout(ctx, handOverTimeout)
		out, err := r.recordSome(rctx, channels, rec)
		cancel()
		written += out.Recorded
		errs = append(errs, err)
	}
	return written, errors.Join(errs...)
}

// firstRecorded is the earliest destruction received after notBefore among
// channels, other
// than the one with UID self.
func firstRecorded(channels []chatv1alpha1.OfficialChannel, self types.UID, notBefore time.Time) *chatv1alpha1.Destruction {
	var first *chatv1alpha1.Destruction
	for i := range channels {
		d := channels[i].Status.Destruction
		if channels[i].UID == self || d == nil || d.ReceivedAt.Time.Before(notBefore) {
			continue
		}
		if first == nil || d.ReceivedAt.Before(&first.ReceivedAt) {
			first = d
		}
	}
	return first
}

// SiblingsToTell maps an OfficialChannel that holds a destruction to the
// other OfficialChannels of its account that hold none, for the reconciler's
// watch: their reconcile gives it to them (ApplyKept). It reads the cache's
// index only.
func (r *Recorder) SiblingsToTell(ctx context.Context, obj client.Object) []reconcile.Request {
	ch, ok := obj.(*chatv1alpha1.OfficialChannel)
	if !ok || ch.Status.Destruction == nil || !r.watches(ch.Namespace) {
		return nil
	}
	siblings, err := r.listCached(ctx, ch.Spec.SDKAppID, ch.Spec.OfficialAccountID)
	if err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for i := range siblings {
		if siblings[i].UID != ch.UID && siblings[i].Status.Destruction == nil {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&siblings[i])})
		}
	}
	return reqs
}
