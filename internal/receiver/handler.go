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
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/time/rate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/internal/status"
	"github.com/channel-operator/channel-operator/internal/text"
)

// ServeHTTP answers one callback. The checks run in the order docs/receiver.md
// lists, and nothing is written unless all of them pass.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := r.now()
	command := otherCommand
	result := resultFailed
	defer func() {
		callbacksTotal.WithLabelValues(command, result).Inc()
		callbackDuration.WithLabelValues(command).Observe(time.Since(start).Seconds())
	}()
	values, queryErr := url.ParseQuery(req.URL.RawQuery)
	bodyRead := false
	fail := func(res string, code int, format string, args ...any) {
		result = res
		refused := code >= 400 && code < 500
		unreadBody := !bodyRead && req.ContentLength != 0
		if unreadBody || refused && !trusted(req) {
			// Otherwise net/http reads the unread body (up to 256 KiB) before
			// it answers, to keep the connection: a refused client would still
			// hold it until the read timeout. And a connection that carried
			// nothing but refusals is not kept for more.
			w.Header().Set("Connection", "close")
		}
		reason := fmt.Sprintf(format, args...)
		if refused {
			r.refusals.log(r.log, res, reason, values, PeerIP(req, r.opts.ProxyHops))
		}
		callback.Write(w, callback.Fail(code, reason))
		if unreadBody {
			// Even closing, net/http discards what it can of the body after
			// the answer (until the read timeout), the connection counted as
			// serving: the connection limit may close it to make room.
			releaseConn(req)
		}
	}
	if queryErr == nil {
		command = commandLabel(values.Get(callback.ParamCommand))
	}

	if !r.ready.Load() {
		w.Header().Set("Retry-After", "1")
		fail(resultNotReady, http.StatusServiceUnavailable, "the receiver is starting")
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(resultMethodNotAllowed, http.StatusMethodNotAllowed, "method %s not allowed; use POST", req.Method)
		return
	}
	if req.ContentLength > callback.MaxBodyBytes {
		fail(resultTooLarge, http.StatusRequestEntityTooLarge, "body larger than %d bytes", callback.MaxBodyBytes)
		return
	}
	// Everything the query string and headers decide is answered before the
	// body is read: an unknown app, a forged or replayed Sign, a malformed
	// command cost the receiver no body in memory.
	if queryErr != nil {
		fail(resultBadRequest, http.StatusBadRequest, "malformed query string")
		return
	}
	app, err := callback.ParseApp(values)
	if err != nil {
		fail(resultForbidden, http.StatusForbidden, "%v", err)
		return
	}
	token, ok := (*r.tokens.Load())[app]
	if !ok {
		fail(resultForbidden, http.StatusForbidden, "SdkAppid %d is not an app of this receiver", app)
		return
	}
	auth, err := callback.ParseAuth(values)
	if err == nil {
		err = r.verifier.Verify(token, auth)
	}
	if err != nil {
		fail(resultUnauthorized, http.StatusUnauthorized, "%v", err)
		return
	}
	trustConn(req)
	cmd, err := callback.ParseCommand(values)
	if err != nil {
		fail(resultBadRequest, http.StatusBadRequest, "%v", err)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			fail(resultBadRequest, http.StatusBadRequest, "Content-Type must be application/json")
			return
		}
	}

	// At most MaxInflight authenticated callbacks hold a body and do work at
	// once, each app its share; a slow body holds its place until the
	// server's read timeout.
	if !r.inflight.acquire(app, len(*r.tokens.Load())) {
		w.Header().Set("Retry-After", "1")
		fail(resultOverloaded, http.StatusServiceUnavailable, "too many callbacks of app %d in flight", app)
		return
	}
	defer r.inflight.release(app)
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, callback.MaxBodyBytes))
	bodyRead = true
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			fail(resultTooLarge, http.StatusRequestEntityTooLarge, "body larger than %d bytes", callback.MaxBodyBytes)
			return
		}
		fail(resultBadRequest, http.StatusBadRequest, "reading body: %v", err)
		return
	}
	event, err := callback.Decode(cmd.Name, body)
	if err != nil {
		fail(resultBadRequest, http.StatusBadRequest, "%v", err)
		return
	}

	switch e := event.(type) {
	case *callback.Destroyed:
		result = r.recordDestroyed(req.Context(), w, app, cmd, e, PeerIP(req, r.opts.ProxyHops), start)
	case *callback.Created:
		result = r.recordProfile(req.Context(), w, app, e.OfficialAccount, e.EventTime, start,
			status.Profile{Name: e.Name, OwnerAccount: e.OwnerAccount})
	case *callback.InfoChanged:
		result = r.recordProfile(req.Context(), w, app, e.OfficialAccount, e.EventTime, start,
			status.Profile{Name: e.Name, Introduction: e.Introduction, FaceURL: e.FaceURL, Organization: e.Organization})
	default:
		result = resultIgnored
		callback.Write(w, callback.OK())
	}
}

// recordProfile mirrors a created or info-changed callback into the
// matching channels' status.account within the answer budget.
func (r *Receiver) recordProfile(ctx context.Context, w http.ResponseWriter, app int64, account string, eventTime int64,
	start time.Time, p status.Profile) string {
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), start.Add(r.opts.AnswerBudget))
	defer cancel()
	n, err := r.recorder.RecordProfile(ctx, app, account, p, eventTime)
	if err != nil {
		r.log.Error(err, "Could not record the channel profile; answering FAIL", "sdkAppID", app, "officialAccountID", account)
		callback.Write(w, callback.Fail(http.StatusServiceUnavailable, "the profile could not be recorded; retry later"))
		return resultFailed
	}
	callback.Write(w, callback.OK())
	if n == 0 {
		return resultIgnored
	}
	return resultOK
}

// recordDestroyed makes the destruction durable within the answer budget
// and answers OK only once it is.
func (r *Receiver) recordDestroyed(
	ctx context.Context,
	w http.ResponseWriter,
	app int64,
	cmd callback.Command,
	d *callback.Destroyed,
	peer string,
	start time.Time,
) string {
	// The write goes on if the caller hangs up: what it told us is kept if it
	// can be, within the budget.
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), start.Add(r.opts.AnswerBudget))
	defer cancel()
	logger := r.log.WithValues("sdkAppID", app, "officialAccountID", d.OfficialAccount, "eventTime", d.EventTime)
	ctx = logr.NewContext(ctx, logger)

	// Bounded here, not only in status: the pending store keeps it too.
	rec := destruction.Record{
		SDKAppID:          app,
		OfficialAccountID: d.OfficialAccount,
		Destruction: status.BoundDestruction(chatv1alpha1.Destruction{
			EventTime:    d.EventTime,
			OwnerAccount: d.OwnerAccount,
			Name:         d.Name,
			ClientIP:     cmd.ClientIP,
			PeerIP:       peer,
			OptPlatform:  cmd.OptPlatform,
			ReceivedAt:   metav1.NewTime(start),
		}),
	}
	out, err := r.recorder.Record(ctx, rec)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, destruction.ErrStoreFull) || errors.Is(err, context.DeadlineExceeded) {
			code = http.StatusServiceUnavailable
		}
		logger.Error(err, "Could not record channel destruction; answering FAIL so that it is not taken as delivered")
		callback.Write(w, callback.Fail(code, "the destruction could not be recorded; retry later"))
		return resultFailed
	}
	if out.Pending {
		logger.Info("No OfficialChannel matches yet; kept the destruction as pending")
		callback.Write(w, callback.OK())
		return resultPending
	}
	if out.Deferred > 0 {
		logger.Info("Destruction written to the oldest matching OfficialChannels; the reconciler hands it to the others",
			"written", out.Recorded+out.Unchanged, "deferred", out.Deferred)
	}
	callback.Write(w, callback.OK())
	return resultOK
}

// refusalLog logs refused callbacks (4xx) so that docs/operations.md's
// troubleshooting can send users to the logs, at most a few lines a second:
// a flood of refusals cannot drown the log or the disk. Lines that did not
// fit are counted into the next one. A line says why, for which app and from
// where; the reason never holds the token or the Sign.
type refusalLog struct {
	limiter    *rate.Limiter
	suppressed atomic.Int64
}

func newRefusalLog() *refusalLog {
	return &refusalLog{limiter: rate.NewLimiter(rate.Every(100*time.Millisecond), 20)}
}

func (l *refusalLog) log(log logr.Logger, result, reason string, values url.Values, peer string) {
	if !l.limiter.Allow() {
		l.suppressed.Add(1)
		return
	}
	app := "-"
	if a, err := callback.ParseApp(values); err == nil {
		app = strconv.FormatInt(a, 10)
	}
	log.Info("Refused a callback", "result", result, "reason", reason, "sdkAppID", app, "peerIP", text.Abbrev(peer, 64),
		"suppressedSinceLastLine", l.suppressed.Swap(0))
}

// PeerIP is the address a request came from: the TCP peer, or, behind hops
// proxies that each append to X-Forwarded-For, the entry the outermost of
// them appended (hops from the right). Entries further left are the
// sender's to choose, as is the ClientIP parameter. A header with fewer
// entries than hops yields its leftmost entry: the farthest one known.
func PeerIP(req *http.Request, hops int) string {
	if hops > 0 {
		var hopsSeen []string
		for _, h := range req.Header.Values("X-Forwarded-For") {
			for _, e := range strings.Split(h, ",") {
				hopsSeen = append(hopsSeen, strings.TrimSpace(e))
			}
		}
		if n := len(hopsSeen); n > 0 {
			return hopsSeen[max(n-hops, 0)]
		}
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	return host
}
