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

// Package forward is the README's example of a webhook backend that already
// receives an app's Chat callbacks and hands the official-account ones to
// the operator: the request goes on unchanged (query string and body as
// received, so the Sign still verifies within the skew window) and the
// operator's answer comes back unchanged. Copy it into your backend; its
// test runs it in front of the real receiver.
package forward

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody is the receiver's own limit: a larger body is refused there anyway.
const maxBody = 64 << 10

// OperatorCommands are the callbacks the operator acts on: a channel
// destroyed, created, or its profile changed. Every other one (messages,
// subscribers, the CallbackBefore... decisions) is your backend's: the
// operator would only answer OK to it.
var OperatorCommands = map[string]bool{
	"OfficialAccount.CallbackAfterOfficialAccountDestroyed":   true,
	"OfficialAccount.CallbackAfterCreateOfficialAccount":      true,
	"OfficialAccount.CallbackAfterOfficialAccountInfoChanged": true,
}

// OfficialAccount sends the callbacks the operator acts on (OperatorCommands)
// to the operator's receiver at operator (e.g.
// http://channel-operator-callback.channel-operator-system.svc/callback) and
// relays its answer; every other callback goes to next, your own handler,
// as before.
func OfficialAccount(operator string, next http.Handler) (http.Handler, error) {
	target, err := url.Parse(operator)
	if err != nil {
		return nil, err
	}
	// Chat waits 2 s for the answer; the receiver answers within 1.5 s.
	client := &http.Client{Timeout: 1800 * time.Millisecond}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !OperatorCommands[r.URL.Query().Get("CallbackCommand")] {
			next.ServeHTTP(w, r)
			return
		}
		u := *target
		u.RawQuery = r.URL.RawQuery // SdkAppid, CallbackCommand, RequestTime, Sign, ... as received
		req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			fail(w)
			return
		}
		req.ContentLength = r.ContentLength
		req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
		// Where the callback came from, appended as proxies do: the operator
		// names it (peerIP) with --callback-proxy-hops counting this hop.
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			req.Header.Set("X-Forwarded-For", strings.Join(append(r.Header.Values("X-Forwarded-For"), host), ", "))
		}
		resp, err := client.Do(req)
		if err != nil {
			fail(w) // not OK: Chat counts the webhook as failed
			return
		}
		defer func() { _ = resp.Body.Close() }()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, io.LimitReader(resp.Body, maxBody))
	}), nil
}

func fail(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = io.WriteString(w, `{"ActionStatus":"FAIL","ErrorCode":502,"ErrorInfo":"the operator's receiver did not answer"}`)
}
