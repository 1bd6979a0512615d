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
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/internal/cleanup"
	"github.com/channel-operator/channel-operator/internal/receiver"
	"github.com/channel-operator/channel-operator/test/managerproc"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// The confined install (config/namespaced) as the tests retarget it: the
// operator's own namespace, one watched namespace, one it must leave alone,
// and an app (with its token) that only the confined manager's callback
// Secret has.
const (
	confinedSystem = "e2e-confined-system"
	watchedNS      = "e2e-watched"
	unwatchedNS    = "e2e-unwatched"
	confinedApp    = int64(1400000077)
	confinedToken  = "e2e-confined-token"

	watchedRole        = "channel-operator-watched-namespace-role"
	watchedRoleBinding = "channel-operator-watched-namespace-rolebinding"
	managerRole        = "channel-operator-manager-role"
)

// buildNamespaced builds config/namespaced, writes it to a file and returns
// the file and its objects.
func buildNamespaced(t *testing.T) (string, []*unstructured.Unstructured) {
	t.Helper()
	return kustomizeBuild(t, filepath.Join(testenv.RepoRoot(), "config", "namespaced"))
}

// kustomizeBuild builds the kustomization in dir, writes it to a file and
// returns the file and its objects.
func kustomizeBuild(t *testing.T, dir string) (string, []*unstructured.Unstructured) {
	t.Helper()
	out, err := exec.Command(kustomizePath(), "build", dir).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			err = fmt.Errorf("%w: %s", err, exit.Stderr)
		}
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	path := filepath.Join(t.TempDir(), "install.yaml")
	writeFile(t, path, string(out))
	return path, decodeAll(t, out)
}

func decodeAll(t *testing.T, raw []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("decoding YAML: %v", err)
		}
		if m != nil {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

func find(objs []*unstructured.Unstructured, kind, namespace, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetNamespace() == namespace && o.GetName() == name {
			return o
		}
	}
	return nil
}

func createNamespaces(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := env.Client.Create(t.Context(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

// config/namespaced builds, passes a server-side dry run, and is what it
// says: no cluster-wide manager-role nor its binding; in each namespace of
// --watch-namespaces (and only there) a Role with exactly the rules of the
// generated ClusterRole, bound to the manager's ServiceAccount.
func TestNamespacedOverlayConfinesTheManagersRBAC(t *testing.T) {
	useSuite(t)
	path, objs := buildNamespaced(t)

	roles, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	generated := find(decodeAll(t, roles), "ClusterRole", "", "manager-role")
	if generated == nil {
		t.Fatal("config/rbac/role.yaml has no ClusterRole manager-role")
	}
	if find(objs, "ClusterRole", "", managerRole) != nil {
		t.Error("the overlay still installs the ClusterRole " + managerRole)
	}
	var roleNamespaces, bindingNamespaces []string
	for _, o := range objs {
		switch {
		case o.GetKind() == "ClusterRoleBinding":
			if ref, _, _ := unstructured.NestedString(o.Object, "roleRef", "name"); ref == managerRole {
				t.Errorf("ClusterRoleBinding %s still grants %s", o.GetName(), managerRole)
			}
		case o.GetKind() == "Role" && o.GetName() == watchedRole:
			roleNamespaces = append(roleNamespaces, o.GetNamespace())
			if !equality.Semantic.DeepEqual(o.Object["rules"], generated.Object["rules"]) {
				t.Errorf("Role %s/%s rules differ from the generated manager-role's:\n%v", o.GetNamespace(), o.GetName(), o.Object["rules"])
			}
		case o.GetKind() == "RoleBinding" && o.GetName() == watchedRoleBinding:
			bindingNamespaces = append(bindingNamespaces, o.GetNamespace())
			ref, _, _ := unstructured.NestedString(o.Object, "roleRef", "name")
			subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			want := []any{map[string]any{"kind": "ServiceAccount", "name": serviceAccount, "namespace": operatorNamespace}}
			if ref != watchedRole || !equality.Semantic.DeepEqual(subjects, want) {
				t.Errorf("RoleBinding %s/%s binds %s to %v", o.GetNamespace(), o.GetName(), ref, subjects)
			}
		}
	}
	// Without the cluster-wide rights, the operator namespace's Role is the
	// only grant on the callback Secret: it must name it.
	if own := find(objs, "Role", operatorNamespace, managerRole); own == nil || !grantsCallbackSecret(own) {
		t.Errorf("the Role %s/%s does not grant get, list, watch on the Secret %s:\n%v",
			operatorNamespace, managerRole, receiver.DefaultSecretName, own)
	}
	deployment := find(objs, "Deployment", operatorNamespace, "channel-operator-controller-manager")
	if deployment == nil {
		t.Fatal("no manager Deployment")
	}
	containers, _, _ := unstructured.NestedSlice(deployment.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	var flags []string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--watch-namespaces="); ok {
			flags = append(flags, v)
		}
	}
	if len(flags) != 1 {
		t.Fatalf("manager args %q: want one --watch-namespaces", args)
	}
	watched, err := cleanup.ParseWatchNamespaces(flags[0])
	if err != nil || len(watched) == 0 {
		t.Fatalf("--watch-namespaces=%s: %v", flags[0], err)
	}
	for _, got := range [][]string{roleNamespaces, bindingNamespaces} {
		if slices.Sort(got); !slices.Equal(got, slices.Sorted(slices.Values(watched))) {
			t.Errorf("Roles/RoleBindings in %q, --watch-namespaces=%s: they must be the same namespaces", got, flags[0])
		}
	}

	// The namespaces must exist for the namespaced objects' dry run.
	createNamespaces(t, watched...)
	if out, err := env.Kubectl(t.Context(), "apply", "--dry-run=server", "-f", path); err != nil {
		t.Fatalf("server-side dry run of config/namespaced: %v\n%s", err, out)
	}
}

// grantsCallbackSecret reports whether role lets the manager read and watch
// the callback Secret.
func grantsCallbackSecret(role *unstructured.Unstructured) bool {
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		resources, _, _ := unstructured.NestedStringSlice(rule, "resources")
		names, _, _ := unstructured.NestedStringSlice(rule, "resourceNames")
		verbs, _, _ := unstructured.NestedStringSlice(rule, "verbs")
		if slices.Contains(resources, "secrets") && slices.Contains(names, receiver.DefaultSecretName) &&
			slices.Contains(verbs, "get") && slices.Contains(verbs, "list") && slices.Contains(verbs, "watch") {
			return true
		}
	}
	return false
}

// confinedRBAC is the manager's RBAC from config/namespaced, retargeted as
// if installed with confinedSystem as the operator's namespace and watchedNS
// as its one watched namespace: the Roles and RoleBindings of the operator's
// namespace (leases, pending records, the callback Secret) and those of the
// first watched namespace, their rules and role references unchanged. The
// cluster-wide bindings are left out: the overlay binds nothing cluster-wide
// but the metrics authentication, which a manager serving plain-HTTP metrics
// does not use.
func confinedRBAC(t *testing.T, objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	first := ""
	for _, o := range objs {
		if o.GetKind() != "Role" && o.GetKind() != "RoleBinding" {
			continue
		}
		switch ns := o.GetNamespace(); {
		case ns == operatorNamespace:
			o.SetNamespace(confinedSystem)
		case o.GetName() == watchedRole || o.GetName() == watchedRoleBinding:
			if first == "" {
				first = ns
			}
			if ns != first {
				continue
			}
			o.SetNamespace(watchedNS)
		default:
			t.Fatalf("config/namespaced has an unexpected %s %s/%s", o.GetKind(), ns, o.GetName())
		}
		if o.GetKind() == "RoleBinding" {
			subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			for _, s := range subjects {
				if s := s.(map[string]any); s["namespace"] == operatorNamespace {
					s["namespace"] = confinedSystem
				}
			}
			if err := unstructured.SetNestedSlice(o.Object, subjects, "subjects"); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, o)
	}
	if len(out) != 6 {
		t.Fatalf("config/namespaced: %d Roles and RoleBindings for the operator's and one watched namespace, want 6 "+
			"(leader election, pending records and callback Secret, the watched namespace)", len(out))
	}
	return out
}

// confinedObjects: in the watched namespace a channel of the confined app
// with a labelled ConfigMap, Secret and PVC; in the unwatched namespace a
// channel of the same account with the same objects, and a channel of an
// account that has no channel in the watched namespace.
var confinedObjects = `
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: news, namespace: e2e-watched}
spec: {sdkAppID: 1400000077, officialAccountID: "@TOA#_e2e_confined"}
---
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: news, namespace: e2e-unwatched}
spec: {sdkAppID: 1400000077, officialAccountID: "@TOA#_e2e_confined"}
---
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: weather, namespace: e2e-unwatched}
spec: {sdkAppID: 1400000077, officialAccountID: "@TOA#_e2e_confined_later"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: weather-config, namespace: e2e-unwatched, labels: {chat.channel-operator.io/official-channel: weather}}
data: {k: v}
` + linkedObjectsOfNews("e2e-watched") + linkedObjectsOfNews("e2e-unwatched")

// laterObjects: a channel in the watched namespace for the account whose
// destruction came before any watched channel had it.
const laterObjects = `
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: weather, namespace: e2e-watched}
spec: {sdkAppID: 1400000077, officialAccountID: "@TOA#_e2e_confined_later"}
`

func linkedObjectsOfNews(ns string) string {
	return strings.ReplaceAll(`---
apiVersion: v1
kind: ConfigMap
metadata: {name: news-config, namespace: NS, labels: {chat.channel-operator.io/official-channel: news}}
data: {k: v}
---
apiVersion: v1
kind: Secret
metadata: {name: news-token, namespace: NS, labels: {chat.channel-operator.io/official-channel: news}}
stringData: {token: not-real}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: news-data, namespace: NS, labels: {chat.channel-operator.io/official-channel: news}}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`, "NS", ns)
}

var newsObjects = []string{"configmap/news-config", "secret/news-token", "pvc/news-data"}

// A second manager runs as a ServiceAccount that has only the RBAC of
// config/namespaced, for one namespace, with --watch-namespaces set to it and
// its own namespace (leases, pending records, callback Secret) outside the
// list. Destroyed callbacks go only to it, for an app only its callback
// Secret has. It cleans up the watched channel, keeps an unmatched
// destruction in its own namespace and hands it to a watched channel created
// later; a channel of the same account in another namespace is not written
// and its labelled objects stay; and it stays ready, though it may not list
// anything cluster-wide.
//
// The suite's manager is stopped meanwhile: it watches every namespace and,
// a destruction being a fact about the account, would rightly give the
// watched channel's destruction to its sibling in the other namespace, which
// would hide whether the confined manager leaves it alone.
func TestConfinedManagerCleansUpOnlyItsNamespaces(t *testing.T) {
	useSuite(t)
	ctx := t.Context()
	_, objs := buildNamespaced(t)
	rbac := confinedRBAC(t, objs)

	stopSuiteManager(t)

	// The confined install: namespaces, RBAC, and the callback Secret of
	// its own namespace, with an app the suite's manager does not know.
	createNamespaces(t, watchedNS, unwatchedNS)
	if err := managerproc.Prepare(ctx, env.Client, confinedSystem,
		map[string]string{strconv.FormatInt(confinedApp, 10): confinedToken}); err != nil {
		t.Fatal(err)
	}
	for _, o := range rbac {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatalf("creating %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	user, groups := testenv.ServiceAccountUser(confinedSystem, serviceAccount)
	kubeconfig := filepath.Join(t.TempDir(), "confined-kubeconfig")
	if err := env.WriteImpersonatingKubeconfig(kubeconfig, user, groups); err != nil {
		t.Fatal(err)
	}
	asConfined := func(args ...string) string {
		out, _ := exec.Command(env.KubectlPath(), append([]string{"--kubeconfig", kubeconfig}, args...)...).Output()
		return strings.TrimSpace(string(out))
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "officialchannels", "--all-namespaces"}, "no"},
		{[]string{"list", "secrets", "--all-namespaces"}, "no"},
		{[]string{"delete", "secrets", "-n", unwatchedNS}, "no"},
		{[]string{"patch", "officialchannels/status", "-n", unwatchedNS}, "no"},
		{[]string{"delete", "secrets", "-n", watchedNS}, "yes"},
		{[]string{"watch", "officialchannels", "-n", watchedNS}, "yes"},
		{[]string{"create", "configmaps", "-n", confinedSystem}, "yes"},
		{[]string{"list", "configmaps", "-n", confinedSystem}, "yes"}, // pending records, not watched
	} {
		if got := asConfined(append([]string{"auth", "can-i"}, tt.args...)...); got != tt.want {
			t.Errorf("confined can-i %v = %q, want %q", tt.args, got, tt.want)
		}
	}

	// Its lease is in its own namespace: no clash with the suite's.
	confined, confinedLog := startTestManager(t, "confined manager", kubeconfig, confinedSystem,
		"--leader-elect", "--watch-namespaces="+watchedNS)

	manifest := filepath.Join(t.TempDir(), "confined.yaml")
	writeFile(t, manifest, confinedObjects)
	kubectl(t, "apply", "-f", manifest)
	t.Cleanup(func() {
		deleteChannels(t, watchedNS+"/news", watchedNS+"/weather", unwatchedNS+"/news", unwatchedNS+"/weather")
	})

	waitPhase(t, watchedNS, "news", "Active")
	// This account's channels: the watched one, through the cache (which
	// does not hold the other).
	postDestroyedTo(t, confined.CallbackURL, "@TOA#_e2e_confined")
	// This account has no watched channel: the destruction is kept in the
	// confined manager's own namespace, which it does not watch, then looked
	// for on the API server, in e2e-watched only (a list in every namespace
	// would be refused, and the channel in e2e-unwatched must not be written).
	postDestroyedTo(t, confined.CallbackURL, "@TOA#_e2e_confined_later")
	kept := kubectl(t, "get", "cm", "-n", confinedSystem, "-l", "chat.channel-operator.io/pending-destruction", "-o", "name")
	if strings.Count(kept, "configmap/") != 1 {
		t.Fatalf("pending records in %s: %q, want one", confinedSystem, kept)
	}

	waitCleanedUp(t, watchedNS, "news")
	if got := jsonpath(t, watchedNS, "ochan/news", "{.status.cleanup.deleted} {.status.cleanup.remaining}"); got != "3 0" {
		t.Errorf("watched news deleted/remaining = %q, want \"3 0\"", got)
	}
	for _, obj := range newsObjects {
		if out, err := env.Kubectl(ctx, "get", obj, "-n", watchedNS); err == nil {
			t.Errorf("linked %s in %s still there:\n%s", obj, watchedNS, out)
		}
	}

	// The kept destruction goes to a watched channel created later.
	later := filepath.Join(t.TempDir(), "later.yaml")
	writeFile(t, later, laterObjects)
	kubectl(t, "apply", "-f", later)
	waitCleanedUp(t, watchedNS, "weather")
	if got := jsonpath(t, watchedNS, "ochan/weather", "{.status.destruction.eventTime}"); got != "1670574414123" {
		t.Errorf("watched weather: destruction eventTime %q, want the kept one", got)
	}

	// Nothing outside e2e-watched was written or deleted.
	for _, name := range []string{"news", "weather"} {
		if got := jsonpath(t, unwatchedNS, "ochan/"+name, "{.status.phase}{.status.destruction}{.metadata.finalizers}"); got != "" {
			t.Errorf("%s/%s was written: %q", unwatchedNS, name, got)
		}
	}
	for _, obj := range append(slices.Clone(newsObjects), "configmap/weather-config") {
		if got := jsonpath(t, unwatchedNS, obj, "{.metadata.deletionTimestamp}"); got != "" {
			t.Errorf("%s/%s is being deleted (%s)", unwatchedNS, obj, got)
		}
	}

	// Still up and ready, and never refused anything: it never asked for
	// anything outside its namespaces.
	select {
	case <-confined.Exited():
		t.Fatalf("the confined manager exited:\n%s", confinedLog.String())
	default:
	}
	resp, err := http.Get("http://" + confined.ProbeAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("confined /readyz: %d", resp.StatusCode)
	}
	if strings.Contains(strings.ToLower(confinedLog.String()), "forbidden") {
		t.Fatalf("the confined manager was refused something:\n%s", confinedLog.String())
	}
	// The namespaced Roles are enough for every default cleanup kind.
	if strings.Contains(confinedLog.String(), "Skipping a cleanup kind") {
		t.Fatalf("the confined manager skipped cleanup kinds:\n%s", confinedLog.String())
	}

	// Started again with a watched namespace that is gone (deleted, and the
	// operator's Role there with it): it leaves that one out, says so, and
	// becomes ready on the others (startTestManager waits for /readyz).
	gone, goneLog := startTestManager(t, "confined manager, a namespace gone", kubeconfig, confinedSystem,
		"--leader-elect", "--watch-namespaces="+watchedNS+",e2e-gone")
	if log := goneLog.String(); !strings.Contains(log, "A watched namespace cannot be read") || !strings.Contains(log, "e2e-gone") {
		t.Errorf("the gone namespace is not reported:\n%s", log)
	}
	if got := metricLine(t, gone.MetricsAddr, "channel_operator_watched_namespaces_unavailable"); got != "1" {
		t.Errorf("channel_operator_watched_namespaces_unavailable = %q, want 1", got)
	}
}

// stopSuiteManager stops the suite's manager until the test ends, then starts
// it again on the same callback port.
func stopSuiteManager(t *testing.T) {
	t.Helper()
	u, err := url.Parse(mgr.CallbackURL)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Stop(); err != nil {
		t.Fatalf("stopping the suite's manager: %v", err)
	}
	t.Cleanup(func() {
		p, err := managerproc.Start(context.Background(), managerproc.Options{
			Binary:       testenv.ManagerBinary(),
			Kubeconfig:   operatorKubeconfig,
			Namespace:    operatorNamespace,
			Args:         suiteManagerArgs,
			CallbackPort: port,
			Output:       io.MultiWriter(mgrLog, prefixed(os.Stderr, "manager: ")),
		})
		if err != nil {
			t.Errorf("restarting the suite's manager: %v", err)
			return
		}
		mgr = p
	})
}

// postDestroyedTo sends a destroyed callback of the confined app for account
// to the receiver at endpoint, and fails the test unless it is answered OK.
func postDestroyedTo(t *testing.T, endpoint, account string) {
	t.Helper()
	status, a := postDestroyedAt(t, endpoint, confinedApp, account, confinedToken)
	if status != http.StatusOK || a.ActionStatus != callback.StatusOK {
		t.Fatalf("destroyed callback for %s: %d %+v", account, status, a)
	}
}

func waitPhase(t *testing.T, ns, name, phase string) {
	t.Helper()
	testenv.Eventually(t, func() error {
		if p := jsonpath(t, ns, "ochan/"+name, "{.status.phase}"); p != phase {
			return fmt.Errorf("%s/%s phase %q, want %s", ns, name, p, phase)
		}
		return nil
	})
}

// waitCleanedUp waits for the channel's cleanup, releasing its PVC being
// deleted as kube-controller-manager would (the API server gives every PVC
// the kubernetes.io/pvc-protection finalizer, and no controller runs here).
func waitCleanedUp(t *testing.T, ns, name string) {
	t.Helper()
	testenv.Eventually(t, func() error {
		pvc := &corev1.PersistentVolumeClaim{}
		err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name + "-data"}, pvc)
		if err == nil && pvc.DeletionTimestamp != nil && len(pvc.Finalizers) > 0 {
			pvc.Finalizers = nil
			_ = env.Client.Update(t.Context(), pvc)
		}
		if p := jsonpath(t, ns, "ochan/"+name, "{.status.phase}"); p != "CleanedUp" {
			return fmt.Errorf("%s/%s phase %q", ns, name, p)
		}
		return nil
	})
}

// deleteChannels deletes the OfficialChannels ("namespace/name") and drops
// their finalizers: they must be gone before the suite's manager starts
// again, whether or not the test got as far as their cleanup.
func deleteChannels(t *testing.T, names ...string) {
	ctx := context.Background()
	for _, n := range names {
		ns, name, _ := strings.Cut(n, "/")
		if _, err := env.Kubectl(ctx, "delete", "ochan", name, "-n", ns, "--ignore-not-found", "--wait=false"); err != nil {
			t.Errorf("deleting %s: %v", n, err)
		}
		_, _ = env.Kubectl(ctx, "patch", "ochan", name, "-n", ns, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	}
}
