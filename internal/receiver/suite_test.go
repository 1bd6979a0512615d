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
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/test/testenv"
)

const (
	// SecretName is the suite's callback Secret.
	SecretName = "callback-tokens"

	signedApp   = testenv.DemoApp // token: testToken
	unsignedApp = signedApp + 1   // empty token
	rotatingApp = signedApp + 2   // token changed by TestTokenChangeIsHonoured
	testToken   = "xxxxyyyy"
)

var (
	env      *testenv.Env
	recv     *Receiver
	recorder *destruction.Recorder
	pending  *destruction.PendingStore
	endpoint string // http://host:port/callback
)

// The package's TestMain (main_test.go, in package receiver_test, which may
// import internal/operator) runs one control plane and one manager set up by
// operator.Setup without the reconciler: the receiver's part ends with the
// destruction recorded, and that is what these tests look at. It hands the
// suite what it set up through these hooks.

// SetupEnv prepares the control plane: the callback Secret.
func SetupEnv(e *testenv.Env) error {
	env = e
	return e.Client.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: testenv.OperatorNamespace, Name: SecretName},
		Data: map[string][]byte{
			strconv.FormatInt(signedApp, 10):   []byte(testToken + "\n"),
			strconv.FormatInt(unsignedApp, 10): nil,
			strconv.FormatInt(rotatingApp, 10): []byte("first-token"),
			"not-an-app":                       []byte("ignored"),
		},
	})
}

// SuiteOptions are the receiver's options in the suite.
func SuiteOptions() Options { return testOptions() }

// UseSuite hands the suite the running manager's receiver and recorder.
func UseSuite(r *Receiver, rec *destruction.Recorder, p *destruction.PendingStore) {
	recv, recorder, pending = r, rec, p
	endpoint = "http://" + recv.Addr() + Path
}

func testOptions() Options {
	return Options{
		BindAddress:  "127.0.0.1:0",
		Secret:       types.NamespacedName{Namespace: testenv.OperatorNamespace, Name: SecretName},
		MaxSkew:      time.Minute,
		MaxInflight:  64,
		AnswerBudget: DefaultAnswerBudget,
		// The read-header and idle timeouts are far below the read timeout, which
		// Go would use for both if they were unset: the slow-client tests can
		// tell which one cut a connection.
		Timeouts: Timeouts{ReadHeader: 200 * time.Millisecond, Read: 4 * time.Second, Write: 2 * time.Second, Idle: 500 * time.Millisecond,
			UntrustedIdle: 200 * time.Millisecond},
		MaxConnections:      1024,
		MaxConnectionsPerIP: 1024,
	}
}

// --- helpers ---------------------------------------------------------------

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "callback", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// destroyedBody is the documented destroyed sample for another channel and time.
func destroyedBody(t testing.TB, account string, eventTime int64) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(sample(t, "destroyed.json"), &m); err != nil {
		t.Fatal(err)
	}
	m["Official_Account"] = account
	m["EventTime"] = eventTime
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// callbackURL is the URL the Chat backend would call, signed with token now.
func callbackURL(app int64, token, command string, mods ...func(url.Values)) string {
	raw, err := callback.Call{SDKAppID: app, Token: token, Command: command, ClientIP: "203.0.113.7",
		OptPlatform: "RESTAPI"}.URL(endpoint)
	if err != nil {
		panic(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	v := u.Query()
	for _, mod := range mods {
		mod(v)
	}
	u.RawQuery = v.Encode()
	return u.String()
}

type answer struct {
	status int
	callback.Answer
}

func do(t testing.TB, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("answer Content-Type %q, body %q", ct, body)
	}
	var a answer
	a.status = resp.StatusCode
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a.Answer); err != nil {
		t.Fatalf("answer is not the Chat JSON answer: %q: %v", body, err)
	}
	if (a.status == http.StatusOK) != (a.ActionStatus == callback.StatusOK) {
		t.Fatalf("status %d with ActionStatus %q", a.status, a.ActionStatus)
	}
	return a
}

func post(t testing.TB, u string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

func newChannel(t testing.TB, ns, name string, app int64, account string) *chatv1alpha1.OfficialChannel {
	t.Helper()
	// The receiver finds it in the cache, as it would in a running cluster.
	return env.CreateChannel(t, ns, name, chatv1alpha1.OfficialChannelSpec{SDKAppID: app, OfficialAccountID: account},
		testenv.InCache(recorder.Cache))
}

// recorder captures an answer from a handler called without a network.
type respRecorder struct{ *httptest.ResponseRecorder }

func newRecorder() respRecorder { return respRecorder{httptest.NewRecorder()} }

func (r respRecorder) answer(t testing.TB) answer {
	t.Helper()
	if ct := r.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("answer Content-Type %q", ct)
	}
	a := answer{status: r.Code}
	if err := json.Unmarshal(r.Body.Bytes(), &a.Answer); err != nil {
		t.Fatalf("answer %q: %v", r.Body.String(), err)
	}
	return a
}

func hasPending(t testing.TB, app int64, account string) bool {
	t.Helper()
	rec, err := pending.Get(context.Background(), app, account, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return rec != nil
}
