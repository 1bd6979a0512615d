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

// Command manager runs the channel-operator: the OfficialChannel reconciler and
// the Chat callback receiver.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	// Import all Kubernetes client auth plugins (e.g. Azure, GCP, OIDC, etc.)
	// to ensure that exec-entrypoint and run can make use of them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/cleanup"
	"github.com/channel-operator/channel-operator/internal/controller"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/internal/observer"
	"github.com/channel-operator/channel-operator/internal/receiver"
	"github.com/channel-operator/channel-operator/internal/secretwatch"
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(chatv1alpha1.AddToScheme(scheme))
}

// serviceAccountNamespaceFile holds the Pod's namespace when running in a cluster.
const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

type flags struct {
	metricsAddr          string
	probeAddr            string
	pprofAddr            string
	secureMetrics        bool
	enableHTTP2          bool
	enableLeaderElection bool
	cleanupKinds         string
	watchNamespaces      string
	kindRecheck          time.Duration
	callbackSecret       string
	callback             receiver.Options
	pendingTTL           time.Duration
	pendingMax           int
	maxConcurrent        int
	chatAPISecret        string
	chatAPIQPS           float64
	chatAPITimeout       time.Duration
	chatAPIResync        time.Duration
}

func main() {
	var f flags
	flag.StringVar(&f.metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	flag.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	flag.StringVar(&f.pprofAddr, "pprof-bind-address", "0",
		"The address pprof endpoints bind to, e.g. 127.0.0.1:6060; 0 disables them. Never expose it publicly.")
	flag.BoolVar(&f.enableLeaderElection, "leader-elect", false,
		"Enable leader election for the reconciler. The callback receiver runs on every replica.")
	flag.BoolVar(&f.secureMetrics, "metrics-secure", true,
		"If set, the metrics endpoint is served securely via HTTPS. Use --metrics-secure=false to use HTTP instead.")
	flag.BoolVar(&f.enableHTTP2, "enable-http2", false,
		"If set, HTTP/2 will be enabled for the metrics server.")
	flag.StringVar(&f.cleanupKinds, "cleanup-kinds", cleanup.DefaultCleanupKinds,
		"Comma-separated resource.group list of the kinds swept for linked objects (core kinds without group).")
	flag.DurationVar(&f.kindRecheck, "cleanup-kinds-recheck-interval", time.Minute,
		"How often a --cleanup-kinds kind the operator cannot use yet (not served, not granted) is checked again.")
	flag.StringVar(&f.watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces whose OfficialChannels the manager watches and cleans up in; "+
			"empty (the default) means every namespace. The operator's own namespace need not be listed.")
	flag.IntVar(&f.maxConcurrent, "max-concurrent-reconciles", 4,
		"OfficialChannels reconciled (cleaned up) at once.")
	flag.StringVar(&f.callback.BindAddress, "callback-bind-address", ":8082",
		"The address the Chat callback receiver binds to (path /callback).")
	flag.StringVar(&f.callbackSecret, "callback-secret", "",
		"namespace/name of the Secret mapping SDKAppIDs to webhook tokens "+
			"(default: "+receiver.DefaultSecretName+" in the manager's namespace).")
	flag.DurationVar(&f.callback.MaxSkew, "callback-max-skew", 60*time.Second,
		"How far a signed callback's RequestTime may be from now.")
	flag.BoolVar(&f.callback.AllowUnsigned, "allow-unsigned-callbacks", false,
		"Accept unsigned callbacks for apps whose token in the callback Secret is empty.")
	flag.IntVar(&f.callback.MaxInflight, "callback-max-inflight", 256,
		"Callbacks handled at once; beyond this the receiver answers 503 at once.")
	flag.DurationVar(&f.pendingTTL, "pending-destruction-ttl", 24*time.Hour,
		"How long a destruction that matched no OfficialChannel is kept for one created later.")
	flag.IntVar(&f.pendingMax, "pending-destruction-max", 1000,
		"Most pending destructions kept at once per app; beyond this that app's unmatched destructions are answered FAIL (503).")
	flag.StringVar(&f.chatAPISecret, "chat-api-secret", "",
		"namespace/name of the Secret holding each app's Chat REST API credentials "+
			"(default: "+observer.DefaultSecretName+" in the manager's namespace). Apps listed there have their "+
			"reported destructions confirmed before anything is deleted, and their channels observed.")
	flag.Float64Var(&f.chatAPIQPS, "chat-api-qps", 20, "Most calls per second to Chat's REST API, per app.")
	flag.DurationVar(&f.chatAPITimeout, "chat-api-timeout", 5*time.Second, "Timeout of one call to Chat's REST API.")
	flag.DurationVar(&f.chatAPIResync, "chat-api-resync-interval", observer.DefaultResyncInterval,
		"How often every channel not yet destroyed is observed through Chat's REST API (±10% jitter).")
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))

	if err := run(f); err != nil {
		setupLog.Error(err, "Manager exited with an error")
		os.Exit(1)
	}
}

func run(f flags) error {
	cleanupKinds, err := cleanup.ParseCleanupKinds(f.cleanupKinds)
	if err != nil {
		return err
	}
	watchNamespaces, err := cleanup.ParseWatchNamespaces(f.watchNamespaces)
	if err != nil {
		return err
	}
	namespace := managerNamespace()
	secret, err := secretwatch.ParseRef(f.callbackSecret, namespace, receiver.DefaultSecretName)
	if err != nil {
		return fmt.Errorf("--callback-secret %w", err)
	}
	f.callback.Secret = secret
	f.callback.AnswerBudget = receiver.DefaultAnswerBudget
	f.callback.Timeouts = receiver.DefaultTimeouts
	if err := f.callback.Validate(); err != nil {
		return err
	}
	if f.kindRecheck <= 0 {
		return fmt.Errorf("--cleanup-kinds-recheck-interval must be positive, got %s", f.kindRecheck)
	}
	if f.maxConcurrent <= 0 {
		return fmt.Errorf("--max-concurrent-reconciles must be positive, got %d", f.maxConcurrent)
	}
	chatSecret, err := secretwatch.ParseRef(f.chatAPISecret, namespace, observer.DefaultSecretName)
	if err != nil {
		return fmt.Errorf("--chat-api-secret %w", err)
	}
	if f.chatAPIQPS <= 0 || f.chatAPITimeout <= 0 || f.chatAPIResync <= 0 {
		return errors.New("--chat-api-qps, --chat-api-timeout and --chat-api-resync-interval must be positive")
	}
	if f.pendingTTL <= 0 || f.pendingMax <= 0 {
		return errors.New("--pending-destruction-ttl and --pending-destruction-max must be positive")
	}

	// HTTP/2 stays off by default: it is exposed to the HTTP/2 Stream
	// Cancellation and Rapid Reset CVEs (GHSA-qppj-fm5r-hxr3, GHSA-4374-p667-p6c8).
	var tlsOpts []func(*tls.Config)
	if !f.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsServerOptions := metricsserver.Options{
		BindAddress:   f.metricsAddr,
		SecureServing: f.secureMetrics,
		TLSOpts:       tlsOpts,
	}
	if f.secureMetrics {
		// Only clients the API server authenticates and authorizes may read metrics.
		metricsServerOptions.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	cfg := ctrl.GetConfigOrDie()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme,
		// The cache holds OfficialChannels and the metadata of the cleanup
		// kinds, stripped to what the cleanup reads, of the watched
		// namespaces only: the reconciler, the cleanup and the receiver's
		// matching see no others. What lives in the manager's own namespace
		// (leases, pending records, the callback Secret) is read through
		// clients of its own, whether or not that namespace is watched.
		Cache:                  cleanup.CacheOptions(watchNamespaces...),
		Metrics:                metricsServerOptions,
		HealthProbeBindAddress: f.probeAddr,
		PprofBindAddress:       f.pprofAddr,
		LeaderElection:         f.enableLeaderElection,
		LeaderElectionID:       "channel-operator.chat.channel-operator.io",
		// The lease lives next to the manager, in or out of a cluster.
		LeaderElectionNamespace: namespace,
		// The manager exits right after its runnables stop, so the lease can be
		// released at once and a new leader takes over without waiting it out.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}

	ctx := ctrl.SetupSignalHandler()
	if err := destruction.SetupIndex(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	// Pending destructions are read and written on the API server directly
	// (not through the cache, which may not hold the manager's namespace).
	direct, err := client.New(cfg, client.Options{Scheme: scheme, Mapper: mgr.GetRESTMapper(), HTTPClient: mgr.GetHTTPClient()})
	if err != nil {
		return fmt.Errorf("creating API client: %w", err)
	}
	// Every replica knows which apps have REST credentials (the receiver
	// records their destructions as reported); the leader observes them.
	creds := &observer.Credentials{Secret: chatSecret, Log: ctrl.Log.WithName("chat-api")}
	if err := secretwatch.Watch(ctx, mgr, chatSecret, creds.SecretChanged); err != nil {
		return err
	}
	chat := observer.New(chatapi.NewClient(chatapi.ClientOptions{QPS: f.chatAPIQPS, Timeout: f.chatAPITimeout,
		Observe: observer.ObserveCall}), creds, mgr.GetCache(), f.chatAPIResync)
	creds.Changed = chat.Kick
	if err := mgr.Add(chat); err != nil {
		return fmt.Errorf("adding the Chat API observer: %w", err)
	}
	pending := &destruction.PendingStore{Client: direct, Namespace: namespace, MaxRecords: f.pendingMax, TTL: f.pendingTTL}
	destructions := &destruction.Recorder{
		Cache:   mgr.GetCache(),
		API:     mgr.GetAPIReader(),
		Client:  mgr.GetClient(),
		Pending: pending,
		// Its API server lists, unlike the cache, are not confined by
		// themselves.
		Namespaces: watchNamespaces,
		Confirms:   creds.Has,
	}

	if err := (&controller.OfficialChannelReconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		CleanupKinds:            cleanupKinds,
		WatchNamespaces:         watchNamespaces,
		Destructions:            destructions,
		Chat:                    chat,
		Events:                  mgr.GetEventRecorder("channel-operator"),
		MaxConcurrentReconciles: f.maxConcurrent,
		KindRecheckInterval:     f.kindRecheck,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up OfficialChannel controller: %w", err)
	}
	if err := mgr.Add(&destruction.Sweeper{Store: pending, Interval: 10 * time.Minute}); err != nil {
		return fmt.Errorf("adding pending destruction sweeper: %w", err)
	}
	if err := receiver.New(f.callback, destructions).SetupWithManager(ctx, mgr); err != nil {
		return fmt.Errorf("setting up callback receiver: %w", err)
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("setting up health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("setting up ready check: %w", err)
	}

	watching := "all"
	if len(watchNamespaces) > 0 {
		watching = strings.Join(watchNamespaces, ",")
	}
	setupLog.Info("Starting manager", "namespace", namespace, "callbackSecret", f.callback.Secret.String(),
		"chatAPISecret", chatSecret.String(), "leaderElection", f.enableLeaderElection, "watchNamespaces", watching)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running manager: %w", err)
	}
	return nil
}

// managerNamespace is the namespace the manager runs in: POD_NAMESPACE (set
// from the downward API in config/manager), the service account's namespace
// in a Pod, or "default" when run from a workstation.
func managerNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(serviceAccountNamespaceFile); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		setupLog.Error(err, "Reading the service account namespace")
	}
	return "default"
}
