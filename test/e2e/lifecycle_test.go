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
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/channel-operator/channel-operator/internal/operator"
)

// installed decodes the objects of kind in the rendered install.
func installed[T any](t *testing.T, kind string) []T {
	t.Helper()
	raw, err := os.ReadFile(installYAML)
	if err != nil {
		t.Fatal(err)
	}
	var objs []T
	for _, doc := range strings.Split(string(raw), "\n---") {
		var meta struct{ Kind string }
		if yaml.Unmarshal([]byte(doc), &meta) != nil || meta.Kind != kind {
			continue
		}
		var obj T
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, obj)
	}
	return objs
}

// The install lives through a rollout and a drain: two replicas spread over
// nodes, a PodDisruptionBudget that keeps one, a grace period that covers
// the shutdown delay and the receiver's shutdown, and sizes from the bench
// with the Go runtime's soft limit computed from the memory limit.
func TestTheInstallIsReadyForRolloutsAndDrains(t *testing.T) {
	useSuite(t)
	deployments := installed[appsv1.Deployment](t, "Deployment")
	if len(deployments) != 1 {
		t.Fatalf("%d Deployments in the install", len(deployments))
	}
	d := deployments[0]
	pods := labels.Set(d.Spec.Template.Labels)
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas %v: a drain would leave no receiver", d.Spec.Replicas)
	}
	pdbs := installed[policyv1.PodDisruptionBudget](t, "PodDisruptionBudget")
	if len(pdbs) != 1 || pdbs[0].Spec.MinAvailable == nil || pdbs[0].Spec.MinAvailable.IntValue() != 1 ||
		!labels.SelectorFromSet(pdbs[0].Spec.Selector.MatchLabels).Matches(pods) || pdbs[0].Namespace != d.Namespace {
		t.Errorf("PodDisruptionBudgets %+v: want one, minAvailable 1, selecting the manager's Pods", pdbs)
	}
	spread := d.Spec.Template.Spec.TopologySpreadConstraints
	if len(spread) != 1 || spread[0].TopologyKey != corev1.LabelHostname || spread[0].WhenUnsatisfiable != corev1.ScheduleAnyway ||
		!labels.SelectorFromSet(spread[0].LabelSelector.MatchLabels).Matches(pods) {
		t.Errorf("topologySpreadConstraints %+v: want the replicas spread by hostname", spread)
	}

	c := d.Spec.Template.Spec.Containers[0]
	delay := operator.Default().ShutdownDelay
	for _, arg := range c.Args {
		if v, ok := strings.CutPrefix(arg, "--shutdown-delay="); ok {
			if delay, _ = time.ParseDuration(v); delay <= 0 {
				t.Fatalf("--shutdown-delay %q", v)
			}
		}
	}
	const receiverShutdown, margin = 10 * time.Second, 5 * time.Second
	grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil || time.Duration(*grace)*time.Second < delay+receiverShutdown+margin {
		t.Errorf("terminationGracePeriodSeconds %v does not cover the shutdown delay %s, the receiver's %s and a margin",
			grace, delay, receiverShutdown)
	}

	want := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}
	for name, q := range want {
		if got := c.Resources.Requests[name]; got.Cmp(q) < 0 {
			t.Errorf("requests.%s %s: below what the bench measures (%s)", name, got.String(), q.String())
		}
	}
	memoryEnv := false
	for _, e := range c.Env {
		switch {
		case e.Name == operator.MemoryLimitEnv && e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil:
			memoryEnv = e.ValueFrom.ResourceFieldRef.Resource == "limits.memory"
		case e.Name == "GOMEMLIMIT":
			t.Errorf("GOMEMLIMIT is set (%+v): it would win over the soft limit computed from the memory limit", e)
		}
	}
	if !memoryEnv {
		t.Errorf("no %s from limits.memory: the soft memory limit is not computed", operator.MemoryLimitEnv)
	}
}

// Every object of the install says what it belongs to, and a cluster-scoped
// one renders without a namespace; the role that reads
// OfficialChannels joins Kubernetes' built-in view role, and the roles that
// write them join no built-in role (creating a channel uses an app's
// credentials and the cluster's deletion budget: granted on purpose).
func TestTheInstallIsLabelledAndOnlyReadingIsAggregated(t *testing.T) {
	useSuite(t)
	type object struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string            `json:"name"`
			Namespace string            `json:"namespace"`
			Labels    map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	clusterScoped := map[string]bool{"Namespace": true, "CustomResourceDefinition": true, "ClusterRole": true,
		"ClusterRoleBinding": true, "ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true}
	raw, err := os.ReadFile(installYAML)
	if err != nil {
		t.Fatal(err)
	}
	aggregated := map[string]string{}
	for _, doc := range strings.Split(string(raw), "\n---") {
		var o object
		if yaml.Unmarshal([]byte(doc), &o) != nil || o.Kind == "" {
			continue
		}
		if clusterScoped[o.Kind] && o.Metadata.Namespace != "" {
			t.Errorf("%s %s is cluster-scoped but renders with namespace %q (GitOps tools show drift)", o.Kind,
				o.Metadata.Name, o.Metadata.Namespace)
		}
		if o.Metadata.Labels["app.kubernetes.io/name"] != "channel-operator" {
			t.Errorf("%s %s lacks app.kubernetes.io/name: %v", o.Kind, o.Metadata.Name, o.Metadata.Labels)
		}
		for _, to := range []string{"view", "edit", "admin"} {
			if o.Metadata.Labels["rbac.authorization.k8s.io/aggregate-to-"+to] == "true" {
				aggregated[to] = o.Metadata.Name
			}
		}
	}
	if !strings.HasSuffix(aggregated["view"], "officialchannel-viewer-role") || aggregated["edit"] != "" || aggregated["admin"] != "" {
		t.Errorf("aggregated roles %v: want only the viewer role, into view", aggregated)
	}
}

// The install's image names the project's registry and a tag, never
// latest: a bare name (channel-operator:latest) resolves to Docker Hub,
// where anyone may publish under it, and latest pulls whatever was pushed
// last.
func TestTheInstallsImageNamesItsRegistry(t *testing.T) {
	useSuite(t)
	deployments := installed[appsv1.Deployment](t, "Deployment")
	if len(deployments) != 1 {
		t.Fatalf("%d Deployments in the install", len(deployments))
	}
	img := deployments[0].Spec.Template.Spec.Containers[0].Image
	registry, rest, ok := strings.Cut(img, "/")
	if !ok || !strings.ContainsAny(registry, ".:") {
		t.Errorf("image %q names no registry host", img)
	}
	if _, tag, ok := strings.Cut(rest, ":"); !ok || tag == "" || tag == "latest" {
		t.Errorf("image %q: want a tag other than latest", img)
	}
}
