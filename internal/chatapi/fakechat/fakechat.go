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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
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

// AddApp adds (or replaces the key and admins of) an app. Without admins,
// the app's administrator is chatapi.DefaultIdentifier.
func (s *Server) AddApp(appID int64, key string, admins ...string) {
	if len(admins) == 0 {
		admins = []string{chatapi.DefaultIdentifier}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		a = &app{accounts: map[string]chatapi.AccountInfo{}}
		s.apps[appID] = a
	}
	a.key = key
	a.admins = map[string]bool{}
	for _, id := range admins {
		a.admins[id] = true
	}
}

// CreateAccount creates or replaces an account of an added app and returns
// its ID: info.Account, or a made-up one when empty. CreateTime defaults to
// now. It panics when the app was not added: that is a mistake in the test.
func (s *Server) CreateAccount(appID int64, info chatapi.AccountInfo) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		panic(fmt.Sprintf("fakechat: CreateAccount for app %d, which was not added", appID))
	}
	if info.Account == "" {
		s.nextID++
		info.Account = fmt.Sprintf("@TOA#_@TOA#fake%d", s.nextID)
	}
	if info.CreateTime == 0 {
		info.CreateTime = time.Now().Unix()
	}
	a.accounts[info.Account] = info
	return info.Account
}

// SetProfile changes an existing account's profile and reports whether it exists.
func (s *Server) SetProfile(appID int64, account string, change func(*chatapi.AccountInfo)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return false
	}
	info, ok := a.accounts[account]
	if !ok {
		return false
	}
	change(&info)
	info.Account = account
	a.accounts[account] = info
	return true
}

// Destroy destroys an account and reports whether it existed.
func (s *Server) Destroy(appID int64, account string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.destroyLocked(appID, account)
}

func (s *Server) destroyLocked(appID int64, account string) bool {
	a, ok := s.apps[appID]
	if !ok {
		return false
	}
	_, ok = a.accounts[account]
	delete(a.accounts, account)
	return ok
}

// Exists reports whether an account exists.
func (s *Server) Exists(appID int64, account string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return false
	}
	_, ok = a.accounts[account]
	return ok
}

// Accounts returns an app's accounts sorted by ID.
func (s *Server) Accounts(appID int64) []chatapi.AccountInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return nil
	}
	out := make([]chatapi.AccountInfo, 0, len(a.accounts))
	for _, info := range a.accounts {
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Account < out[j].Account })
	return out
}

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

// Handler serves the REST API under /v4/ and the admin endpoints under /fake/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v4/", s.serveAPI)
	mux.HandleFunc("/fake/accounts", s.serveAdmin)
	return mux
}

// ActionStatus values.
const (
	statusOK   = "OK"
	statusFail = "FAIL"
)

// chatAnswer is the envelope of every REST answer.
type chatAnswer struct {
	ActionStatus string `json:"ActionStatus"`
	ErrorCode    int    `json:"ErrorCode"`
	ErrorInfo    string `json:"ErrorInfo"`
	// Items is left out of error answers, as the whole-request 130004 of
	// SetWholeRequestNotFound needs.
	Items []map[string]any `json:"OfficialAccountInfoList,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func answerError(w http.ResponseWriter, code int, info string) {
	writeJSON(w, http.StatusOK, chatAnswer{ActionStatus: statusFail, ErrorCode: code, ErrorInfo: info})
}

// callPlan is what the bookkeeping of one get_official_account_info call decided.
type callPlan struct {
	fail        FailMode
	rateLimited bool
	latency     time.Duration
	delay       time.Duration
}

// countCall counts a get_official_account_info call in every counter and
// window and decides which failure, if any, it meets.
func (s *Server) countCall(appID int64) callPlan {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.callsFor[appID]++
	w := s.window[appID]
	cut := now.Add(-time.Second)
	i := 0
	for i < len(w) && !w[i].After(cut) {
		i++
	}
	w = append(w[i:], now)
	s.window[appID] = w
	s.maxInSecond[appID] = max(s.maxInSecond[appID], len(w))
	p := callPlan{fail: s.failure, latency: s.latency, delay: s.delay}
	if s.failNext > 0 {
		s.failNext--
		p.fail = s.failNextMode
	}
	if n := s.maxQPS[appID]; n > 0 && len(w) > n {
		p.rateLimited = true
	}
	return p
}

// sleep waits d unless the client gave up or the fake closed first.
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closed:
	}
	return false
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	cmd, ok := strings.CutPrefix(r.URL.Path, ServicePath)
	if !ok || (cmd != chatapi.CommandGetAccountInfo && cmd != CommandDestroyAccount) {
		answerError(w, codeInvalidRequest, "the fake does not serve "+r.URL.Path)
		return
	}
	q := r.URL.Query()
	appID, appErr := strconv.ParseInt(q.Get("sdkappid"), 10, 64)
	if cmd == chatapi.CommandGetAccountInfo {
		p := s.countCall(appID)
		if !s.sleep(r, p.latency) || !s.inject(w, r, p) {
			return
		}
		if p.rateLimited {
			s.mu.Lock()
			s.rateLimited[appID]++
			s.mu.Unlock()
			answerError(w, codeAppRateExceeded, "SDKAppID request rate exceeded")
			return
		}
	}
	if appErr != nil || appID <= 0 {
		answerError(w, codeBadAppID, "sdkappid is missing or not a number")
		return
	}
	key, admins, ok := s.appAuth(appID)
	if !ok {
		answerError(w, codeAppNotFound, fmt.Sprintf("sdkappid %d not found", appID))
		return
	}
	identifier := q.Get("identifier")
	if code, info := checkUserSig(q.Get("usersig"), key, appID, identifier); code != 0 {
		answerError(w, code, info)
		return
	}
	if !admins[identifier] {
		answerError(w, codeNotAdmin, "the identifier is not an app administrator")
		return
	}
	if r.Method != http.MethodPost {
		answerError(w, codeHTTPParse, "the REST API takes POST only")
		return
	}
	if q.Get("contenttype") != "json" {
		answerError(w, codeHTTPParse, "contenttype must be json")
		return
	}
	if _, err := strconv.ParseUint(q.Get("random"), 10, 32); err != nil {
		answerError(w, codeHTTPParse, "random must be a 32-bit unsigned integer")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		answerError(w, codeHTTPParse, "the body cannot be read or is larger than 1 MiB")
		return
	}
	if cmd == CommandDestroyAccount {
		s.serveDestroy(w, appID, body)
		return
	}
	s.serveGet(w, appID, body)
}

// inject answers with the planned failure and reports whether the call
// should go on.
func (s *Server) inject(w http.ResponseWriter, r *http.Request, p callPlan) bool {
	switch p.fail {
	case FailNone:
		return true
	case FailSlow:
		return s.sleep(r, p.delay)
	case FailNetwork:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return false
			}
		}
		// Without a hijackable connection, aborting the handler also drops it.
		panic(http.ErrAbortHandler)
	case FailHTTP500:
		http.Error(w, "internal server error", http.StatusInternalServerError)
	case FailInternal:
		answerError(w, codeInternal, "internal error, please retry")
	case FailRateLimit:
		answerError(w, codeAppRateExceeded, "SDKAppID request rate exceeded")
	case FailWrongKey:
		answerError(w, codeSignatureFailed, "usersig signature check failed")
	case FailServiceNotEnabled:
		answerError(w, chatapi.CodeServiceNotEnabled, "official accounts are not enabled for this app")
	default:
		answerError(w, codeInternal, "unknown failure mode "+p.fail.String())
	}
	return false
}

func (s *Server) appAuth(appID int64) (string, map[string]bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return "", nil, false
	}
	return a.key, a.admins, true
}

// checkUserSig returns the code Chat answers a UserSig with, 0 if it is good.
func checkUserSig(sig, key string, appID int64, identifier string) (int, string) {
	info, err := chatapi.DecodeUserSig(sig)
	switch {
	case err != nil:
		return codeUserSigParse, "usersig cannot be parsed"
	case info.AppID != appID:
		return codeAppIDDiffer, "sdkappid differs from the usersig's"
	case info.Identifier != identifier:
		return codeIdentifierDiffer, "identifier differs from the usersig's"
	}
	_, err = chatapi.VerifyUserSig(sig, key, time.Now())
	switch {
	case errors.Is(err, chatapi.ErrUserSigExpired):
		return codeUserSigExpired, "usersig expired"
	case errors.Is(err, chatapi.ErrUserSigMAC):
		return codeSignatureFailed, "usersig signature check failed"
	case err != nil:
		return codeUserSigParse, "usersig cannot be parsed"
	}
	return 0, ""
}

type getRequest struct {
	OfficialAccountIDList []struct {
		OfficialAccount string `json:"Official_Account"`
	} `json:"OfficialAccountIdList"`
	ResponseFilter *struct {
		OfficialAccountBaseInfoFilter []string `json:"OfficialAccountBaseInfoFilter"`
	} `json:"ResponseFilter"`
}

// validAccountID follows the documented ID rules: printable ASCII, at most 48
// bytes, the @TOA#_ prefix.
func validAccountID(id string) bool {
	if len(id) > 48 || !strings.HasPrefix(id, "@TOA#_") {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func (s *Server) serveGet(w http.ResponseWriter, appID int64, body []byte) {
	var req getRequest
	if err := json.Unmarshal(body, &req); err != nil {
		answerError(w, codeJSONParse, "the body is not valid JSON")
		return
	}
	n := len(req.OfficialAccountIDList)
	s.mu.Lock()
	s.accountsAsked += n
	s.maxBatch = max(s.maxBatch, n)
	s.mu.Unlock()
	if n == 0 || n > chatapi.MaxBatch {
		answerError(w, chatapi.CodeInvalidParameter, fmt.Sprintf("OfficialAccountIdList holds %d accounts, not 1 to %d", n, chatapi.MaxBatch))
		return
	}
	var filter []string
	if req.ResponseFilter != nil {
		filter = req.ResponseFilter.OfficialAccountBaseInfoFilter
	}

	s.mu.Lock()
	a := s.apps[appID]
	echo, whole := s.echo, s.wholeNotFound
	items := make([]map[string]any, 0, n)
	wholeCode := 0
	for _, id := range req.OfficialAccountIDList {
		acct := id.OfficialAccount
		info, exists := a.accounts[acct]
		var it map[string]any
		switch {
		case !validAccountID(acct):
			it = item(statusFail, chatapi.CodeBadAccountID, "invalid official account ID")
			wholeCode = chatapi.CodeBadAccountID
		case !exists:
			it = item(statusFail, chatapi.CodeAccountNotFound, "official account not found")
			if wholeCode == 0 {
				wholeCode = chatapi.CodeAccountNotFound
			}
		default:
			it = profile(info, filter)
		}
		if echo {
			it["Official_Account"] = acct
		}
		items = append(items, it)
	}
	s.mu.Unlock()
	if whole && wholeCode != 0 {
		answerError(w, wholeCode, "an official account of the request is invalid or not found")
		return
	}
	writeJSON(w, http.StatusOK, chatAnswer{ActionStatus: statusOK, Items: items})
}

func item(status string, code int, info string) map[string]any {
	return map[string]any{"ActionStatus": status, "ErrorCode": code, "ErrorInfo": info}
}

// profile is an existing account's item, holding the fields of the filter,
// or every field without one.
func profile(info chatapi.AccountInfo, filter []string) map[string]any {
	all := map[string]any{
		"Name":          info.Name,
		"Owner_Account": info.OwnerAccount,
		"Introduction":  info.Introduction,
		"FaceUrl":       info.FaceURL,
		"Organization":  info.Organization,
		"SubscriberNum": info.SubscriberCount,
		"CreateTime":    info.CreateTime,
		"LastMsgTime":   info.LastMessageTime,
	}
	it := item(statusOK, 0, "")
	for k, v := range all {
		if filter == nil || slices.Contains(filter, k) {
			it[k] = v
		}
	}
	return it
}

func (s *Server) serveDestroy(w http.ResponseWriter, appID int64, body []byte) {
	var req struct {
		OfficialAccount string `json:"Official_Account"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		answerError(w, codeJSONParse, "the body is not valid JSON")
		return
	}
	if !validAccountID(req.OfficialAccount) {
		answerError(w, chatapi.CodeBadAccountID, "invalid official account ID")
		return
	}
	if !s.Destroy(appID, req.OfficialAccount) {
		answerError(w, chatapi.CodeAccountNotFound, "official account not found")
		return
	}
	writeJSON(w, http.StatusOK, chatAnswer{ActionStatus: statusOK})
}

// adminAccount is an account as the admin endpoints show it, in Chat's field names.
type adminAccount struct {
	Account       string `json:"Official_Account"`
	Name          string `json:"Name"`
	OwnerAccount  string `json:"Owner_Account"`
	Introduction  string `json:"Introduction,omitempty"`
	FaceURL       string `json:"FaceUrl,omitempty"`
	Organization  string `json:"Organization,omitempty"`
	SubscriberNum int64  `json:"SubscriberNum"`
	CreateTime    int64  `json:"CreateTime"`
	LastMsgTime   int64  `json:"LastMsgTime"`
}

func toAdmin(info chatapi.AccountInfo) adminAccount {
	return adminAccount{
		Account: info.Account, Name: info.Name, OwnerAccount: info.OwnerAccount, Introduction: info.Introduction,
		FaceURL: info.FaceURL, Organization: info.Organization, SubscriberNum: info.SubscriberCount,
		CreateTime: info.CreateTime, LastMsgTime: info.LastMessageTime,
	}
}

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID, err := strconv.ParseInt(q.Get("sdkappid"), 10, 64)
	if err != nil {
		adminError(w, http.StatusBadRequest, "sdkappid must be a number")
		return
	}
	if _, _, ok := s.appAuth(appID); !ok {
		adminError(w, http.StatusNotFound, fmt.Sprintf("app %d was not added", appID))
		return
	}
	account := q.Get("account")
	switch r.Method {
	case http.MethodGet:
		list := []adminAccount{}
		for _, info := range s.Accounts(appID) {
			list = append(list, toAdmin(info))
		}
		writeJSON(w, http.StatusOK, list)
	case http.MethodPost:
		if account != "" && !validAccountID(account) {
			adminError(w, http.StatusBadRequest, "account must start with @TOA#_, printable ASCII, at most 48 bytes")
			return
		}
		info := chatapi.AccountInfo{Account: account, Name: q.Get("name"), OwnerAccount: q.Get("owner"), CreateTime: time.Now().Unix()}
		if n := q.Get("subscribers"); n != "" {
			if info.SubscriberCount, err = strconv.ParseInt(n, 10, 64); err != nil {
				adminError(w, http.StatusBadRequest, "subscribers must be a number")
				return
			}
		}
		info.Account = s.CreateAccount(appID, info)
		writeJSON(w, http.StatusCreated, toAdmin(info))
	case http.MethodDelete:
		if !s.Destroy(appID, account) {
			adminError(w, http.StatusNotFound, "no such account")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"destroyed": account})
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		adminError(w, http.StatusMethodNotAllowed, "GET, POST or DELETE")
	}
}
