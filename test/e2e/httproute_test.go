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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/channel-operator/channel-operator/hack/forward"
	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// The example HTTPRoute (config/callback/httproute.yaml), built as the
// README says to enable it (the operator's name prefix and namespace, the
// name reference to the receiver Service), is valid for the API server with
// the Gateway API CRDs installed (server-side dry run), and so is the
// ReferenceGrant; the route sends the commands the operator acts on to the
// operator's Service and the rest to the team's backend.
func TestExampleHTTPRouteIsWellFormed(t *testing.T) {
	useSuite(t)
	crds := os.Getenv("GATEWAY_API_CRDS")
	if crds == "" {
		crds = filepath.Join(testenv.RepoRoot(), "bin", "gateway-api-v1.6.3")
	}
	if _, err := os.Stat(crds); err != nil {
		t.Fatalf("the Gateway API CRDs are missing (make gateway-api-crds): %v", err)
	}
	kubectl(t, "apply", "--server-side", "-f", crds)
	for _, crd := range []string{"httproutes.gateway.networking.k8s.io", "referencegrants.gateway.networking.k8s.io"} {
		kubectl(t, "wait", "--for=condition=Established", "--timeout=60s", "crd/"+crd)
	}

	// config/default's prefix and namespace over config/callback, with the
	// route uncommented.
	root := testenv.RepoRoot()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "kustomization.yaml"), `namespace: channel-operator-system
namePrefix: channel-operator-
resources:
- `+filepath.Join(root, "config", "callback", "service.yaml")+`
- `+filepath.Join(root, "config", "callback", "httproute.yaml")+`
configurations:
- `+filepath.Join(root, "config", "callback", "kustomizeconfig.yaml")+`
`)
	kustomize := os.Getenv("KUSTOMIZE")
	if kustomize == "" {
		kustomize = filepath.Join(root, "bin", "kustomize")
	}
	out, err := exec.Command(kustomize, "build", "--load-restrictor", "LoadRestrictionsNone", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("kustomize build: %v\n%s", err, out)
	}
	built := string(out)
	for _, want := range []string{"name: channel-operator-chat-callbacks", "- name: channel-operator-callback\n      port: 80",
		"name: chat-backend\n      namespace: chat-backend", "value: OfficialAccount.CallbackAfterOfficialAccountDestroyed"} {
		if !strings.Contains(built, want) {
			t.Fatalf("the built route lacks %q:\n%s", want, built)
		}
	}
	// Exactly the commands the operator acts on go to it; the backend keeps
	// every other one (messages, subscribers, decisions).
	for _, cmd := range callback.KnownCommands {
		if routed := strings.Contains(built, "value: "+cmd+"\n"); routed != forward.OperatorCommands[cmd] {
			t.Errorf("%s routed to the operator: %v, acted on by it: %v", cmd, routed, forward.OperatorCommands[cmd])
		}
	}
	routes := filepath.Join(dir, "built.yaml")
	writeFile(t, routes, built)
	if out, err := env.Kubectl(t.Context(), "apply", "--dry-run=server", "-f", routes); err != nil {
		t.Fatalf("server-side dry run of the example route: %v\n%s", err, out)
	}
	kubectl(t, "create", "namespace", "chat-backend")
	t.Cleanup(func() {
		_, _ = env.Kubectl(context.Background(), "delete", "namespace", "chat-backend", "--wait=false")
	})
	grant := filepath.Join(root, "config", "callback", "referencegrant.yaml")
	if out, err := env.Kubectl(t.Context(), "apply", "--dry-run=server", "-f", grant); err != nil {
		t.Fatalf("server-side dry run of the example ReferenceGrant: %v\n%s", err, out)
	}
}
