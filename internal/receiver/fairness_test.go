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
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// One app's signed URL, used to hold 256 slow bodies (each holding its
// in-flight slot until the read timeout), cannot make another app's
// destruction be answered 503: every app keeps its share of the slots.
func TestOneAppCannotStarveAnother(t *testing.T) {
	const (
		appA, appB     = int64(1500000001), int64(1500000002)
		tokenA, tokenB = "token-a", "token-b"
		slow           = 256
	)
	opts := testOptions()
	opts.MaxInflight = 256
	r := New(opts, recorder)
	r.tokens.Store(&map[int64]string{appA: tokenA, appB: tokenB})
	r.ready.Store(true)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	endpointOf := func(app int64, token string) string {
		raw, err := callback.Call{SDKAppID: app, Token: token, Command: callback.CommandDestroyed}.URL(srv.URL + Path)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}

	// App A: 256 signed POSTs whose bodies never finish.
	u, err := url.Parse(endpointOf(appA, tokenA))
	if err != nil {
		t.Fatal(err)
	}
	for range slow {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"Callback",
			u.RequestURI(), u.Host)
		if err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, func() error {
		r.inflight.mu.Lock()
		defer r.inflight.mu.Unlock()
		if got := r.inflight.held[appA]; got != opts.MaxInflight/2 {
			return fmt.Errorf("app A holds %d slots, want its share %d", got, opts.MaxInflight/2)
		}
		return nil
	})

	// App B's destruction is recorded and answered OK meanwhile.
	const account = "@TOA#_fair_b"
	ch := newChannel(t, env.Namespace(t, "fair"), "fair", appB, account)
	start := time.Now()
	if a := post(t, endpointOf(appB, tokenB), destroyedBody(t, account, 1700000000000)); a.status != http.StatusOK {
		t.Fatalf("app B's destruction answered %+v while app A holds its share", a)
	}
	if d := env.Channel(t, ch).Status.Destruction; d == nil {
		t.Fatal("app B's destruction was answered OK but not recorded")
	}
	t.Logf("app B answered in %s", time.Since(start))
}
