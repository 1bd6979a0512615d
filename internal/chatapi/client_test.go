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

package chatapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/chatapi/fakechat"
)

const (
	testApp = 1400000001
	testKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// newFake serves a fake with the test app on a real listener.
func newFake(t *testing.T) *fakechat.Server {
	t.Helper()
	srv, err := fakechat.Start()
	if err != nil {
		t.Fatalf("starting the fake: %v", err)
	}
	t.Cleanup(srv.Close)
	srv.AddApp(testApp, testKey)
	return srv
}

func credsFor(endpoint string) chatapi.Credentials {
	return chatapi.Credentials{AppID: testApp, Identifier: chatapi.DefaultIdentifier, SecretKey: testKey, Endpoint: endpoint}
}

// fastOptions keep failing tests in milliseconds.
func fastOptions() chatapi.ClientOptions {
	return chatapi.ClientOptions{Timeout: 500 * time.Millisecond, QPS: 100000, MaxAttempts: 3, Backoff: time.Millisecond}
}

func accountIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("@TOA#_%s%d", prefix, i)
	}
	return ids
}

func createAll(srv *fakechat.Server, ids []string) {
	for _, id := range ids {
		srv.CreateAccount(testApp, chatapi.AccountInfo{Account: id, Name: "name of " + id, SubscriberCount: int64(len(id))})
	}
}

// describe is a Result in one line for failure messages.
func describe(r chatapi.Result) string {
	switch {
	case r.Err != nil:
		return fmt.Sprintf("%s: error %v", r.Account, r.Err)
	case r.Gone:
		return r.Account + ": gone"
	case r.Info != nil:
		return fmt.Sprintf("%s: info %+v", r.Account, *r.Info)
	}
	return r.Account + ": nothing"
}

// wantGoneOrInfo checks every result: Gone exactly for the destroyed accounts,
// the right profile for the others.
func wantGoneOrInfo(t *testing.T, results []chatapi.Result, asked []string, destroyed map[string]bool) {
	t.Helper()
	if len(results) != len(asked) {
		t.Fatalf("%d results for %d accounts", len(results), len(asked))
	}
	for i, r := range results {
		if r.Account != asked[i] {
			t.Fatalf("result %d is for %q, want %q", i, r.Account, asked[i])
		}
		if r.At.IsZero() {
			t.Errorf("%s: At is zero", r.Account)
		}
		switch {
		case destroyed[r.Account]:
			if !r.Gone || r.Info != nil || r.Err != nil {
				t.Errorf("destroyed account: %s", describe(r))
			}
		case r.Gone || r.Err != nil || r.Info == nil:
			t.Errorf("existing account: %s", describe(r))
		case r.Info.Name != "name of "+r.Account || r.Info.Account != r.Account || r.Info.SubscriberCount != int64(len(r.Account)):
			t.Errorf("wrong profile: %s", describe(r))
		}
	}
}

func TestGetAccountsAnswerShapes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		echo      bool
		whole     bool
		wantCalls func(int) bool
	}{
		// 120 accounts: three batches, one item per account.
		{name: "items echo the account", echo: true, wantCalls: func(n int) bool { return n == 3 }},
		// Positional: each of the 7 gone accounts is asked again alone
		// before it is called Gone.
		{name: "positional items", echo: false, wantCalls: func(n int) bool { return n == 3+7 }},
		// Batches holding a destroyed account are split until it stands alone.
		{name: "whole-request 130004", echo: true, whole: true, wantCalls: func(n int) bool { return n > 3 && n < 60 }},
		{name: "whole-request 130004, positional", echo: false, whole: true, wantCalls: func(n int) bool { return n > 3 && n < 60 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFake(t)
			srv.SetEchoAccount(tc.echo)
			srv.SetWholeRequestNotFound(tc.whole)
			ids := accountIDs("acct", 120)
			createAll(srv, ids)
			destroyed := map[string]bool{}
			for _, i := range []int{0, 7, 49, 50, 64, 119} {
				srv.Destroy(testApp, ids[i])
				destroyed[ids[i]] = true
			}
			// Never created at all: as gone as a destroyed one.
			ids = append(ids, "@TOA#_never")
			destroyed["@TOA#_never"] = true

			c := chatapi.NewClient(fastOptions())
			results := c.GetAccounts(context.Background(), credsFor(srv.URL()), ids)
			wantGoneOrInfo(t, results, ids, destroyed)
			if got := srv.MaxBatchSeen(); got > chatapi.MaxBatch {
				t.Errorf("a call asked about %d accounts, more than %d", got, chatapi.MaxBatch)
			}
			if got := srv.Calls(); !tc.wantCalls(got) {
				t.Errorf("%d calls", got)
			}
		})
	}
}

func TestGetAccountsRejectedAccountAmongOthers(t *testing.T) {
	for _, whole := range []bool{false, true} {
		t.Run(fmt.Sprintf("whole=%v", whole), func(t *testing.T) {
			srv := newFake(t)
			srv.SetWholeRequestNotFound(whole)
			ids := accountIDs("ok", 10)
			createAll(srv, ids)
			asked := append([]string{"not-an-official-account"}, ids...)
			results := chatapi.NewClient(fastOptions()).GetAccounts(context.Background(), credsFor(srv.URL()), asked)
			if r := results[0]; r.Err == nil || r.Err.Reason != chatapi.ReasonAccountRejected || r.Err.Code != chatapi.CodeBadAccountID {
				t.Errorf("bad ID: %s", describe(r))
			}
			wantGoneOrInfo(t, results[1:], ids, nil)
		})
	}
}

func TestGetAccountsDedupesInOrder(t *testing.T) {
	srv := newFake(t)
	createAll(srv, []string{"@TOA#_a", "@TOA#_b"})
	asked := []string{"@TOA#_b", "@TOA#_a", "@TOA#_b", "", "@TOA#_a", ""}
	results := chatapi.NewClient(fastOptions()).GetAccounts(context.Background(), credsFor(srv.URL()), asked)
	got := make([]string, 0, len(results))
	for _, r := range results {
		got = append(got, r.Account)
	}
	if want := []string{"@TOA#_b", "@TOA#_a", ""}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("results for %q, want %q", got, want)
	}
	if r := results[2]; r.Err == nil || r.Err.Reason != chatapi.ReasonAccountRejected {
		t.Errorf("empty ID: %s", describe(r))
	}
	if srv.AccountsAsked() != 2 || srv.Calls() != 1 {
		t.Errorf("asked %d accounts in %d calls, want 2 in 1", srv.AccountsAsked(), srv.Calls())
	}
	if r := chatapi.NewClient(fastOptions()).GetAccounts(context.Background(), credsFor(srv.URL()), nil); len(r) != 0 {
		t.Errorf("no accounts gave %d results", len(r))
	}
}

func TestGetAccountsTenThousand(t *testing.T) {
	srv := newFake(t)
	ids := accountIDs("bulk", 10000)
	createAll(srv, ids)
	results := chatapi.NewClient(fastOptions()).GetAccounts(context.Background(), credsFor(srv.URL()), ids)
	wantGoneOrInfo(t, results, ids, nil)
	if srv.Calls() != 200 || srv.AccountsAsked() != 10000 || srv.MaxBatchSeen() != chatapi.MaxBatch {
		t.Errorf("%d calls, %d accounts asked, largest batch %d; want 200, 10000, 50",
			srv.Calls(), srv.AccountsAsked(), srv.MaxBatchSeen())
	}
}

// The limiter is per app and shared by concurrent callers: two callers with
// five batches each at QPS 5 take about two seconds, and no second,
// wherever it starts, sees more than 5 calls (Chat refuses the sixth).
func TestGetAccountsRespectsQPS(t *testing.T) {
	srv := newFake(t)
	const qps = 5
	// Chat refusing beyond the flag would show as RateLimited results.
	srv.SetMaxQPS(testApp, qps)
	o := fastOptions()
	o.QPS = qps
	c := chatapi.NewClient(o)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range 2 {
		ids := accountIDs(fmt.Sprintf("g%d-", g), 5*chatapi.MaxBatch)
		createAll(srv, ids)
		wg.Go(func() {
			wantGoneOrInfo(t, c.GetAccounts(context.Background(), credsFor(srv.URL()), ids), ids, nil)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if srv.Calls() != 10 {
		t.Fatalf("%d calls, want 10", srv.Calls())
	}
	if got := srv.MaxCallsInAnySecond(testApp); got > qps {
		t.Errorf("%d calls in one second with QPS %d", got, qps)
	}
	if srv.RateLimitedCalls(testApp) != 0 {
		t.Errorf("the fake refused %d calls for their rate", srv.RateLimitedCalls(testApp))
	}
	if elapsed < 1700*time.Millisecond {
		t.Errorf("10 calls at QPS %d took only %s", qps, elapsed)
	}
}

// observed records the Observe hook's calls.
type observed struct {
	mu      sync.Mutex
	results []string
}

func (o *observed) observe(command, result string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if command != chatapi.CommandGetAccountInfo || d <= 0 {
		result = "bad call " + command
	}
	o.results = append(o.results, result)
}

func (o *observed) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.results, ",")
}

func TestGetAccountsRetriesInternalErrors(t *testing.T) {
	srv := newFake(t)
	ids := accountIDs("r", 3)
	createAll(srv, ids)
	srv.FailNext(2, fakechat.FailInternal)
	var obs observed
	o := fastOptions()
	o.Observe = obs.observe
	results := chatapi.NewClient(o).GetAccounts(context.Background(), credsFor(srv.URL()), ids)
	wantGoneOrInfo(t, results, ids, nil)
	if srv.Calls() != 3 {
		t.Errorf("%d calls, want 3", srv.Calls())
	}
	if got, want := obs.String(), "Unreachable,Unreachable,ok"; got != want {
		t.Errorf("observed %s, want %s", got, want)
	}
}

func TestGetAccountsFailures(t *testing.T) {
	for _, tc := range []struct {
		mode      fakechat.FailMode
		reason    chatapi.Reason
		code      int
		wantCalls int
	}{
		{fakechat.FailNetwork, chatapi.ReasonUnreachable, 0, 3},
		{fakechat.FailHTTP500, chatapi.ReasonUnreachable, 0, 3},
		{fakechat.FailSlow, chatapi.ReasonUnreachable, 0, 3},
		{fakechat.FailInternal, chatapi.ReasonUnreachable, 20005, 3},
		{fakechat.FailRateLimit, chatapi.ReasonRateLimited, 60011, 3},
		// Configuration errors are not retried: exactly one call.
		{fakechat.FailWrongKey, chatapi.ReasonCredentialsRefused, 70009, 1},
		{fakechat.FailServiceNotEnabled, chatapi.ReasonServiceNotEnabled, chatapi.CodeServiceNotEnabled, 1},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			srv := newFake(t)
			ids := accountIDs("f", 4)
			createAll(srv, ids[:2]) // the others would be Gone if Chat answered
			srv.SetFailure(tc.mode)
			srv.SetDelay(time.Second)
			var obs observed
			o := fastOptions()
			o.Timeout = 50 * time.Millisecond
			o.Observe = obs.observe
			results := chatapi.NewClient(o).GetAccounts(context.Background(), credsFor(srv.URL()), ids)
			for _, r := range results {
				if r.Gone || r.Info != nil || r.Err == nil || r.Err.Reason != tc.reason || r.Err.Code != tc.code {
					t.Errorf("%s, want %s with code %d", describe(r), tc.reason, tc.code)
				}
			}
			if srv.Calls() != tc.wantCalls {
				t.Errorf("%d calls, want %d", srv.Calls(), tc.wantCalls)
			}
			if got, want := obs.String(), strings.TrimSuffix(strings.Repeat(string(tc.reason)+",", tc.wantCalls), ","); got != want {
				t.Errorf("observed %s, want %s", got, want)
			}
		})
	}
}

// sigRecorder serves a handler and records every usersig it was sent.
type sigRecorder struct {
	mu   sync.Mutex
	sigs []string
}

func (s *sigRecorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.sigs = append(s.sigs, r.URL.Query().Get("usersig"))
		s.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (s *sigRecorder) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sigs...)
}

// No message may hold the key or a UserSig, raw or as the query escaped it:
// messages end up in logs, events and status.
func TestErrorsHoldNoSecret(t *testing.T) {
	given, err := chatapi.MakeUserSig(testApp, chatapi.DefaultIdentifier, testKey, time.Now(), time.Hour)
	if err != nil {
		t.Fatalf("MakeUserSig: %v", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	for _, tc := range []struct {
		name    string
		mode    fakechat.FailMode
		userSig string
		key     string
		closed  bool
	}{
		{name: "network failure", mode: fakechat.FailNetwork, key: testKey},
		{name: "network failure with a given UserSig", mode: fakechat.FailNetwork, userSig: given},
		{name: "connection refused", closed: true, key: testKey},
		{name: "timeout", mode: fakechat.FailSlow, key: testKey},
		{name: "wrong key", key: strings.Repeat("f", 64)},
		{name: "injected wrong key", mode: fakechat.FailWrongKey, key: testKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakechat.NewServer()
			fake.AddApp(testApp, testKey)
			fake.SetFailure(tc.mode)
			fake.SetDelay(time.Second)
			var rec sigRecorder
			srv := httptest.NewServer(rec.wrap(fake.Handler()))
			t.Cleanup(srv.Close)
			t.Cleanup(fake.Close)
			creds := credsFor(srv.URL)
			if tc.closed {
				creds.Endpoint = closedURL
			}
			creds.SecretKey, creds.UserSig = tc.key, tc.userSig
			o := fastOptions()
			o.Timeout = 50 * time.Millisecond
			results := chatapi.NewClient(o).GetAccounts(context.Background(), creds, accountIDs("s", 3))
			secrets := append(rec.all(), testKey, tc.key, tc.userSig, given)
			for _, r := range results {
				if r.Err == nil || r.Gone {
					t.Fatalf("want a failure: %s", describe(r))
				}
				for _, s := range secrets {
					if s == "" {
						continue
					}
					for _, msg := range []string{r.Err.Message, r.Err.Error()} {
						if strings.Contains(msg, s) || strings.Contains(msg, url.QueryEscape(s)) {
							t.Errorf("message %q holds a secret", msg)
						}
					}
				}
			}
			if !tc.closed && len(rec.all()) == 0 {
				t.Errorf("no call reached the server: the test proves nothing")
			}
		})
	}
}

func TestGetAccountsUserSig(t *testing.T) {
	srv := newFake(t)
	createAll(srv, []string{"@TOA#_a"})
	now := time.Now()
	for _, tc := range []struct {
		name      string
		made      time.Time
		validity  time.Duration
		wantCalls int
		wantErr   string
	}{
		{name: "valid", made: now.Add(-time.Hour), validity: 2 * time.Hour, wantCalls: 1},
		{name: "expired", made: now.Add(-8 * 24 * time.Hour), validity: 7 * 24 * time.Hour, wantErr: "the UserSig expired at "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetCounters()
			sig, err := chatapi.MakeUserSig(testApp, chatapi.DefaultIdentifier, testKey, tc.made, tc.validity)
			if err != nil {
				t.Fatalf("MakeUserSig: %v", err)
			}
			creds := credsFor(srv.URL())
			creds.SecretKey, creds.UserSig = "", sig
			results := chatapi.NewClient(fastOptions()).GetAccounts(context.Background(), creds, []string{"@TOA#_a", "@TOA#_b"})
			if srv.Calls() != tc.wantCalls {
				t.Errorf("%d calls, want %d", srv.Calls(), tc.wantCalls)
			}
			for _, r := range results {
				switch {
				case tc.wantErr == "":
					if r.Err != nil {
						t.Errorf("%s", describe(r))
					}
				case r.Err == nil || r.Err.Reason != chatapi.ReasonCredentialsRefused || !strings.HasPrefix(r.Err.Message, tc.wantErr):
					t.Errorf("%s, want CredentialsRefused %q", describe(r), tc.wantErr)
				}
			}
		})
	}
}

func TestGetAccountsRefusesWithoutCalling(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*chatapi.Credentials)
	}{
		{"plain http to a remote host", func(c *chatapi.Credentials) { c.Endpoint = "http://example.com" }},
		{"ftp", func(c *chatapi.Credentials) { c.Endpoint = "ftp://127.0.0.1" }},
		{"no key and no UserSig", func(c *chatapi.Credentials) { c.SecretKey = "" }},
		{"no app", func(c *chatapi.Credentials) { c.AppID = 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			o := fastOptions()
			o.HTTPClient = &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
				calls.Add(1)
				return nil, fmt.Errorf("no call expected")
			})}
			creds := credsFor("https://console.tim.qq.com")
			tc.mutate(&creds)
			for _, r := range chatapi.NewClient(o).GetAccounts(context.Background(), creds, []string{"@TOA#_a"}) {
				if r.Err == nil || r.Err.Reason != chatapi.ReasonCredentialsRefused {
					t.Errorf("%s, want CredentialsRefused", describe(r))
				}
			}
			if calls.Load() != 0 {
				t.Errorf("%d calls, want none", calls.Load())
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestValidateEndpoint(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		ok       bool
	}{
		{"https://console.tim.qq.com", true},
		{"https://adminapisgp.im.qcloud.com/", true},
		{"HTTPS://adminapiger.im.qcloud.com", true},
		{"http://127.0.0.1:8090", true},
		{"http://127.9.8.7", true},
		{"http://[::1]:8090", true},
		{"http://localhost:8090", true},
		{"http://example.com", false},
		{"http://127.0.0.1.example.com", false},
		{"http://10.0.0.1", false},
		{"ftp://127.0.0.1", false},
		{"https://user:password@console.tim.qq.com", false},
		{"https://console.tim.qq.com?usersig=x", false},
		{"https://console.tim.qq.com#x", false},
		{"console.tim.qq.com", false},
		{"", false},
		{"://", false},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			if err := chatapi.ValidateEndpoint(tc.endpoint); (err == nil) != tc.ok {
				t.Errorf("ValidateEndpoint(%q) = %v, want ok=%v", tc.endpoint, err, tc.ok)
			}
		})
	}
}

// scripted serves canned answers and counts calls; it answers with the
// accounts of the request at hand.
func scripted(t *testing.T, answer func(asked []string) (int, string)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			List []struct {
				Account string `json:"Official_Account"`
			} `json:"OfficialAccountIdList"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("request body: %v", err)
		}
		asked := make([]string, 0, len(req.List))
		for _, a := range req.List {
			asked = append(asked, a.Account)
		}
		status, body := answer(asked)
		if status == http.StatusFound {
			w.Header().Set("Location", "http://example.com/elsewhere")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func itemOK(account, name string) string {
	a := ""
	if account != "" {
		a = `"Official_Account":"` + account + `",`
	}
	return `{` + a + `"ActionStatus":"OK","ErrorCode":0,"Name":"` + name + `","SubscriberNum":"12","CreateTime":1700000000}`
}

func TestGetAccountsParsesDefensively(t *testing.T) {
	const (
		a = "@TOA#_a"
		b = "@TOA#_b"
		c = "@TOA#_c"
	)
	ok := func(list ...string) string {
		return `{"ActionStatus":"OK","ErrorCode":0,"OfficialAccountInfoList":[` + strings.Join(list, ",") + `]}`
	}
	gone := func(account string) string {
		return `{"Official_Account":"` + account + `","ActionStatus":"FAIL","ErrorCode":130004,"ErrorInfo":"not found"}`
	}
	// want: "info:<name>", "gone", or a Reason.
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		want      []string
		wantCalls int32
	}{
		{"positional items", 200, ok(itemOK("", "A"), itemOK("", "B"), itemOK("", "C")),
			[]string{"info:A", "info:B", "info:C"}, 1},
		{"named items out of order", 200, ok(itemOK(c, "C"), gone(a), itemOK(b, "B")),
			[]string{"gone", "info:B", "info:C"}, 1},
		{"fewer positional items than asked", 200, ok(itemOK("", "A"), itemOK("", "B")),
			[]string{"Unreachable", "Unreachable", "Unreachable"}, 1},
		{"fewer named items than asked", 200, ok(itemOK(a, "A"), gone(c)),
			[]string{"info:A", "Unreachable", "gone"}, 1},
		{"an item for an account not asked", 200, ok(gone("@TOA#_z"), itemOK(a, "A"), itemOK(b, "B")),
			[]string{"info:A", "info:B", "Unreachable"}, 1},
		// The unnamed first item is a's by position, but a has its named item:
		// b is not given an item that was not at its position.
		{"a named item wins over position", 200, ok(itemOK("", "first"), itemOK(a, "A"), itemOK("", "third")),
			[]string{"info:A", "Unreachable", "info:third"}, 1},
		{"an item that cannot be parsed", 200, ok(`{"Name":5}`, itemOK("", "B"), itemOK("", "C")),
			[]string{"Unreachable", "info:B", "info:C"}, 1},
		{"per-item codes", 200, ok(
			`{"Official_Account":"`+a+`","ActionStatus":"FAIL","ErrorCode":130007}`,
			`{"Official_Account":"`+b+`","ActionStatus":"FAIL","ErrorCode":20005}`,
			`{"Official_Account":"`+c+`","ActionStatus":"FAIL","ErrorCode":0}`),
			[]string{"AccountRejected", "Unreachable", "Unreachable"}, 1},
		{"no item list", 200, `{"ActionStatus":"OK","ErrorCode":0}`,
			[]string{"Unreachable", "Unreachable", "Unreachable"}, 1},
		{"FAIL without a code", 200, `{"ActionStatus":"FAIL"}`,
			[]string{"Unreachable", "Unreachable", "Unreachable"}, 3},
		{"not JSON", 200, `<html>busy</html>`,
			[]string{"Unreachable", "Unreachable", "Unreachable"}, 3},
		{"redirect not followed", http.StatusFound, ``,
			[]string{"Unreachable", "Unreachable", "Unreachable"}, 3},
		{"unknown code", 200, `{"ActionStatus":"FAIL","ErrorCode":99999,"ErrorInfo":"?"}`,
			[]string{"Unreachable", "Unreachable", "Unreachable"}, 3},
		{"package expired", 200, `{"ActionStatus":"FAIL","ErrorCode":60020}`,
			[]string{"CredentialsRefused", "CredentialsRefused", "CredentialsRefused"}, 1},
		{"data centre unknown", 200, `{"ActionStatus":"FAIL","ErrorCode":70099}`,
			[]string{"CredentialsRefused", "CredentialsRefused", "CredentialsRefused"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := scripted(t, func([]string) (int, string) { return tc.status, tc.body })
			results := chatapi.NewClient(fastOptions()).GetAccounts(context.Background(), credsFor(srv.URL), []string{a, b, c})
			for i, r := range results {
				var got string
				switch {
				case r.Err != nil:
					got = string(r.Err.Reason)
				case r.Gone:
					got = "gone"
				case r.Info != nil:
					got = "info:" + r.Info.Name
					if r.Info.SubscriberCount != 12 || r.Info.CreateTime != 1700000000 || r.Info.Account != r.Account {
						t.Errorf("profile %+v", *r.Info)
					}
				}
				if got != tc.want[i] {
					t.Errorf("%s, want %s", describe(r), tc.want[i])
				}
			}
			if calls.Load() != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls.Load(), tc.wantCalls)
			}
		})
	}
}

// A whole-request 6017 or 130007 on a batch splits it; on a single account
// it is that account's answer.
func TestGetAccountsSplitsWholeRequestAccountErrors(t *testing.T) {
	const bad = "@TOA#_bad"
	srv, calls := scripted(t, func(asked []string) (int, string) {
		var items []string
		for _, a := range asked {
			if a == bad {
				return 200, `{"ActionStatus":"FAIL","ErrorCode":6017,"ErrorInfo":"invalid parameter"}`
			}
			items = append(items, itemOK(a, "N"))
		}
		return 200, `{"ActionStatus":"OK","ErrorCode":0,"OfficialAccountInfoList":[` + strings.Join(items, ",") + `]}`
	})
	asked := append(accountIDs("x", 7), bad)
	results := chatapi.NewClient(fastOptions()).GetAccounts(context.Background(), credsFor(srv.URL), asked)
	for _, r := range results {
		want := r.Account == bad
		if got := r.Err != nil && r.Err.Reason == chatapi.ReasonAccountRejected && r.Err.Code == 6017; got != want || r.Gone {
			t.Errorf("%s", describe(r))
		}
	}
	// 8 -> 4+4 -> 2+2 -> 1+1: 7 calls.
	if calls.Load() != 7 {
		t.Errorf("%d calls, want 7", calls.Load())
	}
}

// A UserSig made from the key is reused until 90% of its validity passed,
// and dropped when Chat calls it expired.
func TestGetAccountsCachesUserSig(t *testing.T) {
	var (
		mu  sync.Mutex
		now = time.Now()
	)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(d)
	}
	var expireNext atomic.Bool
	fake := fakechat.NewServer()
	fake.AddApp(testApp, testKey)
	createAll(fake, []string{"@TOA#_a"})
	var rec sigRecorder
	srv := httptest.NewServer(rec.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if expireNext.Swap(false) {
			_, _ = w.Write([]byte(`{"ActionStatus":"FAIL","ErrorCode":70001,"ErrorInfo":"usersig expired"}`))
			return
		}
		fake.Handler().ServeHTTP(w, r)
	})))
	t.Cleanup(srv.Close)
	o := fastOptions()
	o.Now = clock
	o.UserSigValidity = 10 * time.Hour
	c := chatapi.NewClient(o)
	get := func() chatapi.Result {
		return c.GetAccounts(context.Background(), credsFor(srv.URL), []string{"@TOA#_a"})[0]
	}

	get()
	advance(8 * time.Hour)
	get() // 80%: the same UserSig
	advance(time.Hour + time.Second)
	get() // past 90%: a new one
	expireNext.Store(true)
	advance(time.Second)
	if r := get(); r.Err == nil || r.Err.Reason != chatapi.ReasonCredentialsRefused || r.Err.Code != 70001 {
		t.Errorf("answer 70001: %s", describe(r))
	}
	advance(time.Second)
	if r := get(); r.Info == nil {
		t.Errorf("after a fresh UserSig: %s", describe(r))
	}
	sigs := rec.all()
	if len(sigs) != 5 {
		t.Fatalf("%d calls, want 5 (70001 is not retried)", len(sigs))
	}
	if sigs[0] != sigs[1] || sigs[1] == sigs[2] || sigs[2] != sigs[3] || sigs[3] == sigs[4] {
		t.Errorf("UserSigs of the calls: same as the previous one? %v %v %v %v",
			sigs[0] == sigs[1], sigs[1] == sigs[2], sigs[2] == sigs[3], sigs[3] == sigs[4])
	}
}

func TestGetAccountsCanceled(t *testing.T) {
	srv := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range chatapi.NewClient(fastOptions()).GetAccounts(ctx, credsFor(srv.URL()), accountIDs("c", 60)) {
		if r.Gone || r.Err == nil || r.Err.Reason != chatapi.ReasonUnreachable {
			t.Errorf("%s", describe(r))
		}
	}
	if srv.Calls() != 0 {
		t.Errorf("%d calls after cancel", srv.Calls())
	}
}

// An endpoint that echoes the request back in its answer (a proxy's error
// page, a hostile server) cannot put the UserSig or the key into a message,
// whichever field it echoes into, and no message grows without bound.
func TestEchoedSecretsNeverReachMessages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(q string) string
	}{
		{"in ErrorCode", func(q string) string { return `{"ActionStatus":"FAIL","ErrorCode":"` + q + `","ErrorInfo":"x"}` }},
		{"in ErrorInfo", func(q string) string { return `{"ActionStatus":"FAIL","ErrorCode":20005,"ErrorInfo":"` + q + `"}` }},
		{"in an item's ErrorInfo", func(q string) string {
			return `{"ActionStatus":"OK","ErrorCode":0,"OfficialAccountInfoList":[{"Official_Account":"@TOA#_a","ActionStatus":"FAIL",` +
				`"ErrorCode":20005,"ErrorInfo":"` + q + `"}]}`
		}},
		{"in a broken JSON", func(q string) string { return `{"ActionStatus":` + q }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec sigRecorder
			srv := httptest.NewServer(rec.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				q := strings.Repeat(r.URL.Query().Get("usersig")+" "+r.URL.RawQuery+" ", 200)
				_, _ = io.WriteString(w, tc.answer(q))
			})))
			t.Cleanup(srv.Close)
			results := chatapi.NewClient(fastOptions()).GetAccounts(context.Background(), credsFor(srv.URL), []string{"@TOA#_a"})
			sigs := rec.all()
			if len(sigs) == 0 {
				t.Fatal("no call reached the server: the test proves nothing")
			}
			for _, r := range results {
				if r.Err == nil || r.Gone {
					t.Fatalf("want a failure: %s", describe(r))
				}
				msg := r.Err.Error()
				if len(msg) > 1024 {
					t.Errorf("a message of %d bytes", len(msg))
				}
				for _, s := range append(sigs, testKey) {
					if strings.Contains(msg, s) || strings.Contains(msg, url.QueryEscape(s)) {
						t.Errorf("message %q holds a secret", msg)
					}
				}
			}
		})
	}
}
