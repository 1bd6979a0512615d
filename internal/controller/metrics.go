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

package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/status"
)

var (
	cleanupDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "channel_operator_cleanup_duration_seconds",
		Help:    "Time from receiving a channel's destruction to the end of its cleanup.",
		Buckets: prometheus.ExponentialBuckets(0.1, 2, 14), // 0.1 s .. ~14 min
	})
)

func init() {
	metrics.Registry.MustRegister(cleanupDuration)
}

// phaseCollector counts OfficialChannels by phase, and by the status of
// their Synced condition, at scrape time, from the cache (one list for
// both): the count is always the cluster's, never a tally that could drift.
type phaseCollector struct {
	reader client.Reader
	desc   *prometheus.Desc
	synced *prometheus.Desc
	held   *prometheus.Desc
}

var phases = []chatv1alpha1.Phase{chatv1alpha1.PhaseActive, chatv1alpha1.PhaseReported, chatv1alpha1.PhaseDestroyed,
	chatv1alpha1.PhaseCleaningUp, chatv1alpha1.PhaseCleanedUp}

func newPhaseCollector(reader client.Reader) *phaseCollector {
	return &phaseCollector{reader: reader,
		desc: prometheus.NewDesc("channel_operator_channels",
			"OfficialChannels by phase (Unknown: not reconciled yet).", []string{"phase"}, nil),
		synced: prometheus.NewDesc("channel_operator_channels_synced",
			"OfficialChannels by the status of their Synced condition (True, False, Unknown).", []string{"status"}, nil),
		held: prometheus.NewDesc("channel_operator_cleanups_held",
			"Destroyed OfficialChannels whose cleanup waits, by reason (Scheduled, Held, BudgetExceeded, DryRun).",
			[]string{"reason"}, nil)}
}

func (c *phaseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
	ch <- c.synced
	ch <- c.held
}

func (c *phaseCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list chatv1alpha1.OfficialChannelList
	// Read-only counting: no need to copy every object out of the cache.
	if err := c.reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		ch <- prometheus.NewInvalidMetric(c.synced, err)
		ch <- prometheus.NewInvalidMetric(c.held, err)
		return
	}
	counts := map[chatv1alpha1.Phase]int{}
	synced := map[metav1.ConditionStatus]int{}
	held := map[string]int{}
	for i := range list.Items {
		counts[list.Items[i].Status.Phase]++
		if reason := status.Waiting(&list.Items[i]); reason != "" {
			held[reason]++
		}
		s := metav1.ConditionUnknown
		if cond := meta.FindStatusCondition(list.Items[i].Status.Conditions, chatv1alpha1.ConditionSynced); cond != nil {
			s = cond.Status
		}
		synced[s]++
	}
	for _, s := range []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown} {
		ch <- prometheus.MustNewConstMetric(c.synced, prometheus.GaugeValue, float64(synced[s]), string(s))
	}
	for _, reason := range status.WaitingReasons {
		ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, float64(held[reason]), reason)
	}
	for _, p := range phases {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[p]), string(p))
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[""]), "Unknown")
}

// phaseMetrics registers a phaseCollector of a manager's cache for as long
// as that manager runs, on every replica: a stopped manager's cache (a test
// starts another manager in the same process) answers no scrape.
type phaseMetrics struct{ collector *phaseCollector }

func (p phaseMetrics) Start(ctx context.Context) error {
	if err := metrics.Registry.Register(p.collector); err != nil {
		return fmt.Errorf("registering the phase metric: %w", err)
	}
	<-ctx.Done()
	metrics.Registry.Unregister(p.collector)
	return nil
}

// NeedLeaderElection is false: every replica counts the channels it caches.
func (phaseMetrics) NeedLeaderElection() bool { return false }
