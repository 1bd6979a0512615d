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
	"fmt"
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
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/internal/controller"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/test/testenv"
)

const (
	operatorNamespace = "operator-system"
	secretName        = "callback-tokens"

	signedApp   int64 = 1400000001 // token: testToken
	unsignedApp int64 = 1400000002 // empty token
	rotatingApp int64 = 1400000003 // token changed by TestTokenChangeIsHonoured
	testToken         = "xxxxyyyy"

	waitTimeout = 20 * time.Second
)

var (
	env      *testenv.Env
	recv     *Receiver
	writer   *Writer
	pending  *destruction.PendingStore
	endpoint string // http://host:port/callback
)

// TestMain runs one control plane and one manager with the receiver (and the
// reconciler, which applies pending destructions) for the whole package.
func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	testenv.Main(m, setup)
}

func setup(e *testenv.Env) error {
	env = e
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil {
		cancel()
		return err
	}
	if err := e.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: secretName},
		Data: map[string][]byte{
			strconv.FormatInt(signedApp, 10):   []byte(testToken + "\n"),
			strconv.FormatInt(unsignedApp, 10): nil,
			strconv.FormatInt(rotatingApp, 10): []byte("first-token"),
			"not-an-app":                       []byte("ignored"),
		},
	}); err != nil {
		cancel()
		return err
	}

	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{
		Scheme:                 e.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		cancel()
		return err
	}
	if err := destruction.SetupIndex(ctx, mgr.GetFieldIndexer()); err != nil {
		cancel()
		return err
	}
	pending = &destruction.PendingStore{Client: e.Client, Namespace: operatorNamespace, MaxRecords: 100, TTL: time.Hour}
	recorder := mgr.GetEventRecorder("channel-operator")
	if err := (&controller.OfficialChannelReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Pending: pending, Events: recorder}).SetupWithManager(mgr); err != nil {
		cancel()
		return err
	}
	writer = &Writer{Cache: mgr.GetCache(), API: mgr.GetAPIReader(), Client: mgr.GetClient(), Pending: pending}
	recv = New(testOptions(), writer)
	if err := recv.SetupWithManager(ctx, mgr); err != nil {
		cancel()
		return err
	}
	endpoint = "http://" + recv.Addr() + Path

	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
			os.Exit(1)
		}
	}()
	e.AddCleanup(func() { cancel(); <-done })

	deadline := time.Now().Add(waitTimeout)
	for recv.ReadyCheck(nil) != nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("receiver not ready after %s", waitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func testOptions() Options {
	return Options{
		BindAddress:  "127.0.0.1:0",
		Secret:       types.NamespacedName{Namespace: operatorNamespace, Name: secretName},
		MaxSkew:      time.Minute,
		MaxInflight:  64,
		AnswerBudget: DefaultAnswerBudget,
		// Short, so that the slow-client tests finish quickly.
		Timeouts: Timeouts{ReadHeader: 300 * time.Millisecond, Read: 600 * time.Millisecond, Write: 2 * time.Second, Idle: 2 * time.Second},
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
	ch := &chatv1alpha1.OfficialChannel{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		// Orphan: the reconciler records the destruction's consequence but
		// leaves phase Destroyed, which these tests look at.
		Spec: chatv1alpha1.OfficialChannelSpec{SDKAppID: app, OfficialAccountID: account,
			CleanupPolicy: chatv1alpha1.CleanupPolicyOrphan},
	}
	if err := env.Client.Create(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	// Wait until the reconciler has made it Active and the receiver's cache
	// has it, as it would be in a running cluster.
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if got.Status.Phase != chatv1alpha1.PhaseActive {
			return fmt.Errorf("phase %q", got.Status.Phase)
		}
		return nil
	})
	testenv.Eventually(t, waitTimeout, func() error {
		list, err := destruction.ListCached(context.Background(), writer.Cache, app, account)
		if err != nil || len(list) == 0 {
			return fmt.Errorf("not in the cache yet: %v", err)
		}
		return nil
	})
	return get(t, ch)
}

func eventually(t testing.TB, check func() error) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, check)
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

func get(t testing.TB, ch *chatv1alpha1.OfficialChannel) *chatv1alpha1.OfficialChannel {
	t.Helper()
	got := &chatv1alpha1.OfficialChannel{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(ch), got); err != nil {
		t.Fatal(err)
	}
	return got
}

func waitFor(t testing.TB, ch *chatv1alpha1.OfficialChannel, check func(*chatv1alpha1.OfficialChannel) error) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, func() error {
		got := &chatv1alpha1.OfficialChannel{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(ch), got); err != nil {
			return err
		}
		return check(got)
	})
}

// eventsFor lists the events.k8s.io Events about an OfficialChannel.
func eventsFor(t testing.TB, ch *chatv1alpha1.OfficialChannel, reason string) []eventsv1.Event {
	t.Helper()
	var list eventsv1.EventList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ch.Namespace)); err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, ev := range list.Items {
		if ev.Regarding.Name == ch.Name && ev.Regarding.Kind == "OfficialChannel" && ev.Reason == reason {
			out = append(out, ev)
		}
	}
	return out
}

func hasPending(t testing.TB, app int64, account string) bool {
	t.Helper()
	rec, err := pending.Get(context.Background(), app, account, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return rec != nil
}
