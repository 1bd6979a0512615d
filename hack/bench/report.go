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

// Report: the results table printed at the end of a run, the check of each
// target, the one-line summary, and docs/benchmarks.md, whose prose is the
// template report.md.tmpl filled from the run's figures.

package main

import (
	_ "embed"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/template"
	"time"
)

type report struct {
	// channels is the number of channels of the callback benchmark.
	channels  int
	scale     float64
	callbacks []callbackRound
	// cleanup is the spread layout (channels over 20 namespaces), dense all
	// in one namespace.
	cleanup, dense cleanupResult
	// scaleRes are the scale runs, smallest first; the first has the sweep.
	scaleRes []scaleResult
	elapsed  time.Duration
	// k8sVersion is the version the control plane's API server reports.
	k8sVersion string
	// goEnv is the manager's Go runtime environment, as deployed.
	goEnv []string
	// credCallbacks and confirmed are the runs for an app with REST credentials.
	credCallbacks credentialedCallbacks
	confirmed     confirmedCleanup
	ignored       ignoredResult
	// budget is the burst of destructions against the deletion budget.
	budget budgetResult
}

// baselineAt is the callback round's baseline at concurrency c.
func (r report) baselineAt(c int) latencies {
	for _, round := range r.callbacks {
		if round.concurrency == c {
			return round.baseline
		}
	}
	return latencies{}
}

// firstScale is the scale run at the first size: the one the targets are for.
func (r report) firstScale() scaleResult {
	if len(r.scaleRes) == 0 {
		return scaleResult{}
	}
	return r.scaleRes[0]
}

// lastScale is the scale run at the largest size.
func (r report) lastScale() scaleResult {
	if len(r.scaleRes) == 0 {
		return scaleResult{}
	}
	return r.scaleRes[len(r.scaleRes)-1]
}

// densePerObject is the dense cleanup's operator seconds per object over
// the spread layout's.
func (r report) densePerObject() float64 {
	if r.cleanup.objects == 0 || r.dense.objects == 0 {
		return 0
	}
	return r.dense.operatorPerObject() / r.cleanup.operatorPerObject()
}

// denseRatio is the dense cleanup's ratio, 0 when it did not run.
func (r report) denseRatio() float64 {
	if r.dense.baseline == 0 {
		return 0
	}
	return r.dense.ratio()
}

// confirmedRatio compares the cleanup with confirmation to the spread layout's baselines.
func (r report) confirmedRatio() float64 {
	if r.confirmed.baseline == 0 {
		return 0
	}
	return r.confirmed.ratio()
}

func (r report) credRatio() (perSecond, p99 float64) {
	base := r.baselineAt(r.credCallbacks.concurrency)
	if base.ops == 0 {
		return 0, 0
	}
	return r.credCallbacks.operator.perSecond() / base.perSecond(),
		r.credCallbacks.operator.quantile(0.99).Seconds() / base.quantile(0.99).Seconds()
}

// maxSweepCalls is the most calls a resync of n channels may make: 5% over
// full batches of chatapi.MaxBatch.
func maxSweepCalls(n int) float64 { return 1.05 * float64(n) / 50 }

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
	if cc := r.credCallbacks; cc.operator.ops > 0 {
		ratio, p99 := r.credRatio()
		fmt.Fprintf(&sb, "| operator, app with REST credentials | %d | %.0f | %s | %s | %s | %d |\n", cc.concurrency,
			cc.operator.perSecond(), ms(cc.operator.quantile(0.5)), ms(cc.operator.quantile(0.99)), ms(cc.operator.max()),
			cc.operator.failed)
		fmt.Fprintf(&sb, "| ratio to the baseline at %d | %d | %.2f | | %.2f | | lost %d |\n", cc.concurrency, cc.concurrency,
			ratio, p99, cc.lost)
	}
	if ig := r.ignored; len(ig.rounds) > 0 {
		fmt.Fprintf(&sb, "\n| ignored callbacks (%s, signed, keep-alive, %s each side) | concurrency | operator per second |"+
			" operator p99 ms | minimal handler per second | ratio | failed |\n|---|---|---|---|---|---|---|\n",
			ignoredCommand, ig.secondsPerMeasurement*2)
		for _, round := range ig.rounds {
			fmt.Fprintf(&sb, "| | %d | %.0f | %s | %.0f | %.2f | %d |\n", round.concurrency, round.operator, ms(round.operatorP99),
				round.minimal, round.operator/round.minimal, round.failed)
		}
		fmt.Fprintf(&sb, "| manager RSS before -> after, MiB | | %.1f -> %.1f | | %d requests in all | | |\n",
			ig.rssBefore, ig.rssAfter, ig.requests)
	}
	sb.WriteString("\n| cleanup | channels | namespaces | objects | seconds | ms per object |\n|---|---|---|---|---|---|\n")
	for _, l := range []struct {
		name string
		c    cleanupResult
	}{{"spread", r.cleanup}, {"one namespace", r.dense}} {
		if l.c.channels == 0 {
			continue
		}
		fmt.Fprintf(&sb, "| operator (destroyed -> all CleanedUp), %s | %d | %d | %d | %.2f | %.2f |\n",
			l.name, l.c.channels, l.c.namespaces, l.c.objects, l.c.operator.Seconds(), 1000*l.c.operatorPerObject())
		fmt.Fprintf(&sb, "| baseline (direct deletes, %d workers), %s | | | %d | %.2f | |\n", reconcilers, l.name, l.c.objects,
			l.c.baseline.Seconds())
		fmt.Fprintf(&sb, "| ratio operator/baseline, %s | | | | %.2f | |\n", l.name, l.c.ratio())
	}
	if c := r.confirmed; c.channels > 0 {
		fmt.Fprintf(&sb, "| operator, spread, each destruction confirmed by the REST API first (one run, %d calls) | %d | %d | %d | %.2f | |\n",
			c.restCalls, c.channels, r.cleanup.namespaces, c.objects, c.operator.Seconds())
		fmt.Fprintf(&sb, "| ratio operator/baseline (spread), with confirmation | | | | %.2f | |\n", r.confirmedRatio())
	}
	sb.WriteString("\n| scale (Go runtime as deployed) | channels | ConfigMaps | Secrets | GOMEMLIMIT MiB | start to ready s |" +
		" RSS at ready MiB | peak RSS, 15 s after ready MiB |\n|---|---|---|---|---|---|---|---|\n")
	for _, s := range r.scaleRes {
		fmt.Fprintf(&sb, "| manager | %d | %d | %d | %d | %.2f | %.1f | %.1f |\n",
			s.channels, s.configMaps, s.secrets, s.memLimit>>20, s.readyAfter.Seconds(), s.rssMiB, s.peakRSSMiB)
	}
	if bu := r.budget; bu.channels > 0 {
		fmt.Fprintf(&sb, "\n| deletion budget | destructions at once | --cleanup-budget | cleanups started by %s |"+
			" by %s |\n|---|---|---|---|---|\n", shortSeconds(bu.window-3*time.Second), shortSeconds(bu.window+10*time.Second))
		fmt.Fprintf(&sb, "| burst | %d | %s | %d | %d |\n", bu.channels, bu.budget, bu.started, bu.after)
	}
	if inv := r.firstScale().inventory; inv.channels > 0 {
		fmt.Fprintf(&sb, "\n| inventory upkeep (--inventory-interval=%s) | channels | linked objects | changes (in s) |"+
			" channels changed | status writes | inventory writes (per s) | most per channel per interval | manager CPU s |"+
			" writes over %s idle | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
			shortSeconds(inventoryInterval), shortSeconds(idleFor))
		fmt.Fprintf(&sb, "| a tenth of the objects a minute relabelled or deleted | %d | %d | %d (%.0f) | %d | %d |"+
			" %d (%.1f) | %d | %.1f | %d | %.1f |\n",
			inv.channels, inv.objects, inv.changes, inv.churn.Seconds(), inv.changedChannels, inv.writes, inv.inventoryWrites,
			inv.writesPerSecond(), inv.mostPerInterval, inv.cpuSeconds, inv.idleWrites, inv.peakRSSMiB)
	}
	if w := r.firstScale().sweep; w.channels > 0 {
		sb.WriteString("\n| resync through the REST API | channels | REST calls | most allowed | seconds (first to last call) |" +
			" manager CPU s | peak RSS MiB |\n|---|---|---|---|---|---|---|\n")
		fmt.Fprintf(&sb, "| one resync at --chat-api-qps=%d | %d | %d | %.0f | %.1f | %.1f | %.1f |\n",
			defaultQPS, w.channels, w.calls, maxSweepCalls(w.channels), w.seconds, w.cpuSeconds, w.peakRSSMiB)
	}
	return sb.String()
}

// shortSeconds renders 1m0s as 1m and 57s as 57s.
func shortSeconds(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	return s
}

// targets checks each target docs/benchmarks.md states against this run.
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
	if cc := r.credCallbacks; cc.operator.ops > 0 {
		ratio, p99 := r.credRatio()
		row(fmt.Sprintf("app with REST credentials: callbacks/s >= 0.8x baseline at concurrency %d", cc.concurrency),
			fmt.Sprintf("%.2f", ratio), ratio >= 0.8)
		row(fmt.Sprintf("app with REST credentials: p99 <= 2x baseline at concurrency %d", cc.concurrency), fmt.Sprintf("%.2f", p99), p99 <= 2)
		lost += cc.lost
	}
	row("every answer OK, every channel recorded", fmt.Sprintf("lost %d", lost), lost == 0)
	for _, round := range r.ignored.rounds {
		ratio := round.operator / round.minimal
		row(fmt.Sprintf("ignored callbacks/s >= 0.5x a minimal handler at concurrency %d", round.concurrency),
			fmt.Sprintf("%.2f (failed %d)", ratio, round.failed), ratio >= 0.5 && round.failed == 0)
	}
	row("cleanup <= 1.3x baseline", fmt.Sprintf("%.2f", r.cleanup.ratio()), r.cleanup.ratio() <= 1.3)
	if r.dense.channels > 0 {
		row(fmt.Sprintf("cleanup, %d channels in one namespace, <= 1.4x baseline", r.dense.channels),
			fmt.Sprintf("%.2f", r.denseRatio()), r.denseRatio() <= 1.4)
		row("cleanup in one namespace: operator seconds per object <= 1.2x the spread layout's",
			fmt.Sprintf("%.2f", r.densePerObject()), r.densePerObject() <= 1.2)
	}
	if r.confirmed.channels > 0 {
		row("cleanup with confirmation <= 1.5x baseline", fmt.Sprintf("%.2f", r.confirmedRatio()), r.confirmedRatio() <= 1.5)
	}
	first := r.firstScale()
	row(fmt.Sprintf("RSS < 150 MiB once caches have synced, %d channels", first.channels), fmt.Sprintf("%.1f MiB", first.rssMiB),
		first.rssMiB < 150)
	row(fmt.Sprintf("peak RSS < 150 MiB in the 15 s after ready, %d channels + %d objects, as deployed", first.channels,
		first.configMaps+first.secrets), fmt.Sprintf("%.1f MiB", first.peakRSSMiB), first.peakRSSMiB < 150)
	if w := first.sweep; w.channels > 0 {
		row(fmt.Sprintf("resync of %d channels: REST calls <= 1.05 x %d/50", w.channels, w.channels), strconv.Itoa(w.calls),
			float64(w.calls) <= maxSweepCalls(w.channels))
		row("RSS < 150 MiB during the resync", fmt.Sprintf("%.1f MiB", w.peakRSSMiB), w.peakRSSMiB < 150)
	}
	if bu := r.budget; bu.channels > 0 {
		row(fmt.Sprintf("a burst of %d destructions with --cleanup-budget=%s starts exactly %d cleanups in the first minute",
			bu.channels, bu.budget, bu.limit), fmt.Sprintf("%d (then %d)", bu.started, bu.after),
			bu.started == bu.limit && bu.after > bu.limit)
	}
	if inv := first.inventory; inv.channels > 0 {
		row("inventory: at most one write per changed channel per interval", fmt.Sprintf("%d", inv.mostPerInterval),
			inv.mostPerInterval <= 1)
		row("inventory: inventory writes <= channels changed x (churn + interval) / interval",
			fmt.Sprintf("%d <= %d", inv.inventoryWrites, inv.mostWrites()), inv.inventoryWrites <= inv.mostWrites())
		row(fmt.Sprintf("inventory: 0 status writes over %s with nothing changing", shortSeconds(idleFor)),
			strconv.Itoa(inv.idleWrites), inv.idleWrites == 0)
		row(fmt.Sprintf("inventory: peak RSS < 150 MiB, %d channels with inventories + %d objects, as deployed", inv.channels,
			inv.objects), fmt.Sprintf("%.1f MiB", inv.peakRSSMiB), inv.peakRSSMiB < 150)
	}
	row("make bench under 25 minutes", r.elapsed.Round(time.Second).String(), r.elapsed < 25*time.Minute)
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
	lost += r.credCallbacks.lost
	credRatio, _ := r.credRatio()
	first := r.firstScale()
	w := first.sweep
	return fmt.Sprintf("bench: callback_ratio=%.2f callback_p99_ms=%s raw_p99_ms=%s cleanup_ratio=%.2f rss_mib=%.1f lost=%d"+
		" credentialed_callback_ratio=%.2f confirmed_cleanup_ratio=%.2f sweep_calls=%d sweep_s=%.1f sweep_cpu_s=%.1f sweep_rss_mib=%.1f"+
		" ignored_ratio=%.2f cleanup_dense_ratio=%.2f peak_rss_mib=%.1f",
		minRatio, ms(c8.operator.quantile(0.99)), ms(c8.baseline.quantile(0.99)), r.cleanup.ratio(), first.rssMiB, lost,
		credRatio, r.confirmedRatio(), w.calls, w.seconds, w.cpuSeconds, w.peakRSSMiB, r.ignored.minRatio(),
		r.denseRatio(), first.peakRSSMiB)
}

// reportTemplateText is the prose of docs/benchmarks.md, filled from reportFigures.
//
//go:embed report.md.tmpl
var reportTemplateText string

var reportTemplate = template.Must(template.New("report.md.tmpl").Parse(reportTemplateText))

// reportFigures is what report.md.tmpl is filled from: the figures of one run,
// and the machine and control plane it ran on.
type reportFigures struct {
	Date       string        // when the report is written, UTC, to the minute
	Scale      float64       // BENCH_SCALE
	Elapsed    time.Duration // the whole run, to the second
	CPUs       int
	MemGiB     float64
	OS, Arch   string
	GoVersion  string
	K8sVersion string // as the API server reports it
	GoEnv      string // the manager's Go runtime environment

	Table   string // the results, as printed at the end of the run
	Targets string // each target, met or not
	Summary string // the summary line, as printed last

	CallbackChannels                             int
	CallbacksAtOne                               int // callbacks per run at concurrency 1
	CleanupChannels, DenseChannels               int
	Reconcilers                                  int
	ScaleChannels, ScaleConfigMaps, ScaleSecrets int // at the first size
	ScaleLarger                                  int // channels at the second size
	ScaleResync                                  time.Duration
	BudgetChannels                               int
	Budget                                       string
}

func (r report) markdown(table string) (string, error) {
	var mem uint64
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		fields := strings.Fields(strings.SplitN(string(raw), "\n", 2)[0])
		if len(fields) >= 2 {
			mem, _ = strconv.ParseUint(fields[1], 10, 64)
		}
	}
	return renderReport(r.figures(table, time.Now(), mem))
}

// figures gathers what the report prints: this run's figures, written at now
// on a machine with memKiB of memory.
func (r report) figures(table string, now time.Time, memKiB uint64) reportFigures {
	return reportFigures{
		Date:       now.UTC().Format("2006-01-02 15:04 MST"),
		Scale:      r.scale,
		Elapsed:    r.elapsed.Round(time.Second),
		CPUs:       runtime.NumCPU(),
		MemGiB:     float64(memKiB) / 1024 / 1024,
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		GoVersion:  runtime.Version(),
		K8sVersion: r.k8sVersion,
		GoEnv:      strings.Join(r.goEnv, " "),

		Table:   table,
		Targets: r.targets(),
		Summary: r.summary(),

		CallbackChannels: r.channels,
		CallbacksAtOne:   min(r.channels, callbacksAtOne),
		CleanupChannels:  r.cleanup.channels,
		DenseChannels:    r.dense.channels,
		Reconcilers:      reconcilers,
		ScaleChannels:    r.firstScale().channels,
		ScaleConfigMaps:  r.firstScale().configMaps,
		ScaleSecrets:     r.firstScale().secrets,
		ScaleLarger:      r.lastScale().channels,
		ScaleResync:      scaleResync,
		BudgetChannels:   r.budget.channels,
		Budget:           r.budget.budget,
	}
}

func renderReport(f reportFigures) (string, error) {
	var sb strings.Builder
	if err := reportTemplate.Execute(&sb, f); err != nil {
		return "", fmt.Errorf("rendering %s: %w", reportTemplate.Name(), err)
	}
	return sb.String(), nil
}
