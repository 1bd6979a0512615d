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

// Package operator wires the channel-operator into a controller-runtime
// manager: the credentials of Chat's REST API, the observer, the recorder of
// destructions, the reconciler, the sweeper of pending records and the
// callback receiver. cmd/main.go and the test suites set the operator up
// only through Setup, so that what is tested is what runs.
package operator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/cleanup"
	"github.com/channel-operator/channel-operator/internal/controller"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/internal/observer"
	"github.com/channel-operator/channel-operator/internal/receiver"
	"github.com/channel-operator/channel-operator/internal/safety"
	"github.com/channel-operator/channel-operator/internal/secretwatch"
)

// pendingSweepInterval is how often expired pending records are deleted
// and live ones handed to channels that lack them: one LIST of the
// operator's namespace's records.
const pendingSweepInterval = time.Minute

// Operator is what Setup added to the manager.
type Operator struct {
	Credentials *observer.Credentials
	Observer    *observer.Observer
	Pending     *destruction.PendingStore
	Recorder    *destruction.Recorder
	// Reconciler is nil with WithoutReconciler.
	Reconciler *controller.OfficialChannelReconciler
	// Budget is the deletion budget; nil when off (or WithoutReconciler).
	Budget   *safety.Budget
	Receiver *receiver.Receiver
}

type options struct {
	wrapClient     func(client.Client) client.Client
	wrapAPIReader  func(client.Reader) client.Reader
	noReconciler   bool
	chatAPIBackoff time.Duration
}

// Option changes what Setup builds; the test suites use them.
type Option func(*options)

// WithReconcilerClients wraps the reconciler's client and API reader (a
// test's stand-in for RBAC that refuses some objects).
func WithReconcilerClients(c func(client.Client) client.Client, r func(client.Reader) client.Reader) Option {
	return func(o *options) { o.wrapClient, o.wrapAPIReader = c, r }
}

// WithoutReconciler sets up everything but the reconciler: the receiver's
// part ends with the destruction recorded.
func WithoutReconciler() Option { return func(o *options) { o.noReconciler = true } }

// WithChatAPIBackoff sets the wait before the REST client's first retry.
func WithChatAPIBackoff(d time.Duration) Option { return func(o *options) { o.chatAPIBackoff = d } }

// ManagerOptions are the manager's options for c (Validate it first).
func (c *Config) ManagerOptions(scheme *runtime.Scheme) ctrl.Options {
	// HTTP/2 stays off by default: it is exposed to the HTTP/2 Stream
	// Cancellation and Rapid Reset CVEs (GHSA-qppj-fm5r-hxr3, GHSA-4374-p667-p6c8).
	var tlsOpts []func(*tls.Config)
	if !c.EnableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metrics := metricsserver.Options{BindAddress: c.MetricsAddr, SecureServing: c.SecureMetrics, TLSOpts: tlsOpts}
	if c.SecureMetrics {
		// Only clients the API server authenticates and authorizes may read metrics.
		metrics.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	return ctrl.Options{
		Scheme: scheme,
		// The cache holds OfficialChannels and the metadata of the cleanup
		// kinds, stripped to what the cleanup reads, of the watched
		// namespaces only: the reconciler, the cleanup and the receiver's
		// matching see no others. What lives in the manager's own namespace
		// (leases, pending records, the callback Secret) is read through
		// clients of its own, whether or not that namespace is watched.
		Cache:                  cleanup.CacheOptions(c.watchNamespaces...),
		Metrics:                metrics,
		Controller:             config.Controller{CacheSyncTimeout: c.CacheSyncTimeout},
		HealthProbeBindAddress: c.ProbeAddr,
		PprofBindAddress:       c.PprofAddr,
		LeaderElection:         c.LeaderElection,
		LeaderElectionID:       "channel-operator.chat.channel-operator.io",
		// The lease lives next to the manager, in or out of a cluster.
		LeaderElectionNamespace: c.Namespace,
		// The manager exits right after its runnables stop, so the lease can be
		// released at once and a new leader takes over without waiting it out.
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 ptr.To(c.LeaseDuration),
		RenewDeadline:                 ptr.To(c.RenewDeadline),
		RetryPeriod:                   ptr.To(c.RetryPeriod),
	}
}

// Setup adds the operator to mgr, as configured by c (validated): the
// credentials, then the observer (which follows them), the recorder, the
// reconciler, the sweeper of pending records and the receiver.
func Setup(ctx context.Context, mgr ctrl.Manager, c Config, opts ...Option) (*Operator, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := destruction.SetupIndex(ctx, mgr.GetFieldIndexer()); err != nil {
		return nil, err
	}
	// Pending destructions are read and written on the API server directly
	// (not through the cache, which may not hold the manager's namespace).
	direct, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
		HTTPClient: mgr.GetHTTPClient()})
	if err != nil {
		return nil, fmt.Errorf("creating API client: %w", err)
	}
	op := &Operator{}
	// Every replica knows which apps have REST credentials (the receiver
	// records their destructions as reported); the leader observes them.
	op.Credentials = &observer.Credentials{Secret: c.chatAPISecret, Log: mgr.GetLogger().WithName("chat-api")}
	if err := secretwatch.Watch(ctx, mgr, c.chatAPISecret, op.Credentials.SecretChanged); err != nil {
		return nil, err
	}
	api := chatapi.NewClient(chatapi.ClientOptions{QPS: c.ChatAPIQPS, Timeout: c.ChatAPITimeout, Backoff: o.chatAPIBackoff,
		Observe: observer.ObserveCall})
	op.Observer = observer.New(api, op.Credentials, mgr.GetCache(), c.ChatAPIResync)
	if err := mgr.Add(op.Observer); err != nil {
		return nil, fmt.Errorf("adding the Chat API observer: %w", err)
	}
	op.Pending = &destruction.PendingStore{Client: direct, Namespace: c.Namespace, MaxRecords: c.PendingMax, TTL: c.PendingTTL}
	op.Recorder = &destruction.Recorder{Cache: mgr.GetCache(), API: mgr.GetAPIReader(), Client: mgr.GetClient(),
		Pending: op.Pending,
		// Its API server lists, unlike the cache, are not confined by
		// themselves.
		Namespaces: c.watchNamespaces, Confirms: op.Credentials.Has}
	if !o.noReconciler {
		if !c.cleanupBudget.Off() {
			op.Budget = &safety.Budget{Limit: c.cleanupBudget, Client: direct,
				ConfigMap: types.NamespacedName{Namespace: c.Namespace, Name: safety.BudgetConfigMap}}
		}
		if op.Reconciler, err = setupReconciler(mgr, c, o, op); err != nil {
			return nil, err
		}
	}
	if err := mgr.Add(&destruction.Sweeper{Recorder: op.Recorder, Interval: pendingSweepInterval}); err != nil {
		return nil, fmt.Errorf("adding pending destruction sweeper: %w", err)
	}
	op.Receiver = receiver.New(c.Callback, op.Recorder)
	if err := op.Receiver.SetupWithManager(ctx, mgr); err != nil {
		return nil, fmt.Errorf("setting up callback receiver: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("setting up health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("setting up ready check: %w", err)
	}
	return op, nil
}

func setupReconciler(mgr ctrl.Manager, c Config, o options, op *Operator) (*controller.OfficialChannelReconciler, error) {
	var (
		cl     = mgr.GetClient()
		reader = mgr.GetAPIReader()
	)
	if o.wrapClient != nil {
		cl = o.wrapClient(cl)
	}
	if o.wrapAPIReader != nil {
		reader = o.wrapAPIReader(reader)
	}
	r := &controller.OfficialChannelReconciler{
		Client:                  cl,
		APIReader:               reader,
		CleanupKinds:            c.cleanupKinds,
		WatchNamespaces:         c.watchNamespaces,
		Destructions:            op.Recorder,
		Chat:                    op.Observer,
		Events:                  mgr.GetEventRecorder("channel-operator"),
		MaxConcurrentReconciles: c.MaxConcurrentReconciles,
		KindRecheckInterval:     c.KindRecheckInterval,
		InventoryInterval:       c.InventoryInterval,
		Safety:                  safety.Policy{DefaultDelay: c.DefaultCleanupDelay, DryRun: c.DryRun},
		Budget:                  op.Budget,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up OfficialChannel controller: %w", err)
	}
	return r, nil
}

// DefaultNamespace is the manager's namespace out of a cluster.
const DefaultNamespace = "default"

// serviceAccountNamespaceFile holds the Pod's namespace when running in a cluster.
const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Namespace is the namespace the manager runs in: POD_NAMESPACE (set from
// the downward API in config/manager), the service account's namespace in a
// Pod, or "default" when run from a workstation. An error says why the
// service account's file could not be read; the namespace is "default" then.
func Namespace() (string, error) {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns, nil
	}
	b, err := os.ReadFile(serviceAccountNamespaceFile)
	if errors.Is(err, os.ErrNotExist) {
		return DefaultNamespace, nil
	}
	if err != nil {
		return DefaultNamespace, fmt.Errorf("reading the service account namespace: %w", err)
	}
	if ns := strings.TrimSpace(string(b)); ns != "" {
		return ns, nil
	}
	return DefaultNamespace, nil
}
