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
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/callback"
)

const documentedAccount = "@TOA#_test_OA_for_penn"
const documentedEventTime = 1670574414123

// The documented destroyed sample, signed with the app's token, turns the
// matching OfficialChannel's phase to Destroyed with the sample's EventTime.
func TestSignedDocumentedSampleRecordsDestruction(t *testing.T) {
	ns := env.Namespace(t, "documented")
	ch := newChannel(t, ns, "penn", signedApp, documentedAccount)

	a := post(t, callbackURL(signedApp, testToken, callback.CommandDestroyed), sample(t, "destroyed.json"))
	if a.status != http.StatusOK || a.ActionStatus != "OK" || a.ErrorCode != 0 {
		t.Fatalf("answer = %+v", a)
	}

	// Written before the answer: no waiting.
	got := env.Channel(t, ch)
	st := got.Status
	if st.Phase != chatv1alpha1.PhaseDestroyed || st.DestroyedAt != "2022-12-09T08:26:54.123Z" {
		t.Fatalf("phase %q destroyedAt %q", st.Phase, st.DestroyedAt)
	}
	d := st.Destruction
	if d == nil || d.EventTime != documentedEventTime || d.OwnerAccount != "107867" || d.Name != "TestOfficialAccount" ||
		d.ClientIP != "203.0.113.7" || d.OptPlatform != "RESTAPI" || d.ReceivedAt.IsZero() {
		t.Fatalf("destruction = %+v", d)
	}
	c := meta.FindStatusCondition(st.Conditions, chatv1alpha1.ConditionDestroyed)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != chatv1alpha1.ReasonCallbackReceived ||
		c.ObservedGeneration != got.Generation {
		t.Fatalf("Destroyed condition = %+v", c)
	}
}

func TestBadRequestsAreRefusedAndWriteNothing(t *testing.T) {
	ns := env.Namespace(t, "refused")
	account := "@TOA#_refused"
	ch := newChannel(t, ns, "refused", signedApp, account)
	body := destroyedBody(t, account, 1700000000000)
	good := func(mods ...func(url.Values)) string {
		return callbackURL(signedApp, testToken, callback.CommandDestroyed, mods...)
	}
	set := func(k, v string) func(url.Values) { return func(q url.Values) { q.Set(k, v) } }
	add := func(k, v string) func(url.Values) { return func(q url.Values) { q.Add(k, v) } }
	del := func(k string) func(url.Values) { return func(q url.Values) { q.Del(k) } }
	signedAt := func(at time.Time) func(url.Values) {
		return func(q url.Values) {
			rt := strconv.FormatInt(at.Unix(), 10)
			q.Set(callback.ParamRequestTime, rt)
			q.Set(callback.ParamSign, callback.Sign(testToken, rt))
		}
	}

	tests := []struct {
		name        string
		method      string
		url         string
		body        []byte
		contentType string
		chunked     bool
		want        int
	}{
		{name: "GET", method: http.MethodGet, url: good(), want: http.StatusMethodNotAllowed},
		{name: "PUT", method: http.MethodPut, url: good(), body: body, want: http.StatusMethodNotAllowed},
		{name: "body over 64 KiB", url: good(), body: padded(body, callback.MaxBodyBytes+1), want: http.StatusRequestEntityTooLarge},
		{
			name:    "chunked body over 64 KiB",
			url:     good(),
			body:    padded(body, callback.MaxBodyBytes+1),
			chunked: true,
			want:    http.StatusRequestEntityTooLarge,
		},
		{
			name: "too large wins over unknown app",
			url:  good(set(callback.ParamSDKAppID, "42")),
			body: padded(body, 2*callback.MaxBodyBytes),
			want: http.StatusRequestEntityTooLarge,
		},
		{name: "SdkAppid missing", url: good(del(callback.ParamSDKAppID)), body: body, want: http.StatusForbidden},
		{name: "SdkAppid unknown", url: good(set(callback.ParamSDKAppID, "1400009999")), body: body, want: http.StatusForbidden},
		{name: "SdkAppid twice", url: good(add(callback.ParamSDKAppID, "1400009999")), body: body, want: http.StatusForbidden},
		{name: "SdkAppid not a number", url: good(set(callback.ParamSDKAppID, "penn")), body: body, want: http.StatusForbidden},
		{name: "forged Sign", url: good(set(callback.ParamSign, callback.Sign("guessed", "1"))), body: body, want: http.StatusUnauthorized},
		{name: "Sign missing", url: good(del(callback.ParamSign)), body: body, want: http.StatusUnauthorized},
		{name: "RequestTime missing", url: good(del(callback.ParamRequestTime)), body: body, want: http.StatusUnauthorized},
		{name: "Sign twice", url: good(add(callback.ParamSign, "00")), body: body, want: http.StatusUnauthorized},
		{name: "replayed 61 s later", url: good(signedAt(time.Now().Add(-61 * time.Second))), body: body, want: http.StatusUnauthorized},
		{
			name: "RequestTime from the future",
			url:  good(signedAt(time.Now().Add(90 * time.Second))),
			body: body,
			want: http.StatusUnauthorized,
		},
		{
			name: "unsigned app without --allow-unsigned-callbacks",
			url:  callbackURL(unsignedApp, "", callback.CommandDestroyed),
			body: body,
			want: http.StatusUnauthorized,
		},
		{
			name: "unauthorized wins over bad body",
			url:  good(del(callback.ParamSign)),
			body: []byte("nonsense"),
			want: http.StatusUnauthorized,
		},
		{name: "body not JSON", url: good(), body: []byte("CallbackCommand=x"), want: http.StatusBadRequest},
		{name: "body empty", url: good(), body: nil, want: http.StatusBadRequest},
		{name: "body JSON array", url: good(), body: []byte(`[` + string(body) + `]`), want: http.StatusBadRequest},
		{
			name: "deeply nested JSON",
			url:  good(),
			body: []byte(strings.Repeat("[", 30000) + strings.Repeat("]", 30000)),
			want: http.StatusBadRequest,
		},
		{
			name: "body command differs from query",
			url:  good(set(callback.ParamCommand, callback.CommandAfterCreate)),
			body: body,
			want: http.StatusBadRequest,
		},
		{name: "query command missing", url: good(del(callback.ParamCommand)), body: body, want: http.StatusBadRequest},
		{
			name: "query command twice",
			url:  good(add(callback.ParamCommand, callback.CommandDestroyed)),
			body: body,
			want: http.StatusBadRequest,
		},
		{name: "contenttype not json", url: good(set(callback.ParamContentType, "xml")), body: body, want: http.StatusBadRequest},
		{name: "Content-Type XML", url: good(), body: body, contentType: "application/xml", want: http.StatusBadRequest},
		{name: "Official_Account malformed", url: good(), body: destroyedBody(t, "news", 1700000000000), want: http.StatusBadRequest},
		{
			name: "EventTime in the year 10000",
			url:  good(),
			body: destroyedBody(t, account, callback.MaxEventTime),
			want: http.StatusBadRequest,
		},
		{
			name: "EventTime missing",
			url:  good(),
			body: []byte(`{"CallbackCommand":"` + callback.CommandDestroyed + `","Official_Account":"` + account + `"}`),
			want: http.StatusBadRequest,
		},
	}
	before := env.Channel(t, ch)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			var reader = bytes.NewReader(tt.body)
			req, err := http.NewRequest(method, tt.url, reader)
			if err != nil {
				t.Fatal(err)
			}
			if tt.chunked {
				req.ContentLength = -1 // sent chunked: the size is only known by reading
				req.Body = io.NopCloser(struct{ io.Reader }{reader})
			}
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			a := do(t, req)
			if a.status != tt.want || a.ActionStatus != callback.StatusFail || a.ErrorCode != tt.want || a.ErrorInfo == "" {
				t.Fatalf("answer = %+v, want %d FAIL with a reason", a, tt.want)
			}
			after := env.Channel(t, ch)
			if after.ResourceVersion != before.ResourceVersion || after.Status.Destruction != nil {
				t.Fatalf("a refused callback changed the OfficialChannel: %+v", after.Status)
			}
			if hasPending(t, signedApp, account) {
				t.Fatal("a refused callback kept a pending destruction")
			}
		})
	}
}

// padded makes a body of n bytes by adding spaces, still a valid JSON object.
func padded(body []byte, n int) []byte {
	return append(bytes.Repeat([]byte(" "), n-len(body)), body...)
}

func TestOptPlatformIsAFreeString(t *testing.T) {
	ns := env.Namespace(t, "platform")
	for i, platform := range []string{"IOS", "iOS", "HarmonyOS", ""} {
		account := fmt.Sprintf("@TOA#_platform_%d", i)
		ch := newChannel(t, ns, fmt.Sprintf("p%d", i), signedApp, account)
		a := post(t, callbackURL(signedApp, testToken, callback.CommandDestroyed, func(v url.Values) {
			v.Set(callback.ParamOptPlatform, platform)
		}), destroyedBody(t, account, 1700000000000))
		if a.status != http.StatusOK {
			t.Fatalf("OptPlatform %q: answer %+v", platform, a)
		}
		if got := env.Channel(t, ch).Status.Destruction; got == nil || got.OptPlatform != platform {
			t.Fatalf("OptPlatform %q: destruction %+v", platform, got)
		}
	}
}

func TestOtherCommandsAreAnsweredOKAndCounted(t *testing.T) {
	ns := env.Namespace(t, "other")
	ch := newChannel(t, ns, "penn-other", signedApp, "@TOA#_other_commands")

	for _, tt := range []struct {
		command, label string
		body           []byte
	}{
		{"OfficialAccount.CallbackAfterAddSubscriber", "OfficialAccount.CallbackAfterAddSubscriber",
			[]byte(`{"CallbackCommand":"OfficialAccount.CallbackAfterAddSubscriber","Official_Account":"@TOA#_other_commands",` +
				`"EventTime":1700000000000,"SubscribeAccountList":[{"Subscriber_Account":"a"}]}`)},
		{"OfficialAccount.CallbackSomethingNew", otherCommand,
			[]byte(`{"CallbackCommand":"OfficialAccount.CallbackSomethingNew","EventTime":1}`)},
	} {
		counter := callbacksTotal.WithLabelValues(tt.label, resultIgnored)
		before := testutil.ToFloat64(counter)
		a := post(t, callbackURL(signedApp, testToken, tt.command), tt.body)
		if a.status != http.StatusOK || a.ActionStatus != callback.StatusOK {
			t.Fatalf("%s: answer %+v", tt.command, a)
		}
		if got := testutil.ToFloat64(counter); got != before+1 {
			t.Fatalf("%s: counter %s/%s went %v -> %v", tt.command, tt.label, resultIgnored, before, got)
		}
	}
	if got := env.Channel(t, ch); got.ResourceVersion != ch.ResourceVersion {
		t.Fatalf("a command the operator does not act on changed the OfficialChannel: %+v", got.Status)
	}
}

// The created and info-changed callbacks fill status.account with the
// fields they carry; a callback older than the last observation through
// the REST API changes nothing, and one for no channel is answered OK and
// counted as ignored.
func TestProfileCallbacksFillStatusAccount(t *testing.T) {
	ns := env.Namespace(t, "profile")
	account := "@TOA#_" + ns
	ch := newChannel(t, ns, "penn", signedApp, account)
	body := func(name string, eventTime int64) []byte {
		b := strings.Replace(string(sample(t, name)), "@TOA#_test_OA_for_penn", account, 1)
		return []byte(strings.Replace(b, "1670574414123", strconv.FormatInt(eventTime, 10), 1))
	}
	ok := callbacksTotal.WithLabelValues(callback.CommandAfterCreate, resultOK)
	before := testutil.ToFloat64(ok)
	if a := post(
		t,
		callbackURL(signedApp, testToken, callback.CommandAfterCreate),
		body("created.json", 1700000000000),
	); a.status != http.StatusOK {
		t.Fatalf("created: answer %+v", a)
	}
	got := env.Channel(t, ch).Status.Account
	if got == nil || got.Name != "TestOfficialAccount" || got.OwnerAccount != "107867" || got.ObservedAt != nil {
		t.Fatalf("status.account after the created callback: %+v", got)
	}
	if testutil.ToFloat64(ok) != before+1 {
		t.Fatal("the created callback was not counted as ok")
	}
	if a := post(
		t,
		callbackURL(signedApp, testToken, callback.CommandInfoChanged),
		body("info-changed.json", 1700000001000),
	); a.status != http.StatusOK {
		t.Fatalf("info changed: answer %+v", a)
	}
	got = env.Channel(t, ch).Status.Account
	if got.Name != "NewName" || got.Introduction != "NewNotification" || got.FaceURL != "http://this.is.newface.url" ||
		got.Organization != "NewOrganization" || got.OwnerAccount != "107867" {
		t.Fatalf("status.account after the info-changed callback: %+v", got)
	}

	// An observation at 1700000005 s saw a later profile: an older callback changes nothing.
	cur := env.Channel(t, ch)
	base := cur.DeepCopy()
	observed := metav1.NewTime(time.UnixMilli(1700000005000))
	cur.Status.Account.ObservedAt = &observed
	cur.Status.Account.Name = "Observed"
	if err := env.Client.Status().Patch(context.Background(), cur, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	if a := post(
		t,
		callbackURL(signedApp, testToken, callback.CommandInfoChanged),
		body("info-changed.json", 1700000002000),
	); a.status != http.StatusOK {
		t.Fatalf("stale info changed: answer %+v", a)
	}
	if got := env.Channel(t, ch).Status.Account; got.Name != "Observed" {
		t.Fatalf("a callback older than the last observation replaced it: %+v", got)
	}
}

// A refused callback leaves a log line with the reason, the app and the
// client's address, never the token or the Sign; a flood of refusals leaves
// a bounded number of lines that count what they left out.
func TestRefusalsAreLoggedWithoutSecretsAndRateLimited(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	r := New(testOptions(), recorder)
	r.log = funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, args)
	}, funcr.Options{})
	r.tokens.Store(recv.tokens.Load())
	r.ready.Store(true)

	forged := callback.Sign("guessed-token", strconv.FormatInt(time.Now().Unix(), 10))
	u := callbackURL(signedApp, testToken, callback.CommandDestroyed, func(v url.Values) { v.Set(callback.ParamSign, forged) })
	if a := serve(t, r, u, destroyedBody(t, "@TOA#_logged", 1)); a.status != http.StatusUnauthorized {
		t.Fatalf("answer %+v", a)
	}
	mu.Lock()
	if len(lines) != 1 {
		t.Fatalf("log lines %q, want one", lines)
	}
	line := lines[0]
	mu.Unlock()
	for _, want := range []string{`"Refused a callback"`, `"result"="unauthorized"`, "Sign does not match",
		`"sdkAppID"="` + strconv.FormatInt(signedApp, 10) + `"`, `"peerIP"="192.0.2.1"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %s lacks %s", line, want)
		}
	}
	for _, secret := range []string{forged, testToken} {
		if strings.Contains(line, secret) {
			t.Fatalf("log line %s carries a secret", line)
		}
	}

	for range 1000 {
		serve(t, r, callbackURL(signedApp+1000, testToken, callback.CommandDestroyed), nil)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := len(lines); n > 60 {
		t.Fatalf("%d log lines for 1000 refusals: not rate-limited", n)
	}
	if !strings.Contains(strings.Join(lines, "\n"), `"suppressedSinceLastLine"=`) {
		t.Fatal("the log lines do not count what they left out")
	}
}
