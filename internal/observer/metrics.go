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

package observer

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

var (
	apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "channel_operator_chat_api_requests_total",
		Help: "Calls to Chat's REST API, by command and result (ok, or the reason it failed).",
	}, []string{"command", "result"})

	apiLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "channel_operator_chat_api_request_duration_seconds",
		Help:    "Duration of calls to Chat's REST API, by command.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12), // 5 ms .. ~10 s
	}, []string{"command"})

	userSigExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "channel_operator_chat_api_usersig_expiry_timestamp_seconds",
		Help: "When the UserSig given for an app in the Chat API Secret expires (Unix seconds); " +
			"apps whose UserSig is made from their key are not listed.",
	}, []string{"sdk_app_id"})
)

func init() {
	metrics.Registry.MustRegister(apiRequests, apiLatency, userSigExpiry)
}

// ObserveCall records one REST call; it is chatapi.ClientOptions.Observe.
func ObserveCall(command, result string, d time.Duration) {
	apiRequests.WithLabelValues(command, result).Inc()
	apiLatency.WithLabelValues(command).Observe(d.Seconds())
}

func setUserSigExpiry(exp map[int64]time.Time) {
	userSigExpiry.Reset()
	for app, t := range exp {
		userSigExpiry.WithLabelValues(strconv.FormatInt(app, 10)).Set(float64(t.Unix()))
	}
}

// syncedCollector counts OfficialChannels by their Synced condition's status
// at scrape time, from the cache.
type syncedCollector struct {
	reader client.Reader
	desc   *prometheus.Desc
}

func (c *syncedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *syncedCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list chatv1alpha1.OfficialChannelList
	if err := c.reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	counts := map[string]int{"True": 0, "False": 0, "Unknown": 0}
	for i := range list.Items {
		s := "Unknown"
		if cond := meta.FindStatusCondition(list.Items[i].Status.Conditions, chatv1alpha1.ConditionSynced); cond != nil {
			s = string(cond.Status)
		}
		counts[s]++
	}
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), s)
	}
}

// RegisterSyncedCollector adds the channels-by-Synced gauge once per process.
func RegisterSyncedCollector(reader client.Reader) error {
	err := metrics.Registry.Register(&syncedCollector{reader: reader, desc: prometheus.NewDesc(
		"channel_operator_channels_synced", "OfficialChannels by the status of their Synced condition (True, False, Unknown).",
		[]string{"status"}, nil)})
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		return nil
	}
	return err
}
