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

package safety

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

// The deletion budget's ConfigMap, in the manager's namespace, records the
// cleanups started within the window. The operator creates, reads and
// updates it; nothing else does.
// +kubebuilder:rbac:groups="",namespace=system,resources=configmaps,verbs=get;create
// +kubebuilder:rbac:groups="",namespace=system,resources=configmaps,resourceNames=channel-operator-cleanup-budget,verbs=update

// BudgetConfigMap is the name of the ConfigMap that holds the deletion
// budget's window: one key per cleanup started in it (the channel's UID),
// its value the start time and the channel.
const BudgetConfigMap = "channel-operator-cleanup-budget"

// DefaultBudget is --cleanup-budget's default.
const DefaultBudget = "20/10m"

// Limit is a deletion budget: at most N cleanups start in any Window.
// N 0 switches it off.
type Limit struct {
	N      int
	Window time.Duration
}

// Off reports whether the budget holds nothing.
func (l Limit) Off() bool { return l.N == 0 }

func (l Limit) String() string {
	if l.Off() {
		return "0"
	}
	return fmt.Sprintf("%d/%s", l.N, shortDuration(l.Window))
}

// ParseLimit parses --cleanup-budget: "N/duration" (e.g. 20/10m), or "0".
func ParseLimit(s string) (Limit, error) {
	if strings.TrimSpace(s) == "0" {
		return Limit{}, nil
	}
	count, window, ok := strings.Cut(s, "/")
	if !ok {
		return Limit{}, fmt.Errorf("%q is not N/duration (e.g. 20/10m) or 0", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil || n <= 0 {
		return Limit{}, fmt.Errorf("%q: the count must be a positive integer (or the whole budget 0, off)", s)
	}
	d, err := time.ParseDuration(strings.TrimSpace(window))
	if err != nil || d <= 0 {
		return Limit{}, fmt.Errorf("%q: the window must be a positive duration such as 10m", s)
	}
	return Limit{N: n, Window: d}, nil
}

// shortDuration renders 10m0s as 10m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Budget is the deletion budget, kept in a ConfigMap so that a restart or
// a new leader neither forgets the cleanups started in the window nor
// counts one twice (a cleanup is recorded under its channel's UID).
type Budget struct {
	Limit Limit
	// Client reads and writes the ConfigMap on the API server (not the
	// cache, which holds the cleanup kinds' metadata only).
	Client client.Client
	// ConfigMap is where the window is kept.
	ConfigMap types.NamespacedName

	// mu serialises this replica's takes; optimistic concurrency
	// serialises them across replicas.
	mu sync.Mutex
}

// Grant is the budget's answer to a cleanup that asks to start.
type Grant struct {
	// Started: the cleanup may start; it is recorded in the window (or was
	// already).
	Started bool
	// RetryAt is when to ask again, when not started.
	RetryAt time.Time
}

// Request is a cleanup that asks to start.
type Request struct {
	Channel *chatv1alpha1.OfficialChannel
	// Approved cleanups are never held by the budget; they count against it.
	Approved bool
	// Ahead are the channels (UIDs) of the cleanups waiting for the budget
	// that go before this one (older destructions): it starts only if the
	// window has room for them too. Those the window counts already (they
	// started) are left out.
	Ahead []types.UID
}

// busyRetry is how soon a cleanup behind others asks again while the
// window has room for the ones ahead of it only; retryJitter spreads the
// retries.
const (
	busyRetry   = 5 * time.Second
	retryJitter = 2 * time.Second
)

// maxEntries bounds the window's entries (some 100 bytes each), far below a
// ConfigMap's 1 MiB.
const maxEntries = 4096

// maxAttempts bounds the reads and writes of one Take that other replicas'
// writes keep invalidating.
const maxAttempts = 8

// Take starts req's cleanup if the budget allows it at now.
func (b *Budget) Take(ctx context.Context, req Request, now time.Time) (Grant, error) {
	if b.Limit.Off() {
		return Grant{Started: true}, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for attempt := 0; ; attempt++ {
		g, err := b.take(ctx, req, now)
		if err == nil || attempt == maxAttempts-1 || (!apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err)) {
			return g, err
		}
		// Another replica (a leader handing over) wrote first: read again.
	}
}

func (b *Budget) take(ctx context.Context, req Request, now time.Time) (Grant, error) {
	cm := &corev1.ConfigMap{}
	err := b.Client.Get(ctx, b.ConfigMap, cm)
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return Grant{}, fmt.Errorf("reading the deletion budget %s: %w", b.ConfigMap, err)
	}
	uid := string(req.Channel.UID)
	if _, counted := cm.Data[uid]; counted {
		return Grant{Started: true}, nil // started before a restart, say: counted once
	}
	kept, live := liveEntries(cm.Data, now.Add(-b.Limit.Window))
	room := b.Limit.N - len(live)
	ahead := 0
	for _, other := range req.Ahead {
		if _, counted := cm.Data[string(other)]; !counted {
			ahead++
		}
	}
	if !req.Approved && room <= ahead {
		// A little jitter: the channels that wait are not all woken at once.
		jitter := time.Duration(rand.Int64N(int64(retryJitter)))
		if room > 0 {
			return Grant{RetryAt: now.Add(busyRetry + jitter)}, nil
		}
		return Grant{RetryAt: live[0].Add(b.Limit.Window + jitter)}, nil
	}
	if req.Approved && len(kept) >= maxEntries {
		// Approvals beyond any budget: the window is full of them. The
		// cleanup starts (a person approved it) without an entry, so that
		// the ConfigMap stays far below its size limit.
		return Grant{Started: true}, nil
	}
	kept[uid] = now.UTC().Format(time.RFC3339Nano) + " " + req.Channel.Namespace + "/" + req.Channel.Name
	cm.Data = kept
	if exists {
		err = b.Client.Update(ctx, cm)
	} else {
		cm.ObjectMeta = metav1.ObjectMeta{Namespace: b.ConfigMap.Namespace, Name: b.ConfigMap.Name,
			Labels: map[string]string{"app.kubernetes.io/name": "channel-operator"}}
		err = b.Client.Create(ctx, cm)
	}
	if err != nil {
		return Grant{}, fmt.Errorf("recording a cleanup in the deletion budget %s: %w", b.ConfigMap, err)
	}
	return Grant{Started: true}, nil
}

// liveEntries are the window's entries that started after since, and
// their start times, oldest first; older entries and unreadable ones (a
// hand-edited value counts for nothing) are left out, pruned at the next write.
func liveEntries(data map[string]string, since time.Time) (map[string]string, []time.Time) {
	kept := make(map[string]string, len(data)+1)
	var live []time.Time
	for k, v := range data {
		if at, ok := startTime(v); ok && at.After(since) {
			kept[k] = v
			live = append(live, at)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Before(live[j]) })
	return kept, live
}

// startTime reads the start time of one entry: "<RFC 3339 time> <namespace>/<name>".
func startTime(v string) (time.Time, bool) {
	s, _, _ := strings.Cut(v, " ")
	at, err := time.Parse(time.RFC3339Nano, s)
	return at, err == nil
}
