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

package receiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/internal/status"
)

// fakeRecorder stands in for the cluster: the handler is what is fuzzed. A
// failing one never makes a destruction durable.
type fakeRecorder struct {
	failing bool
	records []destruction.Record
}

func (f *fakeRecorder) Record(_ context.Context, rec destruction.Record) (destruction.Outcome, error) {
	f.records = append(f.records, rec)
	if f.failing {
		return destruction.Outcome{}, errors.New("the API server refused the write")
	}
	return destruction.Outcome{Recorded: 1}, nil
}

func (f *fakeRecorder) RecordProfile(context.Context, int64, string, status.Profile, int64) (int, error) {
	if f.failing {
		return 0, errors.New("the API server refused the write")
	}
	return 1, nil
}

// FuzzReceiverHandler sends arbitrary requests through the receiver's HTTP
// handler. Whatever comes in: the answer is the Chat JSON answer, 200 exactly
// when OK, and a destruction is recorded only for a POST of a well-formed
// destroyed body, signed with the app's token inside the skew window, with
// the body's account. OK comes only after the recorder made it durable.
func FuzzReceiverHandler(f *testing.F) {
	const requestTime = "1669872112"
	signed := url.Values{
		callback.ParamSDKAppID: {"1400000001"}, callback.ParamCommand: {callback.CommandDestroyed},
		callback.ParamContentType: {"json"}, callback.ParamRequestTime: {requestTime},
		callback.ParamSign: {callback.Sign("xxxxyyyy", requestTime)},
	}.Encode()
	destroyed := sample(f, "destroyed.json")
	f.Add(http.MethodPost, signed, "application/json", destroyed, false)
	f.Add(http.MethodPost, signed, "application/json", destroyed, true)
	f.Add(http.MethodPost, signed, "", destroyed, false)
	f.Add(http.MethodGet, signed, "application/json", destroyed, false)
	f.Add(
		http.MethodPost,
		"SdkAppid=1400000002&CallbackCommand="+url.QueryEscape(callback.CommandDestroyed),
		"application/json",
		destroyed,
		false,
	)
	f.Add(http.MethodPost, signed+"&Sign=00", "application/json", destroyed, false)
	f.Add(http.MethodPost, signed, "text/plain", []byte(`{"CallbackCommand":1}`), false)

	now := time.Unix(1669872112, 0)
	f.Fuzz(func(t *testing.T, method, rawQuery, contentType string, body []byte, failing bool) {
		req, err := http.NewRequest(method, "http://receiver/callback?"+rawQuery, bytes.NewReader(body))
		if err != nil {
			return
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := &fakeRecorder{failing: failing}
		r := New(Options{MaxSkew: time.Minute, MaxInflight: 1, AnswerBudget: time.Second}, rec)
		r.verifier.Now = func() time.Time { return now }
		r.tokens.Store(&map[int64]string{1400000001: "xxxxyyyy", 1400000002: ""})
		r.ready.Store(true)

		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)

		var a callback.Answer
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("answer %q is not the Chat JSON answer: %v", w.Body.String(), err)
		}
		if (w.Code == http.StatusOK) != (a.ActionStatus == callback.StatusOK) {
			t.Fatalf("status %d with ActionStatus %q", w.Code, a.ActionStatus)
		}
		if cmd, err := callback.ParseCommand(req.URL.Query()); err == nil && cmd.Name == callback.CommandDestroyed &&
			w.Code == http.StatusOK && len(rec.records) != 1 {
			t.Fatalf("a destruction answered OK was handed to the recorder %d times", len(rec.records))
		}
		if len(rec.records) == 0 {
			return
		}
		// Something was handed to the recorder: the request must have deserved it.
		values := req.URL.Query()
		app, appErr := callback.ParseApp(values)
		auth, authErr := callback.ParseAuth(values)
		cmd, cmdErr := callback.ParseCommand(values)
		if method != http.MethodPost || appErr != nil || authErr != nil || cmdErr != nil || app != 1400000001 ||
			cmd.Name != callback.CommandDestroyed || auth.Sign != callback.Sign("xxxxyyyy", auth.RequestTime) ||
			len(body) > callback.MaxBodyBytes {
			t.Fatalf("recorded %+v for %s %q", rec.records, method, rawQuery)
		}
		if sec, _ := strconv.ParseInt(auth.RequestTime, 10, 64); now.Sub(time.Unix(sec, 0)).Abs() > time.Minute {
			t.Fatalf("recorded a request signed at %s, outside the skew window", auth.RequestTime)
		}
		decoded, err := callback.Decode(cmd.Name, body)
		if err != nil {
			t.Fatalf("recorded a body that does not decode: %v", err)
		}
		d := decoded.(*callback.Destroyed)
		got := rec.records[0]
		if len(rec.records) != 1 || got.SDKAppID != app || got.OfficialAccountID != d.OfficialAccount ||
			got.Destruction.EventTime != d.EventTime || got.Destruction.OwnerAccount != d.OwnerAccount ||
			got.Destruction.ClientIP != cmd.ClientIP {
			t.Fatalf("recorded %+v for body %+v", rec.records, d)
		}
		// OK only after a durable write; FAIL with a 5xx when the write failed.
		if failing == (w.Code == http.StatusOK) || failing && w.Code < 500 {
			t.Fatalf("recorder failing=%v, answered %d %+v", failing, w.Code, a)
		}
	})
}
