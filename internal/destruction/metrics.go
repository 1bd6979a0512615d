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

package destruction

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	pendingRecords = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "channel_operator_pending_destructions",
		Help: "Live pending destructions (kept for an OfficialChannel created later), per app, as the leader last " +
			"counted them (every minute, and when it keeps one); other replicas do not export it.",
	}, []string{"sdk_app_id"})

	pendingLimit = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "channel_operator_pending_destructions_limit",
		Help: "The most live pending destructions kept per app (--pending-destruction-max).",
	})
)

func init() {
	metrics.Registry.MustRegister(pendingRecords, pendingLimit)
}

// countAllPending reports the live pending destructions of every app from
// one full count (the leader's): an app with none left is no longer listed.
func (s *PendingStore) countAllPending(live []Record) {
	byApp := map[int64]int{}
	for _, rec := range live {
		byApp[rec.SDKAppID]++
	}
	pendingRecords.Reset()
	for app, n := range byApp {
		pendingRecords.WithLabelValues(strconv.FormatInt(app, 10)).Set(float64(n))
	}
	pendingLimit.Set(float64(s.MaxRecords))
}
