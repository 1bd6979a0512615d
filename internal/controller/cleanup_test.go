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

package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/controller"
	"github.com/channel-operator/channel-operator/test/testenv"
)

func podSpec() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "bot"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "bot", Image: "example.com/bot:1"}},
			RestartPolicy: corev1.RestartPolicyOnFailure},
	}
}

// oneOfEachKind returns one object of every default cleanup kind, named
// prefix-<kind>, in ns, with the given labels.
func oneOfEachKind(ns, prefix string, labels map[string]string) []client.Object {
	m := func(kind string) metav1.ObjectMeta { return testenv.ObjectMeta(ns, prefix+"-"+kind, labels) }
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "bot"}}
	always := podSpec()
	always.Spec.RestartPolicy = corev1.RestartPolicyAlways
	return []client.Object{
		&appsv1.Deployment{ObjectMeta: m("deployment"), Spec: appsv1.DeploymentSpec{Selector: selector, Template: always}},
		&appsv1.StatefulSet{ObjectMeta: m("statefulset"), Spec: appsv1.StatefulSetSpec{Selector: selector, Template: always}},
		&appsv1.DaemonSet{ObjectMeta: m("daemonset"), Spec: appsv1.DaemonSetSpec{Selector: selector, Template: always}},
		&batchv1.Job{ObjectMeta: m("job"), Spec: batchv1.JobSpec{Template: podSpec()}},
		&batchv1.CronJob{ObjectMeta: m("cronjob"), Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: podSpec()}}}},
		&corev1.Service{ObjectMeta: m("service"), Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}},
		&corev1.ConfigMap{ObjectMeta: m("configmap"), Data: map[string]string{"k": "v"}},
		&corev1.Secret{ObjectMeta: m("secret"), StringData: map[string]string{"token": "s3cr3t"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: m("pvc"), Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resourceQuantity("1Gi")},
			},
		}},
		&corev1.ServiceAccount{ObjectMeta: m("serviceaccount")},
		&networkingv1.Ingress{ObjectMeta: m("ingress"), Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}},
		&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: m("hpa"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				APIVersion: "apps/v1",
				Kind:       "Deployment",
				Name:       "bot",
			},
			MaxReplicas: 3,
		}},
		&policyv1.PodDisruptionBudget{ObjectMeta: m("pdb"), Spec: policyv1.PodDisruptionBudgetSpec{
			Selector: selector, MinAvailable: ptrIntOrString(intstr.FromInt32(1))}},
	}
}

func ptrIntOrString(v intstr.IntOrString) *intstr.IntOrString { return &v }

// snapshot records resourceVersions, to prove later that nothing changed.
func snapshot(t *testing.T, objs []client.Object) map[client.Object]string {
	t.Helper()
	rv := map[client.Object]string{}
	for _, obj := range objs {
		if !env.Exists(t, obj) {
			t.Fatalf("%T %s/%s missing", obj, obj.GetNamespace(), obj.GetName())
		}
		rv[obj] = obj.GetResourceVersion()
	}
	return rv
}

func assertUntouched(t *testing.T, before map[client.Object]string) {
	t.Helper()
	for obj, rv := range before {
		if !env.Exists(t, obj) {
			t.Errorf("unlinked %T %s/%s was deleted", obj, obj.GetNamespace(), obj.GetName())
			continue
		}
		if obj.GetResourceVersion() != rv || obj.GetDeletionTimestamp() != nil {
			t.Errorf("unlinked %T %s/%s was changed", obj, obj.GetNamespace(), obj.GetName())
		}
	}
}

// After a destruction, every linked object of every default kind goes
// (by label, by ownerReference, by spec.linkedResources), nothing unlinked is
// touched, and the unserved kind in --cleanup-kinds stops nothing.
func TestCleanupDeletesExactlyTheLinkedObjects(t *testing.T) {
	ns := env.Namespace(t, "cleanup")
	other := env.Namespace(t, "cleanup-other")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyDelete,
		chatv1alpha1.LinkedResource{APIVersion: "v1", Kind: "ConfigMap", Name: "legacy"},
		chatv1alpha1.LinkedResource{APIVersion: "apps/v1", Kind: "Deployment", Name: "legacy-bot"},
		chatv1alpha1.LinkedResource{APIVersion: "v1", Kind: "ConfigMap", Name: "listed-but-absent"})

	linked := oneOfEachKind(ns, "news", testenv.Labelled("news"))
	owner := []metav1.OwnerReference{{APIVersion: chatv1alpha1.GroupVersion.String(), Kind: "OfficialChannel", Name: ch.Name, UID: ch.UID}}
	linked = append(
		linked,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "owned", OwnerReferences: owner}},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Namespace:       ns,
				Name:            "owned-and-labelled",
				Labels:          testenv.Labelled("news"),
				OwnerReferences: owner,
			},
		},
		&corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "legacy", nil)},
		&appsv1.Deployment{ObjectMeta: testenv.ObjectMeta(ns, "legacy-bot", nil), Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "bot"}}, Template: func() corev1.PodTemplateSpec {
				p := podSpec()
				p.Spec.RestartPolicy = corev1.RestartPolicyAlways
				return p
			}()}},
	)
	unlinked := append(
		oneOfEachKind(ns, "weather", testenv.Labelled("weather")), // another channel's
		&corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "unlabelled", map[string]string{"app": "bot"})},
		&corev1.Secret{ObjectMeta: testenv.ObjectMeta(ns, "label-key-only", map[string]string{"chat.channel-operator.io/other": "news"})},
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "owned-by-someone-else", OwnerReferences: []metav1.OwnerReference{
				{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "00000000-0000-0000-0000-000000000001"}}},
		},
		// The channel's UID under another kind is no reference to the channel.
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "uid-under-another-kind", OwnerReferences: []metav1.OwnerReference{
				{APIVersion: "v1", Kind: "ConfigMap", Name: ch.Name, UID: ch.UID}}},
		},
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "uid-under-another-group", OwnerReferences: []metav1.OwnerReference{
				{APIVersion: "example.com/v1", Kind: "OfficialChannel", Name: ch.Name, UID: ch.UID}}},
		},
	)
	// Same label value and the same names in another namespace.
	unlinked = append(unlinked, oneOfEachKind(other, "news", testenv.Labelled("news"))...)
	unlinked = append(unlinked, &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(other, "legacy", nil)})
	env.Create(t, linked...)
	env.Create(t, unlinked...)
	before := snapshot(t, unlinked)
	deletedConfigMaps := metricValue(t, "channel_operator_cleanup_deletions_total", "kind", "configmaps")

	destroy(t, ch)
	// The API server gives every PVC the kubernetes.io/pvc-protection
	// finalizer; in a cluster kube-controller-manager removes it from an
	// unused claim, here the test does, once the claim is being deleted.
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: testenv.ObjectMeta(ns, "news-pvc", nil)}
	testenv.Eventually(t, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(pvc), pvc); err != nil {
			return err
		}
		if pvc.DeletionTimestamp == nil {
			return fmt.Errorf("claim not deleted yet")
		}
		pvc.Finalizers = nil
		return env.Client.Update(context.Background(), pvc)
	})
	got := waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)

	for _, obj := range linked {
		if env.Exists(t, obj) {
			t.Errorf("linked %T %s was not deleted", obj, obj.GetName())
		}
	}
	assertUntouched(t, before)

	c := condition(got, chatv1alpha1.ConditionCleanedUp)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != chatv1alpha1.ReasonCleanedUp || c.ObservedGeneration != got.Generation {
		t.Fatalf("CleanedUp condition = %+v", c)
	}
	if got.Status.Cleanup == nil || got.Status.Cleanup.Deleted != int32(len(linked)) || got.Status.Cleanup.Remaining != 0 ||
		got.Status.Cleanup.LastAttempt == nil {
		t.Fatalf("cleanup status = %+v, want deleted=%d remaining=0", got.Status.Cleanup, len(linked))
	}
	if !strings.Contains(got.Status.Cleanup.Message, unservedKind+" skipped: not served by the cluster") {
		t.Fatalf("cleanup message %q does not report the unserved kind", got.Status.Cleanup.Message)
	}
	if metricValue(t, "channel_operator_cleanup_kind_usable", "kind", unservedKind) != 0 ||
		metricValue(t, "channel_operator_cleanup_kind_usable", "kind", "configmaps") != 1 {
		t.Fatal("channel_operator_cleanup_kind_usable does not tell the unserved kind from a usable one")
	}
	if n := metricValue(t, "channel_operator_cleanup_deletions_total", "kind", "configmaps") - deletedConfigMaps; n != 3 {
		t.Fatalf("configmaps deletions metric went up by %v, want 3", n)
	}
	waitForEvents(t, ch, controller.EventDestructionRecorded, controller.EventCleanupStarted, controller.EventCleanedUp)

	out, err := env.Kubectl(context.Background(), "get", "ochan", "news", "--namespace", ns)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "CleanedUp") {
		t.Fatalf("kubectl get ochan does not show CleanedUp:\n%s", out)
	}

	// Idempotent: a later reconcile deletes nothing more. A spec edit makes
	// one, and observedGeneration says when it has run.
	late := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "created-after-cleanup", testenv.Labelled("news"))}
	env.Create(t, late)
	patched := env.Channel(t, ch)
	patched.Spec.CleanupPolicy = chatv1alpha1.CleanupPolicyOrphan
	if err := env.Client.Update(context.Background(), patched); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if got.Generation != patched.Generation || got.Status.ObservedGeneration != got.Generation {
			return fmt.Errorf("generation %d observed %d", got.Generation, got.Status.ObservedGeneration)
		}
		return nil
	})
	if !env.Exists(t, late) {
		t.Fatal("a finished cleanup ran again")
	}
}

func TestOrphanPolicyDeletesNothing(t *testing.T) {
	ns := env.Namespace(t, "orphan")
	ch := newChannel(t, ns, "archive", chatv1alpha1.CleanupPolicyOrphan)
	objs := oneOfEachKind(ns, "archive", testenv.Labelled("archive"))
	env.Create(t, objs...)
	before := snapshot(t, objs)

	destroy(t, ch)
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		c := condition(got, chatv1alpha1.ConditionCleanedUp)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != chatv1alpha1.ReasonOrphaned {
			return fmt.Errorf("CleanedUp = %+v", c)
		}
		if got.Status.Phase != chatv1alpha1.PhaseDestroyed {
			return fmt.Errorf("phase %q", got.Status.Phase)
		}
		return nil
	})
	waitForEvents(t, ch, controller.EventDestructionRecorded)
	assertUntouched(t, before)
}

// Twenty linked objects of five kinds are all deleted and counted once each.
// How long it takes is make bench's figure (docs/benchmarks.md).
func TestTwentyLinkedObjectsAreDeletedAndCounted(t *testing.T) {
	ns := env.Namespace(t, "twenty")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyDelete)
	var objs []client.Object
	for i := 0; i < 4; i++ {
		objs = append(objs,
			&corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, fmt.Sprintf("cm-%d", i), testenv.Labelled("news"))},
			&corev1.Secret{ObjectMeta: testenv.ObjectMeta(ns, fmt.Sprintf("secret-%d", i), testenv.Labelled("news"))},
			&corev1.Service{ObjectMeta: testenv.ObjectMeta(ns, fmt.Sprintf("svc-%d", i), testenv.Labelled("news")),
				Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}},
			oneOfEachKind(ns, fmt.Sprintf("d%d", i), testenv.Labelled("news"))[0], // Deployment
			oneOfEachKind(ns, fmt.Sprintf("c%d", i), testenv.Labelled("news"))[4], // CronJob
		)
	}
	env.Create(t, objs...)
	destroy(t, ch)
	got := waitForPhase(t, ch, chatv1alpha1.PhaseCleanedUp)
	for _, obj := range objs {
		if env.Exists(t, obj) {
			t.Fatalf("%T %s survived the cleanup", obj, obj.GetName())
		}
	}
	if got.Status.Cleanup.Deleted != 20 {
		t.Fatalf("deleted %d, want 20", got.Status.Cleanup.Deleted)
	}
}

func resourceQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// Blast radius: objects of every default kind in several namespaces, linked to
// other channels, to a channel of the same name elsewhere, owned by another
// channel, or not linked at all. Destroying one channel deletes exactly its
// linked objects; every other object keeps its resourceVersion.
func TestBlastRadiusIsExactlyTheChannel(t *testing.T) {
	nsA := env.Namespace(t, "blast-a")
	nsB := env.Namespace(t, "blast-b")
	nsC := env.Namespace(t, "blast-c")
	target := newChannel(t, nsA, "news", chatv1alpha1.CleanupPolicyDelete,
		chatv1alpha1.LinkedResource{APIVersion: "v1", Kind: "Secret", Name: "listed"})
	sameNameElsewhere := newChannel(t, nsB, "news", chatv1alpha1.CleanupPolicyDelete)
	neighbour := newChannel(t, nsA, "weather", chatv1alpha1.CleanupPolicyDelete)

	ownedBy := func(ch *chatv1alpha1.OfficialChannel) []metav1.OwnerReference {
		return []metav1.OwnerReference{
			{APIVersion: chatv1alpha1.GroupVersion.String(), Kind: "OfficialChannel", Name: ch.Name, UID: ch.UID},
		}
	}
	linked := oneOfEachKind(nsA, "news", testenv.Labelled("news"))
	linked = append(linked,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "owned", OwnerReferences: ownedBy(target)}},
		&corev1.Secret{ObjectMeta: testenv.ObjectMeta(nsA, "listed", nil)},
	)
	others := make([]client.Object, 0, 64)
	others = append(others, oneOfEachKind(nsA, "weather", testenv.Labelled("weather"))...)
	others = append(others, oneOfEachKind(nsA, "plain", nil)...)
	others = append(others, oneOfEachKind(nsB, "news", testenv.Labelled("news"))...)
	others = append(others, oneOfEachKind(nsC, "news", testenv.Labelled("news"))...)
	others = append(others,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: "owned", OwnerReferences: ownedBy(sameNameElsewhere)}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "owned-by-weather", OwnerReferences: ownedBy(neighbour)}},
		&corev1.Secret{ObjectMeta: testenv.ObjectMeta(nsB, "listed", nil)},
		&corev1.Secret{ObjectMeta: testenv.ObjectMeta(nsA, "label-case", map[string]string{chatv1alpha1.LinkLabel: "News"})},
		&corev1.Secret{ObjectMeta: testenv.ObjectMeta(nsA, "label-prefix", map[string]string{chatv1alpha1.LinkLabel: "news-old"})},
	)
	env.Create(t, linked...)
	env.Create(t, others...)
	before := snapshot(t, others)

	destroy(t, target)
	waitFor(t, target, func(got *chatv1alpha1.OfficialChannel) error {
		// The PVC waits for kubernetes.io/pvc-protection, which no controller
		// removes here: release it as kube-controller-manager would.
		pvc := &corev1.PersistentVolumeClaim{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: nsA, Name: "news-pvc"}, pvc); err == nil &&
			pvc.DeletionTimestamp != nil && len(pvc.Finalizers) > 0 {
			pvc.Finalizers = nil
			_ = env.Client.Update(context.Background(), pvc)
		}
		if got.Status.Phase != chatv1alpha1.PhaseCleanedUp {
			return fmt.Errorf("phase %q", got.Status.Phase)
		}
		return nil
	})
	for _, obj := range linked {
		if env.Exists(t, obj) {
			t.Errorf("linked %T %s/%s was not deleted", obj, obj.GetNamespace(), obj.GetName())
		}
	}
	assertUntouched(t, before)
	if got := env.Channel(t, target); got.Status.Cleanup.Deleted != int32(len(linked)) {
		t.Errorf("deleted %d, want exactly the %d linked objects", got.Status.Cleanup.Deleted, len(linked))
	}
	for _, ch := range []*chatv1alpha1.OfficialChannel{sameNameElsewhere, neighbour} {
		if got := env.Channel(t, ch); got.Status.Phase != chatv1alpha1.PhaseActive {
			t.Errorf("%s/%s phase %q", ch.Namespace, ch.Name, got.Status.Phase)
		}
	}
}

// An object relabelled from one channel to another goes with the second
// channel's cleanup, not the first's (the index's part: internal/cleanup).
func TestARelabelledObjectGoesWithItsNewChannel(t *testing.T) {
	ns := env.Namespace(t, "relabel")
	news := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyDelete)
	weather := newChannel(t, ns, "weather", chatv1alpha1.CleanupPolicyDelete)
	moved := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "moved", testenv.Labelled("news"))}
	env.Create(t, moved)
	moved.Labels = testenv.Labelled("weather")
	if err := env.Client.Update(context.Background(), moved); err != nil {
		t.Fatal(err)
	}
	// The cleanup's cache has the new label once an object created after
	// it is there: one watch delivers both, in order.
	env.Create(t, &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "probe", nil)})
	probe := &metav1.PartialObjectMetadata{ObjectMeta: testenv.ObjectMeta(ns, "probe", nil)}
	probe.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	testenv.WaitCached(t, env.Manager.GetCache(), probe)

	destroy(t, news)
	waitForPhase(t, news, chatv1alpha1.PhaseCleanedUp)
	if !env.Exists(t, moved) {
		t.Fatal("news's cleanup deleted an object relabelled to weather")
	}
	destroy(t, weather)
	waitForPhase(t, weather, chatv1alpha1.PhaseCleanedUp)
	if env.Exists(t, moved) {
		t.Fatal("weather's cleanup left its relabelled object")
	}
}
