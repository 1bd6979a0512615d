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

package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/chatapi/fakechat"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// secondAct: for an app with REST credentials, Chat's REST API decides. A
// forged destruction of a live channel is refuted; a destruction no callback
// reported is found by observation.
func secondAct(ctx context.Context, env *testenv.Env, kubectl func(...string) (string, error), chat *fakechat.Server,
	root, callbackURL string) error {
	step("Second act: app " + chatAppID + " has REST credentials. Two channels exist in Chat (the fake REST API)")
	chat.CreateAccount(chatApp, chatapi.AccountInfo{Account: "@TOA#_sports_live", Name: "Sports-Live", OwnerAccount: "editor",
		SubscriberCount: 5120})
	chat.CreateAccount(chatApp, chatapi.AccountInfo{Account: "@TOA#_weather_alerts", Name: "Weather-Alerts", OwnerAccount: "editor",
		SubscriberCount: 880})
	if _, err := kubectl("apply", "-f", filepath.Join(root, "hack", "demo", "studio.yaml")); err != nil {
		return err
	}
	for _, name := range []string{"sports-live", "weather-alerts"} {
		if err := waitForJSONPath(ctx, env, "studio", name, "{.status.conditions[?(@.type=='Synced')].reason}", "Observed"); err != nil {
			return err
		}
	}
	if _, err := kubectl("get", "ochan", "-n", "studio", "-o", "wide"); err != nil {
		return err
	}

	step("Someone who saw one signed callback URL forges a destruction of sports-live (it still exists in Chat)")
	forged := strconv.FormatInt(time.Now().UnixMilli(), 10)
	if err := sendCallback(ctx, root, callbackURL, chatAppID, "@TOA#_sports_live", forged); err != nil {
		return err
	}
	step("The operator asked Chat's REST API: the destruction is refuted, nothing is deleted")
	refuted := "{.status.conditions[?(@.type=='Destroyed')].reason}"
	if err := waitForJSONPath(ctx, env, "studio", "sports-live", refuted, "Refuted"); err != nil {
		return err
	}
	if _, err := kubectl("get", "ochan", "sports-live", "-n", "studio", "-o",
		"jsonpath={.status.phase}{\"\\n\"}{.status.refutedDestruction}{\"\\n\"}"); err != nil {
		return err
	}
	if _, err := kubectl("events", "-n", "studio", "--for", "officialchannel/sports-live"); err != nil {
		return err
	}

	step("weather-alerts is destroyed in Chat, and no callback reaches the operator")
	destroy := fmt.Sprintf("%s/fake/accounts?sdkappid=%s&account=%%40TOA%%23_weather_alerts", chat.URL(), chatAppID)
	fmt.Printf("$ curl -X DELETE '%s'\n", destroy)
	if err := httpDelete(ctx, destroy); err != nil {
		return err
	}
	step(fmt.Sprintf("Within one resync (--chat-api-resync-interval=%s here; 10m by default) the operator finds it and cleans up", resync))
	if err := waitFor(ctx, env, "studio", "weather-alerts", "CleanedUp"); err != nil {
		return err
	}
	if _, err := kubectl("get", "ochan", "-n", "studio", "-o", "wide"); err != nil {
		return err
	}
	if _, err := kubectl("events", "-n", "studio", "--for", "officialchannel/weather-alerts"); err != nil {
		return err
	}
	if _, err := kubectl("get", "configmaps", "-n", "studio", "-L", "chat.channel-operator.io/official-channel"); err != nil {
		return err
	}
	return checkSecondAct(ctx, env)
}

// httpDelete does what the curl line shows: the fake's by-hand destruction.
func httpDelete(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("destroying the account in the fake Chat: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("destroying the account in the fake Chat: HTTP %d", resp.StatusCode)
	}
	return nil
}

// waitForJSONPath waits until a channel's jsonpath reads want.
func waitForJSONPath(ctx context.Context, env *testenv.Env, ns, name, path, want string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := env.Kubectl(ctx, "get", "ochan", name, "-n", ns, "-o", "jsonpath="+path)
		if err == nil && out == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("channel %s/%s: %s is %q after 30s, want %q (%v)", ns, name, path, out, want, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func checkSecondAct(ctx context.Context, env *testenv.Env) error {
	if _, err := env.Kubectl(ctx, "get", "configmap/sports-live-bot", "-n", "studio"); err != nil {
		return fmt.Errorf("the refuted channel's ConfigMap was deleted: %w", err)
	}
	if _, err := env.Kubectl(ctx, "get", "configmap/weather-alerts-bot", "-n", "studio"); err == nil {
		return fmt.Errorf("the recovered channel's ConfigMap was not deleted")
	}
	source, err := env.Kubectl(ctx, "get", "ochan", "weather-alerts", "-n", "studio", "-o", "jsonpath={.status.destruction.source}")
	if err != nil || source != "ChatAPI" {
		return fmt.Errorf("weather-alerts destruction source %q, want ChatAPI (%v)", source, err)
	}
	phase, err := env.Kubectl(ctx, "get", "ochan", "sports-live", "-n", "studio", "-o", "jsonpath={.status.phase}")
	if err != nil || phase != "Active" {
		return fmt.Errorf("sports-live phase %q after the forged destruction, want Active (%v)", phase, err)
	}
	return nil
}
