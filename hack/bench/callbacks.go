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

// Benchmark 1, callbacks: how fast the manager answers signed destroyed
// callbacks over HTTP keep-alive at concurrency 1, 8 and 32, and their
// latencies, against the same status writes made directly with a
// controller-runtime client; and how many answers or records were lost.

package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"sync/atomic"
	"time"

	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/internal/status"
)

type latencies struct {
	ops      int
	failed   int
	duration time.Duration
	sorted   []time.Duration
}

func (l latencies) perSecond() float64 { return float64(l.ops) / l.duration.Seconds() }

// merge adds another run of the same operation.
func (l latencies) merge(o latencies) latencies {
	m := latencies{ops: l.ops + o.ops, failed: l.failed + o.failed, duration: l.duration + o.duration,
		sorted: append(append([]time.Duration{}, l.sorted...), o.sorted...)}
	sort.Slice(m.sorted, func(i, j int) bool { return m.sorted[i] < m.sorted[j] })
	return m
}
func (l latencies) quantile(q float64) time.Duration {
	if len(l.sorted) == 0 {
		return 0
	}
	return l.sorted[min(len(l.sorted)-1, int(q*float64(len(l.sorted))))]
}
func (l latencies) max() time.Duration { return l.sorted[len(l.sorted)-1] }

// perRun is how many of the channels each run at concurrency c uses: at
// concurrency 1 a run is slow, and its latencies settle with fewer callbacks
// (1,000 over its four runs).
func perRun(c int) int {
	if c == 1 {
		return callbacksAtOne
	}
	return math.MaxInt
}

// callbacksAtOne is how many callbacks each run at concurrency 1 sends.
const callbacksAtOne = 250

type callbackRound struct {
	concurrency        int
	operator, baseline latencies
	lost               int
}

// callbacks creates n Orphan channels over nss namespaces, then for each
// concurrency measures the baseline writes and the callbacks, each on
// channels reset to Active.
func (b *bench) callbacks(n, nss int) ([]callbackRound, error) {
	logf("callbacks: creating %d OfficialChannels in %d namespaces", n, nss)
	channels, err := b.createChannels("cb", n, nss, chatv1alpha1.CleanupPolicyOrphan)
	if err != nil {
		return nil, err
	}
	active, err := b.waitPhase(channels, chatv1alpha1.PhaseActive)
	if err != nil {
		return nil, err
	}
	var rounds []callbackRound
	for _, c := range concurrencies {
		r := callbackRound{concurrency: c}
		used := active[:min(len(active), perRun(c))]
		// Baseline, operator, operator, baseline: a drift of the shared
		// machine during the round weighs on both sides alike.
		for i, operatorTurn := range []bool{false, true, true, false} {
			fresh, err := b.reset(used)
			if err != nil {
				return nil, err
			}
			if !operatorTurn {
				r.baseline = r.baseline.merge(b.baselineWrites(fresh, c))
				continue
			}
			var prof *profile
			if c == 32 && i == 1 {
				prof = b.startProfile("cpu-callbacks-c32", 5*time.Second)
			}
			l := b.sendCallbacks(app, used, c)
			prof.wait()
			lost, err := b.countUnrecorded(used)
			if err != nil {
				return nil, err
			}
			r.lost += lost + l.failed
			r.operator = r.operator.merge(l)
		}
		logf("callbacks c=%d: operator %.0f/s p99 %s, baseline %.0f/s p99 %s, lost %d", c,
			r.operator.perSecond(), r.operator.quantile(0.99), r.baseline.perSecond(), r.baseline.quantile(0.99), r.lost)
		rounds = append(rounds, r)
	}
	return rounds, nil
}

// reset writes each channel's Active status back and waits for the
// reconciler to go idle, so that every round starts from the same state. It
// returns the channels as they are now, as the operator's cache has them.
func (b *bench) reset(active []*chatv1alpha1.OfficialChannel) ([]*chatv1alpha1.OfficialChannel, error) {
	if err := b.waitIdle(); err != nil {
		return nil, err
	}
	fresh := make([]*chatv1alpha1.OfficialChannel, len(active))
	err := parallel(len(active), setupConcurrency, func(i int) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur := &chatv1alpha1.OfficialChannel{}
			if err := b.c.Get(b.ctx, client.ObjectKeyFromObject(active[i]), cur); err != nil {
				return err
			}
			cur.Status = active[i].Status
			fresh[i] = cur
			return b.c.Status().Update(b.ctx, cur)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("resetting channels: %w", err)
	}
	if err := b.waitIdle(); err != nil {
		return nil, err
	}
	return fresh, nil
}

// baselineWrites makes, directly, the status write the receiver makes for a
// callback: the destruction applied to the (cached) channel and patched with
// optimistic concurrency.
func (b *bench) baselineWrites(active []*chatv1alpha1.OfficialChannel, c int) latencies {
	return measure(len(active), c, func(i int) bool {
		ch := active[i].DeepCopy()
		base := ch.DeepCopy()
		status.RecordDestruction(ch, destructionFor(i))
		return b.c.Status().Patch(b.ctx, ch, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})) == nil
	})
}

func (b *bench) sendCallbacks(sdkAppID int64, active []*chatv1alpha1.OfficialChannel, c int) latencies {
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}, Timeout: 5 * time.Second}
	return measure(len(active), c, func(i int) bool {
		ch := active[i]
		u, err := callback.Call{SDKAppID: sdkAppID, Token: token, Command: callback.CommandDestroyed, ClientIP: loadClientIP,
			OptPlatform: "RESTAPI"}.URL(b.mgr.CallbackURL)
		if err != nil {
			return false
		}
		body := callback.DestroyedBody(ch.Spec.OfficialAccountID, "107867", "TestOfficialAccount", 1700000000000+int64(i))
		resp, err := httpClient.Post(u, "application/json", bytes.NewReader(body))
		if err != nil {
			return false
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK && bytes.Contains(raw, []byte(`"ActionStatus":"OK"`))
	})
}

// countUnrecorded counts channels without a destruction in status.
func (b *bench) countUnrecorded(channels []*chatv1alpha1.OfficialChannel) (int, error) {
	want := map[client.ObjectKey]bool{}
	for _, ch := range channels {
		want[client.ObjectKeyFromObject(ch)] = true
	}
	var list chatv1alpha1.OfficialChannelList
	if err := b.c.List(b.ctx, &list, client.MatchingLabels{benchLabel: channels[0].Labels[benchLabel]}); err != nil {
		return 0, err
	}
	missing := 0
	for i := range list.Items {
		if want[client.ObjectKeyFromObject(&list.Items[i])] && list.Items[i].Status.Destruction == nil {
			missing++
		}
	}
	return missing, nil
}

// measure runs op(0..n-1) on c workers and times each call.
func measure(n, c int, op func(i int) bool) latencies {
	durations := make([]time.Duration, n)
	var failed atomic.Int32
	start := time.Now()
	onWorkers(n, c, func(i int) bool {
		t := time.Now()
		if !op(i) {
			failed.Add(1)
		}
		durations[i] = time.Since(t)
		return true
	})
	l := latencies{ops: n, failed: int(failed.Load()), duration: time.Since(start), sorted: durations}
	sort.Slice(l.sorted, func(i, j int) bool { return l.sorted[i] < l.sorted[j] })
	return l
}
