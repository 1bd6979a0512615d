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

// Helpers every benchmark shares; they measure nothing themselves: creating
// labelled channels, waiting for a phase or for an idle reconciler, reading
// the manager's metrics, the destruction a callback would record, and
// running work on a fixed number of workers.

package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

func (b *bench) createChannels(prefix string, n, nss int, policy chatv1alpha1.CleanupPolicy) ([]*chatv1alpha1.OfficialChannel, error) {
	return b.createChannelsOf(app, prefix, n, nss, policy)
}

// createChannelsOf creates n channels of sdkAppID over nss namespaces.
func (b *bench) createChannelsOf(sdkAppID int64, prefix string, n, nss int,
	policy chatv1alpha1.CleanupPolicy) ([]*chatv1alpha1.OfficialChannel, error) {
	for i := 0; i < nss; i++ {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i)}}
		if err := b.c.Create(b.ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	channels := make([]*chatv1alpha1.OfficialChannel, n)
	for i := range channels {
		channels[i] = &chatv1alpha1.OfficialChannel{
			ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("%s-%d", prefix, i%nss), Name: fmt.Sprintf("ch-%d", i),
				Labels: map[string]string{benchLabel: prefix}},
			Spec: chatv1alpha1.OfficialChannelSpec{SDKAppID: sdkAppID, OfficialAccountID: fmt.Sprintf("@TOA#_%s_%d", prefix, i),
				CleanupPolicy: policy},
		}
	}
	return channels, parallel(len(channels), setupConcurrency, func(i int) error {
		return b.c.Create(b.ctx, channels[i])
	})
}

// benchLabel groups each benchmark's channels, so that polling one group
// does not make the API server serialize the others.
const benchLabel = "bench.channel-operator.io/group"

// waitPhase waits until every channel is in phase and returns fresh copies.
func (b *bench) waitPhase(channels []*chatv1alpha1.OfficialChannel, phase chatv1alpha1.Phase) ([]*chatv1alpha1.OfficialChannel, error) {
	want := map[client.ObjectKey]bool{}
	for _, ch := range channels {
		want[client.ObjectKeyFromObject(ch)] = true
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var list chatv1alpha1.OfficialChannelList
		if err := b.c.List(b.ctx, &list, client.MatchingLabels{benchLabel: channels[0].Labels[benchLabel]}); err != nil {
			return nil, err
		}
		var out []*chatv1alpha1.OfficialChannel
		for i := range list.Items {
			ch := &list.Items[i]
			if want[client.ObjectKeyFromObject(ch)] && ch.Status.Phase == phase {
				out = append(out, ch)
			}
		}
		if len(out) == len(want) {
			return out, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d channels %s after 3 minutes", len(out), len(want), phase)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitIdle waits until the reconciler's work queue stays empty.
func (b *bench) waitIdle() error {
	deadline := time.Now().Add(5 * time.Minute)
	quiet := 0
	for quiet < 5 {
		if time.Now().After(deadline) {
			return fmt.Errorf("reconciler not idle after 5 minutes")
		}
		time.Sleep(100 * time.Millisecond)
		depth, err := b.metric(`workqueue_depth{controller="officialchannel",name="officialchannel"}`)
		if err != nil {
			return err
		}
		if depth == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	return nil
}

func (b *bench) metric(series string) (float64, error) {
	req, err := http.NewRequestWithContext(b.ctx, http.MethodGet, "http://"+b.mgr.MetricsAddr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	// Uncompressed: the bench polls while it measures, and compressing every
	// scrape would cost the manager CPU the baseline does not pay.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, series)), 64)
		}
	}
	return 0, nil // not yet reported: nothing queued
}

func destructionFor(i int) chatv1alpha1.Destruction {
	return chatv1alpha1.Destruction{EventTime: 1700000000000 + int64(i), OwnerAccount: "107867", Name: "TestOfficialAccount",
		ClientIP: loadClientIP, OptPlatform: "RESTAPI", ReceivedAt: metav1.Now()}
}

// parallel runs fn(0..n-1) on c workers and returns the first error; a
// worker that meets an error stops.
func parallel(n, c int, fn func(i int) error) error {
	var mu sync.Mutex
	var first error
	onWorkers(n, c, func(i int) bool {
		err := fn(i)
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
		return err == nil
	})
	return first
}

// onWorkers runs fn(0..n-1) on c workers, each taking the next index until
// none is left or fn returns false.
func onWorkers(n, c int, fn func(i int) bool) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if !fn(i) {
					return
				}
			}
		})
	}
	wg.Wait()
}
