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
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/channel-operator/channel-operator/hack/forward"
	"github.com/channel-operator/channel-operator/internal/callback"
)

// A callback forwarded by the team's own webhook backend (the README's
// example, hack/forward) reaches the receiver from the backend's address,
// not Chat's: it is accepted and recorded like a direct one, the backend's
// other callbacks stay with the backend, and a refusal comes back as it was
// given.
func TestForwardedCallbacksAreRecordedLikeDirectOnes(t *testing.T) {
	ns := env.Namespace(t, "forwarded")
	ch := newChannel(t, ns, "penn", signedApp, "@TOA#_"+ns)
	own := 0
	handler, err := forward.OfficialAccount(endpoint, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		own++
		_, _ = io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"the team's backend"}`)
	}))
	if err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(handler)
	t.Cleanup(backend.Close)
	via := func(direct string) string { // the same request, sent to the backend
		u, _ := url.Parse(direct)
		return backend.URL + "/im/callback?" + u.RawQuery
	}
	post := func(u string, body []byte) (int, callback.Answer) {
		resp, err := http.Post(u, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		var a callback.Answer
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, a
	}

	status, a := post(
		via(callbackURL(signedApp, testToken, callback.CommandDestroyed)),
		destroyedBody(t, ch.Spec.OfficialAccountID, 1700000005000),
	)
	if status != http.StatusOK || a.ActionStatus != callback.StatusOK || own != 0 {
		t.Fatalf("forwarded destroyed callback: %d %+v (own backend called %d times)", status, a, own)
	}
	if d := env.Channel(t, ch).Status.Destruction; d == nil || d.EventTime != 1700000005000 || d.ClientIP != "203.0.113.7" {
		t.Fatalf("destruction after a forwarded callback: %+v", d)
	}

	// Another command of the app stays with the backend.
	group := []byte(`{"CallbackCommand":"Group.CallbackAfterCreateGroup","EventTime":1700000005000}`)
	if status, a := post(via(callbackURL(signedApp, testToken, "Group.CallbackAfterCreateGroup")), group); status != http.StatusOK ||
		a.ErrorInfo != "the team's backend" || own != 1 {
		t.Fatalf("another command: %d %+v (own backend called %d times)", status, a, own)
	}

	// Every other official-account callback stays with the backend too: it
	// keeps receiving messages, subscribers and decisions as before.
	for _, cmd := range callback.KnownCommands {
		if forward.OperatorCommands[cmd] {
			continue
		}
		before := own
		body := []byte(`{"CallbackCommand":"` + cmd + `","Official_Account":"@TOA#_forwarded","EventTime":1700000005000}`)
		if status, a := post(via(callbackURL(signedApp, testToken, cmd)), body); status != http.StatusOK ||
			a.ErrorInfo != "the team's backend" || own != before+1 {
			t.Fatalf("%s: %d %+v (own backend called %d times, want %d)", cmd, status, a, own, before+1)
		}
	}

	// The receiver's refusal is relayed unchanged: a wrong token stays 401.
	status, a = post(
		via(callbackURL(signedApp, "not-the-token", callback.CommandDestroyed)),
		destroyedBody(t, ch.Spec.OfficialAccountID, 1700000006000),
	)
	if status != http.StatusUnauthorized || a.ActionStatus != callback.StatusFail {
		t.Fatalf("forwarded forged callback: %d %+v", status, a)
	}
}

// The forwarder's OperatorCommands are exactly the commands the receiver
// acts on: every other documented command, sent to the receiver itself,
// is answered OK and counted as ignored.
func TestTheForwarderSendsExactlyWhatTheReceiverActsOn(t *testing.T) {
	for cmd := range forward.OperatorCommands {
		if !callback.IsKnownCommand(cmd) {
			t.Errorf("the forwarder sends %s, which is not a documented command", cmd)
		}
	}
	const account = "@TOA#_forward_acts"
	newChannel(t, env.Namespace(t, "forward-acts"), "acts", signedApp, account)
	for _, cmd := range callback.KnownCommands { // the destruction comes after the profile callbacks
		counter := callbacksTotal.WithLabelValues(cmd, resultIgnored)
		before := testutil.ToFloat64(counter)
		body := []byte(`{"CallbackCommand":"` + cmd + `","Official_Account":"` + account + `","EventTime":1700000005000,` +
			`"Name":"` + cmd + `","Owner_Account":"o"}`) // a new name each time: a profile callback changes something
		if a := post(t, callbackURL(signedApp, testToken, cmd), body); a.status != http.StatusOK {
			t.Fatalf("%s: %+v", cmd, a)
		}
		ignored := testutil.ToFloat64(counter) == before+1
		if ignored == forward.OperatorCommands[cmd] {
			t.Errorf("%s: ignored by the receiver %v, sent to it by the forwarder %v", cmd, ignored, forward.OperatorCommands[cmd])
		}
	}
}
