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

// Command send-callback plays the Chat backend: it sends a signed
// OfficialAccount.CallbackAfterOfficialAccountDestroyed webhook to a
// receiver and prints the answer, to smoke-test a deployment.
//
//	send-callback --url https://chat-callback.example.com/callback \
//	  --sdkappid 1400000001 --token "$TOKEN" --account '@TOA#_news'
//
// It exits 0 when the answer is OK, 1 otherwise.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/channel-operator/channel-operator/internal/callback"
)

func main() {
	var (
		endpoint = flag.String("url", "http://127.0.0.1:8082/callback", "the receiver's callback URL")
		appID    = flag.Int64("sdkappid", 0, "the Chat app's SDKAppID (required)")
		token    = flag.String("token", os.Getenv("CHAT_CALLBACK_TOKEN"),
			"the app's webhook token (default $CHAT_CALLBACK_TOKEN; empty sends unsigned)")
		account   = flag.String("account", "", "the destroyed channel's ID, e.g. @TOA#_news (required)")
		eventTime = flag.Int64("event-time", 0, "EventTime in Unix milliseconds (default now)")
		owner     = flag.String("owner", "107867", "Owner_Account in the body")
		name      = flag.String("name", "TestOfficialAccount", "Name in the body")
		timeout   = flag.Duration("timeout", 2*time.Second, "how long to wait for the answer (the Chat backend waits 2s)")
	)
	flag.Parse()
	if *appID <= 0 || *account == "" {
		fmt.Fprintln(os.Stderr, "send-callback: --sdkappid and --account are required")
		flag.Usage()
		os.Exit(2)
	}
	if err := callback.ValidateAccountID(*account); err != nil {
		fmt.Fprintf(os.Stderr, "send-callback: --account %q: %v\n", *account, err)
		os.Exit(2)
	}
	if *eventTime == 0 {
		*eventTime = time.Now().UnixMilli()
	}
	ok, err := send(*endpoint, callback.Call{SDKAppID: *appID, Token: *token, Command: callback.CommandDestroyed,
		ClientIP: "127.0.0.1", OptPlatform: "RESTAPI"}, callback.DestroyedBody(*account, *owner, *name, *eventTime), *timeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "send-callback:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func send(endpoint string, call callback.Call, body []byte, timeout time.Duration) (bool, error) {
	u, err := call.URL(endpoint)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return false, err
	}
	fmt.Printf("%s %s in %s\n%s\n", resp.Proto, resp.Status, time.Since(start).Round(time.Millisecond), bytes.TrimSpace(raw))
	var a callback.Answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return false, fmt.Errorf("the answer is not the Chat JSON answer: %w", err)
	}
	return resp.StatusCode == http.StatusOK && a.ActionStatus == callback.StatusOK, nil
}
