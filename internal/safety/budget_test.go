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

package safety_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/safety"
	"github.com/channel-operator/channel-operator/test/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Run(testenv.RunInput{M: m, SetupEnv: func(e *testenv.Env) error { env = e; return nil }})
}

// budget is a fresh budget in its own ConfigMap: one replica's view.
func budget(t *testing.T, n int, window time.Duration) *safety.Budget {
	return &safety.Budget{Limit: safety.Limit{N: n, Window: window}, Client: env.Client,
		ConfigMap: types.NamespacedName{Namespace: testenv.OperatorNamespace, Name: "budget-" + strings.ToLower(t.Name())}}
}

// replica is another Budget on the same ConfigMap: a restarted manager, or
// another replica leading next.
func replica(b *safety.Budget) *safety.Budget {
	return &safety.Budget{Limit: b.Limit, Client: env.Client, ConfigMap: b.ConfigMap}
}

func channel(name string) *chatv1alpha1.OfficialChannel {
	return &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant", Name: name,
		UID: types.UID("uid-" + name)}}
}

func take(t *testing.T, b *safety.Budget, req safety.Request, now time.Time) safety.Grant {
	t.Helper()
	g, err := b.Take(context.Background(), req, now)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// At most N cleanups start per window; a cleanup counted once is never
// counted again (a restart re-asks for it); an approved one starts beyond
// the budget and counts; a new replica reads the same window.
func TestTheBudgetCountsEachCleanupOnceAcrossReplicas(t *testing.T) {
	now := time.Now()
	b := budget(t, 2, time.Hour)
	for _, name := range []string{"a", "b"} {
		if g := take(t, b, safety.Request{Channel: channel(name)}, now); !g.Started {
			t.Fatalf("cleanup %s held with room in the budget: %+v", name, g)
		}
	}
	g := take(t, b, safety.Request{Channel: channel("c")}, now.Add(time.Minute))
	// Held until the first leaves the window, and a little jitter.
	if g.Started || g.RetryAt.Before(now.Add(time.Hour)) || g.RetryAt.After(now.Add(time.Hour+2*time.Second)) {
		t.Fatalf("third cleanup: %+v, want held until the first leaves the window (%s)", g, now.Add(time.Hour))
	}
	next := replica(b)
	if g := take(t, next, safety.Request{Channel: channel("a")}, now.Add(time.Minute)); !g.Started {
		t.Fatal("a cleanup counted before the restart is held after it")
	}
	if g := take(t, next, safety.Request{Channel: channel("c")}, now.Add(time.Minute)); g.Started {
		t.Fatal("the new replica forgot the window")
	}
	if g := take(t, next, safety.Request{Channel: channel("d"), Approved: true}, now.Add(time.Minute)); !g.Started {
		t.Fatal("an approved cleanup was held")
	}
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(context.Background(), b.ConfigMap, cm); err != nil {
		t.Fatal(err)
	}
	if len(cm.Data) != 3 {
		t.Fatalf("the window holds %v, want a, b and the approved d", cm.Data)
	}
	// An hour on, a and b leave the window; the approved d still counts.
	if g := take(t, next, safety.Request{Channel: channel("c")}, now.Add(time.Hour+time.Second)); !g.Started {
		t.Fatal("held once the window moved on")
	}
	if g := take(t, next, safety.Request{Channel: channel("e")}, now.Add(time.Hour+time.Second)); g.Started {
		t.Fatal("the approved cleanup did not count against the window")
	}
	if err := env.Client.Get(context.Background(), b.ConfigMap, cm); err != nil {
		t.Fatal(err)
	}
	if _, kept := cm.Data["uid-a"]; kept || len(cm.Data) != 2 {
		t.Fatalf("the window holds %v, want d and c only (expired entries pruned)", cm.Data)
	}
}

// Oldest first: a cleanup with others ahead of it waits while the window
// has room only for them.
func TestTheBudgetLetsTheOlderGoFirst(t *testing.T) {
	now := time.Now()
	b := budget(t, 3, time.Hour)
	take(t, b, safety.Request{Channel: channel("a")}, now)
	if g := take(t, b, safety.Request{Channel: channel("young"), Ahead: []types.UID{"uid-old", "uid-older"}}, now); g.Started ||
		g.RetryAt.IsZero() {
		t.Fatalf("a cleanup with two ahead and room for two: %+v, want held", g)
	}
	if g := take(t, b, safety.Request{Channel: channel("old"), Ahead: []types.UID{"uid-older"}}, now); !g.Started {
		t.Fatalf("a cleanup with one ahead and room for two: %+v, want started", g)
	}
	// One ahead started already (counted in the window): it is not ahead.
	if g := take(t, b, safety.Request{Channel: channel("young"), Ahead: []types.UID{"uid-a", "uid-old"}}, now); !g.Started {
		t.Fatalf("a cleanup whose ones ahead have started, with room for one: %+v, want started", g)
	}
}

// Replicas racing for the last places (a leader handing over) start no
// more than the budget between them.
func TestRacingReplicasStartNoMoreThanTheBudget(t *testing.T) {
	now := time.Now()
	first := budget(t, 5, time.Hour)
	second := replica(first)
	var (
		mu      sync.Mutex
		started int
		wg      sync.WaitGroup
	)
	for i := range 12 {
		b := first
		if i%2 == 1 {
			b = second
		}
		wg.Go(func() {
			g, err := b.Take(context.Background(), safety.Request{Channel: channel(fmt.Sprint("c", i))}, now)
			if err != nil {
				t.Error(err)
				return
			}
			if g.Started {
				mu.Lock()
				started++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if started != 5 {
		t.Fatalf("%d cleanups started, want the budget's 5", started)
	}
}
