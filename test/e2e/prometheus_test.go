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
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/channel-operator/channel-operator/test/testenv"
)

// buildWithMonitoring renders config/default with ../prometheus uncommented,
// as the README tells users to enable monitoring.
func buildWithMonitoring(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	root := testenv.RepoRoot()
	raw, err := os.ReadFile(filepath.Join(root, "config", "default", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	enabled := strings.Replace(string(raw), "\n#- ../prometheus\n", "\n- ../prometheus\n", 1)
	if enabled == string(raw) {
		t.Fatal("config/default/kustomization.yaml has no commented-out ../prometheus to enable")
	}
	// A sibling of config/default, so that its relative paths hold.
	dir, err := os.MkdirTemp(filepath.Join(root, "config"), ".e2e-monitoring-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	entries, err := os.ReadDir(filepath.Join(root, "config", "default"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		content, err := os.ReadFile(filepath.Join(root, "config", "default", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "kustomization.yaml" {
			content = []byte(enabled)
		}
		writeFile(t, filepath.Join(dir, e.Name()), string(content))
	}
	_, objs := kustomizeBuild(t, dir)
	return objs
}

// The ServiceMonitor scrapes as a ServiceAccount of its own, through a token
// Secret the install carries (not the deprecated bearerTokenFile), and that
// token is what the manager's authenticated metrics endpoint lets in: with
// it 200, without a token 401, with another ServiceAccount's 403.
func TestPrometheusScrapesWithTheServiceMonitorsToken(t *testing.T) {
	useSuite(t)
	objs := buildWithMonitoring(t)
	monitor := findKind(t, objs, "ServiceMonitor")
	endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
	if len(endpoints) != 1 {
		t.Fatalf("ServiceMonitor endpoints: %v", endpoints)
	}
	endpoint := endpoints[0].(map[string]any)
	if _, ok := endpoint["bearerTokenFile"]; ok {
		t.Error("the ServiceMonitor uses the deprecated bearerTokenFile")
	}
	secretName, _, _ := unstructured.NestedString(endpoint, "authorization", "credentials", "name")
	key, _, _ := unstructured.NestedString(endpoint, "authorization", "credentials", "key")
	secret := find(objs, "Secret", operatorNamespace, secretName)
	if secret == nil || key != "token" {
		t.Fatalf("the ServiceMonitor's credentials %q/%q name no Secret of the install", secretName, key)
	}
	if typ, _, _ := unstructured.NestedString(secret.Object, "type"); typ != string(corev1.SecretTypeServiceAccountToken) {
		t.Fatalf("Secret %s has type %q", secretName, typ)
	}
	scraper := secret.GetAnnotations()[corev1.ServiceAccountNameKey]
	if find(objs, "ServiceAccount", operatorNamespace, scraper) == nil {
		t.Fatalf("Secret %s is the token of %q, which the install does not create", secretName, scraper)
	}

	// What the install adds for the scraper, applied (the Prometheus
	// Operator's own kinds are not served here).
	manifest := filepath.Join(t.TempDir(), "scraper.json")
	var scraperObjs []any
	for _, o := range objs {
		if o.GetKind() == "ServiceAccount" && o.GetName() == scraper || o.GetKind() == "Secret" && o.GetName() == secretName ||
			o.GetKind() == "ClusterRoleBinding" && bindsServiceAccount(o, scraper) {
			scraperObjs = append(scraperObjs, o.Object)
		}
	}
	if len(scraperObjs) != 3 {
		t.Fatalf("want the scraper's ServiceAccount, token Secret and ClusterRoleBinding, got %d objects", len(scraperObjs))
	}
	list, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": scraperObjs})
	writeFile(t, manifest, string(list))
	kubectl(t, "apply", "-f", manifest)
	t.Cleanup(func() { _, _ = env.Kubectl(context.Background(), "delete", "-f", manifest, "--wait=false") })
	env.StartControllerManager(t) // its token controller fills the Secret in

	var tok string
	testenv.Eventually(t, func() error {
		var s corev1.Secret
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: operatorNamespace, Name: secretName}, &s); err != nil {
			return err
		}
		if tok = string(s.Data["token"]); tok == "" {
			return fmt.Errorf("no token in Secret %s yet", secretName)
		}
		return nil
	})
	kubectl(t, "-n", operatorNamespace, "create", "serviceaccount", "e2e-not-a-scraper")
	t.Cleanup(func() {
		_, _ = env.Kubectl(context.Background(), "-n", operatorNamespace, "delete", "serviceaccount", "e2e-not-a-scraper")
	})
	other := strings.TrimSpace(kubectl(t, "-n", operatorNamespace, "create", "token", "e2e-not-a-scraper"))

	// A replica serving metrics as the install does: over HTTPS, behind
	// authentication and authorization.
	m, _ := startTestManager(t, "secure-metrics manager", operatorKubeconfig, operatorNamespace,
		"--leader-elect", "--cleanup-budget=0", "--metrics-secure=true")
	scrape := func(bearer string) (int, string, error) {
		return testenv.ScrapeMetrics("https://"+m.MetricsAddr+"/metrics", bearer)
	}
	// The HTTPS metrics server listens once it has made its self-signed
	// certificate, which can come after readiness on a loaded machine.
	testenv.Eventually(t, func() error {
		status, body, err := scrape(tok)
		if err != nil || status != http.StatusOK || !strings.Contains(body, "channel_operator_build_info") {
			return fmt.Errorf("with the ServiceMonitor's token: %d %v\n%.300s", status, err, body)
		}
		return nil
	})
	if status, _, err := scrape(""); err != nil || status != http.StatusUnauthorized {
		t.Errorf("without a token: %d %v, want 401", status, err)
	}
	if status, _, err := scrape(other); err != nil || status != http.StatusForbidden {
		t.Errorf("with a ServiceAccount's token that may not read metrics: %d %v, want 403", status, err)
	}
}

func findKind(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind {
			return o
		}
	}
	t.Fatalf("no %s in the install", kind)
	return nil
}

// bindsServiceAccount reports whether a ClusterRoleBinding binds the
// metrics-reader ClusterRole to the operator namespace's ServiceAccount sa.
func bindsServiceAccount(crb *unstructured.Unstructured, sa string) bool {
	role, _, _ := unstructured.NestedString(crb.Object, "roleRef", "name")
	subjects, _, _ := unstructured.NestedSlice(crb.Object, "subjects")
	for _, s := range subjects {
		s := s.(map[string]any)
		if s["kind"] == "ServiceAccount" && s["name"] == sa && s["namespace"] == operatorNamespace &&
			role == "channel-operator-metrics-reader" {
			return true
		}
	}
	return false
}

// configPath matches a file of the repository's config/ that a manifest's
// comment names.
var configPath = regexp.MustCompile(`config/[A-Za-z0-9_./-]+\.(?:yaml|json)`)

// Every file a manifest's comment points users to exists (the ServiceMonitor
// once named a TLS patch that never did).
func TestTheManifestsNameOnlyFilesThatExist(t *testing.T) {
	useSuite(t)
	root := testenv.RepoRoot()
	err := filepath.WalkDir(filepath.Join(root, "config"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") { // another test's scratch copy
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, named := range configPath.FindAllString(string(raw), -1) {
			if _, err := os.Stat(filepath.Join(root, named)); err != nil {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s names %s, which does not exist", rel, named)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
