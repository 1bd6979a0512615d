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

package receiver

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/channel-operator/channel-operator/internal/callback"
)

// Results of a callback, the `result` label of the callback metrics.
const (
	resultOK               = "ok"      // acted on and recorded in status
	resultPending          = "pending" // recorded in the pending store: no OfficialChannel yet
	resultIgnored          = "ignored" // verified, but a command the operator does not act on
	resultNotReady         = "not_ready"
	resultMethodNotAllowed = "method_not_allowed"
	resultTooLarge         = "too_large"
	resultForbidden        = "forbidden"
	resultUnauthorized     = "unauthorized"
	resultBadRequest       = "bad_request"
	resultOverloaded       = "overloaded"
	resultFailed           = "failed"
)

// otherCommand labels commands outside callback.KnownCommands, so that a
// caller cannot mint label values.
const otherCommand = "other"

var (
	callbacksTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "channel_operator_callbacks_total",
		Help: "Chat callbacks received, by command and result.",
	}, []string{"command", "result"})

	callbackDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "channel_operator_callback_duration_seconds",
		Help:    "Time from receiving a Chat callback to sending the answer, by command.",
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2},
	}, []string{"command"})

	receiverReady = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "channel_operator_callback_receiver_ready",
		Help: "1 while this replica's callback receiver answers callbacks (its caches synced), else 0.",
	})

	openConnections = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "channel_operator_callback_connections",
		Help: "Connections the callback receiver holds open.",
	})

	connectionsClosedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "channel_operator_callback_connections_closed_total",
		Help: "Connections the callback receiver closed to stay within its connection limits, by reason: " +
			"refused (a new one, nothing idle to make room) or evicted (an idle one, to make room).",
	}, []string{"reason"})
)

// results are every value of the result label.
var results = []string{resultOK, resultPending, resultIgnored, resultNotReady, resultMethodNotAllowed, resultTooLarge,
	resultForbidden, resultUnauthorized, resultBadRequest, resultOverloaded, resultFailed}

func init() {
	metrics.Registry.MustRegister(callbacksTotal, callbackDuration, receiverReady, openConnections, connectionsClosedTotal)
	// Every series an alert or the dashboard reads exists from the start, at 0:
	// a rate over a series that appears with its first failure misses it.
	for _, cmd := range append([]string{otherCommand}, callback.KnownCommands...) {
		for _, result := range results {
			callbacksTotal.WithLabelValues(cmd, result)
		}
	}
	for _, reason := range []string{connRefused, connEvicted} {
		connectionsClosedTotal.WithLabelValues(reason)
	}
}

func commandLabel(cmd string) string {
	if callback.IsKnownCommand(cmd) {
		return cmd
	}
	return otherCommand
}
