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

package monitoring

import (
	"encoding/json"
	"fmt"
)

// Panel is one time-series panel of the dashboard.
type Panel struct {
	Title, Description, Unit string
	Targets                  []Target
}

// Target is one query of a panel.
type Target struct{ Expr, Legend string }

// Panels are the dashboard's panels, in reading order: the callback path,
// the channels, the cleanups, Chat's REST API, the pending store, the
// manager. Together they read every metric family the manager exports (a
// test checks it against a live scrape).
func Panels() []Panel {
	return []Panel{
		{Title: "Callbacks by result", Unit: "reqps",
			Description: "Answers of the callback receiver; anything but ok, ignored and pending is a refusal or a failure.",
			Targets:     []Target{{`sum by (result) (channel_operator:callbacks:rate5m)`, "{{result}}"}}},
		{Title: "Callback latency (p99)", Unit: "s", Description: "The Chat backend gives up after 2 s.",
			Targets: []Target{{`channel_operator:callback_duration_seconds:p99_5m`, "{{command}}"}}},
		{Title: "Receiver replicas ready", Unit: "short",
			Targets: []Target{{`sum(channel_operator_callback_receiver_ready)`, "ready"}}},
		{Title: "Receiver connections", Unit: "short",
			Targets: []Target{{`sum(channel_operator_callback_connections)`, "open"},
				{`sum by (reason) (rate(channel_operator_callback_connections_closed_total[5m]))`, "closed/s {{reason}}"}}},
		{Title: "Channels by phase", Unit: "short",
			Targets: []Target{{`max by (phase) (channel_operator_channels)`, "{{phase}}"}}},
		{Title: "Channels by Synced", Unit: "short", Description: "Whether Chat's REST API answers for each channel (Unknown: no credentials).",
			Targets: []Target{{`max by (status) (channel_operator_channels_synced)`, "{{status}}"}}},
		{Title: "Cleanups waiting", Unit: "short", Description: "Destroyed channels whose cleanup waits, by reason.",
			Targets: []Target{{`max by (reason) (channel_operator_cleanups_held)`, "{{reason}}"}}},
		{Title: "Objects deleted by cleanups", Unit: "ops",
			Targets: []Target{{`channel_operator:cleanup_deletions:rate5m`, "{{kind}}"}}},
		{Title: "Cleanup duration", Unit: "s", Description: "From the destruction's receipt to the end of its cleanup.",
			Targets: []Target{
				{`histogram_quantile(0.5, sum by (le) (rate(channel_operator_cleanup_duration_seconds_bucket[1h])))`, "p50"},
				{`histogram_quantile(0.99, sum by (le) (rate(channel_operator_cleanup_duration_seconds_bucket[1h])))`, "p99"},
				{`sum(rate(channel_operator_cleanup_duration_seconds_count[1h]))`, "cleanups/s"}}},
		{Title: "Cleanup kinds usable", Unit: "short", Description: "0: the kind is skipped (not served, or not granted).",
			Targets: []Target{{`max by (kind) (channel_operator_cleanup_kind_usable)`, "{{kind}}"}}},
		{Title: "Chat REST API calls by result", Unit: "reqps",
			Targets: []Target{{`sum by (result) (channel_operator:chat_api_requests:rate5m)`, "{{result}}"}}},
		{Title: "Chat REST API latency (p99)", Unit: "s",
			Targets: []Target{{
				`histogram_quantile(0.99, sum by (le, command) (rate(channel_operator_chat_api_request_duration_seconds_bucket[5m])))`,
				"{{command}}"}}},
		{Title: "UserSig time left", Unit: "d",
			Targets: []Target{{`(min by (sdk_app_id) (channel_operator_chat_api_usersig_expiry_timestamp_seconds) - time()) / 86400`,
				"{{sdk_app_id}}"}}},
		{Title: "Pending destructions", Unit: "short", Description: "Destructions that matched no channel yet, per app, and the per-app limit.",
			Targets: []Target{{`max by (sdk_app_id) (channel_operator_pending_destructions)`, "{{sdk_app_id}}"},
				{`max(channel_operator_pending_destructions_limit)`, "limit"}}},
		{Title: "Watched namespaces unavailable", Unit: "short", Description: "Left out at start: deleted, or the Role there gone.",
			Targets: []Target{{`max(channel_operator_watched_namespaces_unavailable)`, "unavailable"}}},
		{Title: "Manager versions", Unit: "short", Description: "Replicas by the version they run: two during a rollout.",
			Targets: []Target{{`count by (version, revision) (channel_operator_build_info)`, "{{version}} {{revision}}"}}},
		{Title: "Leader and reconcile errors", Unit: "short",
			Targets: []Target{{`max(leader_election_master_status{name="` + DefaultConfig.LeaseName + `"})`, "leader held"},
				{`sum(rate(controller_runtime_reconcile_errors_total{controller="officialchannel"}[5m]))`, "errors/s"}}},
	}
}

// Dashboard is the Grafana dashboard (JSON model), its queries on a
// Prometheus data source chosen by the $datasource variable. It is written
// from these structs, not with grafana-foundation-sdk: that library is
// pre-1.0 (v0.0.x, its API follows each Grafana release), and seventeen
// time-series panels need only the JSON model's long-stable subset.
func Dashboard() ([]byte, error) {
	ds := map[string]string{"type": "prometheus", "uid": "${datasource}"}
	panels := make([]map[string]any, 0, len(Panels()))
	for i, p := range Panels() {
		targets := make([]map[string]any, 0, len(p.Targets))
		for j, t := range p.Targets {
			targets = append(targets, map[string]any{"datasource": ds, "expr": t.Expr, "legendFormat": t.Legend,
				"refId": string(rune('A' + j))})
		}
		panels = append(panels, map[string]any{
			"id": i + 1, "type": "timeseries", "title": p.Title, "description": p.Description, "datasource": ds,
			"gridPos":     map[string]int{"x": (i % 2) * 12, "y": (i / 2) * 8, "w": 12, "h": 8},
			"fieldConfig": map[string]any{"defaults": map[string]any{"unit": p.Unit}, "overrides": []any{}},
			"targets":     targets,
		})
	}
	model := map[string]any{
		"title": "channel-operator", "uid": "channel-operator", "schemaVersion": 39, "version": 1,
		"tags": []string{"channel-operator"}, "timezone": "utc", "refresh": "30s",
		"time": map[string]string{"from": "now-6h", "to": "now"},
		"templating": map[string]any{"list": []map[string]any{{
			"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
		}}},
		"panels": panels,
	}
	out, err := json.MarshalIndent(model, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the dashboard: %w", err)
	}
	return append(out, '\n'), nil
}
