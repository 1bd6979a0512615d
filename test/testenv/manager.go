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

package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Names the tests and the local tools (make dev, demo, bench) share.
const (
	// OperatorNamespace is the manager's own namespace: its callback Secret
	// and pending destructions live there.
	OperatorNamespace = "channel-operator-system"
	// DemoApp is the SDKAppID the tests and local tools sign callbacks for.
	DemoApp int64 = 1400000001
)

// ManagerBinary is the manager built by `make build`.
func ManagerBinary() string {
	return filepath.Join(RepoRoot(), "bin", "manager")
}

// ManagerInput says what an in-process manager runs, in the shape of Cluster
// API's envtest: indexes first, then reconcilers and other runnables.
type ManagerInput struct {
	// Cache are the manager cache's options; cmd/main.go's, to test what
	// runs in a cluster.
	Cache cache.Options
	// SetupIndexes registers the cache's field indexes.
	SetupIndexes func(ctx context.Context, mgr ctrl.Manager) error
	// SetupReconcilers adds reconcilers, servers and other runnables.
	SetupReconcilers func(ctx context.Context, mgr ctrl.Manager) error
	// ReadyCheck, when set, must pass before StartManager returns: a
	// runnable that is ready only once the manager has started it.
	ReadyCheck func() error
}

// Manager is a manager running in the test process.
type Manager struct {
	ctrl.Manager
	cancel context.CancelFunc
	done   chan struct{}
}

// StartManager starts a manager against the control plane with in's set-up
// and returns once its cache has synced. Its metrics and probe servers are
// off; more than one manager may run in a process (one after another, say).
func (e *Env) StartManager(in ManagerInput) (*Manager, error) {
	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{
		Scheme:                 e.Scheme,
		Cache:                  in.Cache,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	for _, setup := range []func(context.Context, ctrl.Manager) error{in.SetupIndexes, in.SetupReconcilers} {
		if setup == nil {
			continue
		}
		if err := setup(ctx, mgr); err != nil {
			cancel()
			return nil, err
		}
	}
	m := &Manager{Manager: mgr, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		if err := mgr.Start(ctx); err != nil {
			// A manager that cannot run leaves every test waiting: stop here.
			fmt.Fprintln(os.Stderr, "testenv: manager:", err)
			os.Exit(1)
		}
	}()
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		m.Stop()
		return nil, fmt.Errorf("manager cache did not sync")
	}
	for in.ReadyCheck != nil {
		err := in.ReadyCheck()
		if err == nil {
			break
		}
		select {
		case <-syncCtx.Done():
			m.Stop()
			return nil, fmt.Errorf("manager not ready: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return m, nil
}

// Stop stops the manager and waits until it has stopped. Stopping a stopped
// manager does nothing.
func (m *Manager) Stop() {
	m.cancel()
	<-m.done
}
