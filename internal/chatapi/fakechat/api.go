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
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/channel-operator/channel-operator/internal/chatapi"
)

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
