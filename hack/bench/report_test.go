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

// Tests of the report alone, from fixed figures: report.md.tmpl renders, and
// the target and summary lines say what the figures say. No control plane.

package main

import (
	"strings"
	"testing"
	"time"
)

// fixedLatencies is n operations in one second, each taking each.
func fixedLatencies(n int, each time.Duration) latencies {
	l := latencies{ops: n, duration: time.Second, sorted: make([]time.Duration, n)}
	for i := range l.sorted {
		l.sorted[i] = each
	}
	return l
}

// renderFixed renders the report of r as written on a fixed date, machine
// and control plane.
func renderFixed(t *testing.T, r report) string {
	t.Helper()
	f := r.figures(r.table(), time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC), 8*1024*1024)
	f.CPUs, f.OS, f.Arch, f.GoVersion = 2, "linux", "amd64", "go1.26.0"
	out, err := renderReport(f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "<no value>") {
		t.Errorf("the report has a field the figures lack:\n%s", out)
	}
	return out
}

func assertLines(t *testing.T, out string, want ...string) {
	t.Helper()
	lines := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		lines[l] = true
	}
	for _, w := range want {
		if !lines[w] {
			t.Errorf("no line %q in the report:\n%s", w, out)
		}
	}
}

func TestReportTargetsMissed(t *testing.T) {
	r := report{
		channels: 200, scale: 0.1, elapsed: 93*time.Second + 400*time.Millisecond, k8sVersion: "v9.8.7",
		goEnv: []string{"GOMEMLIMIT=268435456", "GOGC=50"},
		callbacks: []callbackRound{
			{concurrency: 1, operator: fixedLatencies(1000, time.Millisecond),
				baseline: fixedLatencies(1000, time.Millisecond)},
			{concurrency: 8, operator: fixedLatencies(450, 120*time.Millisecond),
				baseline: fixedLatencies(500, 50*time.Millisecond)},
			{concurrency: 32, operator: fixedLatencies(300, 40*time.Millisecond),
				baseline: fixedLatencies(500, 30*time.Millisecond), lost: 3},
		},
		cleanup: cleanupResult{channels: 20, namespaces: 20, objects: 400, operator: 20 * time.Second, baseline: 10 * time.Second},
		dense:   cleanupResult{channels: 60, namespaces: 1, objects: 1200, operator: 75 * time.Second, baseline: 50 * time.Second},
		scaleRes: []scaleResult{{channels: 1000, configMaps: 1000, secrets: 1000, memLimit: 256 << 20, readyAfter: 2 * time.Second,
			rssMiB: 120, peakRSSMiB: 150.5, sweep: sweepResult{channels: 1000, calls: 22, seconds: 1.1, cpuSeconds: 2.5, peakRSSMiB: 151},
			inventory: inventoryResult{channels: 1000, objects: 2000, changes: 200, churn: time.Minute, changedChannels: 100,
				writes: 450, inventoryWrites: 400, mostPerInterval: 2, cpuSeconds: 3.5, idleWrites: 3, peakRSSMiB: 149}},
			{channels: 2000, configMaps: 2000, secrets: 2000, memLimit: 256 << 20, readyAfter: 3 * time.Second, rssMiB: 130, peakRSSMiB: 160}},
		credCallbacks: credentialedCallbacks{concurrency: 8, operator: fixedLatencies(350, 110*time.Millisecond), lost: 2},
		confirmed:     confirmedCleanup{channels: 20, objects: 400, operator: 16 * time.Second, baseline: 10 * time.Second, restCalls: 3},
		ignored: ignoredResult{rounds: []ignoredRound{{concurrency: 16, operator: 4000, minimal: 10000, operatorP99: 2 * time.Millisecond}},
			rssBefore: 50, rssAfter: 55, requests: 140000, secondsPerMeasurement: 5 * time.Second},
		budget: budgetResult{channels: 20, budget: "5/1m", limit: 5, window: time.Minute, started: 6, after: 6},
	}
	out := renderFixed(t, r)

	if !strings.HasPrefix(out, "# Benchmarks\n\n") || !strings.HasSuffix(out, "to cancel drift.\n") {
		t.Errorf("the report does not start with its title or does not end with its last line:\n%s", out)
	}
	assertLines(t, out,
		"Written by `make bench` (hack/bench) on 2026-05-04 03:02 UTC; BENCH_SCALE=0.1; the run took 1m33s.",
		"Machine: 2 cores, 8.0 GiB memory, linux/amd64, Go go1.26.0. Control plane: kube-apiserver and",
		"etcd v9.8.7 from bin/k8s, on the same machine as the manager and the load. The manager",
		"runs with `GOMEMLIMIT=268435456 GOGC=50`, as config/manager's Deployment sets it.",
		// targets
		"| callbacks/s >= 0.8x baseline at concurrency 1 | 1.00 | yes |",
		"| callbacks/s >= 0.8x baseline at concurrency 8 | 0.90 | yes |",
		"| p99 <= 2x baseline at concurrency 8 | 2.40 | **no** |",
		"| p99 < 100 ms at concurrency 8 | 120.0 ms (baseline 50.0 ms) | **no** |",
		"| callbacks/s >= 0.8x baseline at concurrency 32 | 0.60 | **no** |",
		"| p99 <= 2x baseline at concurrency 32 | 1.33 | yes |",
		"| every answer OK, every channel recorded | lost 5 | **no** |",
		"| cleanup <= 1.3x baseline | 2.00 | **no** |",
		"| cleanup, 60 channels in one namespace, <= 1.4x baseline | 1.50 | **no** |",
		"| cleanup in one namespace: operator seconds per object <= 1.2x the spread layout's | 1.25 | **no** |",
		"| RSS < 150 MiB once caches have synced, 1000 channels | 120.0 MiB | yes |",
		"| peak RSS < 150 MiB in the 15 s after ready, 1000 channels + 2000 objects, as deployed | 150.5 MiB | **no** |",
		"| make bench under 25 minutes | 1m33s | yes |",
		"| a burst of 20 destructions with --cleanup-budget=5/1m starts exactly 5 cleanups in the first minute | 6 (then 6) | **no** |",
		"| inventory: at most one write per changed channel per interval | 2 | **no** |",
		"| inventory: inventory writes <= channels changed x (churn + interval) / interval | 400 <= 300 | **no** |",
		"| inventory: 0 status writes over 2m with nothing changing | 3 | **no** |",
		"| inventory: peak RSS < 150 MiB, 1000 channels with inventories + 2000 objects, as deployed | 149.0 MiB | yes |",
		"| burst | 20 | 5/1m | 6 | 6 |",
		"| a tenth of the objects a minute relabelled or deleted | 1000 | 2000 | 200 (60) | 100 | 450 | 400 (4.2) | 2 | 3.5 | 3 | 149.0 |",
		"| app with REST credentials: callbacks/s >= 0.8x baseline at concurrency 8 | 0.70 | **no** |",
		"| app with REST credentials: p99 <= 2x baseline at concurrency 8 | 2.20 | **no** |",
		"| cleanup with confirmation <= 1.5x baseline | 1.60 | **no** |",
		"| resync of 1000 channels: REST calls <= 1.05 x 1000/50 | 22 | **no** |",
		"| RSS < 150 MiB during the resync | 151.0 MiB | **no** |",
		// results table
		"| operator, app with REST credentials | 8 | 350 | 110.0 | 110.0 | 110.0 | 0 |",
		"| operator, spread, each destruction confirmed by the REST API first (one run, 3 calls) | 20 | 20 | 400 | 16.00 | |",
		"| operator (destroyed -> all CleanedUp), spread | 20 | 20 | 400 | 20.00 | 25.00 |",
		"| baseline (direct deletes, 4 workers), one namespace | | | 1200 | 50.00 | |",
		"| ratio operator/baseline, one namespace | | | | 1.50 | |",
		"| one resync at --chat-api-qps=20 | 1000 | 22 | 21 | 1.1 | 2.5 | 151.0 |",
		"| operator (HTTP callback) | 8 | 450 | 120.0 | 120.0 | 120.0 | 0 |",
		"| manager | 1000 | 1000 | 1000 | 256 | 2.00 | 120.0 | 150.5 |",
		"| manager | 2000 | 2000 | 2000 | 256 | 3.00 | 130.0 | 160.0 |",
		// prose filled from the figures
		"- **callbacks**: 200 OfficialChannels (policy Orphan) in 20 namespaces. *operator*:",
		"- **cleanup**: 20 channels (policy Delete) with 20 linked objects each (Deployments,",
		"  counts it. *baseline*: the same objects, unlinked, deleted directly by 4 workers",
		"- **scale**: the manager started against 1000 OfficialChannels and 1000 ConfigMaps and",
		"  1000 Secrets of 4 KiB each, all labelled for channels, then again against",
		"  2000 channels and twice as many objects, with GOMEMLIMIT set to the memory limit of",
		"  *one namespace*, 60 channels and all their objects in one namespace, where a",
		// the summary line: the worst throughput ratio, p99 at concurrency 8, all lost
		"    bench: callback_ratio=0.60 callback_p99_ms=120.0 raw_p99_ms=50.0 cleanup_ratio=2.00 rss_mib=120.0 lost=5"+
			" credentialed_callback_ratio=0.70 confirmed_cleanup_ratio=1.60 sweep_calls=22 sweep_s=1.1 sweep_cpu_s=2.5 sweep_rss_mib=151.0"+
			" ignored_ratio=0.40 cleanup_dense_ratio=1.50 peak_rss_mib=150.5",
		"| ignored callbacks/s >= 0.5x a minimal handler at concurrency 16 | 0.40 (failed 0) | **no** |",
		"| | 16 | 4000 | 2.0 | 10000 | 0.40 | 0 |",
	)
	if summary := r.summary(); !strings.Contains(out, "\n    "+summary+"\n") {
		t.Errorf("the report does not carry the summary line %q", summary)
	}
}

func TestReportTargetsMet(t *testing.T) {
	rounds := make([]callbackRound, 0, len(concurrencies))
	for _, c := range concurrencies {
		rounds = append(rounds, callbackRound{concurrency: c,
			operator: fixedLatencies(950, 60*time.Millisecond),
			baseline: fixedLatencies(1000, 50*time.Millisecond)})
	}
	r := report{channels: 2000, scale: 1, elapsed: 8 * time.Minute, k8sVersion: "v1.37.2", callbacks: rounds,
		cleanup: cleanupResult{channels: 200, namespaces: 20, objects: 4000, operator: 12 * time.Second, baseline: 10 * time.Second},
		dense:   cleanupResult{channels: 600, namespaces: 1, objects: 12000, operator: 39 * time.Second, baseline: 30 * time.Second},
		scaleRes: []scaleResult{{channels: 10000, configMaps: 10000, secrets: 10000, memLimit: 256 << 20, readyAfter: 9 * time.Second,
			rssMiB: 95.3, peakRSSMiB: 110, sweep: sweepResult{channels: 10000, calls: 200, seconds: 10.2, cpuSeconds: 30, peakRSSMiB: 120}},
			{channels: 20000, configMaps: 20000, secrets: 20000, memLimit: 256 << 20, readyAfter: 12 * time.Second, rssMiB: 140, peakRSSMiB: 170}},
		credCallbacks: credentialedCallbacks{concurrency: 8, operator: fixedLatencies(950, 60*time.Millisecond)},
		confirmed:     confirmedCleanup{channels: 200, objects: 4000, operator: 12 * time.Second, baseline: 10 * time.Second, restCalls: 5},
		ignored: ignoredResult{rounds: []ignoredRound{{concurrency: 16, operator: 8000, minimal: 10000}, {concurrency: 64, operator: 9000,
			minimal: 10000}}, rssBefore: 50, rssAfter: 55, requests: 400000, secondsPerMeasurement: 5 * time.Second},
	}
	out := renderFixed(t, r)

	if strings.Contains(out, "**no**") {
		t.Errorf("a target is missed though every figure meets it:\n%s", out)
	}
	assertLines(t, out,
		"Written by `make bench` (hack/bench) on 2026-05-04 03:02 UTC; BENCH_SCALE=1; the run took 8m0s.",
		"etcd v1.37.2 from bin/k8s, on the same machine as the manager and the load. The manager",
		"| p99 < 100 ms at concurrency 8 | 60.0 ms (baseline 50.0 ms) | yes |",
		"| every answer OK, every channel recorded | lost 0 | yes |",
		"| cleanup <= 1.3x baseline | 1.20 | yes |",
		"| cleanup, 600 channels in one namespace, <= 1.4x baseline | 1.30 | yes |",
		"| cleanup in one namespace: operator seconds per object <= 1.2x the spread layout's | 1.08 | yes |",
		"| RSS < 150 MiB once caches have synced, 10000 channels | 95.3 MiB | yes |",
		"| peak RSS < 150 MiB in the 15 s after ready, 10000 channels + 20000 objects, as deployed | 110.0 MiB | yes |",
		"| resync of 10000 channels: REST calls <= 1.05 x 10000/50 | 200 | yes |",
		"| cleanup with confirmation <= 1.5x baseline | 1.20 | yes |",
		"    bench: callback_ratio=0.95 callback_p99_ms=60.0 raw_p99_ms=50.0 cleanup_ratio=1.20 rss_mib=95.3 lost=0"+
			" credentialed_callback_ratio=0.95 confirmed_cleanup_ratio=1.20 sweep_calls=200 sweep_s=10.2 sweep_cpu_s=30.0 sweep_rss_mib=120.0"+
			" ignored_ratio=0.80 cleanup_dense_ratio=1.30 peak_rss_mib=110.0",
	)
}
