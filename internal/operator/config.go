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

package operator

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/leaderelection"

	"github.com/channel-operator/channel-operator/internal/cleanup"
	"github.com/channel-operator/channel-operator/internal/observer"
	"github.com/channel-operator/channel-operator/internal/receiver"
	"github.com/channel-operator/channel-operator/internal/safety"
	"github.com/channel-operator/channel-operator/internal/secretwatch"
)

// Config is the operator's configuration: what the manager's flags say.
// Validate it before Setup.
type Config struct {
	MetricsAddr    string
	ProbeAddr      string
	PprofAddr      string
	SecureMetrics  bool
	EnableHTTP2    bool
	LeaderElection bool
	// LeaseDuration, RenewDeadline and RetryPeriod time the leader
	// election, as client-go's leaderelection does.
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// Namespace is the manager's own: leases, pending records and the
	// default Secrets live there.
	Namespace string

	// CleanupKinds and WatchNamespaces are comma-separated lists.
	CleanupKinds            string
	WatchNamespaces         string
	KindRecheckInterval     time.Duration
	CacheSyncTimeout        time.Duration
	MaxConcurrentReconciles int

	// CallbackSecret and ChatAPISecret are namespace/name, or name in
	// Namespace; empty: the default name in Namespace.
	CallbackSecret string
	Callback       receiver.Options
	PendingTTL     time.Duration
	PendingMax     int

	ChatAPISecret  string
	ChatAPIQPS     float64
	ChatAPITimeout time.Duration
	ChatAPIResync  time.Duration

	// ShutdownDelay is how long the manager answers callbacks after SIGTERM,
	// failing readiness, before it stops.
	ShutdownDelay time.Duration

	// PrintVersion prints the version and exits (--version).
	PrintVersion bool

	// Deletion safety.
	InventoryInterval   time.Duration
	DefaultCleanupDelay time.Duration
	// CleanupBudget is N/duration, or 0 (off).
	CleanupBudget string
	DryRun        bool

	// Resolved by Validate.
	cleanupKinds    []schema.GroupResource
	watchNamespaces []string
	chatAPISecret   types.NamespacedName
	cleanupBudget   safety.Limit
}

// Default is the configuration of a manager started without flags (and
// the namespace "default").
func Default() Config {
	var c Config
	fs := flag.NewFlagSet("defaults", flag.ContinueOnError)
	c.BindFlags(fs)
	c.Namespace = DefaultNamespace
	return c
}

// BindFlags binds the manager's flags to c, with their defaults.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.PrintVersion, "version", false, "Print the version and exit.")
	fs.StringVar(&c.MetricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	fs.StringVar(&c.ProbeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	fs.StringVar(&c.PprofAddr, "pprof-bind-address", "0",
		"The address pprof endpoints bind to, e.g. 127.0.0.1:6060; 0 disables them. Never expose it publicly.")
	fs.BoolVar(&c.LeaderElection, "leader-elect", false,
		"Enable leader election for the reconciler. The callback receiver runs on every replica.")
	fs.DurationVar(&c.LeaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"How long a leader's lease lasts: after a leader dies without letting go (a crash, a lost node), "+
			"the longest the reconciler pauses before another replica takes over.")
	fs.DurationVar(&c.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"How long the leader keeps retrying to renew its lease before it gives up leading (and exits); "+
			"less than --leader-elect-lease-duration.")
	fs.DurationVar(&c.RetryPeriod, "leader-elect-retry-period", 2*time.Second,
		"How often replicas try to acquire or renew the lease.")
	fs.BoolVar(&c.SecureMetrics, "metrics-secure", true,
		"If set, the metrics endpoint is served securely via HTTPS. Use --metrics-secure=false to use HTTP instead.")
	fs.BoolVar(&c.EnableHTTP2, "enable-http2", false,
		"If set, HTTP/2 will be enabled for the metrics server.")
	fs.StringVar(&c.CleanupKinds, "cleanup-kinds", cleanup.DefaultCleanupKinds,
		"Comma-separated resource.group list of the kinds swept for linked objects (core kinds without group).")
	fs.DurationVar(&c.KindRecheckInterval, "cleanup-kinds-recheck-interval", time.Minute,
		"How often a --cleanup-kinds kind the operator cannot use yet (not served, not granted) is checked again.")
	fs.DurationVar(&c.CacheSyncTimeout, "cache-sync-timeout", 2*time.Minute,
		"How long a controller waits for its caches to fill at start before it gives up (controller-runtime's default); "+
			"raise it on a cluster whose API server is slow to list.")
	fs.StringVar(&c.WatchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces whose OfficialChannels the manager watches and cleans up in; "+
			"empty (the default) means every namespace. The operator's own namespace need not be listed.")
	fs.IntVar(&c.MaxConcurrentReconciles, "max-concurrent-reconciles", 4,
		"OfficialChannels reconciled (cleaned up) at once.")
	fs.StringVar(&c.Callback.BindAddress, "callback-bind-address", ":8082",
		"The address the Chat callback receiver binds to (path /callback).")
	fs.StringVar(&c.CallbackSecret, "callback-secret", "",
		"namespace/name of the Secret mapping SDKAppIDs to webhook tokens "+
			"(default: "+receiver.DefaultSecretName+" in the manager's namespace).")
	fs.DurationVar(&c.Callback.MaxSkew, "callback-max-skew", 60*time.Second,
		"How far a signed callback's RequestTime may be from now.")
	fs.BoolVar(&c.Callback.AllowUnsigned, "allow-unsigned-callbacks", false,
		"Accept unsigned callbacks for apps whose token in the callback Secret is empty.")
	fs.IntVar(&c.Callback.MaxInflight, "callback-max-inflight", 256,
		"Callbacks handled at once; beyond this the receiver answers 503 at once.")
	fs.IntVar(&c.Callback.MaxConnections, "callback-max-connections", 1024,
		"Connections the callback receiver holds open; beyond it a new one takes the place of the oldest idle one.")
	fs.IntVar(&c.Callback.MaxConnectionsPerIP, "callback-max-connections-per-ip", 256,
		"Connections the callback receiver holds open from one address (behind proxies: from each proxy).")
	fs.IntVar(&c.Callback.ProxyHops, "callback-proxy-hops", 0,
		"How many proxies that append to X-Forwarded-For (an Ingress controller, a load balancer) stand in front of the "+
			"receiver: a destruction's peerIP and the refusal logs name the address the outermost one saw. 0: the TCP peer.")
	fs.DurationVar(&c.ShutdownDelay, "shutdown-delay", 5*time.Second,
		"After SIGTERM, how long readiness fails while callbacks are still answered, before the manager stops: the time "+
			"endpoints and load balancers take to stop sending to the Pod. The Pod's terminationGracePeriodSeconds must cover "+
			"it plus the receiver's 10s shutdown.")
	fs.DurationVar(&c.PendingTTL, "pending-destruction-ttl", 24*time.Hour,
		"How long a destruction that matched no OfficialChannel is kept for one created later.")
	fs.IntVar(&c.PendingMax, "pending-destruction-max", 1000,
		"Most pending destructions kept at once per app; beyond this that app's unmatched destructions are answered FAIL (503).")
	fs.StringVar(&c.ChatAPISecret, "chat-api-secret", "",
		"namespace/name of the Secret holding each app's Chat REST API credentials "+
			"(default: "+observer.DefaultSecretName+" in the manager's namespace). Apps listed there have their "+
			"reported destructions confirmed before anything is deleted, and their channels observed.")
	fs.Float64Var(&c.ChatAPIQPS, "chat-api-qps", 20, "Most calls per second to Chat's REST API, per app.")
	fs.DurationVar(&c.ChatAPITimeout, "chat-api-timeout", 5*time.Second, "Timeout of one call to Chat's REST API.")
	fs.DurationVar(&c.ChatAPIResync, "chat-api-resync-interval", observer.DefaultResyncInterval,
		"How often every channel not yet destroyed is observed through Chat's REST API (±10% jitter).")
	fs.DurationVar(&c.InventoryInterval, "inventory-interval", cleanup.DefaultInventoryInterval,
		"How soon a change of a channel's linked objects reaches its status.inventory; a changed inventory is written "+
			"at most once per interval.")
	fs.DurationVar(&c.DefaultCleanupDelay, "default-cleanup-delay", 0,
		"The spec.cleanupDelay of OfficialChannels that set none: how long after a destruction is confirmed "+
			"(or recorded, without REST credentials) its cleanup starts.")
	fs.StringVar(&c.CleanupBudget, "cleanup-budget", safety.DefaultBudget,
		"The deletion budget: at most N cleanups start in any window of the duration, across the operator (N/duration, "+
			"e.g. 20/10m); beyond it cleanups wait, or start once approved. 0 switches it off.")
	fs.BoolVar(&c.DryRun, "dry-run", false,
		"Audit mode: record and confirm destructions, plan their cleanups, delete nothing.")
	c.Callback.AnswerBudget = receiver.DefaultAnswerBudget
	c.Callback.Timeouts = receiver.DefaultTimeouts
}

// Validate reports the first setting that cannot work, and resolves what
// the settings name (the kinds, the namespaces, the Secrets) for Setup.
func (c *Config) Validate() error {
	var err error
	if c.cleanupKinds, err = cleanup.ParseCleanupKinds(c.CleanupKinds); err != nil {
		return err
	}
	if c.watchNamespaces, err = cleanup.ParseWatchNamespaces(c.WatchNamespaces); err != nil {
		return err
	}
	if c.Namespace == "" {
		return errors.New("the manager's namespace must be set")
	}
	if c.Callback.Secret, err = secretwatch.ParseRef(c.CallbackSecret, c.Namespace, receiver.DefaultSecretName); err != nil {
		return fmt.Errorf("--callback-secret %w", err)
	}
	if err := c.Callback.Validate(); err != nil {
		return err
	}
	if c.CacheSyncTimeout <= 0 {
		return fmt.Errorf("--cache-sync-timeout must be positive, got %s", c.CacheSyncTimeout)
	}
	if c.KindRecheckInterval <= 0 {
		return fmt.Errorf("--cleanup-kinds-recheck-interval must be positive, got %s", c.KindRecheckInterval)
	}
	if c.MaxConcurrentReconciles <= 0 {
		return fmt.Errorf("--max-concurrent-reconciles must be positive, got %d", c.MaxConcurrentReconciles)
	}
	if c.chatAPISecret, err = secretwatch.ParseRef(c.ChatAPISecret, c.Namespace, observer.DefaultSecretName); err != nil {
		return fmt.Errorf("--chat-api-secret %w", err)
	}
	if c.ChatAPIQPS <= 0 || c.ChatAPITimeout <= 0 || c.ChatAPIResync <= 0 {
		return errors.New("--chat-api-qps, --chat-api-timeout and --chat-api-resync-interval must be positive")
	}
	if c.PendingTTL <= 0 || c.PendingMax <= 0 {
		return errors.New("--pending-destruction-ttl and --pending-destruction-max must be positive")
	}
	if c.cleanupBudget, err = safety.ParseLimit(c.CleanupBudget); err != nil {
		return fmt.Errorf("--cleanup-budget %w", err)
	}
	if err := c.validateLeaderElection(); err != nil {
		return err
	}
	if c.ShutdownDelay < 0 {
		return fmt.Errorf("--shutdown-delay must not be negative, got %s", c.ShutdownDelay)
	}
	if c.InventoryInterval <= 0 {
		return fmt.Errorf("--inventory-interval must be positive, got %s", c.InventoryInterval)
	}
	if c.DefaultCleanupDelay < 0 {
		return fmt.Errorf("--default-cleanup-delay must not be negative, got %s", c.DefaultCleanupDelay)
	}
	return nil
}

// validateLeaderElection checks the lease timings as client-go's leader
// elector would, naming the flags (there, a bad pair stops the manager only
// once it has started), and one rule more: the Lease records its duration
// in whole seconds, so a lease of 10.9s is 10s to the other replicas, who
// would take it over while the leader still counts itself in its renew
// deadline of 10.5s.
func (c *Config) validateLeaderElection() error {
	switch {
	case c.LeaseDuration <= 0 || c.RenewDeadline <= 0 || c.RetryPeriod <= 0:
		return errors.New("--leader-elect-lease-duration, --leader-elect-renew-deadline and " +
			"--leader-elect-retry-period must be positive")
	case c.LeaseDuration%time.Second != 0:
		return fmt.Errorf("--leader-elect-lease-duration must be a whole number of seconds, at least 1s (the Lease records seconds), got %s",
			c.LeaseDuration)
	case c.LeaseDuration <= c.RenewDeadline:
		return fmt.Errorf("--leader-elect-lease-duration (%s) must be greater than --leader-elect-renew-deadline (%s)",
			c.LeaseDuration, c.RenewDeadline)
	case float64(c.RenewDeadline) <= leaderelection.JitterFactor*float64(c.RetryPeriod):
		return fmt.Errorf("--leader-elect-renew-deadline (%s) must be greater than %.1f x --leader-elect-retry-period (%s)",
			c.RenewDeadline, leaderelection.JitterFactor, c.RetryPeriod)
	}
	return nil
}

// Budget is the deletion budget; valid after Validate.
func (c *Config) Budget() safety.Limit { return c.cleanupBudget }

// WatchedNamespaces are the namespaces the operator works in (nil: all);
// valid after Validate.
func (c *Config) WatchedNamespaces() []string { return c.watchNamespaces }

// ChatAPISecretRef is the Chat API Secret; valid after Validate.
func (c *Config) ChatAPISecretRef() types.NamespacedName { return c.chatAPISecret }
