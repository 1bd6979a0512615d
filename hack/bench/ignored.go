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

// Benchmark 4, ignored callbacks: when the operator is an app's only webhook
// URL it receives every callback the app has enabled, message callbacks
// included, and answers them OK without acting on them. Their rate over HTTP
// keep-alive, signed, at concurrency 16 and 64, against a minimal Go HTTP
// handler that only answers OK (a process of its own, as the manager is),
// and the manager's RSS before and after.

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/channel-operator/channel-operator/internal/callback"
)

// minimalServerArg makes this binary the minimal handler (see main).
const minimalServerArg = "-minimal-ok-server"

// ignoredCommand is a message callback the operator does not act on.
const ignoredCommand = "C2C.CallbackAfterSendMsg"

var ignoredConcurrencies = []int{16, 64}

type ignoredRound struct {
	concurrency       int
	operator, minimal float64 // answers per second
	operatorP99       time.Duration
	failed            int
}

type ignoredResult struct {
	rounds                []ignoredRound
	rssBefore, rssAfter   float64
	requests              int
	secondsPerMeasurement time.Duration
}

// serveMinimal answers every request with the Chat OK answer until killed.
func serveMinimal(addr string) error {
	ok := []byte(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`)
	return http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(ok)
	}))
}

// ignoredCallbacks measures each concurrency for d on each side, in the order
// minimal, operator, operator, minimal.
func (b *bench) ignoredCallbacks(d time.Duration) (ignoredResult, error) {
	res := ignoredResult{secondsPerMeasurement: d}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	addr := l.Addr().String()
	_ = l.Close()
	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	minimal := exec.Command(self, minimalServerArg, addr)
	minimal.Stdout, minimal.Stderr = os.Stdout, os.Stderr
	if err := minimal.Start(); err != nil {
		return res, err
	}
	defer func() { _ = minimal.Process.Kill(); _ = minimal.Wait() }()
	minimalURL := "http://" + addr + "/callback"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Post(minimalURL, "application/json", strings.NewReader("{}")); err == nil {
			_ = resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("the minimal handler did not start on %s", addr)
		}
	}

	res.rssBefore = rssMiB(b.mgr.PID())
	body := []byte(`{"CallbackCommand":"` + ignoredCommand + `","From_Account":"jared","To_Account":"Jonh","MsgSeq":48374,` +
		`"MsgRandom":2837546,"MsgTime":1557481126,"MsgKey":"48374_2837546_1557481126","OnlineOnlyFlag":1,` +
		`"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}],"CloudCustomData":"","EventTime":1670574414123}`)
	for _, c := range ignoredConcurrencies {
		r := ignoredRound{concurrency: c}
		var opLat []time.Duration
		for i, operatorTurn := range []bool{false, true, true, false} {
			if !operatorTurn {
				n, _, failed := hammer(minimalURL, body, c, d, false)
				r.minimal += float64(n) / d.Seconds() / 2
				r.failed += failed
				res.requests += n
				continue
			}
			n, lat, failed := hammer(b.mgr.CallbackURL, body, c, d, true)
			r.operator += float64(n) / d.Seconds() / 2
			r.failed += failed
			res.requests += n
			if i == 1 {
				opLat = lat
			}
		}
		slices.Sort(opLat)
		r.operatorP99 = latencies{sorted: opLat}.quantile(0.99)
		logf("ignored callbacks c=%d: operator %.0f/s (p99 %s), minimal handler %.0f/s, ratio %.2f, failed %d",
			c, r.operator, r.operatorP99, r.minimal, r.operator/r.minimal, r.failed)
		res.rounds = append(res.rounds, r)
	}
	res.rssAfter = rssMiB(b.mgr.PID())
	logf("ignored callbacks: manager RSS %.1f -> %.1f MiB over %d requests", res.rssBefore, res.rssAfter, res.requests)
	return res, nil
}

// hammer sends signed callbacks of ignoredCommand to endpoint on c keep-alive
// connections for d, and returns how many were answered 200 OK, their
// latencies (when keep is set) and how many failed.
func hammer(endpoint string, body []byte, c int, d time.Duration, keep bool) (int, []time.Duration, int) {
	transport := &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var ok, failed atomic.Int64
	lats := make([][]time.Duration, c)
	done := make(chan struct{}, c)
	for w := range c {
		go func() {
			defer func() { done <- struct{}{} }()
			for ctx.Err() == nil {
				// Signed now: within the skew window whatever d is.
				u, err := callback.Call{SDKAppID: app, Token: token, Command: ignoredCommand, ClientIP: loadClientIP,
					OptPlatform: "iOS"}.URL(endpoint)
				if err != nil {
					failed.Add(1)
					return
				}
				start := time.Now()
				resp, err := client.Post(u, "application/json", bytes.NewReader(body))
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
					}
					continue
				}
				raw, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.Contains(raw, []byte(`"ActionStatus":"OK"`)) {
					failed.Add(1)
					continue
				}
				ok.Add(1)
				if keep {
					lats[w] = append(lats[w], time.Since(start))
				}
			}
		}()
	}
	for range c {
		<-done
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return int(ok.Load()), all, int(failed.Load())
}

// minRatio is the worst operator/minimal ratio over the rounds.
func (r ignoredResult) minRatio() float64 {
	m := 0.0
	for i, round := range r.rounds {
		if ratio := round.operator / round.minimal; i == 0 || ratio < m {
			m = ratio
		}
	}
	return m
}
