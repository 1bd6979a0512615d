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
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/channel-operator/channel-operator/internal/chatapi"
)

const (
	testApp = 1400000001
	key     = "fake-test-key"
)

func sig(t *testing.T, appID int64, identifier, k string, made time.Time) string {
	t.Helper()
	s, err := chatapi.MakeUserSig(appID, identifier, k, made, time.Hour)
	if err != nil {
		t.Fatalf("MakeUserSig: %v", err)
	}
	return s
}

// call is one raw REST call; a zero field takes a valid value.
type call struct {
	method, command, contentType, random, body string
	appID                                      string
	identifier, userSig                        string
}

func (c call) do(t *testing.T, base string) chatAnswer {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodPost
	}
	if c.command == "" {
		c.command = chatapi.CommandGetAccountInfo
	}
	if c.appID == "" {
		c.appID = strconv.Itoa(testApp)
	}
	if c.identifier == "" {
		c.identifier = chatapi.DefaultIdentifier
	}
	if c.userSig == "" {
		c.userSig = sig(t, testApp, c.identifier, key, time.Now())
	}
	if c.contentType == "" {
		c.contentType = "json"
	}
	if c.random == "" {
		c.random = "4294967295"
	}
	if c.body == "" {
		c.body = `{"OfficialAccountIdList":[{"Official_Account":"@TOA#_a"},{"Official_Account":"@TOA#_gone"}]}`
	}
	q := url.Values{"sdkappid": {c.appID}, "identifier": {c.identifier}, "usersig": {c.userSig},
		"contenttype": {c.contentType}, "random": {c.random}}
	req, err := http.NewRequest(c.method, base+ServicePath+c.command+"?"+q.Encode(), strings.NewReader(c.body))
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("calling the fake: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	var ans chatAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		t.Fatalf("answer: %v", err)
	}
	return ans
}

func newTestServer(t *testing.T) (*Server, string) {
	t.Helper()
	s := NewServer()
	s.AddApp(testApp, key, chatapi.DefaultIdentifier, "admin2")
	s.AddApp(testApp+1, "other key")
	s.CreateAccount(testApp, chatapi.AccountInfo{Account: "@TOA#_a", Name: "A", OwnerAccount: "owner", SubscriberCount: 3})
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(s.Close)
	return s, hs.URL
}

func TestChecks(t *testing.T) {
	s, base := newTestServer(t)
	now := time.Now()
	tooMany := `{"OfficialAccountIdList":[` + strings.TrimSuffix(strings.Repeat(`{"Official_Account":"@TOA#_a"},`, 51), ",") + `]}`
	for name, tc := range map[string]struct {
		c    call
		code int
	}{
		"valid":                   {call{}, 0},
		"another admin":           {call{identifier: "admin2"}, 0},
		"unknown command":         {call{command: "get_subscriber_info"}, codeInvalidRequest},
		"no sdkappid":             {call{appID: "x"}, codeBadAppID},
		"unknown sdkappid":        {call{appID: "1400000999"}, codeAppNotFound},
		"usersig not a token":     {call{userSig: "garbage"}, codeUserSigParse},
		"usersig of another app":  {call{userSig: sig(t, testApp+1, chatapi.DefaultIdentifier, key, now)}, codeAppIDDiffer},
		"usersig of another user": {call{userSig: sig(t, testApp, "admin2", key, now)}, codeIdentifierDiffer},
		"wrong key":               {call{userSig: sig(t, testApp, chatapi.DefaultIdentifier, "other key", now)}, codeSignatureFailed},
		"expired":                 {call{userSig: sig(t, testApp, chatapi.DefaultIdentifier, key, now.Add(-2*time.Hour))}, codeUserSigExpired},
		"not an admin":            {call{identifier: "someone", userSig: sig(t, testApp, "someone", key, now)}, codeNotAdmin},
		"GET":                     {call{method: http.MethodGet}, codeHTTPParse},
		"contenttype":             {call{contentType: "xml"}, codeHTTPParse},
		"random not a number":     {call{random: "abc"}, codeHTTPParse},
		"random beyond uint32":    {call{random: "4294967296"}, codeHTTPParse},
		"body not JSON":           {call{body: "{"}, codeJSONParse},
		"no account":              {call{body: `{"OfficialAccountIdList":[]}`}, chatapi.CodeInvalidParameter},
		"51 accounts":             {call{body: tooMany}, chatapi.CodeInvalidParameter},
	} {
		t.Run(name, func(t *testing.T) {
			ans := tc.c.do(t, base)
			if ans.ErrorCode != tc.code {
				t.Fatalf("ErrorCode %d (%s), want %d", ans.ErrorCode, ans.ErrorInfo, tc.code)
			}
			if wantStatus := map[bool]string{true: "OK", false: "FAIL"}[tc.code == 0]; ans.ActionStatus != wantStatus {
				t.Errorf("ActionStatus %q, want %q", ans.ActionStatus, wantStatus)
			}
		})
	}
	if s.MaxBatchSeen() != 51 {
		t.Errorf("MaxBatchSeen %d, want the refused 51", s.MaxBatchSeen())
	}
}

func TestItems(t *testing.T) {
	s, base := newTestServer(t)
	body := `{"OfficialAccountIdList":[{"Official_Account":"@TOA#_a"},{"Official_Account":"@TOA#_gone"},{"Official_Account":"bad"}],` +
		`"ResponseFilter":{"OfficialAccountBaseInfoFilter":["Name","SubscriberNum"]}}`
	for _, tc := range []struct {
		echo, whole bool
		wantCode    int
	}{{true, false, 0}, {false, false, 0}, {true, true, chatapi.CodeBadAccountID}} {
		t.Run(fmt.Sprintf("echo=%v,whole=%v", tc.echo, tc.whole), func(t *testing.T) {
			s.SetEchoAccount(tc.echo)
			s.SetWholeRequestNotFound(tc.whole)
			ans := call{body: body}.do(t, base)
			if ans.ErrorCode != tc.wantCode {
				t.Fatalf("ErrorCode %d, want %d", ans.ErrorCode, tc.wantCode)
			}
			if tc.wantCode != 0 {
				if len(ans.Items) != 0 {
					t.Errorf("items in a whole-request failure: %v", ans.Items)
				}
				return
			}
			if len(ans.Items) != 3 {
				t.Fatalf("%d items, want 3", len(ans.Items))
			}
			first := ans.Items[0]
			if first["Name"] != "A" || first["SubscriberNum"] != float64(3) || first["Owner_Account"] != nil {
				t.Errorf("filtered profile %v", first)
			}
			for i, code := range []float64{0, chatapi.CodeAccountNotFound, chatapi.CodeBadAccountID} {
				if ans.Items[i]["ErrorCode"] != code {
					t.Errorf("item %d: %v, want ErrorCode %v", i, ans.Items[i], code)
				}
				if _, named := ans.Items[i]["Official_Account"]; named != tc.echo {
					t.Errorf("item %d names its account: %v, want %v", i, named, tc.echo)
				}
			}
		})
	}
	s.SetWholeRequestNotFound(true)
	only := `{"OfficialAccountIdList":[{"Official_Account":"@TOA#_a"},{"Official_Account":"@TOA#_gone"}]}`
	if ans := (call{body: only}).do(t, base); ans.ErrorCode != chatapi.CodeAccountNotFound {
		t.Errorf("whole-request ErrorCode %d, want 130004", ans.ErrorCode)
	}
}

func TestFailuresAndCounters(t *testing.T) {
	s, base := newTestServer(t)
	s.FailNext(2, FailInternal)
	s.SetFailure(FailServiceNotEnabled)
	for i, want := range []int{codeInternal, codeInternal, chatapi.CodeServiceNotEnabled} {
		if ans := (call{}).do(t, base); ans.ErrorCode != want {
			t.Errorf("call %d: ErrorCode %d, want %d", i, ans.ErrorCode, want)
		}
	}
	s.ClearFailure()
	if ans := (call{}).do(t, base); ans.ErrorCode != 0 {
		t.Errorf("after ClearFailure: ErrorCode %d", ans.ErrorCode)
	}
	if s.Calls() != 4 || s.CallsFor(testApp) != 4 || s.AccountsAsked() != 2 || s.MaxBatchSeen() != 2 {
		t.Errorf("calls %d, for app %d, accounts %d, max batch %d; want 4, 4, 2, 2",
			s.Calls(), s.CallsFor(testApp), s.AccountsAsked(), s.MaxBatchSeen())
	}
	s.ResetCounters()
	if s.Calls() != 0 || s.MaxCallsInAnySecond(testApp) != 0 {
		t.Errorf("counters after reset: %d calls, %d in a second", s.Calls(), s.MaxCallsInAnySecond(testApp))
	}

	s.SetMaxQPS(testApp, 2)
	codes := make([]int, 0, 4)
	for range 4 {
		codes = append(codes, call{}.do(t, base).ErrorCode)
	}
	if fmt.Sprint(codes) != fmt.Sprint([]int{0, 0, codeAppRateExceeded, codeAppRateExceeded}) {
		t.Errorf("codes %v beyond 2 calls in a second", codes)
	}
	if s.MaxCallsInAnySecond(testApp) != 4 || s.RateLimitedCalls(testApp) != 2 {
		t.Errorf("max in a second %d, rate limited %d; want 4, 2", s.MaxCallsInAnySecond(testApp), s.RateLimitedCalls(testApp))
	}
}

func TestAccountsAndAdminEndpoints(t *testing.T) {
	s, base := newTestServer(t)
	do := func(method, query string) (int, string) {
		req, _ := http.NewRequest(method, base+"/fake/accounts?"+query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, query, err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do(http.MethodPost, "sdkappid=1400000001&account=%40TOA%23_news&name=News&subscribers=7"); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := do(http.MethodPost, "sdkappid=1400000001&name=Made+up"); code != http.StatusCreated || !strings.Contains(body, "@TOA#_") {
		t.Fatalf("create without ID: %d %s", code, body)
	}
	code, body := do(http.MethodGet, "sdkappid=1400000001")
	var list []adminAccount
	if err := json.Unmarshal([]byte(body), &list); err != nil || code != http.StatusOK || len(list) != 3 {
		t.Fatalf("list: %d %s %v", code, body, err)
	}
	if !s.Exists(testApp, "@TOA#_news") || s.Accounts(testApp)[2].SubscriberCount != 7 {
		t.Errorf("created account: %+v", s.Accounts(testApp))
	}
	code, _ = do(http.MethodDelete, "sdkappid=1400000001&account=%40TOA%23_news")
	if code != http.StatusOK || s.Exists(testApp, "@TOA#_news") {
		t.Errorf("destroy: %d", code)
	}
	for _, tc := range []struct{ method, query string }{
		{http.MethodDelete, "sdkappid=1400000001&account=%40TOA%23_news"},
		{http.MethodGet, "sdkappid=1"},
	} {
		if code, _ := do(tc.method, tc.query); code != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", tc.method, tc.query, code)
		}
	}
	if !s.SetProfile(testApp, "@TOA#_a", func(i *chatapi.AccountInfo) { i.Name = "renamed" }) || s.Accounts(testApp)[1].Name != "renamed" {
		t.Errorf("SetProfile did not rename: %+v", s.Accounts(testApp))
	}
	if s.SetProfile(testApp, "@TOA#_none", func(*chatapi.AccountInfo) {}) {
		t.Errorf("SetProfile of a missing account reported it exists")
	}

	destroy := call{command: CommandDestroyAccount, body: `{"Official_Account":"@TOA#_a"}`}
	if ans := destroy.do(t, base); ans.ErrorCode != 0 || s.Exists(testApp, "@TOA#_a") {
		t.Errorf("destroy_official_account: %+v", ans)
	}
	if ans := destroy.do(t, base); ans.ErrorCode != chatapi.CodeAccountNotFound {
		t.Errorf("destroying twice: %+v", ans)
	}
}

// Start serves on a real port; FailSlow ends when the fake closes.
func TestStartAndSlow(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	s.AddApp(testApp, key)
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %q", s.URL())
	}
	s.SetFailure(FailSlow)
	s.SetDelay(time.Hour)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Post(s.URL()+ServicePath+chatapi.CommandGetAccountInfo, "application/json", strings.NewReader("{}"))
		if err == nil {
			_ = resp.Body.Close()
		}
	}()
	for s.Calls() == 0 {
		time.Sleep(time.Millisecond)
	}
	s.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a slow call outlived Close")
	}
}
