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

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/channel-operator/channel-operator/hack/monitoring"
	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/test/testenv"
)

var jsonUnmarshal = json.Unmarshal

// newsroom: two channels with linked objects, an Orphan channel, an unlinked
// ConfigMap, and the same label value in another namespace.
const newsroom = `
apiVersion: v1
kind: Namespace
metadata: {name: e2e-newsroom}
---
apiVersion: v1
kind: Namespace
metadata: {name: e2e-elsewhere}
---
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: news, namespace: e2e-newsroom}
spec:
  sdkAppID: 1400000001
  officialAccountID: "@TOA#_e2e_news"
  linkedResources:
  - {apiVersion: v1, kind: ConfigMap, name: legacy-settings}
---
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: sports, namespace: e2e-newsroom}
spec:
  sdkAppID: 1400000001
  officialAccountID: "@TOA#_e2e_sports"
---
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: archive, namespace: e2e-newsroom}
spec:
  sdkAppID: 1400000001
  officialAccountID: "@TOA#_e2e_archive"
  cleanupPolicy: Orphan
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: news-bot, namespace: e2e-newsroom, labels: {chat.channel-operator.io/official-channel: news}}
spec:
  selector: {matchLabels: {app: news-bot}}
  template:
    metadata: {labels: {app: news-bot}}
    spec: {containers: [{name: bot, image: example.com/bot:1}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: news-poster, namespace: e2e-newsroom, labels: {chat.channel-operator.io/official-channel: news}}
spec:
  schedule: "*/10 * * * *"
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: OnFailure, containers: [{name: post, image: example.com/post:1}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: news-config, namespace: e2e-newsroom, labels: {chat.channel-operator.io/official-channel: news}}
data: {k: v}
---
apiVersion: v1
kind: Secret
metadata: {name: news-token, namespace: e2e-newsroom, labels: {chat.channel-operator.io/official-channel: news}}
stringData: {token: not-real}
---
apiVersion: v1
kind: Service
metadata: {name: news, namespace: e2e-newsroom, labels: {chat.channel-operator.io/official-channel: news}}
spec: {ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: news, namespace: e2e-newsroom, labels: {chat.channel-operator.io/official-channel: news}}
spec: {defaultBackend: {service: {name: news, port: {number: 80}}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: legacy-settings, namespace: e2e-newsroom}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: sports-config, namespace: e2e-newsroom, labels: {chat.channel-operator.io/official-channel: sports}}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: archive-config, namespace: e2e-newsroom, labels: {chat.channel-operator.io/official-channel: archive}}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shared-config, namespace: e2e-newsroom}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: news-config, namespace: e2e-elsewhere, labels: {chat.channel-operator.io/official-channel: news}}
data: {k: v}
`

func TestDestroyedCallbacksCleanUpWithTheOperatorsRBAC(t *testing.T) {
	useSuite(t)
	manifest := filepath.Join(t.TempDir(), "newsroom.yaml")
	writeFile(t, manifest, newsroom)
	kubectl(t, "apply", "-f", manifest)
	ns := "e2e-newsroom"
	for _, ch := range []string{"news", "sports", "archive"} {
		testenv.Eventually(t, func() error {
			if p := jsonpath(t, ns, "ochan/"+ch, "{.status.phase}"); p != "Active" {
				return fmt.Errorf("%s phase %q", ch, p)
			}
			return nil
		})
	}

	// news: through bin/send-callback, as a user would smoke-test.
	send := exec.Command(filepath.Join(testenv.RepoRoot(), "bin", "send-callback"), "--url", mgr.CallbackURL,
		"--sdkappid", app, "--token", token, "--account", "@TOA#_e2e_news", "--event-time", "1670574414123")
	if out, err := send.CombinedOutput(); err != nil || !strings.Contains(string(out), `"ActionStatus":"OK"`) {
		t.Fatalf("send-callback: %v\n%s", err, out)
	}
	// archive: the documented sample, signed, over HTTP.
	if status, a := postDestroyed(t, "@TOA#_e2e_archive", token); status != http.StatusOK || a.ActionStatus != callback.StatusOK {
		t.Fatalf("archive: %d %+v", status, a)
	}

	testenv.Eventually(t, func() error {
		if p := jsonpath(t, ns, "ochan/news", "{.status.phase}"); p != "CleanedUp" {
			return fmt.Errorf("news phase %q", p)
		}
		return nil
	})
	if got := jsonpath(t, ns, "ochan/news", "{.status.destroyedAt}"); got != "2022-12-09T08:26:54.123Z" {
		t.Fatalf("news destroyedAt %q", got)
	}
	cleanup := `{.status.conditions[?(@.type=="CleanedUp")].status} {.status.cleanup.deleted} {.status.cleanup.remaining}`
	if got := jsonpath(t, ns, "ochan/news", cleanup); got != "True 7 0" {
		t.Fatalf("news CleanedUp/deleted/remaining = %q, want \"True 7 0\"", got)
	}
	testenv.Eventually(t, func() error {
		events := kubectl(t, "events", "-n", ns, "--for", "officialchannel/news")
		for _, reason := range []string{"DestructionRecorded", "CleanupStarted", "CleanedUp"} {
			if !strings.Contains(events, reason) {
				return fmt.Errorf("no %s event in:\n%s", reason, events)
			}
		}
		return nil
	})
	for _, obj := range []string{"deployment/news-bot", "cronjob/news-poster", "configmap/news-config", "secret/news-token",
		"service/news", "ingress/news", "configmap/legacy-settings"} {
		// Only NotFound means deleted: any other failure of kubectl fails the test.
		if out := kubectl(t, "get", obj, "-n", ns, "--ignore-not-found", "-o", "name"); out != "" {
			t.Errorf("linked %s still there: %s", obj, out)
		}
	}
	for _, obj := range []struct{ ns, name string }{
		{ns, "configmap/sports-config"}, {ns, "configmap/archive-config"}, {ns, "configmap/shared-config"},
		{"e2e-elsewhere", "configmap/news-config"},
	} {
		kubectl(t, "get", obj.name, "-n", obj.ns) // fails the test if gone
	}

	// archive is Orphan: destroyed, nothing deleted.
	testenv.Eventually(t, func() error {
		got := jsonpath(t, ns, "ochan/archive", `{.status.phase} {.status.conditions[?(@.type=="CleanedUp")].reason}`)
		if got != "Destroyed Orphaned" {
			return fmt.Errorf("archive phase/reason %q", got)
		}
		return nil
	})
	// sports was not destroyed.
	if p := jsonpath(t, ns, "ochan/sports", "{.status.phase}"); p != "Active" {
		t.Fatalf("sports phase %q", p)
	}

	out := kubectl(t, "get", "ochan", "-n", ns)
	t.Logf("kubectl get ochan:\n%s", out)
	// An API refusal reads "... is forbidden: User ..." (a refused callback's
	// log line says result "forbidden", which is no RBAC problem).
	if strings.Contains(mgrLog.String(), "is forbidden: User") {
		t.Fatalf("the operator's RBAC refused something:\n%s", mgrLog.String())
	}
}

// Applying the install again, as an upgrade does, keeps the webhook tokens:
// the install does not own the callback Secret.
func TestReapplyingTheInstallKeepsTheTokens(t *testing.T) {
	useSuite(t)
	raw, err := os.ReadFile(installYAML)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		if strings.Contains(doc, "kind: Secret\n") && strings.Contains(doc, "name: channel-operator-callback\n") {
			t.Fatalf("the install carries the callback Secret:\n%s", doc)
		}
	}
	kubectl(t, "apply", "--server-side", "--force-conflicts", "-f", installYAML)
	kubectl(t, "apply", "-f", installYAML) // client-side, as `make deploy` does
	if got := jsonpath(t, operatorNamespace, "secret/channel-operator-callback", "{.data."+app+"}"); got == "" {
		t.Fatal("the token is gone from the callback Secret")
	}
	testenv.Eventually(t, func() error {
		status, a := postDestroyed(t, "@TOA#_e2e_after_reapply", token)
		if status != http.StatusOK || a.ActionStatus != callback.StatusOK {
			return fmt.Errorf("a signed callback after the re-apply: %d %+v", status, a)
		}
		return nil
	})
}

func TestBadCallbacksAreRefusedOverHTTP(t *testing.T) {
	useSuite(t)
	status, a := postDestroyed(t, "@TOA#_e2e_sports", "not-the-token")
	if status != http.StatusUnauthorized || a.ActionStatus != callback.StatusFail {
		t.Fatalf("forged Sign: %d %+v", status, a)
	}
	resp, err := http.Get(mgr.CallbackURL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

// The operator's metrics are served, each made by this test itself: it
// passes alone and in any order.
func TestMetricsAreExposed(t *testing.T) {
	useSuite(t)
	manifest := filepath.Join(t.TempDir(), "metrics.yaml")
	writeFile(t, manifest, `apiVersion: v1
kind: Namespace
metadata: {name: e2e-metrics}
---
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: gauge, namespace: e2e-metrics}
spec: {sdkAppID: `+app+`, officialAccountID: "@TOA#_e2e_metrics_gauge"}
---
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: counted, namespace: e2e-metrics}
spec: {sdkAppID: `+app+`, officialAccountID: "@TOA#_e2e_metrics_counted"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: counted-config, namespace: e2e-metrics, labels: {chat.channel-operator.io/official-channel: counted}}
`)
	kubectl(t, "apply", "-f", manifest)
	testenv.Eventually(t, func() error {
		if p := jsonpath(t, "e2e-metrics", "ochan/gauge", "{.status.phase}"); p != "Active" {
			return fmt.Errorf("gauge phase %q", p)
		}
		return nil
	})
	if status, a := postDestroyed(t, "@TOA#_e2e_metrics_counted", token); status != http.StatusOK {
		t.Fatalf("destroyed callback: %d %+v", status, a)
	}
	testenv.Eventually(t, func() error {
		if p := jsonpath(t, "e2e-metrics", "ochan/counted", "{.status.phase}"); p != "CleanedUp" {
			return fmt.Errorf("counted phase %q", p)
		}
		return nil
	})

	resp, err := http.Get("http://" + mgr.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	for _, metric := range []string{
		`channel_operator_callbacks_total{command="` + callback.CommandDestroyed + `",result="ok"}`,
		`channel_operator_callback_duration_seconds_bucket{command="` + callback.CommandDestroyed + `"`,
		`channel_operator_channels{phase="Active"}`,
		`channel_operator_channels_synced{status="Unknown"}`,
		`channel_operator_cleanup_deletions_total{kind="configmaps"}`,
		"channel_operator_cleanup_duration_seconds_count",
	} {
		if !strings.Contains(string(body), metric) {
			t.Errorf("/metrics lacks %s", metric)
		}
	}
}

// The alerting rules and the dashboard (hack/monitoring), and the metric
// table of docs/operations.md, read only metrics,
// and label values, that the running manager exports, and the dashboard
// reads every family of the operator's. The series that appear only with
// their cause are made here: a given UserSig, a destruction that matches no
// channel, a cleanup.
func TestMonitoringReadsWhatTheManagerExports(t *testing.T) {
	useSuite(t)
	const sigApp = int64(1400000077)
	sig, err := chatapi.MakeUserSig(sigApp, "administrator", "e2e-monitoring-key", time.Now(), 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	kubectl(t, "-n", operatorNamespace, "create", "secret", "generic", "channel-operator-chat-api",
		fmt.Sprintf("--from-literal=%d.userSig=%s", sigApp, sig))
	t.Cleanup(func() { kubectl(t, "-n", operatorNamespace, "delete", "secret", "channel-operator-chat-api") })
	if status, a := postDestroyed(t, "@TOA#_e2e_monitoring_nobody", token); status != http.StatusOK {
		t.Fatalf("unmatched destroyed callback: %d %+v", status, a)
	}
	manifest := filepath.Join(t.TempDir(), "monitoring.yaml")
	writeFile(t, manifest, `apiVersion: v1
kind: Namespace
metadata: {name: e2e-monitoring}
---
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: cleaned, namespace: e2e-monitoring}
spec: {sdkAppID: `+app+`, officialAccountID: "@TOA#_e2e_monitoring_cleaned"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cleaned-config, namespace: e2e-monitoring, labels: {chat.channel-operator.io/official-channel: cleaned}}
`)
	kubectl(t, "apply", "-f", manifest)
	waitPhase(t, "e2e-monitoring", "cleaned", "Active")
	if status, a := postDestroyed(t, "@TOA#_e2e_monitoring_cleaned", token); status != http.StatusOK {
		t.Fatalf("destroyed callback: %d %+v", status, a)
	}
	waitPhase(t, "e2e-monitoring", "cleaned", "CleanedUp")

	var families map[string][]string // family -> its series lines
	testenv.Eventually(t, func() error {
		families = scrape(t)
		for _, want := range []string{"channel_operator_chat_api_usersig_expiry_timestamp_seconds", "channel_operator_pending_destructions"} {
			if len(families[want]) == 0 {
				return fmt.Errorf("no %s yet", want)
			}
		}
		return nil
	})
	for name, labels := range monitoring.MetricsRead(monitoring.DefaultConfig) {
		lines := families[monitoring.Family(name)]
		if len(lines) == 0 {
			t.Errorf("the rules or the dashboard read %s, which the manager does not export", name)
			continue
		}
		for label, values := range labels {
			for _, v := range values {
				if !slices.ContainsFunc(lines, func(l string) bool {
					return strings.HasPrefix(l, name+"{") && strings.Contains(l, label+`="`+v+`"`)
				}) {
					t.Errorf("the rules or the dashboard read %s{%s=%q}, which the manager does not export", name, label, v)
				}
			}
		}
	}
	checkMetricTable(t, families)
	reads := monitoring.DashboardReads()
	for family := range families {
		if !strings.HasPrefix(family, "channel_operator_") {
			continue
		}
		if !slices.ContainsFunc(slices.Collect(maps.Keys(reads)), func(name string) bool { return monitoring.Family(name) == family }) {
			t.Errorf("the dashboard has no panel for %s", family)
		}
	}
}

// checkMetricTable holds the metric table of docs/operations.md to what the
// manager exports (families, from scrape): a row for every family of the
// operator's, and every row exported.
func checkMetricTable(t *testing.T, families map[string][]string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(channel_operator_[a-z_]+)`").FindAllStringSubmatch(string(raw), -1) {
		documented[m[1]] = true
	}
	for family := range families {
		if strings.HasPrefix(family, "channel_operator_") && !documented[family] {
			t.Errorf("the manager exports %s, which docs/operations.md does not list", family)
		}
	}
	for name := range documented {
		if _, ok := families[name]; !ok {
			t.Errorf("docs/operations.md lists %s, which the manager does not export", name)
		}
	}
}

// scrape reads the manager's /metrics: each family's series lines.
func scrape(t *testing.T) map[string][]string {
	t.Helper()
	resp, err := http.Get("http://" + mgr.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	families := map[string][]string{}
	family := ""
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			family, _, _ = strings.Cut(rest, " ")
			families[family] = nil
			continue
		}
		if line != "" && !strings.HasPrefix(line, "#") && family != "" {
			families[family] = append(families[family], line)
		}
	}
	return families
}

// The manager really runs as the operator's ServiceAccount, with exactly the
// RBAC config/ grants: what the operator needs, and nothing it does not.
func TestManagerRunsWithTheServiceAccountsRBAC(t *testing.T) {
	useSuite(t)
	asOperator := func(args ...string) string {
		cmd := exec.Command(env.KubectlPath(), append([]string{"--kubeconfig", operatorKubeconfig}, args...)...)
		out, _ := cmd.Output() // can-i exits 1 for "no"; warnings go to stderr
		return strings.TrimSpace(string(out))
	}
	want, _ := testenv.ServiceAccountUser(operatorNamespace, serviceAccount)
	if who := asOperator("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); who != want {
		t.Fatalf("the manager's identity is %q", who)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"delete", "deployments", "-n", "any"}, "yes"},
		{[]string{"list", "secrets", "-n", "any"}, "yes"},
		{[]string{"patch", "officialchannels/status", "-n", "any"}, "yes"},
		{[]string{"watch", "secrets/channel-operator-callback", "-n", operatorNamespace}, "yes"},
		{[]string{"create", "configmaps", "-n", operatorNamespace}, "yes"},
		// Not needed, not granted.
		{[]string{"create", "deployments", "-n", "any"}, "no"},
		{[]string{"update", "secrets", "-n", "any"}, "no"},
		{[]string{"watch", "configmaps", "-n", "any"}, "yes"}, // metadata, for the cleanup cache
		{[]string{"create", "configmaps", "-n", "any"}, "no"},
		{[]string{"delete", "namespaces"}, "no"},
		{[]string{"delete", "officialchannels", "-n", "any"}, "no"},
	} {
		if got := asOperator(append([]string{"auth", "can-i"}, tt.args...)...); got != tt.want {
			t.Errorf("can-i %v = %q, want %q", tt.args, got, tt.want)
		}
	}
}
