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

import "fmt"

// Config holds every threshold of the alerts in one place, as a monitoring
// mixin's _config does. Change a value here and run `make monitoring`.
type Config struct {
	// LeaseName is the manager's leader-election lease (--leader-elect).
	LeaseName string
	// RefusedCallbacksPerSecond: 401/403 answers beyond this rate are
	// someone with a wrong token or clock, or an attack.
	RefusedCallbacksPerSecond float64
	// CallbackP99Seconds: the Chat backend gives up after 2 s.
	CallbackP99Seconds float64
	// StuckFor: how long channels may sit in Reported or CleaningUp.
	StuckFor string
	// UserSigWarningDays and UserSigCriticalDays: a given UserSig's time left.
	UserSigWarningDays, UserSigCriticalDays int
	// PendingRatio: the share of --pending-destruction-max an app may use
	// before it is worth a look.
	PendingRatio float64
	// DryRunHeldFor: how long --dry-run may hold cleanups before it is
	// worth a reminder.
	DryRunHeldFor string
}

// DefaultConfig is the shipped configuration.
var DefaultConfig = Config{
	LeaseName:                 "channel-operator.chat.channel-operator.io",
	RefusedCallbacksPerSecond: 0.1,
	CallbackP99Seconds:        1,
	StuckFor:                  "30m",
	UserSigWarningDays:        7,
	UserSigCriticalDays:       1,
	PendingRatio:              0.8,
	DryRunHeldFor:             "1h",
}

// Severities, as the ecosystem's mixins use them.
const (
	critical = "critical" // destructions are being lost, or nothing can be cleaned up
	warning  = "warning"  // a person should look today
	info     = "info"     // worth knowing
)

// Alert is one alerting rule, with the series that must make it fire and
// the near miss that must not: `make test` runs both through promtool.
type Alert struct {
	Name, Severity, Expr, For string
	Summary, Description      string
	// Labels the fired alert carries besides alertname and severity (its
	// "by" labels), as the firing test's series give them.
	Labels map[string]string
	// Fire and Silent are input series (promtool notation, 1m apart),
	// evaluated at At.
	Fire, Silent []Series
	At           string
}

// Series is one input series of a promtool test.
type Series struct {
	Series string `json:"series"`
	Values string `json:"values"`
}

// Alerts are the operator's alerts under c.
func Alerts(c Config) []Alert {
	destroyed := `command="OfficialAccount.CallbackAfterOfficialAccountDestroyed"`
	callbacks := func(result, values string) Series {
		return Series{fmt.Sprintf(`channel_operator_callbacks_total{%s,result="%s"}`, destroyed, result), values}
	}
	return []Alert{{
		Name: "ChannelOperatorCallbacksFailing", Severity: critical, For: "5m",
		Expr:    `sum(rate(channel_operator_callbacks_total{result=~"failed|overloaded|not_ready"}[5m])) > 0`,
		Summary: "Callbacks are answered with errors: Chat does not resend them",
		Description: "The callback receiver answers 5xx (failed, overloaded or not ready). A destruction answered so " +
			"is lost for apps without REST credentials.",
		Fire:   []Series{callbacks("failed", "0+1x30")},
		Silent: []Series{callbacks("ok", "0+60x30")},
		At:     "15m",
	}, {
		Name: "ChannelOperatorCallbacksRefused", Severity: warning, For: "10m",
		Expr: fmt.Sprintf(`sum(rate(channel_operator_callbacks_total{result=~"forbidden|unauthorized"}[5m])) > %g`,
			c.RefusedCallbacksPerSecond),
		Summary: "Many callbacks are refused (401/403)",
		Description: "A wrong or rotated token, a clock skewed past --callback-max-skew, an app missing from the " +
			"callback Secret, or someone probing the receiver.",
		Fire:   []Series{callbacks("unauthorized", "0+60x30")},
		Silent: []Series{callbacks("unauthorized", "0+3x30")},
		At:     "20m",
	}, {
		Name: "ChannelOperatorCallbacksSlow", Severity: warning, For: "10m",
		Expr: fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(channel_operator_callback_duration_seconds_bucket{%s}[5m]))) > %g`,
			destroyed, c.CallbackP99Seconds),
		Summary:     "Destruction callbacks are answered slowly",
		Description: "The 99th percentile of destruction answers is near the Chat backend's 2 s timeout.",
		Fire:        latency("0+0x30", "0+10x30"),
		Silent:      latency("0+10x30", "0+0x30"),
		At:          "20m",
	}, {
		Name: "ChannelOperatorReceiverNotReady", Severity: critical, For: "5m",
		Expr:        `(max(channel_operator_callback_receiver_ready) or vector(0)) < 1`,
		Summary:     "No replica's callback receiver is ready",
		Description: "No replica serves callbacks (or none is scraped): every callback fails, and Chat does not resend them.",
		Fire:        []Series{{`channel_operator_callback_receiver_ready{pod="a"}`, "0x30"}},
		Silent: []Series{{`channel_operator_callback_receiver_ready{pod="a"}`, "0x30"},
			{`channel_operator_callback_receiver_ready{pod="b"}`, "1x30"}},
		At: "10m",
	}, {
		Name: "ChannelOperatorNoLeader", Severity: critical, For: "5m",
		Expr:        fmt.Sprintf(`(max(leader_election_master_status{name="%s"}) or vector(0)) < 1`, c.LeaseName),
		Summary:     "No replica leads: nothing is reconciled",
		Description: "No destruction is confirmed and no cleanup runs while no replica holds the leader lease.",
		Fire:        []Series{{fmt.Sprintf(`leader_election_master_status{name="%s",pod="a"}`, c.LeaseName), "0x30"}},
		Silent:      []Series{{fmt.Sprintf(`leader_election_master_status{name="%s",pod="a"}`, c.LeaseName), "1x30"}},
		At:          "10m",
	}, {
		Name: "ChannelOperatorReconcileErrors", Severity: warning, For: "15m",
		Expr:        `sum(rate(controller_runtime_reconcile_errors_total{controller="officialchannel"}[5m])) > 0`,
		Summary:     "OfficialChannels fail to reconcile",
		Description: "Reconciles keep failing (a cleanup pass that fails, a status write refused): see the manager's logs.",
		Fire:        []Series{{`controller_runtime_reconcile_errors_total{controller="officialchannel"}`, "0+1x40"}},
		Silent:      []Series{{`controller_runtime_reconcile_errors_total{controller="officialchannel"}`, "5x40"}},
		At:          "25m",
	}, {
		Name: "ChannelOperatorChannelsStuckReported", Severity: warning, For: c.StuckFor,
		Expr:    `max(channel_operator_channels{phase="Reported"}) > 0`,
		Summary: "Reported destructions wait for Chat's REST API",
		Description: "Channels have waited in phase Reported for " + c.StuckFor + ": the REST API does not answer, or " +
			"refuses the credentials. Nothing is deleted meanwhile.",
		Fire:   []Series{{`channel_operator_channels{phase="Reported"}`, "1x60"}},
		Silent: []Series{{`channel_operator_channels{phase="Reported"}`, "1x20 0x40"}},
		At:     "50m",
	}, {
		Name: "ChannelOperatorChannelsStuckCleaningUp", Severity: warning, For: c.StuckFor,
		Expr:    `max(channel_operator_channels{phase="CleaningUp"}) > 0`,
		Summary: "Cleanups do not finish",
		Description: "Channels have been CleaningUp for " + c.StuckFor + ": linked objects held by finalizers, or deletes " +
			"the operator is not allowed.",
		Fire:   []Series{{`channel_operator_channels{phase="CleaningUp"}`, "1x60"}},
		Silent: []Series{{`channel_operator_channels{phase="CleaningUp"}`, "1x20 0x40"}},
		At:     "50m",
	}, {
		Name: "ChannelOperatorCleanupKindUnusable", Severity: warning, For: "15m",
		Expr:    `max by (kind) (channel_operator_cleanup_kind_usable) == 0`,
		Summary: "A cleanup kind is skipped: {{ $labels.kind }}",
		Description: "The operator cannot list, watch or delete {{ $labels.kind }} (not served, or not granted): " +
			"objects of that kind linked to a destroyed channel are not deleted.",
		Labels: map[string]string{"kind": "ingresses.networking.k8s.io"},
		Fire:   []Series{{`channel_operator_cleanup_kind_usable{kind="ingresses.networking.k8s.io"}`, "0x30"}},
		Silent: []Series{{`channel_operator_cleanup_kind_usable{kind="ingresses.networking.k8s.io"}`, "1x30"}},
		At:     "20m",
	}, {
		Name: "ChannelOperatorUserSigExpiresSoon", Severity: warning, For: "1h",
		Expr: fmt.Sprintf(`min by (sdk_app_id) (channel_operator_chat_api_usersig_expiry_timestamp_seconds) - time() < %d * 86400`,
			c.UserSigWarningDays),
		Summary:     "The UserSig of app {{ $labels.sdk_app_id }} expires soon",
		Description: fmt.Sprintf("The given UserSig expires within %d days; then destructions cannot be confirmed.", c.UserSigWarningDays),
		Labels:      map[string]string{"sdk_app_id": "1400000001"},
		Fire: []Series{{`channel_operator_chat_api_usersig_expiry_timestamp_seconds{sdk_app_id="1400000001"}`,
			fmt.Sprintf("%dx200", (c.UserSigWarningDays-1)*86400)}},
		Silent: []Series{{`channel_operator_chat_api_usersig_expiry_timestamp_seconds{sdk_app_id="1400000001"}`,
			fmt.Sprintf("%dx200", (c.UserSigWarningDays+1)*86400)}},
		At: "2h",
	}, {
		Name: "ChannelOperatorUserSigExpiresWithinADay", Severity: critical, For: "10m",
		Expr: fmt.Sprintf(`min by (sdk_app_id) (channel_operator_chat_api_usersig_expiry_timestamp_seconds) - time() < %d * 86400`,
			c.UserSigCriticalDays),
		Summary:     "The UserSig of app {{ $labels.sdk_app_id }} is about to expire",
		Description: "Once it expires, every reported destruction of the app waits, and missed ones are not found.",
		Labels:      map[string]string{"sdk_app_id": "1400000001"},
		Fire: []Series{{`channel_operator_chat_api_usersig_expiry_timestamp_seconds{sdk_app_id="1400000001"}`,
			fmt.Sprintf("%dx60", c.UserSigCriticalDays*86400/2)}},
		Silent: []Series{{`channel_operator_chat_api_usersig_expiry_timestamp_seconds{sdk_app_id="1400000001"}`,
			fmt.Sprintf("%dx60", c.UserSigCriticalDays*86400*2)}},
		At: "30m",
	}, {
		Name: "ChannelOperatorChatAPIRateLimited", Severity: warning, For: "10m",
		Expr:    `sum(rate(channel_operator_chat_api_requests_total{result="RateLimited"}[5m])) > 0`,
		Summary: "Chat's REST API rate-limits the operator",
		Description: "Calls are refused for their rate: lower --chat-api-qps, or another client of the app uses " +
			"its share. Confirmations and observations are delayed.",
		Fire:   []Series{{`channel_operator_chat_api_requests_total{command="get_official_account_info",result="RateLimited"}`, "0+1x30"}},
		Silent: []Series{{`channel_operator_chat_api_requests_total{command="get_official_account_info",result="ok"}`, "0+60x30"}},
		At:     "20m",
	}, {
		Name: "ChannelOperatorChatAPICredentialsRefused", Severity: critical, For: "5m",
		Expr:    `sum(rate(channel_operator_chat_api_requests_total{result=~"CredentialsRefused|ServiceNotEnabled"}[5m])) > 0`,
		Summary: "Chat's REST API refuses the operator's credentials",
		Description: "A wrong key, identifier or UserSig, or the official-account service is not enabled: no " +
			"destruction of that app can be confirmed, and none missed is found.",
		Fire:   []Series{{`channel_operator_chat_api_requests_total{command="get_official_account_info",result="CredentialsRefused"}`, "0+1x30"}},
		Silent: []Series{{`channel_operator_chat_api_requests_total{command="get_official_account_info",result="ok"}`, "0+60x30"}},
		At:     "15m",
	}, {
		Name: "ChannelOperatorPendingDestructionsNearLimit", Severity: warning, For: "15m",
		Expr: fmt.Sprintf(`max by (sdk_app_id) (channel_operator_pending_destructions) `+
			`/ on () group_left () max(channel_operator_pending_destructions_limit) > %g`, c.PendingRatio),
		Summary: "App {{ $labels.sdk_app_id }} has many unmatched destructions",
		Description: "Destructions that match no OfficialChannel are kept for one created later; at " +
			"--pending-destruction-max the app's next ones are answered 503 and lost.",
		Labels: map[string]string{"sdk_app_id": "1400000001"},
		Fire: []Series{{`channel_operator_pending_destructions{sdk_app_id="1400000001"}`, "900x30"},
			{`channel_operator_pending_destructions_limit`, "1000x30"}},
		Silent: []Series{{`channel_operator_pending_destructions{sdk_app_id="1400000001"}`, "500x30"},
			{`channel_operator_pending_destructions_limit`, "1000x30"}},
		At: "20m",
	}, {
		Name: "ChannelOperatorCleanupsHeldByBudget", Severity: warning, For: "5m",
		Expr:    `max(channel_operator_cleanups_held{reason="BudgetExceeded"}) > 0`,
		Summary: "The deletion budget holds cleanups",
		Description: "More channels were destroyed than --cleanup-budget lets start: a mass destruction. Check that " +
			"it is real, then approve the cleanups or let the window pass.",
		Fire:   []Series{{`channel_operator_cleanups_held{reason="BudgetExceeded"}`, "3x30"}},
		Silent: []Series{{`channel_operator_cleanups_held{reason="BudgetExceeded"}`, "0x30"}},
		At:     "10m",
	}, {
		Name: "ChannelOperatorDryRunHoldsCleanups", Severity: info, For: c.DryRunHeldFor,
		Expr:    `max(channel_operator_cleanups_held{reason="DryRun"}) > 0`,
		Summary: "Audit mode holds cleanups",
		Description: "The operator runs with --dry-run: destroyed channels are planned but nothing is deleted. " +
			"Restart it without the flag when the plans look right.",
		Fire:   []Series{{`channel_operator_cleanups_held{reason="DryRun"}`, "2x90"}},
		Silent: []Series{{`channel_operator_cleanups_held{reason="DryRun"}`, "0x90"}},
		At:     "80m",
	}, {
		Name: "ChannelOperatorWatchedNamespaceUnavailable", Severity: warning, For: "5m",
		Expr:    `max(channel_operator_watched_namespaces_unavailable) > 0`,
		Summary: "A watched namespace could not be read at start",
		Description: "A namespace of --watch-namespaces was deleted (or the operator's Role there is gone): the " +
			"manager runs without it until restarted. Recreate it with its RoleBinding, or drop it from the flag.",
		Fire:   []Series{{`channel_operator_watched_namespaces_unavailable{pod="a"}`, "1x30"}},
		Silent: []Series{{`channel_operator_watched_namespaces_unavailable{pod="a"}`, "0x30"}},
		At:     "10m",
	}, {
		Name: "ChannelOperatorCallbackConnectionsRefused", Severity: warning, For: "10m",
		Expr:    `sum(rate(channel_operator_callback_connections_closed_total{reason="refused"}[5m])) > 0`,
		Summary: "The callback receiver refuses connections",
		Description: "Every held connection is serving a request and new ones are closed at once: a flood, or " +
			"--callback-max-connections too low for the traffic.",
		Fire:   []Series{{`channel_operator_callback_connections_closed_total{reason="refused"}`, "0+5x30"}},
		Silent: []Series{{`channel_operator_callback_connections_closed_total{reason="evicted"}`, "0+5x30"}},
		At:     "20m",
	}}
}

// latency is a destruction latency histogram whose observations below 1 s
// and between 1 s and 1.5 s grow as given.
func latency(fast, slow string) []Series {
	bucket := func(le, values string) Series {
		return Series{fmt.Sprintf(
			`channel_operator_callback_duration_seconds_bucket{command="OfficialAccount.CallbackAfterOfficialAccountDestroyed",le="%s"}`,
			le), values}
	}
	sum := func(a, b string) string { // "0+Nx30" plus "0+Mx30"
		var n, m int
		_, _ = fmt.Sscanf(a, "0+%dx30", &n)
		_, _ = fmt.Sscanf(b, "0+%dx30", &m)
		return fmt.Sprintf("0+%dx30", n+m)
	}
	return []Series{bucket("0.1", fast), bucket("1", fast), bucket("1.5", sum(fast, slow)), bucket("+Inf", sum(fast, slow))}
}
