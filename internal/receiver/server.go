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
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/internal/destruction"
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
}

// DefaultTimeouts leave a legitimate callback (a few hundred bytes, answered
// in milliseconds) far inside every limit. Idle keep-alive connections, which
// the Chat backend uses, may stay open for 90 s.
var DefaultTimeouts = Timeouts{ReadHeader: 5 * time.Second, Read: 10 * time.Second, Write: 10 * time.Second, Idle: 90 * time.Second}

const (
	maxHeaderBytes  = 16 << 10
	shutdownTimeout = 10 * time.Second
)

// The callback Secret: only the one named by --callback-secret is watched
// (the manager's cache selects it by name). config/default names it
// channel-operator-callback; a Secret of another name needs this grant too.
// +kubebuilder:rbac:groups="",namespace=system,resources=secrets,resourceNames=callback,verbs=get;list;watch

// Receiver is the HTTP endpoint for Chat callbacks. It runs on every replica
// of the manager: the Chat backend may reach any of them.
type Receiver struct {
	opts     Options
	verifier callback.Verifier
	writer   recorder
	log      logr.Logger

	// tokens maps each accepted SDKAppID to its webhook token; swapped whole
	// when the callback Secret changes.
	tokens atomic.Pointer[map[int64]string]
	// ready is set once the manager's caches have synced.
	ready atomic.Bool
	// inflight bounds concurrent callback work.
	inflight chan struct{}
	now      func() time.Time
	// addr is the address the server listens on, known once set up.
	addr string
}

// recorder makes a destruction durable; *Writer is the one that writes to the
// cluster.
type recorder interface {
	Record(ctx context.Context, rec destruction.Record) (Outcome, error)
}

// New returns a Receiver that records destructions with writer.
func New(opts Options, writer recorder) *Receiver {
	r := &Receiver{
		opts:     opts,
		verifier: callback.Verifier{MaxSkew: opts.MaxSkew, AllowUnsigned: opts.AllowUnsigned},
		writer:   writer,
		log:      ctrl.Log.WithName("callback-receiver"),
		inflight: make(chan struct{}, opts.MaxInflight),
		now:      time.Now,
	}
	r.tokens.Store(&map[int64]string{})
	return r
}

// SetupWithManager adds the receiver's HTTP server, its Secret watch and its
// readiness check to mgr.
func (r *Receiver) SetupWithManager(ctx context.Context, mgr manager.Manager) error {
	// A cache of its own holds the one callback Secret, selected by name:
	// nothing else is watched, and the manager's cache stays free to hold
	// other Secrets' metadata for the cleanup.
	secrets, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme:            mgr.GetScheme(),
		Mapper:            mgr.GetRESTMapper(),
		HTTPClient:        mgr.GetHTTPClient(),
		DefaultNamespaces: map[string]cache.Config{r.opts.Secret.Namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Field: fields.OneTermEqualSelector("metadata.name", r.opts.Secret.Name)},
		},
		DefaultTransform: cache.TransformStripManagedFields(),
	})
	if err != nil {
		return fmt.Errorf("creating the callback Secret cache: %w", err)
	}
	// Started and synced with the manager's caches, before anything else.
	if err := mgr.Add(ownCache{secrets}); err != nil {
		return err
	}
	inf, err := secrets.GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return fmt.Errorf("getting the Secret informer: %w", err)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.secretChanged(obj, false) },
		UpdateFunc: func(_, obj any) { r.secretChanged(obj, false) },
		DeleteFunc: func(obj any) { r.secretChanged(obj, true) },
	}); err != nil {
		return fmt.Errorf("watching the callback Secret: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle(Path, r)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		callback.Write(w, callback.Fail(http.StatusNotFound, "not found; callbacks go to "+Path))
	})
	// Listening now, not when the manager starts the server, reserves the
	// port early and fails set-up on a taken address.
	ln, err := net.Listen("tcp", r.opts.BindAddress)
	if err != nil {
		return fmt.Errorf("callback receiver: %w", err)
	}
	r.addr = ln.Addr().String()
	t := r.opts.Timeouts
	shutdown := shutdownTimeout
	if err := mgr.Add(&manager.Server{
		Name: "callback-receiver",
		Server: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: t.ReadHeader,
			ReadTimeout:       t.Read,
			WriteTimeout:      t.Write,
			IdleTimeout:       t.Idle,
			MaxHeaderBytes:    maxHeaderBytes,
			// Connection-level noise (TLS probes, resets) is not worth a log line each.
			ErrorLog: log.New(io.Discard, "", 0),
		},
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

// ownCache makes the manager start a cache with its own caches and wait for
// its sync before it starts anything else.
type ownCache struct{ cache.Cache }

// GetCache puts ownCache in the manager's group of caches.
func (c ownCache) GetCache() cache.Cache { return c.Cache }

// readyWhenStarted marks the receiver ready when the manager starts it.
type readyWhenStarted struct{ r *Receiver }

func (s readyWhenStarted) Start(context.Context) error {
	if len(*s.r.tokens.Load()) == 0 {
		s.r.log.Info("No app is configured: every callback is refused until the callback Secret has tokens",
			"secret", s.r.opts.Secret.String())
	}
	s.r.ready.Store(true)
	s.r.log.Info("Callback receiver ready", "address", s.r.opts.BindAddress, "path", Path)
	return nil
}

// NeedLeaderElection is false: every replica serves callbacks.
func (readyWhenStarted) NeedLeaderElection() bool { return false }

// ReadyCheck fails until the manager's caches have synced.
func (r *Receiver) ReadyCheck(*http.Request) error {
	if !r.ready.Load() {
		return errors.New("callback receiver waits for the caches to sync")
	}
	return nil
}

func (r *Receiver) secretChanged(obj any, deleted bool) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj, deleted = tomb.Obj, true
	}
	secret, ok := obj.(*corev1.Secret)
	if !ok || secret.Namespace != r.opts.Secret.Namespace || secret.Name != r.opts.Secret.Name {
		return
	}
	tokens := map[int64]string{}
	if !deleted {
		var skipped []string
		tokens, skipped = parseTokens(secret.Data)
		if len(skipped) > 0 {
			r.log.Info("Ignoring callback Secret keys that are not SDKAppIDs", "secret", r.opts.Secret.String(), "keys", skipped)
		}
	}
	r.tokens.Store(&tokens)
	apps := make([]int64, 0, len(tokens))
	for app := range tokens {
		apps = append(apps, app)
	}
	// Only the app IDs: tokens never reach a log line.
	r.log.Info("Loaded callback apps", "secret", r.opts.Secret.String(), "apps", apps, "deleted", deleted)
}

// parseTokens reads the callback Secret: each key an SDKAppID in decimal,
// each value its token. Surrounding whitespace (a file's final newline) is
// not part of a token.
func parseTokens(data map[string][]byte) (tokens map[int64]string, skipped []string) {
	tokens = make(map[int64]string, len(data))
	for key, value := range data {
		app, err := strconv.ParseInt(key, 10, 64)
		if err != nil || app <= 0 {
			skipped = append(skipped, key)
			continue
		}
		tokens[app] = strings.TrimSpace(string(value))
	}
	return tokens, skipped
}

// ServeHTTP answers one callback. The checks run in the order the design
// gives, and nothing is written unless all of them pass.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := r.now()
	command := otherCommand
	result := resultFailed
	defer func() {
		callbacksTotal.WithLabelValues(command, result).Inc()
		callbackDuration.WithLabelValues(command).Observe(time.Since(start).Seconds())
	}()
	fail := func(res string, status int, format string, args ...any) {
		result = res
		callback.Write(w, callback.Fail(status, fmt.Sprintf(format, args...)))
	}
	values, queryErr := url.ParseQuery(req.URL.RawQuery)
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
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, callback.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			fail(resultTooLarge, http.StatusRequestEntityTooLarge, "body larger than %d bytes", callback.MaxBodyBytes)
			return
		}
		fail(resultBadRequest, http.StatusBadRequest, "reading body: %v", err)
		return
	}

	// The work from here on is bounded, not the reading above: a slow client
	// is the server timeouts' business and must not take a worker's place.
	select {
	case r.inflight <- struct{}{}:
		defer func() { <-r.inflight }()
	default:
		w.Header().Set("Retry-After", "1")
		fail(resultOverloaded, http.StatusServiceUnavailable, "too many callbacks in flight")
		return
	}

	if queryErr != nil {
		fail(resultBadRequest, http.StatusBadRequest, "malformed query string")
		return
	}
	q, qerr := callback.ParseQuery(values)
	if errors.Is(qerr, callback.ErrAppID) {
		fail(resultForbidden, http.StatusForbidden, "%v", qerr)
		return
	}
	token, ok := (*r.tokens.Load())[q.SDKAppID]
	if !ok {
		fail(resultForbidden, http.StatusForbidden, "SdkAppid %d is not an app of this receiver", q.SDKAppID)
		return
	}
	if errors.Is(qerr, callback.ErrAuthParams) {
		fail(resultUnauthorized, http.StatusUnauthorized, "%v", qerr)
		return
	}
	if err := r.verifier.Verify(token, q); err != nil {
		fail(resultUnauthorized, http.StatusUnauthorized, "%v", err)
		return
	}
	if qerr != nil {
		fail(resultBadRequest, http.StatusBadRequest, "%v", qerr)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			fail(resultBadRequest, http.StatusBadRequest, "Content-Type must be application/json")
			return
		}
	}
	event, err := callback.Decode(q.Command, body)
	if err != nil {
		fail(resultBadRequest, http.StatusBadRequest, "%v", err)
		return
	}

	destroyed, ok := event.(*callback.Destroyed)
	if !ok {
		result = resultIgnored
		callback.Write(w, callback.OK())
		return
	}
	result = r.recordDestroyed(req.Context(), w, q, destroyed, start)
}

// recordDestroyed makes the destruction durable within the answer budget
// and answers OK only once it is.
func (r *Receiver) recordDestroyed(ctx context.Context, w http.ResponseWriter, q callback.Query, d *callback.Destroyed, start time.Time) string {
	// The write goes on if the caller hangs up: what it told us is kept if it
	// can be, within the budget.
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), start.Add(r.opts.AnswerBudget))
	defer cancel()
	logger := r.log.WithValues("sdkAppID", q.SDKAppID, "officialAccountID", d.OfficialAccount, "eventTime", d.EventTime)
	ctx = logr.NewContext(ctx, logger)

	rec := destruction.Record{
		SDKAppID:          q.SDKAppID,
		OfficialAccountID: d.OfficialAccount,
		Destruction: chatv1alpha1.Destruction{
			EventTime:    d.EventTime,
			OwnerAccount: d.OwnerAccount,
			Name:         d.Name,
			ClientIP:     q.ClientIP,
			OptPlatform:  q.OptPlatform,
			ReceivedAt:   metav1.NewTime(start),
		},
	}
	out, err := r.writer.Record(ctx, rec)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, destruction.ErrStoreFull) || errors.Is(err, context.DeadlineExceeded) {
			status = http.StatusServiceUnavailable
		}
		logger.Error(err, "Could not record channel destruction; answering FAIL so that it is not taken as delivered")
		callback.Write(w, callback.Fail(status, "the destruction could not be recorded; retry later"))
		return resultFailed
	}
	if out.Pending {
		logger.Info("No OfficialChannel matches yet; kept the destruction as pending")
		callback.Write(w, callback.OK())
		return resultPending
	}
	callback.Write(w, callback.OK())
	return resultOK
}
