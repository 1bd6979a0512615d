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
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/channel-operator/channel-operator/internal/chatapi"
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
	// Every series an alert or the dashboard reads exists from the start, at 0.
	for _, result := range []chatapi.Reason{"ok", chatapi.ReasonCredentialsRefused, chatapi.ReasonServiceNotEnabled,
		chatapi.ReasonRateLimited, chatapi.ReasonUnreachable, chatapi.ReasonAccountRejected} {
		apiRequests.WithLabelValues(chatapi.CommandGetAccountInfo, string(result))
	}
	apiLatency.WithLabelValues(chatapi.CommandGetAccountInfo)
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
