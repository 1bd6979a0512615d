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
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// limitedServer serves r behind a connection limiter, as SetupWithManager
// does, and returns the limiter and the server's address.
func limitedServer(t *testing.T, r *Receiver, maxConns, perSource int) (*connLimiter, string) {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := r.opts.Timeouts
	ln := newConnLimiter(tcp, maxConns, perSource, o.UntrustedIdle)
	mux := http.NewServeMux()
	mux.Handle(Path, r)
	mux.HandleFunc(HealthPath, r.serveHealth)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: o.ReadHeader, ReadTimeout: o.Read, WriteTimeout: o.Write,
		IdleTimeout: o.Idle, ConnState: ln.connState, ConnContext: withConn}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln, tcp.Addr().String()
}

// raiseFileLimit lets the test hold n connections (both ends) open.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Fatalf("the file limit (hard %d) cannot hold %d connections", lim.Max, n)
	}
	old := lim.Cur
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		lim.Cur = old
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	})
}

// 10,000 idle connections (an unauthenticated peer opening and never
// sending) cost the receiver no more than its bound, and a signed callback
// is still answered 200 among them: each new connection takes the place of
// the oldest idle one.
func TestTenThousandIdleConnectionsLeaveRoomForCallbacks(t *testing.T) {
	const idle, maxConns = 10000, 256
	raiseFileLimit(t, idle+maxConns+1024)
	r := New(testOptions(), recorder)
	r.tokens.Store(recv.tokens.Load())
	r.ready.Store(true)
	ln, addr := limitedServer(t, r, maxConns, maxConns)

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]net.Conn, 0, idle)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	most := 0
	for i := range idle {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if i%500 == 0 {
			most = max(most, ln.open())
		}
	}
	most = max(most, ln.open())
	if most > maxConns {
		t.Fatalf("the receiver held %d connections, its bound is %d", most, maxConns)
	}

	ns := env.Namespace(t, "conns")
	const account = "@TOA#_conns"
	ch := newChannel(t, ns, "conns", signedApp, account)
	u := strings.Replace(callbackURL(signedApp, testToken, callback.CommandDestroyed), recv.Addr(), addr, 1)
	if a := post(t, u, destroyedBody(t, account, 1700000000000)); a.status != http.StatusOK {
		t.Fatalf("a callback among %d idle connections: %+v", idle, a)
	}
	if env.Channel(t, ch).Status.Destruction == nil {
		t.Fatal("the callback was answered but not recorded")
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("held at most %d connections; heap in use %d -> %d KiB (the test's own client ends included)",
		most, before.HeapInuse>>10, after.HeapInuse>>10)
}

// A peer over its own bound gets its oldest idle connection closed, and no
// one else's; with nothing of its own idle, its new connection is closed.
func TestPerSourceBound(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newConnLimiter(tcp, 10, 2, time.Second)
	t.Cleanup(func() { _ = ln.Close() })
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dialAccepted := func() (client, server net.Conn) {
		t.Helper()
		c, err := net.Dial("tcp", tcp.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		select {
		case s := <-accepted:
			return c, s
		case <-time.After(testenv.WaitTimeout):
			t.Fatal("not accepted")
			return nil, nil
		}
	}
	c1, s1 := dialAccepted()
	_, s2 := dialAccepted()
	ln.connState(s2, http.StateActive) // serving a request: never evicted
	_, s3 := dialAccepted()
	if ln.open() != 2 {
		t.Fatalf("%d connections held from one address, bound 2", ln.open())
	}
	// The oldest idle one (the first) made room for the third.
	_ = c1.SetReadDeadline(time.Now().Add(testenv.WaitTimeout))
	if _, err := c1.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("the oldest idle connection was not closed: %v", err)
	}
	_ = s1
	ln.connState(s3, http.StateActive)
	// Both serving: a fourth connection is closed at once.
	c4, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c4.Close() }()
	_ = c4.SetReadDeadline(time.Now().Add(testenv.WaitTimeout))
	if _, err := c4.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("a connection past the bound with nothing idle was not closed: %v", err)
	}
	if ln.open() != 2 {
		t.Fatalf("%d connections held", ln.open())
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// A connection that has carried no authenticated callback is closed after
// UntrustedIdle of keep-alive idleness; one that has keeps the server's
// idle timeout. Refusals close the connection at once.
func TestUntrustedConnectionsDoNotLinger(t *testing.T) {
	opts := testOptions()
	opts.Timeouts.Idle = 30 * time.Second
	r := New(opts, recorder)
	r.tokens.Store(recv.tokens.Load())
	_, addr := limitedServer(t, r, 16, 16)

	// Not ready yet: a 503 that keeps the connection, which carried nothing
	// authenticated; it goes after UntrustedIdle (200 ms), not Idle (30 s).
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	path := strings.TrimPrefix(callbackURL(signedApp, testToken, callback.CommandAfterCreate), "http://"+recv.Addr())
	_, _ = fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n", path)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Close {
		t.Fatalf("before ready: %d, close %v; want 503 on a kept connection", resp.StatusCode, resp.Close)
	}
	if _, closed := closedWithin(t, c, 10*time.Second); !closed {
		t.Fatal("an untrusted idle connection was kept past 10 s")
	}

	// Ready, a refusal (403: an unknown app) closes the connection with its answer.
	r.ready.Store(true)
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c2.Close() }()
	_, _ = fmt.Fprintf(c2, "POST /callback?SdkAppid=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	resp, err = http.ReadResponse(bufio.NewReader(c2), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !resp.Close {
		t.Fatalf("a refusal (%d) on an untrusted connection kept it open: %v", resp.StatusCode, resp.Header)
	}
}

// The clamp applies only to deadlines further than UntrustedIdle, and not
// to a trusted connection.
func TestUntrustedReadDeadlineIsClamped(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tcp.Close() }()
	ln := newConnLimiter(tcp, 4, 4, 100*time.Millisecond)
	go func() {
		c, err := net.Dial("tcp", tcp.Addr().String())
		if err == nil {
			time.Sleep(3 * time.Second)
			_ = c.Close()
		}
	}()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sc.Close() }()
	readFor := func() time.Duration {
		start := time.Now()
		_ = sc.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = sc.Read(make([]byte, 1))
		return time.Since(start)
	}
	if d := readFor(); d >= 900*time.Millisecond {
		t.Fatalf("untrusted: a 1 s deadline held %s, want about 100 ms", d)
	}
	sc.(*trackedConn).trusted.Store(true)
	if d := readFor(); d < 900*time.Millisecond {
		t.Fatalf("trusted: a 1 s deadline held only %s", d)
	}
}

// Refused requests whose bodies never come (a declared 60 KB, nothing
// sent; the server reads on until its read timeout) do not pin their
// connections: at the bound, a new connection takes the place of one.
func TestRefusedBodiesDoNotPinConnections(t *testing.T) {
	const maxConns = 4
	r := New(testOptions(), recorder)
	r.tokens.Store(recv.tokens.Load())
	r.ready.Store(true)
	ln, addr := limitedServer(t, r, maxConns, maxConns)
	for i := range maxConns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_, _ = fmt.Fprintf(c, "POST /callback?SdkAppid=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("connection %d: %v %v", i, resp, err)
		}
		_ = resp.Body.Close()
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_, _ = fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a new connection after the refusals: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	if n := ln.open(); n > maxConns {
		t.Fatalf("%d connections held, bound %d", n, maxConns)
	}
}
