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

package fakechat

import (
	"time"
)

// SetEchoAccount says whether items carry Official_Account (default true).
func (s *Server) SetEchoAccount(echo bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.echo = echo
}

// SetWholeRequestNotFound makes a batch that holds a missing account fail as
// a whole with 130004 and no items (default false: one item per account).
func (s *Server) SetWholeRequestNotFound(whole bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wholeNotFound = whole
}

// FailNext makes the next n calls fail with mode, before any SetFailure.
func (s *Server) FailNext(n int, mode FailMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failNextMode = n, mode
}

// SetFailure makes every call fail with mode until ClearFailure.
func (s *Server) SetFailure(mode FailMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failure = mode
}

// ClearFailure ends SetFailure and any pending FailNext.
func (s *Server) ClearFailure() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failure, s.failNext = FailNone, 0
}

// SetDelay sets how long FailSlow waits before answering.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetLatency delays every get_official_account_info answer by d, as a
// distant data centre would.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetMaxQPS makes calls of the app beyond n in any one-second window fail
// with 60011; 0 removes the limit.
func (s *Server) SetMaxQPS(appID int64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxQPS[appID] = n
}

// MaxCallsInAnySecond is the most get_official_account_info calls of the
// app, accepted or not, seen in any one-second sliding window.
func (s *Server) MaxCallsInAnySecond(appID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInSecond[appID]
}

// RateLimitedCalls counts the app's calls answered 60011 because of SetMaxQPS.
func (s *Server) RateLimitedCalls(appID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rateLimited[appID]
}

// Calls counts every get_official_account_info call, failed ones included.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// CallsFor counts the get_official_account_info calls for one sdkappid.
func (s *Server) CallsFor(appID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsFor[appID]
}

// AccountsAsked sums the accounts of every get_official_account_info body
// the fake could parse.
func (s *Server) AccountsAsked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accountsAsked
}

// MaxBatchSeen is the most accounts seen in one body, refused ones included.
func (s *Server) MaxBatchSeen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxBatch
}

// ResetCounters zeroes every counter; apps, accounts and settings stay.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetCountersLocked()
}

func (s *Server) resetCountersLocked() {
	s.calls, s.accountsAsked, s.maxBatch = 0, 0, 0
	s.callsFor = map[int64]int{}
	s.window = map[int64][]time.Time{}
	s.maxInSecond = map[int64]int{}
	s.rateLimited = map[int64]int{}
}
