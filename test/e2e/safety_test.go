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
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/channel-operator/channel-operator/internal/safety"
	"github.com/channel-operator/channel-operator/test/managerproc"
	"github.com/channel-operator/channel-operator/test/testenv"
)

const safetyNamespace = "e2e-safety"

// safetyObjects are three channels, each with a labelled ConfigMap; the
// first also has a protected Secret. A user may edit the channels there
// with the project's editor role, and nothing else.
var safetyObjects = func() string {
	var b strings.Builder
	b.WriteString(`apiVersion: v1
kind: Namespace
metadata: {name: e2e-safety}
---
apiVersion: v1
kind: Secret
metadata:
  name: first-database
  namespace: e2e-safety
  labels: {chat.channel-operator.io/official-channel: first}
  annotations: {chat.channel-operator.io/protect: "true"}
stringData: {password: kept}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: channel-editor, namespace: e2e-safety}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: channel-operator-officialchannel-editor-role}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: e2e-safety-editor}]
`)
	for _, name := range []string{"first", "second", "third"} {
		fmt.Fprintf(&b, `---
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: %[1]s, namespace: e2e-safety}
spec: {sdkAppID: %[2]d, officialAccountID: "@TOA#_e2e_safety_%[1]s"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s-config
  namespace: e2e-safety
  labels: {chat.channel-operator.io/official-channel: %[1]s}
data: {k: v}
`, name, testenv.DemoApp)
	}
	return b.String()
}()

// startKillable starts a manager with the flags given (and
// --leader-elect), as the service account, killed (SIGKILL) when the test
// ends if not before.
func startKillable(t *testing.T, name string, args ...string) *managerproc.Process {
	t.Helper()
	m, err := managerproc.Start(t.Context(), managerproc.Options{Binary: testenv.ManagerBinary(), Kubeconfig: operatorKubeconfig,
		Namespace: operatorNamespace, Args: slices.Concat([]string{"--leader-elect"}, managerproc.QuickLease, args),
		Output: prefixed(os.Stderr, name+": ")})
	if err != nil {
		t.Fatalf("starting the %s: %v", name, err)
	}
	t.Cleanup(m.Kill)
	return m
}

// cleanedUpReason is the channel's phase and CleanedUp reason.
func cleanedUpReason(t *testing.T, name string) string {
	return jsonpath(t, safetyNamespace, "ochan/"+name, `{.status.phase} {.status.conditions[?(@.type=="CleanedUp")].reason}`)
}

func waitReason(t *testing.T, name, want string) {
	t.Helper()
	testenv.Eventually(t, func() error {
		if got := cleanedUpReason(t, name); got != want {
			return fmt.Errorf("%s: phase and CleanedUp reason %q, want %q", name, got, want)
		}
		return nil
	})
}

func configMapExists(t *testing.T, name string) bool {
	out := kubectl(t, "get", "configmap/"+name+"-config", "-n", safetyNamespace, "--ignore-not-found", "-o", "name")
	return strings.TrimSpace(out) != ""
}

// The guards as deployed: --dry-run plans and deletes nothing; restarted
// without it, the operator runs those cleanups through the deletion budget,
// oldest first; the budget lives in the cluster, so neither a SIGKILL nor a
// new leader forgets it; a tenant with the editor role approves the held
// one with kubectl; a protected object survives a cleanup that finishes.
func TestDeletionSafetyAcrossRestarts(t *testing.T) {
	useSuite(t)
	stopSuiteManager(t)
	// A window of its own: the cleanups of other tests' managers (those
	// with the default budget) count in the one the cluster keeps.
	forgetBudget := func() {
		// Not t.Context(): it is done before the cleanups run.
		if out, err := env.Kubectl(context.Background(), "delete", "configmap", safety.BudgetConfigMap, "-n", operatorNamespace,
			"--ignore-not-found"); err != nil {
			t.Errorf("deleting the budget's ConfigMap: %v\n%s", err, out)
		}
	}
	forgetBudget()
	manifest := filepath.Join(t.TempDir(), "safety.yaml")
	writeFile(t, manifest, safetyObjects)
	kubectl(t, "apply", "-f", manifest)
	t.Cleanup(func() {
		deleteChannels(t, safetyNamespace+"/first", safetyNamespace+"/second", safetyNamespace+"/third")
		forgetBudget()
	})
	const budget = "--cleanup-budget=2/1h"

	audit, _ := startTestManager(t, "dry-run manager", operatorKubeconfig, operatorNamespace, "--leader-elect", budget, "--dry-run")
	for _, name := range []string{"first", "second", "third"} {
		waitPhase(t, safetyNamespace, name, "Active")
		if status, a := postDestroyedAt(t, audit.CallbackURL, testenv.DemoApp, "@TOA#_e2e_safety_"+name, token); status != http.StatusOK {
			t.Fatalf("destroyed callback for %s: %d %+v", name, status, a)
		}
		waitReason(t, name, "Destroyed DryRun")
	}
	if got := jsonpath(t, safetyNamespace, "ochan/first", "{.status.inventory.count}"); got != "2" {
		t.Errorf("the first channel's plan counts %q objects, want 2 (its ConfigMap and its protected Secret)", got)
	}
	events := kubectl(t, "get", "events", "-n", safetyNamespace, "--field-selector", "reason=CleanupPlanned", "-o", "name")
	if n := len(strings.Fields(events)); n != 3 {
		t.Errorf("%d CleanupPlanned Events, want 3:\n%s", n, events)
	}
	for _, name := range []string{"first", "second", "third"} {
		if !configMapExists(t, name) {
			t.Fatalf("--dry-run deleted the ConfigMap of %s", name)
		}
	}
	if err := audit.Stop(); err != nil {
		t.Fatal(err)
	}

	// Without --dry-run: two start, the third waits for the budget.
	enforcing := startKillable(t, "enforcing manager", budget)
	waitCleanedUp(t, safetyNamespace, "first")
	waitCleanedUp(t, safetyNamespace, "second")
	waitReason(t, "third", "Destroyed BudgetExceeded")
	if !configMapExists(t, "third") {
		t.Fatal("the cleanup beyond the budget deleted the third ConfigMap")
	}
	if out := kubectl(t, "get", "secret/first-database", "-n", safetyNamespace, "--ignore-not-found", "-o", "name"); out == "" {
		t.Fatal("the protected Secret was deleted")
	}
	if got := jsonpath(t, safetyNamespace, "ochan/first", "{.status.cleanup.protected}"); got != "1" {
		t.Errorf("status.cleanup.protected = %q, want 1", got)
	}
	testenv.Eventually(t, func() error {
		if got := metricLine(t, enforcing.MetricsAddr, `channel_operator_cleanups_held{reason="BudgetExceeded"}`); got != "1" {
			return fmt.Errorf("channel_operator_cleanups_held{reason=BudgetExceeded} = %q, want 1", got)
		}
		return nil
	})

	// SIGKILL, then two replicas: whichever leads remembers the window.
	enforcing.Kill()
	replicas := map[string]*managerproc.Process{"a": startKillable(t, "replica a", budget), "b": startKillable(t, "replica b", budget)}
	leader := func() string {
		for name, m := range replicas {
			if metricLine(t, m.MetricsAddr, `leader_election_master_status{name="channel-operator.chat.channel-operator.io"}`) == "1" {
				return name
			}
		}
		return ""
	}
	testenv.EventuallyWithin(t, time.Minute, func() error {
		if leader() == "" {
			return fmt.Errorf("no replica leads yet")
		}
		return nil
	})
	first := leader()
	time.Sleep(3 * time.Second) // a leader that forgot the window would start the cleanup by now
	waitReason(t, "third", "Destroyed BudgetExceeded")
	replicas[first].Kill()
	delete(replicas, first)
	testenv.EventuallyWithin(t, time.Minute, func() error {
		if l := leader(); l == "" || l == first {
			return fmt.Errorf("no new leader yet")
		}
		return nil
	})
	time.Sleep(3 * time.Second)
	waitReason(t, "third", "Destroyed BudgetExceeded")
	if !configMapExists(t, "third") {
		t.Fatal("a new leader started the cleanup beyond the budget")
	}

	// The tenant approves it with kubectl.
	kubeconfig := filepath.Join(t.TempDir(), "editor-kubeconfig")
	if err := env.WriteImpersonatingKubeconfig(kubeconfig, "e2e-safety-editor", []string{"system:authenticated"}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(env.KubectlPath(), "--kubeconfig", kubeconfig, "annotate", "ochan/third", "-n", safetyNamespace,
		"chat.channel-operator.io/approve-cleanup=true")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("the tenant's approval: %v\n%s", err, out.String())
	}
	waitCleanedUp(t, safetyNamespace, "third")
	if configMapExists(t, "third") {
		t.Fatal("the approved cleanup left the third ConfigMap")
	}
}

const haltObjects = `apiVersion: v1
kind: Namespace
metadata: {name: e2e-halt}
---
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: halt, namespace: e2e-halt}
spec: {sdkAppID: 1400000001, officialAccountID: "@TOA#_e2e_halt"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: halt-held
  namespace: e2e-halt
  labels: {chat.channel-operator.io/official-channel: halt}
  finalizers: [example.com/hold]
`

// Restarted with --dry-run, the operator deletes nothing more, not even for
// a cleanup under way: an emergency stop.
func TestDryRunStopsACleanupUnderWay(t *testing.T) {
	useSuite(t)
	stopSuiteManager(t)
	manifest := filepath.Join(t.TempDir(), "halt.yaml")
	writeFile(t, manifest, haltObjects)
	kubectl(t, "apply", "-f", manifest)
	t.Cleanup(func() {
		_, _ = env.Kubectl(context.Background(), "patch", "configmap", "halt-held", "-n", "e2e-halt", "--type=merge",
			"-p", `{"metadata":{"finalizers":null}}`)
		deleteChannels(t, "e2e-halt/halt")
	})

	enforcing := startKillable(t, "enforcing manager", "--cleanup-budget=0")
	waitPhase(t, "e2e-halt", "halt", "Active")
	if status, a := postDestroyedAt(t, enforcing.CallbackURL, testenv.DemoApp, "@TOA#_e2e_halt", token); status != http.StatusOK {
		t.Fatalf("destroyed callback: %d %+v", status, a)
	}
	waitPhase(t, "e2e-halt", "halt", "CleaningUp")
	enforcing.Kill()

	startKillable(t, "dry-run manager", "--cleanup-budget=0", "--dry-run")
	kubectl(t, "create", "configmap", "halt-late", "-n", "e2e-halt")
	kubectl(t, "label", "configmap", "halt-late", "-n", "e2e-halt", "chat.channel-operator.io/official-channel=halt")
	kubectl(t, "patch", "configmap", "halt-held", "-n", "e2e-halt", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	testenv.Eventually(t, func() error {
		got := jsonpath(t, "e2e-halt", "ochan/halt", `{.status.phase} {.status.conditions[?(@.type=="CleanedUp")].reason}`)
		if got != "CleaningUp DryRun" {
			return fmt.Errorf("phase and CleanedUp reason %q, want CleaningUp DryRun", got)
		}
		return nil
	})
	time.Sleep(2 * time.Second) // a pass would have run by now
	if out := kubectl(t, "get", "configmap/halt-late", "-n", "e2e-halt", "--ignore-not-found", "-o", "name"); out == "" {
		t.Fatal("a cleanup under way deleted an object after the restart with --dry-run")
	}
}

// A malformed deletion budget stops the manager at start-up, naming the flag.
func TestAMalformedBudgetStopsTheManager(t *testing.T) {
	useSuite(t)
	for _, budget := range []string{"20", "20/", "0/10m", "-1/10m", "20/soon"} {
		cmd := exec.Command(testenv.ManagerBinary(), "--kubeconfig", operatorKubeconfig, "--cleanup-budget="+budget)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--cleanup-budget") {
			t.Errorf("--cleanup-budget=%s: err %v, output %q; want an exit naming the flag", budget, err, out)
		}
	}
}
