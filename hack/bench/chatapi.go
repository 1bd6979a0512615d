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

// The Chat REST API in the benchmarks: an app with credentials for a fake
// Chat REST API in this process. Its callbacks (the answer path makes no REST
// call), a cleanup whose destructions are confirmed first, and a resync of
// every channel (in the scale run).

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/chatapi/fakechat"
	"github.com/channel-operator/channel-operator/internal/status"
	"github.com/channel-operator/channel-operator/test/managerproc"
)

const (
	// chatApp has REST credentials; app (testenv.DemoApp) has none.
	chatApp    int64 = 1400000002
	chatAppKey       = "bench-secret-key-of-app-1400000002"
	// defaultQPS is --chat-api-qps's default, which the runs keep.
	defaultQPS = 20
	// accountName is the name of every account in the fake Chat.
	accountName = "bench"
	// loadClientIP is the ClientIP of the callbacks the bench sends.
	loadClientIP = "127.0.0.1"
)

func (b *bench) startChat() error {
	chat, err := fakechat.Start()
	if err != nil {
		return err
	}
	chat.AddApp(chatApp, chatAppKey)
	chat.SetMaxQPS(chatApp, 200) // what Chat allows get_official_account_info
	b.chat = chat
	return b.chatCredentials()
}

// chatCredentials writes chatApp's credentials for the fake into the Chat API Secret.
func (b *bench) chatCredentials() error {
	id := strconv.FormatInt(chatApp, 10)
	return managerproc.PrepareChatAPI(b.ctx, b.c, operatorNamespace, map[string]string{
		id + ".secretKey": chatAppKey, id + ".endpoint": b.chat.URL()})
}

// createLiveChannels creates n channels of chatApp whose accounts exist in
// the fake, and waits until the operator has observed every one.
func (b *bench) createLiveChannels(prefix string, n, nss int, policy chatv1alpha1.CleanupPolicy) ([]*chatv1alpha1.OfficialChannel, error) {
	for i := range n {
		b.chat.CreateAccount(chatApp, chatapi.AccountInfo{Account: fmt.Sprintf("@TOA#_%s_%d", prefix, i), Name: accountName})
	}
	channels, err := b.createChannelsOf(chatApp, prefix, n, nss, policy)
	if err != nil {
		return nil, err
	}
	if channels, err = b.waitPhase(channels, chatv1alpha1.PhaseActive); err != nil {
		return nil, err
	}
	for _, ch := range channels {
		for ch.Status.Account == nil {
			time.Sleep(100 * time.Millisecond)
			if err := b.c.Get(b.ctx, client.ObjectKeyFromObject(ch), ch); err != nil {
				return nil, err
			}
		}
	}
	return channels, b.waitIdle()
}

// credentialedCallbacks is the callback benchmark's operator side for an app
// with credentials, against the same run's baseline at that concurrency.
type credentialedCallbacks struct {
	concurrency int
	operator    latencies
	// restCalls counts the calls to the fake during the answers: the
	// confirmations the leader makes meanwhile, not the answers'.
	restCalls, lost int
}

// callbacksWithCredentials sends signed destroyed callbacks for n live
// channels of chatApp: each is answered once the report is in status (no
// REST call on that path), then refuted by the leader.
func (b *bench) callbacksWithCredentials(n, c int) (credentialedCallbacks, error) {
	res := credentialedCallbacks{concurrency: c}
	logf("callbacks with credentials: creating %d OfficialChannels of app %d, live in the fake Chat", n, chatApp)
	channels, err := b.createLiveChannels("cbc", n, 20, chatv1alpha1.CleanupPolicyOrphan)
	if err != nil {
		return res, err
	}
	calls := b.chat.CallsFor(chatApp)
	res.operator = b.sendCallbacks(chatApp, channels, c)
	res.restCalls = b.chat.CallsFor(chatApp) - calls
	if err := b.waitIdle(); err != nil {
		return res, err
	}
	var list chatv1alpha1.OfficialChannelList
	if err := b.c.List(b.ctx, &list, client.MatchingLabels{benchLabel: "cbc"}); err != nil {
		return res, err
	}
	for i := range list.Items {
		if list.Items[i].Status.RefutedDestruction == nil && list.Items[i].Status.Destruction == nil {
			res.lost++
		}
	}
	res.lost += res.operator.failed
	logf("callbacks with credentials c=%d: %.0f/s p99 %s, lost %d, %d REST calls meanwhile (the leader's)", c,
		res.operator.perSecond(), res.operator.quantile(0.99), res.lost, res.restCalls)
	return res, nil
}

type confirmedCleanup struct {
	channels, objects  int
	operator, baseline time.Duration
	restCalls          int
}

func (r confirmedCleanup) ratio() float64 { return r.operator.Seconds() / r.baseline.Seconds() }

// confirmedRun destroys every account of set in the fake, reports each
// destruction as the receiver records it, and times the cleanup: each is
// confirmed through the REST API (batched) before it. It adds to res.
func (b *bench) confirmedRun(set []*chatv1alpha1.OfficialChannel, perChannel int, res *confirmedCleanup) error {
	for _, ch := range set {
		b.chat.Destroy(chatApp, ch.Spec.OfficialAccountID)
	}
	calls := b.chat.CallsFor(chatApp)
	d, err := b.timeCleanup(set, perChannel, false, func(ch *chatv1alpha1.OfficialChannel, i int) bool {
		return status.ReportDestruction(ch, destructionFor(i))
	})
	if err != nil {
		return err
	}
	res.operator += d
	res.restCalls += b.chat.CallsFor(chatApp) - calls
	return nil
}

// sweepResult is one resync of every channel of chatApp.
type sweepResult struct {
	channels   int
	calls      int
	seconds    float64
	cpuSeconds float64
	peakRSSMiB float64
}

// measureSweep waits for the manager's next resync and measures it: the REST
// calls it makes, from its first call to its last, and the manager's CPU time
// and peak RSS until every channel's answer is applied (the reconciler idle).
func (b *bench) measureSweep() (sweepResult, error) {
	var res sweepResult
	pid := b.mgr.PID()
	// The first observation of every channel (at start) settles first.
	if err := b.waitCallsSettle(3 * time.Second); err != nil {
		return res, err
	}
	if err := b.waitIdle(); err != nil {
		return res, err
	}
	// Every channel of chatApp not destroyed is observed, the earlier
	// runs' live ones too.
	var list chatv1alpha1.OfficialChannelList
	if err := b.c.List(b.ctx, &list); err != nil {
		return res, err
	}
	for i := range list.Items {
		if list.Items[i].Spec.SDKAppID == chatApp && list.Items[i].Status.Destruction == nil {
			res.channels++
		}
	}
	before := b.chat.CallsFor(chatApp)
	logf("scale: waiting for the resync (--chat-api-resync-interval=%s)", b.resync)
	deadline := time.Now().Add(b.resync*2 + time.Minute)
	for b.chat.CallsFor(chatApp) == before {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("no resync within %s", b.resync*2+time.Minute)
		}
		time.Sleep(20 * time.Millisecond)
	}
	start, cpu0 := time.Now(), cpuSeconds(pid)
	last, lastCalls := start, b.chat.CallsFor(chatApp)
	res.peakRSSMiB = rssMiB(pid)
	for quiet := time.Duration(0); quiet < 3*time.Second; {
		time.Sleep(50 * time.Millisecond)
		res.peakRSSMiB = max(res.peakRSSMiB, rssMiB(pid))
		if n := b.chat.CallsFor(chatApp); n != lastCalls {
			last, lastCalls, quiet = time.Now(), n, 0
			continue
		}
		quiet = time.Since(last)
	}
	res.calls = lastCalls - before
	res.seconds = last.Sub(start).Seconds()
	for depth := 1.0; depth > 0; time.Sleep(100 * time.Millisecond) {
		res.peakRSSMiB = max(res.peakRSSMiB, rssMiB(pid))
		var err error
		if depth, err = b.metric(`workqueue_depth{controller="officialchannel",name="officialchannel"}`); err != nil {
			return res, err
		}
	}
	res.cpuSeconds = cpuSeconds(pid) - cpu0
	logf("scale: resync of %d channels: %d REST calls in %.1f s, manager CPU %.1f s, peak RSS %.1f MiB",
		res.channels, res.calls, res.seconds, res.cpuSeconds, res.peakRSSMiB)
	return res, nil
}

// waitCallsSettle waits until the fake has seen no call for quiet.
func (b *bench) waitCallsSettle(quiet time.Duration) error {
	last, n := time.Now(), b.chat.Calls()
	for deadline := time.Now().Add(5 * time.Minute); time.Since(last) < quiet; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("calls to the fake Chat did not settle in 5 minutes")
		}
		if m := b.chat.Calls(); m != n {
			last, n = time.Now(), m
		}
	}
	return nil
}

// cpuSeconds is the user and system CPU time of process pid, from /proc.
func cpuSeconds(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The fields after the command name (which may hold spaces) start at ")".
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}
