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

// Package fakechat is a fake Tencent Cloud Chat REST server for tests, demos
// and benchmarks. It serves get_official_account_info (and a minimal
// destroy_official_account) with the checks and error codes of the real API,
// so that chatapi.Client meets the same refusals as in production.
//
// What it checks, in order, answering with Chat's codes:
//   - the command: another official-account command than the two above
//     answers 20001;
//   - for get_official_account_info only: the failures injected with
//     FailNext or SetFailure, then the app's SetMaxQPS (calls beyond it in any
//     one-second window answer 60011);
//   - sdkappid: missing or not a number 60006, not added with AddApp 70020;
//   - usersig: not a token 70003, made for another app 70014 or another
//     identifier 70013, not signed with the app's key 70009, expired 70001;
//   - identifier: not an administrator of the app 60010;
//   - POST, contenttype=json and a uint32 random: 60002 otherwise;
//   - the body: not JSON 60003; no account, or more than chatapi.MaxBatch,
//     6017 for the whole request.
//
// Each account of a valid request gets an item: its profile, or ActionStatus
// FAIL with 130004 when it does not exist or was destroyed, or 130007 when its
// ID is not an official-account ID. SetEchoAccount(false) drops
// Official_Account from the items (they are then positional), and
// SetWholeRequestNotFound(true) answers a batch that holds a missing account
// with a top-level 130004 and no items: the public docs allow both readings.
//
// For people (make dev, the demo), and only on the fake, unauthenticated:
//
//	GET    /fake/accounts?sdkappid=N                       the app's accounts, as JSON
//	POST   /fake/accounts?sdkappid=N&account=ID&name=NAME  create (or replace) an account;
//	                                                        owner= and subscribers= are optional,
//	                                                        and without account= an ID is made up
//	DELETE /fake/accounts?sdkappid=N&account=ID            destroy an account
//
// e.g. curl -X DELETE 'http://127.0.0.1:8090/fake/accounts?sdkappid=1400000001&account=%40TOA%23_x'
package fakechat

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/channel-operator/channel-operator/internal/chatapi"
)

// FailMode is a failure the fake injects into get_official_account_info.
type FailMode int

const (
	// FailNone answers normally.
	FailNone FailMode = iota
	// FailNetwork closes the connection without answering.
	FailNetwork
	// FailHTTP500 answers HTTP 500.
	FailHTTP500
	// FailInternal answers ErrorCode 20005 (internal error).
	FailInternal
	// FailRateLimit answers ErrorCode 60011 (SDKAppID rate exceeded).
	FailRateLimit
	// FailWrongKey answers ErrorCode 70009 (signature check failed).
	FailWrongKey
	// FailServiceNotEnabled answers ErrorCode 131000.
	FailServiceNotEnabled
	// FailSlow waits SetDelay's duration (default 10s) before answering
	// normally, or until the client gives up.
	FailSlow
)

var failModeNames = map[FailMode]string{
	FailNone: "none", FailNetwork: "network", FailHTTP500: "http500", FailInternal: "internal",
	FailRateLimit: "ratelimit", FailWrongKey: "wrongkey", FailServiceNotEnabled: "servicenotenabled", FailSlow: "slow",
}

func (m FailMode) String() string {
	if n, ok := failModeNames[m]; ok {
		return n
	}
	return "FailMode(" + strconv.Itoa(int(m)) + ")"
}

// Chat's codes the fake answers with.
const (
	codeInvalidRequest   = 20001
	codeInternal         = 20005
	codeHTTPParse        = 60002
	codeJSONParse        = 60003
	codeBadAppID         = 60006
	codeNotAdmin         = 60010
	codeAppRateExceeded  = 60011
	codeUserSigExpired   = 70001
	codeUserSigParse     = 70003
	codeSignatureFailed  = 70009
	codeIdentifierDiffer = 70013
	codeAppIDDiffer      = 70014
	codeAppNotFound      = 70020
)

// ServicePath is where the official-account commands are served.
const ServicePath = "/v4/official_account_open_http_svc/"

// CommandDestroyAccount is the one command besides get_official_account_info the fake serves.
const CommandDestroyAccount = "destroy_official_account"

// maxBody bounds a request body, as a real server would.
const maxBody = 1 << 20

// DefaultSlowDelay is how long FailSlow waits unless SetDelay says otherwise.
const DefaultSlowDelay = 10 * time.Second

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	mu            sync.Mutex
	apps          map[int64]*app
	echo          bool
	wholeNotFound bool
	failNext      int
	failNextMode  FailMode
	failure       FailMode
	delay         time.Duration
	latency       time.Duration
	maxQPS        map[int64]int
	nextID        int

	// Counters of get_official_account_info calls.
	calls         int
	callsFor      map[int64]int
	accountsAsked int
	maxBatch      int
	window        map[int64][]time.Time
	maxInSecond   map[int64]int
	rateLimited   map[int64]int

	srv       *http.Server
	url       string
	closed    chan struct{}
	closeOnce sync.Once
}

type app struct {
	key      string
	admins   map[string]bool
	accounts map[string]chatapi.AccountInfo
}

// NewServer returns a fake that is not listening: serve its Handler.
func NewServer() *Server {
	s := &Server{
		apps:   map[int64]*app{},
		echo:   true,
		delay:  DefaultSlowDelay,
		maxQPS: map[int64]int{},
		closed: make(chan struct{}),
	}
	s.resetCountersLocked()
	return s
}

// Start serves a new fake on a free port of 127.0.0.1.
func Start() (*Server, error) {
	return StartOn("127.0.0.1:0")
}

// StartOn serves a new fake on addr, e.g. 127.0.0.1:8090.
func StartOn(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	s := NewServer()
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.url = "http://" + ln.Addr().String()
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the base URL to use as the Credentials' Endpoint; empty unless the
// fake was started with Start or StartOn.
func (s *Server) URL() string {
	return s.url
}

// Close stops serving and ends FailSlow waits.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.srv != nil {
			_ = s.srv.Close()
		}
	})
}
