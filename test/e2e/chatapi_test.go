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
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/chatapi/fakechat"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// The installed operator, with its ServiceAccount's RBAC, given REST
// credentials as the README says (a Secret created after it started: hot
// reload), confirms destructions with Chat's REST API: a forged callback for
// a live channel is refuted and deletes nothing; a real one is confirmed and
// cleaned up. The key never reaches the log.
func TestChatAPIConfirmsDestructionsInTheInstalledOperator(t *testing.T) {
	useSuite(t)
	const (
		chatApp = int64(1400000003)
		key     = "e2e-secret-key-that-must-never-be-logged"
	)
	id := strconv.FormatInt(chatApp, 10)
	chat, err := fakechat.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(chat.Close)
	chat.AddApp(chatApp, key)
	for _, a := range []string{"@TOA#_e2e_live", "@TOA#_e2e_gone"} {
		chat.CreateAccount(chatApp, chatapi.AccountInfo{Account: a, Name: "E2E " + a[6:], SubscriberCount: 77})
	}
	kubectl(t, "-n", operatorNamespace, "patch", "secret", "channel-operator-callback", "--type=merge",
		"-p", fmt.Sprintf(`{"stringData":{%q:%q}}`, id, token))
	kubectl(t, "-n", operatorNamespace, "create", "secret", "generic", "channel-operator-chat-api",
		"--from-literal="+id+".secretKey="+key, "--from-literal="+id+".endpoint="+chat.URL())
	t.Cleanup(func() { kubectl(t, "-n", operatorNamespace, "delete", "secret", "channel-operator-chat-api") })

	ns := "e2e-chat-api"
	manifest := filepath.Join(t.TempDir(), "channels.yaml")
	writeFile(t, manifest, fmt.Sprintf(chatChannels, ns, id))
	kubectl(t, "apply", "-f", manifest)
	t.Cleanup(func() { deleteChannels(t, ns+"/live", ns+"/gone") })
	for _, ch := range []string{"live", "gone"} {
		testenv.Eventually(t, func() error {
			got := jsonpath(t, ns, "ochan/"+ch, `{.status.conditions[?(@.type=="Synced")].reason} {.status.account.subscriberCount}`)
			if got != "Observed 77" {
				return fmt.Errorf("%s: Synced reason and subscribers %q", ch, got)
			}
			return nil
		})
	}

	// Forged: the account is live.
	if status, a := postDestroyedAt(t, mgr.CallbackURL, chatApp, "@TOA#_e2e_live", token); status != http.StatusOK ||
		a.ActionStatus != callback.StatusOK {
		t.Fatalf("forged callback: %d %+v", status, a)
	}
	testenv.Eventually(t, func() error {
		got := jsonpath(t, ns, "ochan/live", `{.status.phase} {.status.conditions[?(@.type=="Destroyed")].reason} {.status.refutedDestruction.clientIP}`)
		if got != "Active Refuted 198.51.100.4" {
			return fmt.Errorf("live: %q", got)
		}
		return nil
	})
	if out := kubectl(t, "events", "-n", ns, "--for", "officialchannel/live"); !strings.Contains(out, "DestructionRefuted") {
		t.Fatalf("no DestructionRefuted Event:\n%s", out)
	}
	kubectl(t, "get", "configmap/live-bot", "-n", ns)

	// Real: the account is gone when the callback comes.
	chat.Destroy(chatApp, "@TOA#_e2e_gone")
	if status, a := postDestroyedAt(t, mgr.CallbackURL, chatApp, "@TOA#_e2e_gone", token); status != http.StatusOK ||
		a.ActionStatus != callback.StatusOK {
		t.Fatalf("callback: %d %+v", status, a)
	}
	waitPhase(t, ns, "gone", "CleanedUp")
	if got := jsonpath(t, ns, "ochan/gone", `{.status.destruction.source} {.status.conditions[?(@.type=="Destroyed")].reason}`); got != "Callback Confirmed" {
		t.Fatalf("gone: %q", got)
	}
	if out, err := env.Kubectl(t.Context(), "get", "configmap/gone-bot", "-n", ns); err == nil {
		t.Fatalf("the confirmed channel's ConfigMap survived:\n%s", out)
	}
	if log := mgrLog.String(); strings.Contains(log, key) || strings.Contains(log, "usersig=") || strings.Contains(log, "TLS.sig") {
		t.Fatal("the app's secret key or a UserSig is in the manager's log")
	}
}

const chatChannels = `apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: live, namespace: %[1]s}
spec: {sdkAppID: %[2]s, officialAccountID: "@TOA#_e2e_live"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: live-bot
  namespace: %[1]s
  labels: {chat.channel-operator.io/official-channel: live}
---
apiVersion: chat.channel-operator.io/v1alpha1
kind: OfficialChannel
metadata: {name: gone, namespace: %[1]s}
spec: {sdkAppID: %[2]s, officialAccountID: "@TOA#_e2e_gone"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: gone-bot
  namespace: %[1]s
  labels: {chat.channel-operator.io/official-channel: gone}
`
