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
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Connection outcomes, the `reason` label of connectionsClosedTotal.
const (
	connRefused = "refused" // a new connection closed at once: no room, nothing idle to make room
	connEvicted = "evicted" // an idle connection closed to make room for a new one
)

// connLimiter holds the receiver's connections to max in all and to
// perSource from one address. Each costs memory (~20 KiB with its buffers)
// and a file descriptor whether or not it ever sends a callback, so an
// unauthenticated peer could otherwise open thousands and OOM the Pod. At
// the bound a new connection takes the place of the oldest one that is not
// serving a request (one that never authenticated first): a flood of idle
// connections cannot lock the Chat backend out. Only when every connection
// is serving is a new one closed at once. A connection that has not carried
// an authenticated callback is also closed after untrustedIdle of keep-alive
// idleness, not the server's idle timeout.
type connLimiter struct {
	net.Listener
	max, perSource int
	untrustedIdle  time.Duration

	mu       sync.Mutex
	conns    map[*trackedConn]struct{}
	bySource map[string]int
}

func newConnLimiter(ln net.Listener, maxConns, perSource int, untrustedIdle time.Duration) *connLimiter {
	return &connLimiter{Listener: ln, max: maxConns, perSource: perSource, untrustedIdle: untrustedIdle,
		conns: map[*trackedConn]struct{}{}, bySource: map[string]int{}}
}

// trackedConn is one accepted connection.
type trackedConn struct {
	net.Conn
	l       *connLimiter
	source  string
	opened  time.Time
	serving atomic.Bool // a request is being read or answered
	trusted atomic.Bool // it carried an authenticated callback
	once    sync.Once
}

// Accept returns the next connection that fits, making room for it if it
// must.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, l: l, source: hostOf(c.RemoteAddr()), opened: time.Now()}
		l.mu.Lock()
		victims, ok := l.makeRoom(tc.source)
		if ok {
			l.conns[tc] = struct{}{}
			l.bySource[tc.source]++
		}
		l.mu.Unlock()
		for _, v := range victims {
			_ = v.Close()
			connectionsClosedTotal.WithLabelValues(connEvicted).Inc()
		}
		if !ok {
			_ = c.Close()
			connectionsClosedTotal.WithLabelValues(connRefused).Inc()
			continue
		}
		openConnections.Inc()
		return tc, nil
	}
}

// makeRoom picks the connections to close so that one more from source
// fits, and reports whether it can; l.mu is held.
func (l *connLimiter) makeRoom(source string) ([]*trackedConn, bool) {
	var victims []*trackedConn
	if l.bySource[source] >= l.perSource {
		v := l.evictable(func(c *trackedConn) bool { return c.source == source })
		if v == nil {
			return nil, false
		}
		victims = append(victims, v)
	}
	if len(l.conns) >= l.max {
		v := l.evictable(func(*trackedConn) bool { return true })
		if v == nil {
			l.restore(victims)
			return nil, false
		}
		victims = append(victims, v)
	}
	return victims, true
}

// evictable removes and returns the oldest connection among those that
// match and are not serving a request, untrusted ones first; l.mu is held.
func (l *connLimiter) evictable(match func(*trackedConn) bool) *trackedConn {
	before := func(c, than *trackedConn) bool {
		if ct, tt := c.trusted.Load(), than.trusted.Load(); ct != tt {
			return !ct
		}
		return c.opened.Before(than.opened)
	}
	var oldest *trackedConn
	for c := range l.conns {
		if match(c) && !c.serving.Load() && (oldest == nil || before(c, oldest)) {
			oldest = c
		}
	}
	if oldest != nil {
		l.forget(oldest)
	}
	return oldest
}

// restore puts back connections picked as victims that will not be closed.
func (l *connLimiter) restore(victims []*trackedConn) {
	for _, v := range victims {
		l.conns[v] = struct{}{}
		l.bySource[v.source]++
	}
}

// forget drops c from the counts; l.mu is held.
func (l *connLimiter) forget(c *trackedConn) {
	if _, ok := l.conns[c]; !ok {
		return
	}
	delete(l.conns, c)
	if l.bySource[c.source]--; l.bySource[c.source] <= 0 {
		delete(l.bySource, c.source)
	}
}

// open is how many connections are held now.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// connState is the server's ConnState hook: it follows which connections
// serve a request.
func (l *connLimiter) connState(c net.Conn, state http.ConnState) {
	tc, ok := c.(*trackedConn)
	if !ok {
		return
	}
	switch state {
	case http.StateActive:
		tc.serving.Store(true)
	case http.StateIdle:
		tc.serving.Store(false)
	case http.StateClosed, http.StateHijacked:
		tc.serving.Store(false)
		l.mu.Lock()
		l.forget(tc)
		l.mu.Unlock()
	}
}

// Close closes the connection once and gives its place back.
func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.forget(c)
		c.l.mu.Unlock()
		openConnections.Dec()
	})
	return err
}

// SetReadDeadline shortens the server's keep-alive idle deadline for a
// connection that has not carried an authenticated callback. The request
// read deadlines (a few seconds) are shorter already and pass unchanged.
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() && !c.trusted.Load() {
		if limit := time.Now().Add(c.l.untrustedIdle); t.After(limit) {
			t = limit
		}
	}
	return c.Conn.SetReadDeadline(t)
}

// hostOf is the source a connection counts against: its IP, or for IPv6
// its /64, which one host usually holds whole.
func hostOf(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		if tcp.IP.To4() == nil && len(tcp.IP) == net.IPv6len {
			return tcp.IP.Mask(net.CIDRMask(64, 128)).String() + "/64"
		}
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// connKey finds a request's connection in its context.
type connKey struct{}

// withConn is the server's ConnContext hook.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// trustConn marks the connection of req as one that carried an
// authenticated callback: it keeps the server's idle timeout.
func trustConn(req *http.Request) {
	if tc, ok := req.Context().Value(connKey{}).(*trackedConn); ok {
		tc.trusted.Store(true)
	}
}

// releaseConn lets the connection limit close req's connection to make
// room, though the server still reads from it: the request was refused
// with its body unread, and nothing more will be answered there.
func releaseConn(req *http.Request) {
	if tc, ok := req.Context().Value(connKey{}).(*trackedConn); ok {
		tc.serving.Store(false)
	}
}

// trusted reports whether req's connection carried an authenticated
// callback.
func trusted(req *http.Request) bool {
	tc, ok := req.Context().Value(connKey{}).(*trackedConn)
	return ok && tc.trusted.Load()
}
