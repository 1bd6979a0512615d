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
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/internal/secretwatch"
	"github.com/channel-operator/channel-operator/internal/status"
)

// Path is where the receiver answers Chat callbacks.
const Path = "/callback"

// Timeouts bound how long a client can hold a connection: a slow or hostile
// one cannot pin the receiver. The Chat backend itself gives up after 2 s.
type Timeouts struct {
	ReadHeader time.Duration
	Read       time.Duration
	Write      time.Duration
	Idle       time.Duration
	// UntrustedIdle is the idle timeout of a connection that has not
	// carried an authenticated callback.
	UntrustedIdle time.Duration
}

// DefaultTimeouts fit what the Chat backend does: it gives up on a callback
// after 2 s, so a request whose headers and body (at most 64 KiB) have not
// arrived within 3 s is one nobody waits for, and holding its connection (and
// body) longer only helps a slow-loris. The answer is written within the
// 1.2 s budget. Idle keep-alive connections, which the Chat backend uses, may
// stay open for 90 s; one that has carried no authenticated callback, 5 s.
var DefaultTimeouts = Timeouts{ReadHeader: 2 * time.Second, Read: 3 * time.Second, Write: 5 * time.Second, Idle: 90 * time.Second,
	UntrustedIdle: 5 * time.Second}

const (
	maxHeaderBytes  = 16 << 10
	shutdownTimeout = 10 * time.Second
)

// The callback Secret: only the one named by --callback-secret is watched
// (the manager's cache selects it by name). The grant names the default,
// channel-operator-callback, which the user creates (the install does not
// carry it, so kustomize's name prefix does not apply); a Secret of another
// name needs this grant changed.
// +kubebuilder:rbac:groups="",namespace=system,resources=secrets,resourceNames=channel-operator-callback,verbs=get;list;watch

// Receiver is the HTTP endpoint for Chat callbacks. It runs on every replica
// of the manager: the Chat backend may reach any of them.
type Receiver struct {
	opts     Options
	verifier callback.Verifier
	recorder Recorder
	log      logr.Logger

	// tokens maps each accepted SDKAppID to its webhook token; swapped whole
	// when the callback Secret changes.
	tokens atomic.Pointer[map[int64]string]
	// ready is set once the manager's caches have synced.
	ready atomic.Bool
	// draining is set once the manager was told to stop: readiness fails so
	// that the Pod leaves its Service's endpoints, and callbacks are still
	// answered until the shutdown delay ends.
	draining atomic.Bool
	// secretFound is true while the callback Secret exists.
	secretFound atomic.Bool
	// inflight bounds concurrent callback work, each app its share.
	inflight *slots
	refusals *refusalLog
	now      func() time.Time
	// addr is the address the server listens on, known once set up.
	addr string
	// server is the HTTP server, once set up.
	server *http.Server
}

// Recorder makes a destruction durable; *destruction.Recorder is the one
// that writes to the cluster.
type Recorder interface {
	Record(ctx context.Context, rec destruction.Record) (destruction.Outcome, error)
	// RecordProfile mirrors a create or info-changed callback into status.account.
	RecordProfile(ctx context.Context, sdkAppID int64, account string, p status.Profile, eventTimeMs int64) (int, error)
}

// New returns a Receiver that records destructions with recorder.
func New(opts Options, recorder Recorder) *Receiver {
	r := &Receiver{
		opts:     opts,
		verifier: callback.Verifier{MaxSkew: opts.MaxSkew, AllowUnsigned: opts.AllowUnsigned},
		recorder: recorder,
		log:      ctrl.Log.WithName("callback-receiver"),
		inflight: newSlots(opts.MaxInflight),
		refusals: newRefusalLog(),
		now:      time.Now,
	}
	r.tokens.Store(&map[int64]string{})
	return r
}

// SetupWithManager adds the receiver's HTTP server, its Secret watch and its
// readiness check to mgr.
func (r *Receiver) SetupWithManager(ctx context.Context, mgr manager.Manager) error {
	// Only the one callback Secret is watched, and its data read.
	if err := secretwatch.Watch(ctx, mgr, r.opts.Secret, r.secretChanged); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle(Path, r)
	// Load balancers probe the serving port (GKE Ingress, the AWS load
	// balancer controller): 200 while this replica takes callbacks.
	mux.HandleFunc(HealthPath, r.serveHealth)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		callback.Write(w, callback.Fail(http.StatusNotFound, "not found; callbacks go to "+Path))
	})
	// Listening now, not when the manager starts the server, reserves the
	// port early and fails set-up on a taken address.
	tcp, err := net.Listen("tcp", r.opts.BindAddress)
	if err != nil {
		return fmt.Errorf("callback receiver: %w", err)
	}
	r.addr = tcp.Addr().String()
	t := r.opts.Timeouts
	ln := newConnLimiter(tcp, r.opts.MaxConnections, r.opts.MaxConnectionsPerIP, t.UntrustedIdle)
	shutdown := shutdownTimeout
	r.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnState:         ln.connState,
		ConnContext:       withConn,
		// Connection-level noise (TLS probes, resets) is not worth a log line each.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	if err := mgr.Add(&manager.Server{
		Name:            "callback-receiver",
		Server:          r.server,
		Listener:        ln,
		ShutdownTimeout: &shutdown,
	}); err != nil {
		_ = ln.Close()
		return fmt.Errorf("adding the callback receiver server: %w", err)
	}
	// The manager starts this only after its caches have synced; the HTTP
	// server, started before the caches, answers 503 until then.
	if err := mgr.Add(readyWhenStarted{r}); err != nil {
		return err
	}
	return mgr.AddReadyzCheck("callback-receiver", r.ReadyCheck)
}

// Addr is the address the receiver listens on, once SetupWithManager ran.
func (r *Receiver) Addr() string { return r.addr }

// readyWhenStarted marks the receiver ready when the manager starts it.
type readyWhenStarted struct{ r *Receiver }

func (s readyWhenStarted) Start(context.Context) error {
	switch {
	case !s.r.secretFound.Load():
		// The install does not ship this Secret (re-applying the install
		// must not replace tokens): until someone creates it, no app is known.
		s.r.log.Info("The callback Secret does not exist: every callback is refused (403) until it is created",
			"secret", s.r.opts.Secret.String())
	case len(*s.r.tokens.Load()) == 0:
		s.r.log.Info("No app is configured: every callback is refused until the callback Secret has tokens",
			"secret", s.r.opts.Secret.String())
	}
	s.r.ready.Store(true)
	receiverReady.Set(1)
	s.r.log.Info("Callback receiver ready", "address", s.r.opts.BindAddress, "path", Path)
	return nil
}

// NeedLeaderElection is false: every replica serves callbacks.
func (readyWhenStarted) NeedLeaderElection() bool { return false }

// ReadyCheck fails until the manager's caches have synced, and again once
// the receiver drains.
func (r *Receiver) ReadyCheck(*http.Request) error {
	switch {
	case r.draining.Load():
		return errors.New("callback receiver drains: the manager is stopping")
	case !r.ready.Load():
		return errors.New("callback receiver waits for the caches to sync")
	}
	return nil
}

// Drain makes readiness fail at once, while callbacks are still answered:
// the manager calls it on SIGTERM, --shutdown-delay before it stops, so that
// endpoints and load balancers stop sending here before the listener closes.
func (r *Receiver) Drain() {
	if !r.draining.Swap(true) {
		receiverReady.Set(0)
		if r.server != nil {
			// Each answer closes its connection: a client's next callback
			// opens a new one, which endpoints send to a replica that stays.
			r.server.SetKeepAlivesEnabled(false)
		}
		r.log.Info("Draining: readiness fails, callbacks are still answered until the manager stops")
	}
}

// HealthPath answers load-balancer health checks on the callback port.
const HealthPath = "/healthz"

// serveHealth answers GET and HEAD with 200 while the receiver serves: a
// load balancer's check of the port. Whether this replica should get
// callbacks is readiness's to say (/readyz), which endpoints follow.
func (r *Receiver) serveHealth(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		callback.Write(w, callback.Fail(http.StatusMethodNotAllowed, "use GET or HEAD"))
		return
	}
	callback.Write(w, callback.OK())
}
