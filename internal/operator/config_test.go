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
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/channel-operator/channel-operator/internal/observer"
	"github.com/channel-operator/channel-operator/internal/receiver"
)

// The defaults are a configuration that works, and they resolve the
// Secrets in the manager's namespace.
func TestDefaultsValidate(t *testing.T) {
	c := Default()
	c.Namespace = "ops"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if want := (types.NamespacedName{Namespace: "ops", Name: receiver.DefaultSecretName}); c.Callback.Secret != want {
		t.Errorf("callback Secret %v, want %v", c.Callback.Secret, want)
	}
	if want := (types.NamespacedName{Namespace: "ops", Name: observer.DefaultSecretName}); c.ChatAPISecretRef() != want {
		t.Errorf("Chat API Secret %v, want %v", c.ChatAPISecretRef(), want)
	}
	if b := c.Budget(); b.N != 20 || b.Window != 10*time.Minute || c.DryRun || c.DefaultCleanupDelay != 0 {
		t.Errorf("safety defaults: budget %v, dry run %v, delay %s; want 20/10m, off, 0s", b, c.DryRun, c.DefaultCleanupDelay)
	}
	if len(c.cleanupKinds) == 0 || c.WatchedNamespaces() != nil {
		t.Errorf("kinds %v, namespaces %v", c.cleanupKinds, c.WatchedNamespaces())
	}
}

// Flags set on the command line reach the configuration.
func TestFlagsReachTheConfig(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	c.BindFlags(fs)
	err := fs.Parse([]string{"--watch-namespaces=a,b", "--callback-secret=sec/tokens", "--chat-api-qps=5",
		"--max-concurrent-reconciles=9", "--callback-max-skew=30s", "--cleanup-budget=50/1m", "--dry-run",
		"--default-cleanup-delay=5m", "--inventory-interval=10s", "--leader-elect-lease-duration=6s",
		"--leader-elect-renew-deadline=4s", "--leader-elect-retry-period=1s"})
	if err != nil {
		t.Fatal(err)
	}
	c.Namespace = "ops"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.WatchedNamespaces(); len(got) != 2 || c.Callback.Secret.String() != "sec/tokens" || c.ChatAPIQPS != 5 ||
		c.MaxConcurrentReconciles != 9 || c.Callback.MaxSkew != 30*time.Second || c.Budget().N != 50 ||
		c.Budget().Window != time.Minute || !c.DryRun || c.DefaultCleanupDelay != 5*time.Minute ||
		c.InventoryInterval != 10*time.Second || c.LeaseDuration != 6*time.Second || c.RenewDeadline != 4*time.Second ||
		c.RetryPeriod != time.Second {
		t.Fatalf("config %+v", c)
	}
}

// Each setting that cannot work is refused with an error naming its flag.
func TestValidateRefusesWhatCannotWork(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"unknown kind syntax", func(c *Config) { c.CleanupKinds = "deployments.apps,,x y" }, ""},
		{"bad namespace", func(c *Config) { c.WatchNamespaces = "Not_A_Namespace" }, ""},
		{"no namespace", func(c *Config) { c.Namespace = "" }, "namespace"},
		{"budget without a window", func(c *Config) { c.CleanupBudget = "20" }, "--cleanup-budget"},
		{"budget of nothing", func(c *Config) { c.CleanupBudget = "0/10m" }, "--cleanup-budget"},
		{"budget of a bad window", func(c *Config) { c.CleanupBudget = "20/soon" }, "--cleanup-budget"},
		{"inventory interval zero", func(c *Config) { c.InventoryInterval = 0 }, "--inventory-interval"},
		{"negative default delay", func(c *Config) { c.DefaultCleanupDelay = -time.Second }, "--default-cleanup-delay"},
		{"bad callback Secret", func(c *Config) { c.CallbackSecret = "a/b/c" }, "--callback-secret"},
		{"no bind address", func(c *Config) { c.Callback.BindAddress = "" }, "--callback-bind-address"},
		{"zero skew", func(c *Config) { c.Callback.MaxSkew = 0 }, "--callback-max-skew"},
		{"zero inflight", func(c *Config) { c.Callback.MaxInflight = 0 }, "--callback-max-inflight"},
		{"zero recheck", func(c *Config) { c.KindRecheckInterval = 0 }, "--cleanup-kinds-recheck-interval"},
		{"zero cache-sync timeout", func(c *Config) { c.CacheSyncTimeout = 0 }, "--cache-sync-timeout"},
		{"zero workers", func(c *Config) { c.MaxConcurrentReconciles = 0 }, "--max-concurrent-reconciles"},
		{"bad Chat API Secret", func(c *Config) { c.ChatAPISecret = "a/b/c" }, "--chat-api-secret"},
		{"zero QPS", func(c *Config) { c.ChatAPIQPS = 0 }, "--chat-api-qps"},
		{"negative timeout", func(c *Config) { c.ChatAPITimeout = -time.Second }, "--chat-api-timeout"},
		{"zero resync", func(c *Config) { c.ChatAPIResync = 0 }, "--chat-api-resync-interval"},
		{"zero TTL", func(c *Config) { c.PendingTTL = 0 }, "--pending-destruction-ttl"},
		{"zero max", func(c *Config) { c.PendingMax = 0 }, "--pending-destruction-max"},
		{"zero lease", func(c *Config) { c.LeaseDuration = 0 }, "--leader-elect-lease-duration"},
		{"lease within the renewal", func(c *Config) { c.LeaseDuration = c.RenewDeadline }, "--leader-elect-lease-duration"},
		{"renewal within the retries", func(c *Config) { c.RenewDeadline, c.RetryPeriod = 2*time.Second, 2*time.Second },
			"--leader-elect-retry-period"},
		{"negative retry", func(c *Config) { c.RetryPeriod = -time.Second }, "--leader-elect-retry-period"},
		{"lease of a fraction", func(c *Config) { c.LeaseDuration = 10900 * time.Millisecond }, "--leader-elect-lease-duration"},
		{"lease under a second", func(c *Config) {
			c.LeaseDuration, c.RenewDeadline, c.RetryPeriod = 500*time.Millisecond, 400*time.Millisecond, 100*time.Millisecond
		}, "--leader-elect-lease-duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

// The flag table of docs/operations.md is the manager's: every flag BindFlags registers
// is a row, every row is a flag (besides those main and controller-runtime
// add), and a default the table gives as one value is the flag's.
func TestTheFlagTableIsTheManagersFlags(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `--([a-z0-9-]+)`[^|]*\\|([^|]*)\\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		documented[m[1]] = strings.TrimSpace(m[2])
	}
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	var c Config
	c.BindFlags(fs)
	fs.VisitAll(func(f *flag.Flag) {
		def, ok := documented[f.Name]
		if !ok {
			t.Errorf("--%s is not in the flag table of docs/operations.md", f.Name)
			return
		}
		delete(documented, f.Name)
		value, single := strings.CutPrefix(def, "`")
		value, _ = strings.CutSuffix(value, "`")
		if !single || strings.ContainsAny(value, "` ") {
			return // a default the table explains in words
		}
		if d, err := time.ParseDuration(f.DefValue); err == nil {
			if got, err := time.ParseDuration(value); err != nil || got != d {
				t.Errorf("--%s: docs/operations.md says %q, the flag's default is %s", f.Name, value, f.DefValue)
			}
			return
		}
		if value != f.DefValue {
			t.Errorf("--%s: docs/operations.md says %q, the flag's default is %q", f.Name, value, f.DefValue)
		}
	})
	for _, notHere := range []string{"kubeconfig", "zap-devel"} { // controller-runtime's, zap's
		delete(documented, notHere)
	}
	for name := range documented {
		t.Errorf("the flag table of docs/operations.md lists --%s, which the manager does not have", name)
	}
}

// The lease timings reach the manager's leader election.
func TestTheLeaseTimingsReachTheLeaderElection(t *testing.T) {
	c := Config{LeaseDuration: 6 * time.Second, RenewDeadline: 4 * time.Second, RetryPeriod: time.Second}
	o := c.ManagerOptions(runtime.NewScheme())
	if o.LeaseDuration == nil || *o.LeaseDuration != 6*time.Second || o.RenewDeadline == nil || *o.RenewDeadline != 4*time.Second ||
		o.RetryPeriod == nil || *o.RetryPeriod != time.Second {
		t.Fatalf("lease %v, renew %v, retry %v; want 6s, 4s, 1s", o.LeaseDuration, o.RenewDeadline, o.RetryPeriod)
	}
}

// --cache-sync-timeout reaches the controllers (through the manager's
// controller defaults): the e2e test that outlives it relies on it.
func TestTheCacheSyncTimeoutReachesTheControllers(t *testing.T) {
	c := Config{CacheSyncTimeout: 7 * time.Second}
	if got := c.ManagerOptions(runtime.NewScheme()).Controller.CacheSyncTimeout; got != 7*time.Second {
		t.Fatalf("the manager's controller CacheSyncTimeout is %s, want the flag's 7s", got)
	}
}
