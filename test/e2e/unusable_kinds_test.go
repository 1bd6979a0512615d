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
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/channel-operator/channel-operator/test/managerproc"
	"github.com/channel-operator/channel-operator/test/testenv"
)

const unusableKindsObjects = `apiVersion: v1
kind: Namespace
metadata: {name: e2e-unusable}
---
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: news, namespace: e2e-unusable}
spec: {sdkAppID: 1400000001, officialAccountID: "@TOA#_e2e_unusable"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: news-config, namespace: e2e-unusable, labels: {chat.channel-operator.io/official-channel: news}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: news-role, namespace: e2e-unusable, labels: {chat.channel-operator.io/official-channel: news}}
rules: []
`

// The grant an operator admin adds once they see the kind reported.
const rolesGrant = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-operator-roles}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [get, list, watch, delete]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-operator-roles}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-operator-roles}
subjects:
- {kind: ServiceAccount, name: channel-operator-controller-manager, namespace: channel-operator-system}
`

// A --cleanup-kinds kind the operator's ServiceAccount may not list or watch
// (Roles: config/ grants nothing on them) is reported and skipped: the other
// kinds are cleaned up, the manager stays up past its cache-sync timeout
// (--cache-sync-timeout, set low here), and the channel stays CleaningUp,
// saying why.
// Once the grant is added, the kind is picked up without a restart.
func TestUnusableCleanupKindIsReportedAndPickedUpLater(t *testing.T) {
	useSuite(t)
	const cacheSyncTimeout = 6 * time.Second
	stopSuiteManager(t)
	m, out := startTestManager(t, "unusable-kinds manager", operatorKubeconfig, operatorNamespace,
		"--leader-elect", "--cleanup-kinds=configmaps,roles.rbac.authorization.k8s.io", "--cleanup-kinds-recheck-interval=1s",
		"--cache-sync-timeout="+cacheSyncTimeout.String())
	manifest := filepath.Join(t.TempDir(), "unusable.yaml")
	writeFile(t, manifest, unusableKindsObjects)
	kubectl(t, "apply", "-f", manifest)
	t.Cleanup(func() { deleteChannels(t, "e2e-unusable/news") })
	grant := filepath.Join(t.TempDir(), "grant.yaml")
	writeFile(t, grant, rolesGrant)
	t.Cleanup(func() {
		// Not t.Context(): it is done before the cleanups run.
		if out, err := env.Kubectl(context.Background(), "delete", "-f", grant, "--ignore-not-found"); err != nil {
			t.Errorf("deleting the grant: %v\n%s", err, out)
		}
	})

	waitPhase(t, "e2e-unusable", "news", "Active")
	if status, a := postDestroyedAt(t, m.CallbackURL, testenv.DemoApp, "@TOA#_e2e_unusable", token); status != http.StatusOK {
		t.Fatalf("destroyed callback: %d %+v", status, a)
	}
	const reason = "roles.rbac.authorization.k8s.io: RBAC does not allow list cluster-wide"
	testenv.Eventually(t, func() error {
		got := jsonpath(t, "e2e-unusable", "ochan/news", `{.status.phase} {.status.conditions[?(@.type=="CleanedUp")].reason}`)
		if got != "CleaningUp CleanupFailed" {
			return fmt.Errorf("phase/reason %q", got)
		}
		if msg := jsonpath(t, "e2e-unusable", "ochan/news", "{.status.cleanup.message}"); !strings.Contains(msg, reason) {
			return fmt.Errorf("message %q does not say why the Roles wait", msg)
		}
		return nil
	})
	if out := kubectl(t, "get", "configmap/news-config", "-n", "e2e-unusable", "--ignore-not-found", "-o", "name"); out != "" {
		t.Fatalf("the usable kind was not cleaned up: %s", out)
	}
	if got := metricLine(t, m.MetricsAddr, `channel_operator_cleanup_kind_usable{kind="roles.rbac.authorization.k8s.io"}`); got != "0" {
		t.Fatalf("usable metric of the refused kind = %q, want 0", got)
	}

	// Past the cache-sync timeout (counted from now: the controllers have
	// started, the cleanup ran), the manager still runs and is ready.
	time.Sleep(cacheSyncTimeout + 4*time.Second)
	select {
	case <-m.Exited():
		t.Fatalf("the manager exited:\n%s", out.String())
	default:
	}
	resp, err := http.Get("http://" + m.ProbeAddr + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz after the cache-sync timeout: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	if kubectl(t, "get", "role/news-role", "-n", "e2e-unusable", "-o", "name") == "" {
		t.Fatal("the Role went while the operator may not delete it")
	}

	kubectl(t, "apply", "-f", grant)
	waitCleanedUp(t, "e2e-unusable", "news")
	if out := kubectl(t, "get", "role/news-role", "-n", "e2e-unusable", "--ignore-not-found", "-o", "name"); out != "" {
		t.Fatalf("the Role was not deleted once granted: %s", out)
	}
	if got := metricLine(t, m.MetricsAddr, `channel_operator_cleanup_kind_usable{kind="roles.rbac.authorization.k8s.io"}`); got != "1" {
		t.Fatalf("usable metric after the grant = %q, want 1", got)
	}
}

// startTestManager runs another bin/manager for the test (as the identity of
// kubeconfig, in namespace), stopped when the test ends; its output goes to
// the returned buffer and, prefixed with name, to standard error.
func startTestManager(t *testing.T, name, kubeconfig, namespace string, args ...string) (*managerproc.Process, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	m, err := managerproc.Start(t.Context(), managerproc.Options{
		Binary:     testenv.ManagerBinary(),
		Kubeconfig: kubeconfig,
		Namespace:  namespace,
		Args:       args,
		Output:     io.MultiWriter(out, prefixed(os.Stderr, name+": ")),
	})
	if err != nil {
		t.Fatalf("starting the %s: %v\n%s", name, err, out.String())
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("the %s did not exit cleanly: %v", name, err)
		}
	})
	return m, out
}

// metricLine returns the value of the series named by prefix on the
// manager's /metrics, "" when absent.
func metricLine(t *testing.T, addr, series string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}
