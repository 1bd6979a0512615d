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

// Benchmark 3, scale: the manager's time from start to ready and its
// resident memory (VmRSS) once its caches have synced, and at peak in the
// 15 s after, with many channels, ConfigMaps and Secrets in the cluster.

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/chatapi"
)

// scaleResync is the scale run's --chat-api-resync-interval: long enough for
// the first observation of every channel (at start) to settle before it.
const scaleResync = 90 * time.Second

type scaleResult struct {
	channels, configMaps, secrets int
	readyAfter                    time.Duration
	rssMiB, peakRSSMiB            float64
	sweep                         sweepResult
}

func (b *bench) scaleRun(channels, each int) (scaleResult, error) {
	const nss = 20
	res := scaleResult{channels: channels, configMaps: each, secrets: each}
	logf("scale: creating %d OfficialChannels, %d ConfigMaps and %d Secrets of 4 KiB", channels, each, each)
	// The channels are chatApp's, live in the fake Chat: the manager
	// observes each when it starts, and again at its first resync.
	for i := range channels {
		b.chat.CreateAccount(chatApp, chatapi.AccountInfo{Account: fmt.Sprintf("@TOA#_sc_%d", i), Name: accountName, SubscriberCount: int64(i)})
	}
	chs, err := b.createChannelsOf(chatApp, "sc", channels, nss, chatv1alpha1.CleanupPolicyDelete)
	if err != nil {
		return res, err
	}
	payload := strings.Repeat("x", 4096)
	if err := parallel(2*each, setupConcurrency, func(i int) error {
		ch := chs[(i/2)%len(chs)]
		meta := metav1.ObjectMeta{Namespace: ch.Namespace, Name: fmt.Sprintf("%s-data-%d", ch.Name, i),
			Labels: map[string]string{chatv1alpha1.LinkLabel: ch.Name}}
		if i%2 == 0 {
			return b.c.Create(b.ctx, &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"payload": payload}})
		}
		return b.c.Create(b.ctx, &corev1.Secret{ObjectMeta: meta, StringData: map[string]string{"payload": payload}})
	}); err != nil {
		return res, err
	}

	logf("scale: starting the manager")
	b.resync = scaleResync
	start := time.Now()
	if err := b.startManager(); err != nil {
		return res, err
	}
	res.readyAfter = time.Since(start)
	res.rssMiB = rssMiB(b.mgr.PID())
	b.saveProfile("heap-scale", "/debug/pprof/heap")
	// The manager now reconciles every new channel; watch its memory meanwhile.
	res.peakRSSMiB = res.rssMiB
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		res.peakRSSMiB = max(res.peakRSSMiB, rssMiB(b.mgr.PID()))
	}
	logf("scale: ready after %s, RSS %.1f MiB at ready, peak %.1f MiB in the 15 s after", res.readyAfter.Round(time.Millisecond),
		res.rssMiB, res.peakRSSMiB)
	res.sweep, err = b.measureSweep()
	return res, err
}

func rssMiB(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return -1
}
