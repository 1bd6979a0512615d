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
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/channel-operator/channel-operator/internal/callback"
)

// closedWithin reports whether the server closes conn (or answers and closes)
// within d, reading whatever it sends.
func closedWithin(t *testing.T, conn net.Conn, d time.Duration) (string, bool) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return string(b), false
	}
	return string(b), true
}

func dial(t *testing.T) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", recv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// Headers trickled byte by byte are cut off by the read-header timeout
// (200 ms in the tests), well before the read timeout (4 s) that Go would
// fall back to without it.
func TestTrickledHeadersAreDropped(t *testing.T) {
	conn := dial(t)
	stop := make(chan struct{})
	go func() {
		for _, b := range []byte("POST /callback?SdkAppid=1400000001 HTTP/1.1\r\nHost: x\r\nX-Slow: ") {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{b}); err != nil {
				return
			}
		}
	}()
	defer close(stop)
	if _, closed := closedWithin(t, conn, 2*time.Second); !closed {
		t.Fatal("a client trickling its headers held the connection past the read-header timeout")
	}
}

// A body that never finishes is cut off by the read timeout, and the
// request is refused, not recorded.
func TestUnfinishedBodyIsDropped(t *testing.T) {
	conn := dial(t)
	_, _ = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"Callback",
		strings.TrimPrefix(callbackURL(signedApp, testToken, callback.CommandDestroyed), "http://"+recv.Addr()))
	out, closed := closedWithin(t, conn, 8*time.Second)
	if !closed {
		t.Fatal("a client that never finished its body held the connection")
	}
	if strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Fatalf("an unfinished body was answered OK: %q", out)
	}
}

// An idle keep-alive connection is closed by the idle timeout.
func TestIdleKeepAliveIsClosed(t *testing.T) {
	conn := dial(t)
	_, _ = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		strings.TrimPrefix(callbackURL(signedApp, testToken, callback.CommandAfterCreate), "http://"+recv.Addr()),
		len(sample(t, "created.json")), sample(t, "created.json"))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("first request on the connection: status %d, close %v", resp.StatusCode, resp.Close)
	}
	// Idle is 500 ms in the tests; without it Go would wait the read timeout (4 s).
	if _, closed := closedWithin(t, conn, 2500*time.Millisecond); !closed {
		t.Fatal("an idle keep-alive connection was not closed at the idle timeout")
	}
}

func TestOversizedHeadersAreRefused(t *testing.T) {
	req, err := http.NewRequest(http.MethodPost, callbackURL(signedApp, testToken, callback.CommandDestroyed), strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Padding", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
}

// A request the query string refuses is answered without its body being
// read: an unknown app (403) and a forged Sign (401) are answered, and the
// connection closed, while the body they announced has not even been sent.
// Had the receiver read the body first, the answer would be the read
// timeout's 400.
func TestQueryRefusalsDoNotWaitForTheBody(t *testing.T) {
	forged := func(v url.Values) {
		v.Set(callback.ParamSign, callback.Sign("guessed", v.Get(callback.ParamRequestTime)))
	}
	for _, tt := range []struct {
		name string
		url  string
		want int
	}{
		{"unknown app", callbackURL(signedApp+1000, testToken, callback.CommandDestroyed), http.StatusForbidden},
		{"forged Sign", callbackURL(signedApp, testToken, callback.CommandDestroyed, forged), http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn := dial(t)
			_, _ = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n",
				strings.TrimPrefix(tt.url, "http://"+recv.Addr()))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d before any body byte was sent", resp.StatusCode, tt.want)
			}
			// Closing is what keeps net/http from waiting for the body first.
			if !resp.Close {
				t.Fatal("the refusal keeps the connection, waiting for a body no one will read")
			}
		})
	}
}

// Load balancers probe the callback port: GET and HEAD /healthz answer 200,
// other methods 405. A draining receiver fails readiness (endpoints follow
// it) and still answers callbacks.
func TestHealthzOnTheCallbackPort(t *testing.T) {
	health := "http://" + recv.Addr() + HealthPath
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, err := http.NewRequest(method, health, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d", method, HealthPath, resp.StatusCode)
		}
	}
	if a := post(t, health, nil); a.status != http.StatusMethodNotAllowed {
		t.Fatalf("POST %s: %+v", HealthPath, a)
	}

	// A receiver of its own: draining fails readiness and health, and still
	// answers callbacks.
	r := New(testOptions(), recorder)
	r.tokens.Store(recv.tokens.Load())
	r.ready.Store(true)
	r.Drain()
	if err := r.ReadyCheck(nil); err == nil {
		t.Fatal("a draining receiver is ready")
	}
	if a := serve(t, r, callbackURL(signedApp, testToken, callback.CommandAfterCreate), sample(t, "created.json")); a.status != http.StatusOK {
		t.Fatalf("a callback while draining: %+v", a)
	}
}
