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

// The run: BENCH_SCALE and BENCH_ONLY, the control plane and the manager it
// starts, each benchmark in turn (callbacks.go, cleanup.go, scale.go), and the
// report at the end (report.go).

// Command bench measures the operator against the raw API server on one
// local control plane, in one run, and reports ratios to baselines measured
// in that same run (the machines are shared and noisy: absolute figures mean
// little, ratios travel). Use it through `make bench`; BENCH_SCALE scales
// every size (0.1 for a quick run).
//
//  1. Callbacks: signed destroyed callbacks over HTTP keep-alive at
//     concurrency 1, 8 and 32, against the same status writes made directly
//     with a controller-runtime client.
//  2. Cleanup: channels with 20 linked objects each, all destroyed at once,
//     until every one is CleanedUp, against deleting the same objects directly
//     at the reconciler's concurrency; spread over 20 namespaces, and all in
//     one.
//  4. Ignored callbacks (ignored.go): the rate of callbacks the operator
//     answers without acting on them, against a minimal Go handler.
//  5. Deletion budget (safety.go): a burst of destructions against
//     --cleanup-budget, counting the cleanups that start in the first window.
//  3. Scale: the manager's resident memory once its caches have synced, and
//     its time from start to ready, with many channels, ConfigMaps and Secrets,
//     at two sizes, with GOMEMLIMIT as deployed; then a resync of those
//     channels through a fake Chat REST API, and the upkeep of their
//     inventories while their linked objects change (safety.go).
//
// Channels of chatApp have REST credentials for the fake Chat REST API the
// bench runs (chatapi.go): callbacks for them, a cleanup whose destructions
// are confirmed first, and the scale run's observation sweep.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/channel-operator/channel-operator/internal/chatapi/fakechat"
	"github.com/channel-operator/channel-operator/test/managerproc"
	"github.com/channel-operator/channel-operator/test/testenv"
)

const (
	operatorNamespace = testenv.OperatorNamespace
	app               = testenv.DemoApp
	token             = "bench-token"
	reconcilers       = 4 // --max-concurrent-reconciles, and the cleanup baseline's concurrency
	setupConcurrency  = 32
	// callbackChannels is how many channels the callback benchmark uses.
	callbackChannels = 1000
)

var concurrencies = []int{1, 8, 32}

type bench struct {
	ctx     context.Context
	env     *testenv.Env
	c       client.Client
	mgr     *managerproc.Process
	outDir  string
	scale   float64
	mgrLog  *os.File
	started time.Time
	// pprofAddr serves the running manager's profiles.
	pprofAddr string
	// chat is the fake Chat REST API; chatApp's credentials point at it.
	chat *fakechat.Server
	// resync is the manager's --chat-api-resync-interval.
	resync time.Duration
	// mgrEnv is the manager's Go runtime environment as config/manager
	// sets it (GOMEMLIMIT from the memory limit, GOGC): every run measures
	// the manager as deployed.
	mgrEnv   []string
	memLimit int64
	// budget is the manager's --cleanup-budget: off ("0") but for the
	// budget's own run.
	budget string
}

func main() {
	ctrllog.SetLogger(logr.Discard())                        // the bench's clients log nothing
	if len(os.Args) == 3 && os.Args[1] == minimalServerArg { // the ignored-callbacks baseline (ignored.go)
		if err := serveMinimal(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "bench: minimal handler:", err)
			os.Exit(1)
		}
		return
	}
	scale := 1.0
	if s := os.Getenv("BENCH_SCALE"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "bench: BENCH_SCALE=%q is not a positive number\n", s)
			os.Exit(2)
		}
		scale = v
	}
	if err := run(scale); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func scaled(n int, scale float64) int { return max(1, int(float64(n)*scale)) }

func run(scale float64) error {
	root := testenv.RepoRoot()
	b := &bench{ctx: context.Background(), scale: scale, outDir: filepath.Join(root, "bin", "bench-out"), started: time.Now(),
		budget: "0"}
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		return err
	}
	logf("control plane from %s", testenv.AssetsDir())
	env, err := testenv.Start(testenv.Options{WorkDir: filepath.Join(b.outDir, "cluster")})
	if err != nil {
		return err
	}
	b.env, b.c = env, env.Client
	defer func() { _ = b.env.Stop() }()
	k8sVersion, err := serverVersion(env.Config)
	if err != nil {
		return err
	}
	if b.mgrLog, err = os.Create(filepath.Join(b.outDir, "manager.log")); err != nil {
		return err
	}
	defer func() { _ = b.mgrLog.Close() }()

	if err := b.prepare(); err != nil {
		return err
	}
	if b.mgrEnv, b.memLimit, err = deployedGoEnv(); err != nil {
		return err
	}
	logf("the manager runs with %s, as config/manager sets it", strings.Join(b.mgrEnv, " "))
	if err := b.startChat(); err != nil {
		return err
	}
	defer b.chat.Close()
	b.resync = 10 * time.Minute // the default: no resync during the runs below
	if err := b.startManager(); err != nil {
		return err
	}
	defer func() { b.mgr.Kill() }() // on failure; a stopped manager is not killed again

	cleanupChannels, denseChannels := scaled(200, scale), scaled(600, scale)
	scaleSizes := []int{scaled(10000, scale), scaled(20000, scale)}
	switch os.Getenv("BENCH_ONLY") { // for profiling one part; the report needs all
	case "cleanup":
		_, _, err := b.cleanupSpread(cleanupChannels, 20, 20)
		return err
	case "dense":
		_, err := b.cleanupDense(denseChannels, 20)
		return err
	case "budget":
		_, err := b.budgetBurst(scaled(200, scale), scaled(50, scale))
		return err
	case "scale":
		if err := b.mgr.Stop(); err != nil {
			return err
		}
		if err := b.freshControlPlane(); err != nil {
			return err
		}
		_, err := b.scaleRuns(scaleSizes)
		return err
	}
	cb, err := b.callbacks(scaled(callbackChannels, scale), 20)
	if err != nil {
		return fmt.Errorf("callbacks: %w", err)
	}
	ig, err := b.ignoredCallbacks(time.Duration(float64(3*time.Second) * min(1, scale*2)))
	if err != nil {
		return fmt.Errorf("ignored callbacks: %w", err)
	}
	cbc, err := b.callbacksWithCredentials(scaled(500, scale), 8)
	if err != nil {
		return fmt.Errorf("callbacks with credentials: %w", err)
	}
	cl, clc, err := b.cleanupSpread(cleanupChannels, 20, 20)
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	dense, err := b.cleanupDense(denseChannels, 20)
	if err != nil {
		return fmt.Errorf("cleanup in one namespace: %w", err)
	}
	burst, err := b.budgetBurst(scaled(200, scale), scaled(50, scale))
	if err != nil {
		return fmt.Errorf("deletion budget: %w", err)
	}
	if err := b.mgr.Stop(); err != nil {
		return fmt.Errorf("stopping manager: %w", err)
	}
	if err := b.freshControlPlane(); err != nil {
		return err
	}
	sc, err := b.scaleRuns(scaleSizes)
	if err != nil {
		return fmt.Errorf("scale: %w", err)
	}

	rep := report{channels: scaled(callbackChannels, scale), scale: scale, callbacks: cb, cleanup: cl, dense: dense, scaleRes: sc,
		elapsed: time.Since(b.started), k8sVersion: k8sVersion, credCallbacks: cbc, confirmed: clc, ignored: ig, goEnv: b.mgrEnv,
		budget: burst}
	table := rep.table()
	fmt.Print("\n" + table)
	md, err := rep.markdown(table)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "docs", "benchmarks.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Println("wrote docs/benchmarks.md; profiles in bin/bench-out/")
	fmt.Println(rep.summary())
	return nil
}

// prepare creates what the manager needs in the control plane: its
// namespace, RBAC and callback Secret.
func (b *bench) prepare() error {
	return managerproc.Prepare(b.ctx, b.c, operatorNamespace, map[string]string{strconv.FormatInt(app, 10): token,
		strconv.FormatInt(chatApp, 10): token})
}

// freshControlPlane replaces the control plane with an empty one, prepared
// for the manager and the fake Chat: the scale run counts only its own
// channels and objects, not those the earlier runs left.
func (b *bench) freshControlPlane() error {
	if err := b.env.Stop(); err != nil {
		return fmt.Errorf("stopping the control plane: %w", err)
	}
	logf("a fresh control plane for the scale run")
	env, err := testenv.Start(testenv.Options{WorkDir: filepath.Join(b.outDir, "cluster")})
	if err != nil {
		return err
	}
	b.env, b.c = env, env.Client
	if err := b.prepare(); err != nil {
		return err
	}
	return b.chatCredentials()
}

func (b *bench) startManager() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b.pprofAddr = l.Addr().String()
	_ = l.Close()
	mgr, err := managerproc.Start(b.ctx, managerproc.Options{
		Binary:     testenv.ManagerBinary(),
		Kubeconfig: b.env.KubeconfigPath,
		Namespace:  operatorNamespace,
		Args: []string{"--max-concurrent-reconciles=" + strconv.Itoa(reconcilers), "--pprof-bind-address=" + b.pprofAddr,
			"--chat-api-resync-interval=" + b.resync.String(), "--cleanup-budget=" + b.budget},
		Output:       b.mgrLog,
		ReadyTimeout: 5 * time.Minute,
		Env:          b.mgrEnv,
	})
	b.mgr = mgr
	return err
}

// serverVersion is the Kubernetes version the control plane's API server
// reports: K8S_VERSION, which `make envtest` stamps into bin/k8s, or the
// version of the binaries in KUBEBUILDER_ASSETS.
func serverVersion(cfg *rest.Config) (string, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", fmt.Errorf("discovery client: %w", err)
	}
	info, err := dc.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("reading the API server's version: %w", err)
	}
	return info.GitVersion, nil
}

func logf(format string, args ...any) {
	fmt.Printf("[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
