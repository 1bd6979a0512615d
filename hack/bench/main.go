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
//     at the reconciler's concurrency.
//  3. Scale: the manager's resident memory once its caches have synced, and
//     its time from start to ready, with many channels, ConfigMaps and Secrets.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/test/operator"
	"github.com/channel-operator/channel-operator/test/testenv"
)

const (
	operatorNamespace = "channel-operator-system"
	app               = int64(1400000001)
	token             = "bench-token"
	reconcilers       = 4 // --max-concurrent-reconciles, and the cleanup baseline's concurrency
	setupConcurrency  = 32
)

var concurrencies = []int{1, 8, 32}

type bench struct {
	ctx     context.Context
	env     *testenv.Env
	c       client.Client
	mgr     *operator.Process
	outDir  string
	scale   float64
	mgrLog  *os.File
	started time.Time
	// pprofAddr serves the running manager's profiles.
	pprofAddr string
}

func main() {
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
	b := &bench{ctx: context.Background(), scale: scale, outDir: filepath.Join(root, "bin", "bench-out"), started: time.Now()}
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		return err
	}
	logf("control plane from %s", testenv.AssetsDir())
	env, err := testenv.Start(testenv.Options{WorkDir: filepath.Join(b.outDir, "cluster")})
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	b.env, b.c = env, env.Client
	if b.mgrLog, err = os.Create(filepath.Join(b.outDir, "manager.log")); err != nil {
		return err
	}
	defer func() { _ = b.mgrLog.Close() }()

	if err := operator.Prepare(b.ctx, b.c, operatorNamespace, map[string]string{strconv.FormatInt(app, 10): token}); err != nil {
		return err
	}
	if err := b.startManager(); err != nil {
		return err
	}
	defer func() { b.mgr.Kill() }() // on failure; a stopped manager is not killed again

	switch os.Getenv("BENCH_ONLY") { // for profiling one part; the report needs all three
	case "cleanup":
		_, err := b.cleanup(scaled(200, scale), 20)
		return err
	case "scale":
		if err := b.mgr.Stop(); err != nil {
			return err
		}
		_, err := b.scaleRun(scaled(10000, scale), scaled(10000, scale))
		return err
	}
	cb, err := b.callbacks(scaled(2000, scale), 20)
	if err != nil {
		return fmt.Errorf("callbacks: %w", err)
	}
	cl, err := b.cleanup(scaled(200, scale), 20)
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	if err := b.mgr.Stop(); err != nil {
		return fmt.Errorf("stopping manager: %w", err)
	}
	sc, err := b.scaleRun(scaled(10000, scale), scaled(10000, scale))
	if err != nil {
		return fmt.Errorf("scale: %w", err)
	}
	if err := b.mgr.Stop(); err != nil {
		return fmt.Errorf("stopping manager: %w", err)
	}

	rep := report{channels: scaled(2000, scale), scale: scale, callbacks: cb, cleanup: cl, scaleRes: sc, elapsed: time.Since(b.started)}
	table := rep.table()
	fmt.Print("\n" + table)
	if err := os.WriteFile(filepath.Join(root, "docs", "benchmarks.md"), []byte(rep.markdown(table)), 0o644); err != nil {
		return err
	}
	fmt.Println("wrote docs/benchmarks.md; profiles in bin/bench-out/")
	fmt.Println(rep.summary())
	return nil
}

func (b *bench) startManager() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b.pprofAddr = l.Addr().String()
	_ = l.Close()
	mgr, err := operator.Start(b.ctx, operator.Options{
		Binary:       filepath.Join(testenv.RepoRoot(), "bin", "manager"),
		Kubeconfig:   b.env.KubeconfigPath,
		Namespace:    operatorNamespace,
		Args:         []string{"--max-concurrent-reconciles=" + strconv.Itoa(reconcilers), "--pprof-bind-address=" + b.pprofAddr},
		Output:       b.mgrLog,
		ReadyTimeout: 5 * time.Minute,
	})
	b.mgr = mgr
	return err
}

func logf(format string, args ...any) {
	fmt.Printf("[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// --- 1. callbacks ------------------------------------------------------------

type latencies struct {
	ops      int
	failed   int
	duration time.Duration
	sorted   []time.Duration
}

func (l latencies) perSecond() float64 { return float64(l.ops) / l.duration.Seconds() }

// merge adds another run of the same operation.
func (l latencies) merge(o latencies) latencies {
	m := latencies{ops: l.ops + o.ops, failed: l.failed + o.failed, duration: l.duration + o.duration,
		sorted: append(append([]time.Duration{}, l.sorted...), o.sorted...)}
	sort.Slice(m.sorted, func(i, j int) bool { return m.sorted[i] < m.sorted[j] })
	return m
}
func (l latencies) quantile(q float64) time.Duration {
	if len(l.sorted) == 0 {
		return 0
	}
	return l.sorted[min(len(l.sorted)-1, int(q*float64(len(l.sorted))))]
}
func (l latencies) max() time.Duration { return l.sorted[len(l.sorted)-1] }

type callbackRound struct {
	concurrency        int
	operator, baseline latencies
	lost               int
}

// callbacks creates n Orphan channels over nss namespaces, then for each
// concurrency measures the baseline writes and the callbacks, each on
// channels reset to Active.
func (b *bench) callbacks(n, nss int) ([]callbackRound, error) {
	logf("callbacks: creating %d OfficialChannels in %d namespaces", n, nss)
	channels, err := b.createChannels("cb", n, nss, chatv1alpha1.CleanupPolicyOrphan)
	if err != nil {
		return nil, err
	}
	active, err := b.waitPhase(channels, chatv1alpha1.PhaseActive)
	if err != nil {
		return nil, err
	}
	var rounds []callbackRound
	for _, c := range concurrencies {
		r := callbackRound{concurrency: c}
		// Baseline, operator, operator, baseline: a drift of the shared
		// machine during the round weighs on both sides alike.
		for i, operatorTurn := range []bool{false, true, true, false} {
			fresh, err := b.reset(active)
			if err != nil {
				return nil, err
			}
			if !operatorTurn {
				r.baseline = r.baseline.merge(b.baselineWrites(fresh, c))
				continue
			}
			var prof *profile
			if c == 32 && i == 1 {
				prof = b.startProfile("cpu-callbacks-c32", 5*time.Second)
			}
			l := b.sendCallbacks(active, c)
			prof.wait()
			lost, err := b.countUnrecorded(active)
			if err != nil {
				return nil, err
			}
			r.lost += lost + l.failed
			r.operator = r.operator.merge(l)
		}
		logf("callbacks c=%d: operator %.0f/s p99 %s, baseline %.0f/s p99 %s, lost %d", c,
			r.operator.perSecond(), r.operator.quantile(0.99), r.baseline.perSecond(), r.baseline.quantile(0.99), r.lost)
		rounds = append(rounds, r)
	}
	return rounds, nil
}

func (b *bench) createChannels(prefix string, n, nss int, policy chatv1alpha1.CleanupPolicy) ([]*chatv1alpha1.OfficialChannel, error) {
	for i := 0; i < nss; i++ {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i)}}
		if err := b.c.Create(b.ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	channels := make([]*chatv1alpha1.OfficialChannel, n)
	for i := range channels {
		channels[i] = &chatv1alpha1.OfficialChannel{
			ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("%s-%d", prefix, i%nss), Name: fmt.Sprintf("ch-%d", i),
				Labels: map[string]string{benchLabel: prefix}},
			Spec: chatv1alpha1.OfficialChannelSpec{SDKAppID: app, OfficialAccountID: fmt.Sprintf("@TOA#_%s_%d", prefix, i),
				CleanupPolicy: policy},
		}
	}
	return channels, parallel(len(channels), setupConcurrency, func(i int) error {
		return b.c.Create(b.ctx, channels[i])
	})
}

// benchLabel groups each benchmark's channels, so that polling one group
// does not make the API server serialize the others.
const benchLabel = "bench.channel-operator.io/group"

// waitPhase waits until every channel is in phase and returns fresh copies.
func (b *bench) waitPhase(channels []*chatv1alpha1.OfficialChannel, phase chatv1alpha1.Phase) ([]*chatv1alpha1.OfficialChannel, error) {
	want := map[client.ObjectKey]bool{}
	for _, ch := range channels {
		want[client.ObjectKeyFromObject(ch)] = true
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var list chatv1alpha1.OfficialChannelList
		if err := b.c.List(b.ctx, &list, client.MatchingLabels{benchLabel: channels[0].Labels[benchLabel]}); err != nil {
			return nil, err
		}
		var out []*chatv1alpha1.OfficialChannel
		for i := range list.Items {
			ch := &list.Items[i]
			if want[client.ObjectKeyFromObject(ch)] && ch.Status.Phase == phase {
				out = append(out, ch)
			}
		}
		if len(out) == len(want) {
			return out, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d channels %s after 3 minutes", len(out), len(want), phase)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reset writes each channel's Active status back and waits for the
// reconciler to go idle, so that every round starts from the same state. It
// returns the channels as they are now, as the operator's cache has them.
func (b *bench) reset(active []*chatv1alpha1.OfficialChannel) ([]*chatv1alpha1.OfficialChannel, error) {
	if err := b.waitIdle(); err != nil {
		return nil, err
	}
	fresh := make([]*chatv1alpha1.OfficialChannel, len(active))
	err := parallel(len(active), setupConcurrency, func(i int) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur := &chatv1alpha1.OfficialChannel{}
			if err := b.c.Get(b.ctx, client.ObjectKeyFromObject(active[i]), cur); err != nil {
				return err
			}
			cur.Status = active[i].Status
			fresh[i] = cur
			return b.c.Status().Update(b.ctx, cur)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("resetting channels: %w", err)
	}
	if err := b.waitIdle(); err != nil {
		return nil, err
	}
	return fresh, nil
}

// waitIdle waits until the reconciler's work queue stays empty.
func (b *bench) waitIdle() error {
	deadline := time.Now().Add(5 * time.Minute)
	quiet := 0
	for quiet < 5 {
		if time.Now().After(deadline) {
			return fmt.Errorf("reconciler not idle after 5 minutes")
		}
		time.Sleep(100 * time.Millisecond)
		depth, err := b.metric(`workqueue_depth{controller="officialchannel",name="officialchannel"}`)
		if err != nil {
			return err
		}
		if depth == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	return nil
}

func (b *bench) metric(series string) (float64, error) {
	resp, err := http.Get("http://" + b.mgr.MetricsAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, series)), 64)
		}
	}
	return 0, nil // not yet reported: nothing queued
}

func destructionFor(i int) chatv1alpha1.Destruction {
	return chatv1alpha1.Destruction{EventTime: 1700000000000 + int64(i), OwnerAccount: "107867", Name: "TestOfficialAccount",
		ClientIP: "127.0.0.1", OptPlatform: "RESTAPI", ReceivedAt: metav1.Now()}
}

// baselineWrites makes, directly, the status write the receiver makes for a
// callback: the destruction applied to the (cached) channel and patched with
// optimistic concurrency.
func (b *bench) baselineWrites(active []*chatv1alpha1.OfficialChannel, c int) latencies {
	return measure(len(active), c, func(i int) bool {
		ch := active[i].DeepCopy()
		base := ch.DeepCopy()
		destruction.Apply(ch, destructionFor(i))
		return b.c.Status().Patch(b.ctx, ch, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})) == nil
	})
}

func (b *bench) sendCallbacks(active []*chatv1alpha1.OfficialChannel, c int) latencies {
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}, Timeout: 5 * time.Second}
	return measure(len(active), c, func(i int) bool {
		ch := active[i]
		u, err := callback.Call{SDKAppID: app, Token: token, Command: callback.CommandDestroyed, ClientIP: "127.0.0.1",
			OptPlatform: "RESTAPI"}.URL(b.mgr.CallbackURL)
		if err != nil {
			return false
		}
		body := callback.DestroyedBody(ch.Spec.OfficialAccountID, "107867", "TestOfficialAccount", 1700000000000+int64(i))
		resp, err := httpClient.Post(u, "application/json", bytes.NewReader(body))
		if err != nil {
			return false
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK && bytes.Contains(raw, []byte(`"ActionStatus":"OK"`))
	})
}

// countUnrecorded counts channels without a destruction in status.
func (b *bench) countUnrecorded(channels []*chatv1alpha1.OfficialChannel) (int, error) {
	want := map[client.ObjectKey]bool{}
	for _, ch := range channels {
		want[client.ObjectKeyFromObject(ch)] = true
	}
	var list chatv1alpha1.OfficialChannelList
	if err := b.c.List(b.ctx, &list, client.MatchingLabels{benchLabel: channels[0].Labels[benchLabel]}); err != nil {
		return 0, err
	}
	missing := 0
	for i := range list.Items {
		if want[client.ObjectKeyFromObject(&list.Items[i])] && list.Items[i].Status.Destruction == nil {
			missing++
		}
	}
	return missing, nil
}

// measure runs op(0..n-1) on c workers and times each call.
func measure(n, c int, op func(i int) bool) latencies {
	durations := make([]time.Duration, n)
	var failed atomic.Int32
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t := time.Now()
				if !op(i) {
					failed.Add(1)
				}
				durations[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	l := latencies{ops: n, failed: int(failed.Load()), duration: time.Since(start), sorted: durations}
	sort.Slice(l.sorted, func(i, j int) bool { return l.sorted[i] < l.sorted[j] })
	return l
}

// parallel runs fn(0..n-1) on c workers and returns the first error.
func parallel(n, c int, fn func(i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// --- 2. cleanup --------------------------------------------------------------

type cleanupResult struct {
	channels, objects  int
	operator, baseline time.Duration
}

func (r cleanupResult) ratio() float64 { return r.operator.Seconds() / r.baseline.Seconds() }

// linkedObjects returns perChannel objects for channel name in ns: equal
// numbers of Deployments, ConfigMaps, Secrets, Services and CronJobs.
func linkedObjects(ns, name string, perChannel int, labels map[string]string) []client.Object {
	var objs []client.Object
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
	pod := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "bot", Image: "example.com/bot:1"}}}}
	job := pod
	job.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	for i := 0; len(objs) < perChannel; i++ {
		m := func(kind string) metav1.ObjectMeta {
			return metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s-%s-%d", name, kind, i), Labels: labels}
		}
		for _, obj := range []client.Object{
			&appsv1.Deployment{ObjectMeta: m("deploy"), Spec: appsv1.DeploymentSpec{Selector: selector, Template: pod}},
			&corev1.ConfigMap{ObjectMeta: m("cm"), Data: map[string]string{"k": "v"}},
			&corev1.Secret{ObjectMeta: m("secret"), StringData: map[string]string{"k": "v"}},
			// Headless: the test control plane has a /24 of Service IPs.
			&corev1.Service{ObjectMeta: m("svc"), Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone,
				Ports: []corev1.ServicePort{{Port: 80}}}},
			&batchv1.CronJob{ObjectMeta: m("cron"), Spec: batchv1.CronJobSpec{Schedule: "0 * * * *",
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: job}}}},
		} {
			if len(objs) < perChannel {
				objs = append(objs, obj)
			}
		}
	}
	return objs
}

// cleanup measures in the order baseline, operator, operator, baseline, and
// compares the sums, so that a drift of the shared machine over the run
// weighs on both sides alike.
func (b *bench) cleanup(n, perChannel int) (cleanupResult, error) {
	res := cleanupResult{channels: n, objects: n * perChannel}
	sets := make([][]*chatv1alpha1.OfficialChannel, 2)
	for i := range sets {
		prefix := fmt.Sprintf("cl%d", i)
		logf("cleanup: creating %d channels (%s)", n, prefix)
		channels, err := b.createChannels(prefix, n, 20, chatv1alpha1.CleanupPolicyDelete)
		if err != nil {
			return res, err
		}
		if sets[i], err = b.waitPhase(channels, chatv1alpha1.PhaseActive); err != nil {
			return res, err
		}
	}
	for i, set := range []int{0, 0, 1, 1} { // baseline, operator on set 0; operator, baseline on set 1
		var (
			d   time.Duration
			err error
		)
		if i == 0 || i == 3 {
			d, err = b.baselineDeletes(sets[set], perChannel)
			res.baseline += d
		} else {
			d, err = b.operatorCleanup(sets[set], perChannel, i == 1)
			res.operator += d
		}
		if err != nil {
			return res, err
		}
	}
	logf("cleanup: operator %s, baseline %s (two runs each), ratio %.2f",
		res.operator.Round(time.Millisecond), res.baseline.Round(time.Millisecond), res.ratio())
	return res, nil
}

// operatorCleanup links perChannel objects to each channel, destroys all the
// channels at once, and times until the operator has cleaned every one up.
func (b *bench) operatorCleanup(channels []*chatv1alpha1.OfficialChannel, perChannel int, profiled bool) (time.Duration, error) {
	objs := make([]client.Object, 0, len(channels)*perChannel)
	for _, ch := range channels {
		objs = append(objs, linkedObjects(ch.Namespace, ch.Name, perChannel, map[string]string{chatv1alpha1.LinkLabel: ch.Name})...)
	}
	if err := parallel(len(objs), setupConcurrency, func(i int) error { return b.c.Create(b.ctx, objs[i]) }); err != nil {
		return 0, err
	}
	if err := b.waitIdle(); err != nil {
		return 0, err
	}
	channels, err := b.waitPhase(channels, chatv1alpha1.PhaseActive) // fresh copies
	if err != nil {
		return 0, err
	}
	before, err := b.metric(`channel_operator_channels{phase="CleanedUp"}`)
	if err != nil {
		return 0, err
	}

	logf("cleanup: destroying %d channels with %d linked objects each, at once", len(channels), perChannel)
	var prof *profile
	if profiled {
		prof = b.startProfile("cpu-cleanup", 5*time.Second)
	}
	start := time.Now()
	if err := parallel(len(channels), setupConcurrency, func(i int) error {
		ch := channels[i].DeepCopy()
		base := ch.DeepCopy()
		destruction.Apply(ch, destructionFor(i))
		return b.c.Status().Patch(b.ctx, ch, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	}); err != nil {
		return 0, err
	}
	// Watch the manager's own count, not the API server: polling the API
	// server would load it during the operator's run and not the baseline's.
	for {
		done, err := b.metric(`channel_operator_channels{phase="CleanedUp"}`)
		if err != nil {
			return 0, err
		}
		if int(done-before) >= len(channels) {
			break
		}
		if time.Since(start) > 10*time.Minute {
			return 0, fmt.Errorf("%d of %d channels CleanedUp after 10 minutes", int(done-before), len(channels))
		}
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(start)
	prof.wait()
	if _, err := b.waitPhase(channels, chatv1alpha1.PhaseCleanedUp); err != nil {
		return 0, err
	}
	for _, obj := range objs {
		if err := b.c.Get(b.ctx, client.ObjectKeyFromObject(obj), obj); !apierrors.IsNotFound(err) {
			return 0, fmt.Errorf("%s/%s left after cleanup: %v", obj.GetNamespace(), obj.GetName(), err)
		}
	}
	logf("cleanup: operator %s", elapsed.Round(time.Millisecond))
	return elapsed, nil
}

// baselineDeletes creates the same objects, unlinked, and times deleting
// them directly at the reconciler's concurrency.
func (b *bench) baselineDeletes(channels []*chatv1alpha1.OfficialChannel, perChannel int) (time.Duration, error) {
	objs := make([]client.Object, 0, len(channels)*perChannel)
	for _, ch := range channels {
		objs = append(objs, linkedObjects(ch.Namespace, ch.Name, perChannel, map[string]string{"bench": "baseline"})...)
	}
	if err := parallel(len(objs), setupConcurrency, func(i int) error { return b.c.Create(b.ctx, objs[i]) }); err != nil {
		return 0, err
	}
	if err := b.waitIdle(); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := parallel(len(objs), reconcilers, func(i int) error {
		return b.c.Delete(b.ctx, objs[i], client.PropagationPolicy(metav1.DeletePropagationBackground))
	}); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	logf("cleanup: baseline %s", elapsed.Round(time.Millisecond))
	return elapsed, nil
}

// --- 3. scale ----------------------------------------------------------------

type scaleResult struct {
	channels, configMaps, secrets int
	readyAfter                    time.Duration
	rssMiB, peakRSSMiB            float64
}

func (b *bench) scaleRun(channels, each int) (scaleResult, error) {
	const nss = 20
	res := scaleResult{channels: channels, configMaps: each, secrets: each}
	logf("scale: creating %d OfficialChannels, %d ConfigMaps and %d Secrets of 4 KiB", channels, each, each)
	chs, err := b.createChannels("sc", channels, nss, chatv1alpha1.CleanupPolicyDelete)
	if err != nil {
		return res, err
	}
	payload := strings.Repeat("x", 4096)
	if err := parallel(2*each, setupConcurrency, func(i int) error {
		ch := chs[(i/2)%len(chs)]
		meta := metav1.ObjectMeta{Namespace: ch.Namespace, Name: fmt.Sprintf("%s-data-%d", ch.Name, i),
			Labels: map[string]string{chatv1alpha1.LinkLabel: ch.Name}}
		if i%2 == 0 {
			return b.c.Create(b.ctx, &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"payload": payload}})
		}
		return b.c.Create(b.ctx, &corev1.Secret{ObjectMeta: meta, StringData: map[string]string{"payload": payload}})
	}); err != nil {
		return res, err
	}

	logf("scale: starting the manager")
	start := time.Now()
	if err := b.startManager(); err != nil {
		return res, err
	}
	res.readyAfter = time.Since(start)
	res.rssMiB = rssMiB(b.mgr.PID())
	b.saveProfile("heap-scale", "/debug/pprof/heap")
	// The manager now reconciles every new channel; watch its memory meanwhile.
	res.peakRSSMiB = res.rssMiB
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		res.peakRSSMiB = max(res.peakRSSMiB, rssMiB(b.mgr.PID()))
	}
	logf("scale: ready after %s, RSS %.1f MiB at ready, peak %.1f MiB in the 15 s after", res.readyAfter.Round(time.Millisecond),
		res.rssMiB, res.peakRSSMiB)
	return res, nil
}

func rssMiB(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return -1
}

// --- profiles ----------------------------------------------------------------

type profile struct{ done chan struct{} }

// startProfile records a CPU profile of the manager for d in the background.
func (b *bench) startProfile(name string, d time.Duration) *profile {
	p := &profile{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		b.saveProfile(name, fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds())))
	}()
	return p
}

func (p *profile) wait() {
	if p != nil {
		<-p.done
	}
}

func (b *bench) saveProfile(name, path string) {
	resp, err := http.Get("http://" + b.pprofAddr + path)
	if err != nil {
		logf("profile %s: %v", name, err)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	file := filepath.Join(b.outDir, name+".pprof")
	raw, err := io.ReadAll(resp.Body)
	if err == nil {
		err = os.WriteFile(file, raw, 0o644)
	}
	if err != nil {
		logf("profile %s: %v", name, err)
		return
	}
	manager := filepath.Join(testenv.RepoRoot(), "bin", "manager")
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=12", manager, file).Output()
	if err == nil {
		_ = os.WriteFile(filepath.Join(b.outDir, name+".top.txt"), out, 0o644)
	}
}

// --- report ------------------------------------------------------------------

type report struct {
	// channels is the number of channels of the callback benchmark.
	channels  int
	scale     float64
	callbacks []callbackRound
	cleanup   cleanupResult
	scaleRes  scaleResult
	elapsed   time.Duration
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func (r report) table() string {
	var sb strings.Builder
	sb.WriteString("| callbacks | concurrency | per second | p50 ms | p99 ms | max ms | failed |\n|---|---|---|---|---|---|---|\n")
	for _, c := range r.callbacks {
		for _, row := range []struct {
			name string
			l    latencies
		}{{"operator (HTTP callback)", c.operator}, {"baseline (direct status write)", c.baseline}} {
			fmt.Fprintf(&sb, "| %s | %d | %.0f | %s | %s | %s | %d |\n", row.name, c.concurrency, row.l.perSecond(),
				ms(row.l.quantile(0.5)), ms(row.l.quantile(0.99)), ms(row.l.max()), row.l.failed)
		}
		fmt.Fprintf(&sb, "| ratio operator/baseline | %d | %.2f | | %.2f | | lost %d |\n", c.concurrency,
			c.operator.perSecond()/c.baseline.perSecond(),
			c.operator.quantile(0.99).Seconds()/c.baseline.quantile(0.99).Seconds(), c.lost)
	}
	fmt.Fprintf(&sb, "\n| cleanup | channels | objects | seconds |\n|---|---|---|---|\n")
	fmt.Fprintf(&sb, "| operator (destroyed -> all CleanedUp) | %d | %d | %.2f |\n",
		r.cleanup.channels, r.cleanup.objects, r.cleanup.operator.Seconds())
	fmt.Fprintf(&sb, "| baseline (direct deletes, %d workers) | | %d | %.2f |\n", reconcilers, r.cleanup.objects, r.cleanup.baseline.Seconds())
	fmt.Fprintf(&sb, "| ratio operator/baseline | | | %.2f |\n", r.cleanup.ratio())
	s := r.scaleRes
	sb.WriteString("\n| scale | channels | ConfigMaps | Secrets | start to ready s | RSS at ready MiB | peak RSS, 15 s after ready MiB |\n" +
		"|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&sb, "| manager | %d | %d | %d | %.2f | %.1f | %.1f |\n",
		s.channels, s.configMaps, s.secrets, s.readyAfter.Seconds(), s.rssMiB, s.peakRSSMiB)
	return sb.String()
}

// targets checks each target of the benchmark issue against this run.
func (r report) targets() string {
	var sb strings.Builder
	sb.WriteString("| target | this run | met |\n|---|---|---|\n")
	row := func(target, got string, met bool) {
		verdict := "yes"
		if !met {
			verdict = "**no**"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s |\n", target, got, verdict)
	}
	lost := 0
	for _, c := range r.callbacks {
		ratio := c.operator.perSecond() / c.baseline.perSecond()
		p99 := c.operator.quantile(0.99).Seconds() / c.baseline.quantile(0.99).Seconds()
		row(fmt.Sprintf("callbacks/s >= 0.8x baseline at concurrency %d", c.concurrency), fmt.Sprintf("%.2f", ratio), ratio >= 0.8)
		row(fmt.Sprintf("p99 <= 2x baseline at concurrency %d", c.concurrency), fmt.Sprintf("%.2f", p99), p99 <= 2)
		if c.concurrency == 8 {
			row("p99 < 100 ms at concurrency 8", ms(c.operator.quantile(0.99))+" ms (baseline "+ms(c.baseline.quantile(0.99))+" ms)",
				c.operator.quantile(0.99) < 100*time.Millisecond)
		}
		lost += c.lost
	}
	row("every answer OK, every channel recorded", fmt.Sprintf("lost %d", lost), lost == 0)
	row("cleanup <= 1.5x baseline", fmt.Sprintf("%.2f", r.cleanup.ratio()), r.cleanup.ratio() <= 1.5)
	row("RSS < 150 MiB once caches have synced", fmt.Sprintf("%.1f MiB", r.scaleRes.rssMiB), r.scaleRes.rssMiB < 150)
	return sb.String()
}

func (r report) summary() string {
	minRatio, lost := 0.0, 0
	var c8 callbackRound
	for i, c := range r.callbacks {
		ratio := c.operator.perSecond() / c.baseline.perSecond()
		if i == 0 || ratio < minRatio {
			minRatio = ratio
		}
		lost += c.lost
		if c.concurrency == 8 {
			c8 = c
		}
	}
	return fmt.Sprintf("bench: callback_ratio=%.2f callback_p99_ms=%s raw_p99_ms=%s cleanup_ratio=%.2f rss_mib=%.1f lost=%d",
		minRatio, ms(c8.operator.quantile(0.99)), ms(c8.baseline.quantile(0.99)), r.cleanup.ratio(), r.scaleRes.rssMiB, lost)
}

func (r report) markdown(table string) string {
	var mem uint64
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		fields := strings.Fields(strings.SplitN(string(raw), "\n", 2)[0])
		if len(fields) >= 2 {
			mem, _ = strconv.ParseUint(fields[1], 10, 64)
		}
	}
	return fmt.Sprintf(`# Benchmarks

Written by `+"`make bench`"+` (hack/bench) on %s; BENCH_SCALE=%g; the run took %s.
Machine: %d cores, %.1f GiB memory, %s/%s, Go %s. Control plane: kube-apiserver and
etcd v1.37.2 from bin/k8s, on the same machine as the manager and the load.

Every figure below comes from one run on one local control plane, and every
target is a ratio to a baseline measured in that same run: the machines are
shared and noisy, absolute numbers move from run to run, ratios much less.

%s
%s
## What the figures mean

- **callbacks**: %d OfficialChannels (policy Orphan) in 20 namespaces. *operator*:
  each gets a signed OfficialAccount.CallbackAfterOfficialAccountDestroyed over
  HTTP keep-alive, answered only once the destruction is in its status; latency is
  the client's, request to answer. *baseline*: the same status write (the
  destruction applied to a cached copy, merge patch with optimistic concurrency)
  made directly with a controller-runtime client. Both at the same concurrency, in
  the order baseline, operator, operator, baseline, each run on channels reset to
  Active; figures are over both runs of each. *lost*: answers that were not OK plus channels
  without the destruction afterwards. Targets: throughput ratio >= 0.8 and p99 ratio
  <= 2 at every concurrency, p99 < 100 ms at concurrency 8, lost = 0.
- **cleanup**: %d channels (policy Delete) with 20 linked objects each (Deployments,
  ConfigMaps, Secrets, Services, CronJobs, 4 of each), all destroyed at once (status
  writes at concurrency 32); time until every channel is CleanedUp, as the manager
  counts it. *baseline*: the same objects, unlinked, deleted directly by %d workers
  (the reconciler's --max-concurrent-reconciles, which also bounds the operator's
  deletions in flight). Measured baseline, operator, operator, baseline on two sets
  of channels; the seconds are the sums of two runs. Target: ratio <= 1.5.
- **scale**: the manager started against %d OfficialChannels and %d ConfigMaps and
  %d Secrets of 4 KiB each, all labelled for channels. *start to ready*: process
  start to /readyz 200 (caches synced). *RSS*: VmRSS of the manager at ready; the
  peak is over the 15 s after, while it reconciles the new channels. Target: under
  150 MiB at ready.

The summary line, as printed last by make bench:

    %s

## How to rerun

    make bench                    # full size, under 10 minutes on 2 cores
    BENCH_SCALE=0.1 make bench    # a quick run

CPU and heap profiles of the manager (pprof) are left in bin/bench-out/ with a
`+"`-top`"+` summary of each.

## What the profiles and runs led to

- Cleanup first read each cleanup kind with a live metadata list per pass (13 lists
  per channel): 3.5x the baseline. Reading them from a metadata-only cache
  (managedFields stripped), with watches that wake a cleanup only when a held object
  goes, brought it to about 1.4x; a shared pool that keeps the operator's deletions
  in flight at --max-concurrent-reconciles let a worker writing status leave its
  share to the others.
- The receiver emitted the DestructionRecorded Event itself: a second API write per
  callback, on a CPU-bound API server. The reconciler now emits it, once per channel
  however many replicas got the callback; the callback path makes one API call.
- The manager's CPU profile under load is dominated by JSON decoding of API
  responses and watch events (client-go), not by the operator's code; the API server
  and etcd use most of the two cores, so the absolute p99 at concurrency 8 sits near
  the raw API server's own p99 (80-90 ms here) and moves with the machine's load.
- The benchmark itself: polling the API server for progress loaded it during the
  operator's runs only; it now reads the manager's own phase count. Runs are
  interleaved (baseline, operator, operator, baseline) to cancel drift.
`, time.Now().UTC().Format("2006-01-02 15:04 MST"), r.scale, r.elapsed.Round(time.Second),
		runtime.NumCPU(), float64(mem)/1024/1024, runtime.GOOS, runtime.GOARCH, runtime.Version(), table, r.targets(),
		r.channels, r.cleanup.channels, reconcilers, r.scaleRes.channels, r.scaleRes.configMaps, r.scaleRes.secrets,
		r.summary())
}
