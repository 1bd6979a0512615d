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
	"strconv"
	"strings"
	"testing"

	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/chatapi/fakechat"
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
		"metadata: {name: %s, namespace: %s}\nspec:\n  sdkAppID: 1400000001\n  officialAccountID: \"@TOA#_e2e_%s\"\n",
		name, tenantNamespace, name)
	if len(entries) == 0 {
		return b.String()
	}
	b.WriteString("  linkedResources:\n")
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
// whose resource it cannot determine; it accepts what they may delete. A
// create needs delete on every cleanup kind (TestRecreatingAChannel...):
// here an administrator creates the channels, the editor edits them.
func TestLinkedResourcesNeedTheUsersDeleteRight(t *testing.T) {
	useSuite(t)
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

	kubectl(t, "create", "-f", manifest("links-secret", linkedChannel("links-secret")))
	kubectl(t, "create", "-f", manifest("links-configmaps", linkedChannel("links-configmaps")))
	setLinks := func(name string, entries ...string) (string, error) {
		links := make([]string, 0, len(entries))
		for _, e := range entries {
			f := strings.Fields(e)
			links = append(links, fmt.Sprintf(`{"apiVersion":%q,"kind":%q,"name":%q}`, f[0], f[1], f[2]))
		}
		return asEditor("patch", "ochan", name, "-n", tenantNamespace, "--type=merge",
			"-p", `{"spec":{"linkedResources":[`+strings.Join(links, ",")+`]}}`)
	}
	refusedSecret := fmt.Sprintf(`spec.linkedResources: %s may not delete Secret "news-token" in namespace %s`, channelEditor, tenantNamespace)
	// The API server enforces a policy once it has loaded it and its
	// binding: until then a server-side dry run of the forbidden edit goes
	// through.
	testenv.Eventually(t, func() error {
		out, err := asEditor("patch", "ochan", "links-secret", "-n", tenantNamespace, "--dry-run=server", "--type=merge",
			"-p", `{"spec":{"linkedResources":[{"apiVersion":"v1","kind":"Secret","name":"news-token"}]}}`)
		if err == nil {
			return fmt.Errorf("a channel linking a Secret %s may not delete is not refused yet: %s", channelEditor, out)
		}
		if !strings.Contains(out, refusedSecret) {
			return fmt.Errorf("refused, but not by the policy: %s", out)
		}
		return nil
	})

	// A Secret the editor may not delete: refused, naming the entry.
	out, err := setLinks("links-secret", "v1 ConfigMap news-settings", "v1 Secret news-token")
	if err == nil || !strings.Contains(out, refusedSecret) || !strings.Contains(out, "ValidatingAdmissionPolicy") {
		t.Fatalf("linking a Secret the editor may not delete: err %v, output %q; want the policy's refusal %q", err, out, refusedSecret)
	}
	if got := jsonpath(t, tenantNamespace, "ochan/links-secret", "{.spec.linkedResources}"); strings.Contains(got, "news-token") {
		t.Fatalf("the refused edit was written: linkedResources %q", got)
	}

	// ConfigMaps the editor may delete, and the one Secret they may delete
	// by name: accepted. The operator reports the channel Active (and
	// holds no finalizer on it: no cleanup runs).
	if out, err := setLinks("links-configmaps",
		"v1 ConfigMap news-settings", "v1 ConfigMap news-legacy", "v1 ConfigMap news-extra", "v1 Secret granted-token"); err != nil {
		t.Fatalf("linking objects the editor may delete was refused: %v\n%s", err, out)
	}
	testenv.Eventually(t, func() error {
		got := jsonpath(t, tenantNamespace, "ochan/links-configmaps", "{.status.phase} {.metadata.finalizers}")
		if strings.TrimSpace(got) != "Active" {
			return fmt.Errorf("phase and finalizers %q", got)
		}
		return nil
	})

	// A kind the policy cannot map to a resource: refused, saying so and
	// where the mapping is extended.
	out, err = setLinks("links-secret", "example.com/v1 Widget news-widget")
	if err == nil || !strings.Contains(out, `cannot determine the resource of example.com/v1 Widget "news-widget"`) ||
		!strings.Contains(out, "can extend the mapping") {
		t.Fatalf("linking an unknown kind: err %v, output %q; want the policy's \"cannot determine\" refusal", err, out)
	}
	// A known kind under another group is not that kind: refused too.
	out, err = setLinks("links-secret", "example.com/v1 ConfigMap news-settings")
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
	// And its update: one check per kind linked.
	kubectl(t, "patch", "ochan", "admin-links-everything", "-n", tenantNamespace, "--type=merge",
		"-p", `{"spec":{"cleanupPolicy":"Orphan"}}`)
}

// recreateRBAC binds, in tenantNamespace, a namespace editor: the built-in
// edit role's rules (delete on every cleanup kind; this control plane runs
// no controller-manager to aggregate them into edit itself) and the
// OfficialChannel editor.
const recreateRBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: namespace-editor, namespace: e2e-tenant}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:aggregate-to-edit"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: e2e-namespace-editor}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: namespace-editor-channels, namespace: e2e-tenant}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: channel-operator-officialchannel-editor-role}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: e2e-namespace-editor}]
`

// A channel's name links every object labelled with it. An editor of
// OfficialChannels who may not delete those objects deletes the Active
// channel (nothing is swept) and creates it again for an account that never
// existed, which Chat's REST API answers 130004: were the create accepted,
// the operator would record the destruction and delete every labelled
// object. The policy refuses the create (it takes delete on every cleanup
// kind in the namespace); a namespace editor, who may delete them, creates
// the same channel, and the operator does delete them: the path is real.
func TestRecreatingAChannelNeedsDeleteOnEveryCleanupKind(t *testing.T) {
	useSuite(t)
	const (
		app   = int64(1400000004)
		key   = "e2e-recreate-secret-key"
		never = "@TOA#_e2e_never_existed"
	)
	id := strconv.FormatInt(app, 10)
	chat, err := fakechat.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(chat.Close)
	chat.AddApp(app, key)
	chat.CreateAccount(app, chatapi.AccountInfo{Account: "@TOA#_e2e_bot", Name: "bot"})
	kubectl(t, "-n", operatorNamespace, "create", "secret", "generic", "channel-operator-chat-api",
		"--from-literal="+id+".secretKey="+key, "--from-literal="+id+".endpoint="+chat.URL())
	t.Cleanup(func() { kubectl(t, "-n", operatorNamespace, "delete", "secret", "channel-operator-chat-api") })

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rbac.yaml"), tenantRBAC+"---"+recreateRBAC)
	kubectl(t, "apply", "-f", filepath.Join(dir, "rbac.yaml"))
	as := func(user string) func(args ...string) (string, error) {
		kubeconfig := filepath.Join(dir, user+"-kubeconfig")
		if err := env.WriteImpersonatingKubeconfig(kubeconfig, user, []string{"system:authenticated"}); err != nil {
			t.Fatal(err)
		}
		return func(args ...string) (string, error) {
			cmd := exec.Command(env.KubectlPath(), append([]string{"--kubeconfig", kubeconfig}, args...)...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			return out.String(), err
		}
	}
	editor, namespaceEditor := as(channelEditor), as("e2e-namespace-editor")
	channel := func(account string) string {
		path := filepath.Join(dir, strings.Trim(account, "@#_")+".yaml")
		writeFile(t, path, fmt.Sprintf("apiVersion: chat.channel-operator.io/v1alpha1\nkind: OfficialChannel\n"+
			"metadata: {name: bot, namespace: %s}\nspec: {sdkAppID: %d, officialAccountID: %q}\n", tenantNamespace, app, account))
		return path
	}
	labelled := filepath.Join(dir, "labelled.yaml")
	writeFile(t, labelled, fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: bot-settings, namespace: %[1]s, labels: {chat.channel-operator.io/official-channel: bot}}
---
apiVersion: v1
kind: Secret
metadata: {name: bot-database, namespace: %[1]s, labels: {chat.channel-operator.io/official-channel: bot}}
`, tenantNamespace))
	kubectl(t, "apply", "-f", labelled)
	present := func() string {
		out, _ := env.Kubectl(t.Context(), "get", "configmap/bot-settings", "secret/bot-database", "-n", tenantNamespace,
			"--ignore-not-found", "-o", "name")
		return strings.TrimSpace(out)
	}

	// The Active channel, created by an administrator; the editor deletes it.
	kubectl(t, "create", "-f", channel("@TOA#_e2e_bot"))
	testenv.Eventually(t, func() error {
		got := jsonpath(t, tenantNamespace, "ochan/bot", `{.status.phase} {.status.conditions[?(@.type=="Synced")].reason}`)
		if got != "Active Observed" {
			return fmt.Errorf("phase and Synced reason %q", got)
		}
		return nil
	})
	if out, err := editor("delete", "ochan", "bot", "-n", tenantNamespace, "--wait"); err != nil {
		t.Fatalf("the editor deletes the channel: %v\n%s", err, out)
	}
	if got := present(); got != "configmap/bot-settings\nsecret/bot-database" {
		t.Fatalf("deleting the Active channel swept its labelled objects: %q", got)
	}

	// Created again by the editor, for an account that never existed: refused.
	refused := fmt.Sprintf("creating an OfficialChannel: %s may not delete all deployments in namespace %s", channelEditor, tenantNamespace)
	out, err := editor("create", "-f", channel(never))
	if err == nil || !strings.Contains(out, refused) || !strings.Contains(out, "chat.channel-operator.io/official-channel=bot") {
		t.Fatalf("the editor re-creates the channel: err %v, output %q; want the policy's refusal %q", err, out, refused)
	}
	if out, err := env.Kubectl(t.Context(), "get", "ochan", "bot", "-n", tenantNamespace); err == nil {
		t.Fatalf("the refused channel exists:\n%s", out)
	}

	// The namespace editor may delete the labelled objects: accepted, and
	// Chat's 130004 makes the operator delete them.
	if out, err := namespaceEditor("create", "-f", channel(never)); err != nil {
		t.Fatalf("a namespace editor creates the channel: %v\n%s", err, out)
	}
	t.Cleanup(func() { deleteChannels(t, tenantNamespace+"/bot") })
	testenv.Eventually(t, func() error {
		got := jsonpath(t, tenantNamespace, "ochan/bot", "{.status.phase} {.status.destruction.source}")
		if got != "CleanedUp ChatAPI" || present() != "" {
			return fmt.Errorf("phase and source %q, left %q", got, present())
		}
		return nil
	})
}
