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
		Help: "Live pending destructions (kept for an OfficialChannel created later), per app, as last counted " +
			"(by a callback that kept one, and by the leader's sweep every minute).",
	}, []string{"sdk_app_id"})

	pendingLimit = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "channel_operator_pending_destructions_limit",
		Help: "The most live pending destructions kept per app (--pending-destruction-max).",
	})
)

func init() {
	metrics.Registry.MustRegister(pendingRecords, pendingLimit)
}

// countPending reports how many live pending destructions app has.
func (s *PendingStore) countPending(app int64, n int) {
	pendingLimit.Set(float64(s.MaxRecords))
	pendingRecords.WithLabelValues(strconv.FormatInt(app, 10)).Set(float64(n))
}

// countAllPending reports the live pending destructions of every app from
// one full count: an app with none left is no longer listed.
func (s *PendingStore) countAllPending(live []Record) {
	byApp := map[int64]int{}
	for _, rec := range live {
		byApp[rec.SDKAppID]++
	}
	pendingRecords.Reset()
	for app, n := range byApp {
		s.countPending(app, n)
	}
	pendingLimit.Set(float64(s.MaxRecords))
}
