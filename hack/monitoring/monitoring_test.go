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
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const root = "../.."

// promtool is the pinned promtool `make test` builds (PROMTOOL), or bin/promtool.
func promtool(t *testing.T, args ...string) string {
	t.Helper()
	bin := os.Getenv("PROMTOOL")
	if bin == "" {
		bin = filepath.Join(root, "bin", "promtool")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("promtool is missing (make promtool): %v", err)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func write(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The committed PrometheusRule and dashboard are what this package makes.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range files {
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from hack/monitoring's output (%v): run make monitoring", path, err)
		}
	}
}

// promtool checks the rules, and its unit tests prove that each alert fires
// on its series, with its labels and annotations, and stays silent on the
// near miss.
func TestAlertsFireAndStaySilentInPromtool(t *testing.T) {
	dir := t.TempDir()
	rules, err := RulesFile(DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "rules.yaml", rules)
	tests, err := TestsFile(DefaultConfig, "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	testsPath := write(t, dir, "rules_test.yaml", tests)
	out := promtool(t, "check", "rules", filepath.Join(dir, "rules.yaml"))
	if want := fmt.Sprintf("SUCCESS: %d rules found", len(recordingRules)+len(Alerts(DefaultConfig))); !strings.Contains(out, want) {
		t.Fatalf("promtool check rules: %s, want %q", out, want)
	}
	out = promtool(t, "test", "rules", testsPath)
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules: %s", out)
	}
}

// Each alert is complete (severity, summary, description, runbook), fires
// and stays silent in a test, and its runbook has a section with what it
// means, how to confirm it and what to do.
func TestEveryAlertHasItsRunbook(t *testing.T) {
	runbooks, err := os.ReadFile(filepath.Join(root, "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	parts := regexp.MustCompile(`(?m)^## `).Split(string(runbooks), -1)
	for _, p := range parts[1:] {
		title, body, _ := strings.Cut(p, "\n")
		sections[strings.ToLower(strings.TrimSpace(title))] = body
	}
	seen := map[string]bool{}
	for _, a := range Alerts(DefaultConfig) {
		if seen[a.Name] {
			t.Errorf("%s: two alerts of one name", a.Name)
		}
		seen[a.Name] = true
		if a.Severity != critical && a.Severity != warning && a.Severity != info || a.Summary == "" || a.Description == "" ||
			a.For == "" || len(a.Fire) == 0 || len(a.Silent) == 0 || a.At == "" {
			t.Errorf("%s is incomplete: %+v", a.Name, a)
		}
		body, ok := sections[strings.ToLower(a.Name)]
		if !ok {
			t.Errorf("docs/runbooks.md has no section %q (runbook_url %s)", "## "+a.Name, RunbookBase+strings.ToLower(a.Name))
			continue
		}
		for _, part := range []string{"**Meaning**", "**Confirm**", "**Act**"} {
			if !strings.Contains(body, part) {
				t.Errorf("runbook %s lacks %s", a.Name, part)
			}
		}
	}
	for title := range sections {
		if !seen[findAlert(title)] {
			t.Errorf("docs/runbooks.md has a section %q for no alert", title)
		}
	}
}

func findAlert(lower string) string {
	for _, a := range Alerts(DefaultConfig) {
		if strings.ToLower(a.Name) == lower {
			return a.Name
		}
	}
	return ""
}

// The dashboard loads as JSON with its panels and variable, and every
// panel's query parses: promtool checks them as recording rules.
func TestDashboardQueriesParse(t *testing.T) {
	raw, err := Dashboard()
	if err != nil {
		t.Fatal(err)
	}
	var model struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &model); err != nil {
		t.Fatal(err)
	}
	if len(model.Panels) != len(Panels()) || len(model.Templating.List) != 1 || model.Templating.List[0].Name != "datasource" {
		t.Fatalf("dashboard: %d panels, templating %+v", len(model.Panels), model.Templating)
	}
	var rules []Rule
	for i, p := range model.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for j, target := range p.Targets {
			rules = append(rules, Rule{Record: fmt.Sprintf("dashboard:panel_%d_%d", i, j), Expr: target.Expr})
		}
	}
	out, err := yaml.Marshal(map[string]any{"groups": []Group{{Name: "dashboard", Rules: rules}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := promtool(t, "check", "rules", write(t, t.TempDir(), "panels.yaml", out)); !strings.Contains(got, "SUCCESS") {
		t.Fatalf("promtool: %s", got)
	}
}

// The reads a scrape is checked against (test/e2e) are found in the
// expressions: the label values of a regular expression each count.
func TestMetricsReadFindsNamesAndLabelValues(t *testing.T) {
	read := MetricsRead(DefaultConfig)
	if got := read["channel_operator_callbacks_total"]["result"]; strings.Join(got, ",") !=
		"failed,forbidden,not_ready,overloaded,unauthorized" {
		t.Errorf("callbacks_total results read: %v", got)
	}
	for _, name := range []string{"channel_operator_callback_duration_seconds_bucket", "channel_operator_cleanup_duration_seconds_count",
		"leader_election_master_status", "controller_runtime_reconcile_errors_total", "channel_operator_pending_destructions_limit"} {
		if _, ok := read[name]; !ok {
			t.Errorf("%s is read but not found", name)
		}
	}
	if Family("channel_operator_callback_duration_seconds_bucket") != "channel_operator_callback_duration_seconds" ||
		Family("channel_operator_channels") != "channel_operator_channels" {
		t.Error("Family")
	}
}
