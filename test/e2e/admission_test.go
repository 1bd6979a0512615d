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
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/channel-operator/channel-operator/test/testenv"
)

const (
	tenantNamespace = "e2e-tenant"
	// channelEditor may edit OfficialChannels (the generated editor
	// ClusterRole) and delete ConfigMaps in tenantNamespace, but of the
	// Secrets only granted-token.
	channelEditor = "e2e-channel-editor"
)

const tenantRBAC = `
apiVersion: v1
kind: Namespace
metadata: {name: e2e-tenant}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: officialchannel-editor, namespace: e2e-tenant}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: channel-operator-officialchannel-editor-role}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: e2e-channel-editor}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: configmap-deleter, namespace: e2e-tenant}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [get, list, delete]}
- {apiGroups: [""], resources: [secrets], resourceNames: [granted-token], verbs: [delete]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: configmap-deleter, namespace: e2e-tenant}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-deleter}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: e2e-channel-editor}]
`

// linkedChannel is an OfficialChannel in tenantNamespace whose
// spec.linkedResources holds entries, each "apiVersion kind name".
func linkedChannel(name string, entries ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: chat.channel-operator.io/v1alpha1\nkind: OfficialChannel\n"+
		"metadata: {name: %s, namespace: %s}\nspec:\n  sdkAppID: 1400000001\n  officialAccountID: \"@TOA#_e2e_%s\"\n"+
		"  linkedResources:\n", name, tenantNamespace, name)
	for _, e := range entries {
		f := strings.Fields(e)
		fmt.Fprintf(&b, "  - {apiVersion: %q, kind: %s, name: %s}\n", f[0], f[1], f[2])
	}
	return b.String()
}

// Deletion by proxy: whoever may edit OfficialChannels must not make the
// operator delete what they could not delete themselves. The
// ValidatingAdmissionPolicy installed by config/default refuses a
// spec.linkedResources entry the requesting user may not delete, and one
// whose resource it cannot determine; it accepts what they may delete.
func TestLinkedResourcesNeedTheUsersDeleteRight(t *testing.T) {
	dir := t.TempDir()
	rbac := filepath.Join(dir, "tenant-rbac.yaml")
	writeFile(t, rbac, tenantRBAC)
	kubectl(t, "apply", "-f", rbac)

	kubeconfig := filepath.Join(dir, "editor-kubeconfig")
	if err := env.WriteImpersonatingKubeconfig(kubeconfig, channelEditor, []string{"system:authenticated"}); err != nil {
		t.Fatal(err)
	}
	// asEditor runs kubectl as channelEditor and returns its output,
	// standard error included.
	asEditor := func(args ...string) (string, error) {
		cmd := exec.Command(env.KubectlPath(), append([]string{"--kubeconfig", kubeconfig}, args...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	manifest := func(name, content string) string {
		path := filepath.Join(dir, name+".yaml")
		writeFile(t, path, content)
		return path
	}
	for _, tt := range []struct{ verb, resource, want string }{
		{"create", "officialchannels", "yes"},
		{"delete", "configmaps", "yes"},
		{"delete", "secrets", "no"},
		{"delete", "secrets/granted-token", "yes"},
	} {
		out, _ := asEditor("auth", "can-i", tt.verb, tt.resource, "-n", tenantNamespace)
		if got := strings.TrimSpace(out); got != tt.want {
			t.Fatalf("%s can-i %s %s = %q, want %q", channelEditor, tt.verb, tt.resource, got, tt.want)
		}
	}

	secret := manifest("secret", linkedChannel("links-secret", "v1 ConfigMap news-settings", "v1 Secret news-token"))
	refusedSecret := fmt.Sprintf(`spec.linkedResources: %s may not delete Secret "news-token" in namespace %s`, channelEditor, tenantNamespace)
	// The API server enforces a policy once it has loaded it and its
	// binding: until then a server-side dry run of the forbidden channel
	// goes through.
	testenv.Eventually(t, func() error {
		out, err := asEditor("create", "--dry-run=server", "-f", secret)
		if err == nil {
			return fmt.Errorf("a channel linking a Secret %s may not delete is not refused yet: %s", channelEditor, out)
		}
		if !strings.Contains(out, refusedSecret) {
			return fmt.Errorf("refused, but not by the policy: %s", out)
		}
		return nil
	})

	// A Secret the editor may not delete: refused, naming the entry.
	out, err := asEditor("create", "-f", secret)
	if err == nil || !strings.Contains(out, refusedSecret) || !strings.Contains(out, "ValidatingAdmissionPolicy") {
		t.Fatalf("linking a Secret the editor may not delete: err %v, output %q; want the policy's refusal %q", err, out, refusedSecret)
	}
	if out, err := env.Kubectl(t.Context(), "get", "ochan", "links-secret", "-n", tenantNamespace); err == nil {
		t.Fatalf("the refused channel exists:\n%s", out)
	}

	// ConfigMaps the editor may delete, and the one Secret they may delete
	// by name: accepted. The operator then adds its finalizer (an update
	// of metadata only) and reports the channel Active.
	ok := manifest("configmap", linkedChannel("links-configmaps",
		"v1 ConfigMap news-settings", "v1 ConfigMap news-legacy", "v1 ConfigMap news-extra", "v1 Secret granted-token"))
	if out, err := asEditor("create", "-f", ok); err != nil {
		t.Fatalf("linking objects the editor may delete was refused: %v\n%s", err, out)
	}
	testenv.Eventually(t, func() error {
		got := jsonpath(t, tenantNamespace, "ochan/links-configmaps", "{.status.phase} {.metadata.finalizers}")
		if !strings.HasPrefix(got, "Active ") || !strings.Contains(got, "chat.channel-operator.io/cleanup") {
			return fmt.Errorf("phase and finalizers %q", got)
		}
		return nil
	})

	// A kind the policy cannot map to a resource: refused, saying so and
	// where the mapping is extended.
	unknown := manifest("unknown", linkedChannel("links-widget", "example.com/v1 Widget news-widget"))
	out, err = asEditor("create", "-f", unknown)
	if err == nil || !strings.Contains(out, `cannot determine the resource of example.com/v1 Widget "news-widget"`) ||
		!strings.Contains(out, "can extend the mapping") {
		t.Fatalf("linking an unknown kind: err %v, output %q; want the policy's \"cannot determine\" refusal", err, out)
	}
	// A known kind under another group is not that kind: refused too.
	out, err = asEditor("create", "-f", manifest("wrong-group", linkedChannel("links-wrong-group", "example.com/v1 ConfigMap news-settings")))
	if err == nil || !strings.Contains(out, `cannot determine the resource of example.com/v1 ConfigMap "news-settings"`) {
		t.Fatalf("linking a ConfigMap of another group: err %v, output %q", err, out)
	}

	// Updates are checked too: adding the forbidden Secret to the accepted
	// channel is refused. With two Secrets linked, the policy asks whether
	// the editor may delete every Secret of the namespace (one check per
	// kind, whatever the number of entries), and says so.
	out, err = asEditor("patch", "ochan", "links-configmaps", "-n", tenantNamespace, "--type=json",
		"-p", `[{"op":"add","path":"/spec/linkedResources/-","value":{"apiVersion":"v1","kind":"Secret","name":"news-token"}}]`)
	refusedSecrets := fmt.Sprintf(`spec.linkedResources: %s may not delete all secrets in namespace %s `+
		`(required to link more than one Secret: "granted-token", "news-token")`, channelEditor, tenantNamespace)
	if err == nil || !strings.Contains(out, refusedSecrets) {
		t.Fatalf("adding a Secret the editor may not delete by update: err %v, output %q; want %q", err, out, refusedSecrets)
	}
	if got := jsonpath(t, tenantNamespace, "ochan/links-configmaps", "{.spec.linkedResources[*].name}"); strings.Contains(got, "news-token") {
		t.Fatalf("the refused update was written: linkedResources %q", got)
	}
	// An update of metadata only is not checked (it changes nothing the
	// operator deletes): the editor may label a channel an administrator
	// linked a Secret to, but not change its spec.
	admin := manifest("admin-secret", linkedChannel("admin-links-secret", "v1 Secret news-token"))
	kubectl(t, "create", "-f", admin)
	if out, err := asEditor("label", "ochan", "admin-links-secret", "-n", tenantNamespace, "team=news"); err != nil {
		t.Fatalf("labelling a channel: %v\n%s", err, out)
	}
	out, err = asEditor("patch", "ochan", "admin-links-secret", "-n", tenantNamespace,
		"--type=merge", "-p", `{"spec":{"cleanupPolicy":"Orphan"}}`)
	if err == nil || !strings.Contains(out, refusedSecret) {
		t.Fatalf("changing the spec of a channel linking a Secret the editor may not delete: err %v, output %q", err, out)
	}

	// The check is the requesting user's: an administrator links objects of
	// every default kind, 213 entries in all, at once. The policy's
	// authorization checks (one per kind) stay within the API server's CEL
	// cost budget, which a check per entry would exceed from the third on.
	every := make([]string, 0, 213)
	for _, kind := range []string{"apps/v1 Deployment", "apps/v1 StatefulSet", "apps/v1 DaemonSet", "batch/v1 Job",
		"batch/v1 CronJob", "v1 Service", "v1 ConfigMap", "v1 Secret", "v1 PersistentVolumeClaim", "v1 ServiceAccount",
		"networking.k8s.io/v1 Ingress", "autoscaling/v2 HorizontalPodAutoscaler", "policy/v1 PodDisruptionBudget"} {
		every = append(every, kind+" news-"+strings.ToLower(strings.Fields(kind)[1]))
	}
	for i := range 200 {
		every = append(every, fmt.Sprintf("v1 Secret news-token-%d", i))
	}
	kubectl(t, "create", "-f", manifest("admin-everything", linkedChannel("admin-links-everything", every...)))
}
