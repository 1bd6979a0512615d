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

// Command fakechat serves a fake Tencent Cloud Chat REST API (see
// internal/chatapi/fakechat) for make dev and the demo: point an app's
// Secret at its URL, then destroy accounts by hand and watch the operator
// notice.
//
//	fakechat --listen 127.0.0.1:8090 --app 1400000001 --key KEY --account '@TOA#_news' --account '@TOA#_sport'
//
// Without --key a random key is made and printed. It runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/chatapi/fakechat"
)

// accountList collects a repeated --account flag.
type accountList []string

func (a *accountList) String() string { return strings.Join(*a, ",") }

func (a *accountList) Set(s string) error {
	*a = append(*a, s)
	return nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "address to serve on")
	appID := flag.Int64("app", 1400000001, "SDKAppID of the fake app")
	key := flag.String("key", "", "the app's secret key (default: a random one, printed)")
	admin := flag.String("identifier", chatapi.DefaultIdentifier, "the app's administrator account")
	var accounts accountList
	flag.Var(&accounts, "account", "an official account to create (repeatable)")
	flag.Parse()
	if err := run(*listen, *appID, *key, *admin, accounts); err != nil {
		fmt.Fprintln(os.Stderr, "fakechat:", err)
		os.Exit(1)
	}
}

func run(listen string, appID int64, key, admin string, accounts []string) error {
	if appID <= 0 {
		return fmt.Errorf("--app %d is not a positive SDKAppID", appID)
	}
	if key == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("making a random key: %w", err)
		}
		key = hex.EncodeToString(b)
		// A fake's key guards nothing: printing it saves a step.
		fmt.Println("No --key given; the app's key is", key)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv, err := fakechat.StartOn(listen)
	if err != nil {
		return err
	}
	defer srv.Close()
	srv.AddApp(appID, key, admin)
	for _, a := range accounts {
		srv.CreateAccount(appID, chatapi.AccountInfo{Account: a, Name: a, OwnerAccount: admin})
	}

	example := "@TOA#_x"
	if len(accounts) > 0 {
		example = accounts[0]
	}
	base := fmt.Sprintf("%s/fake/accounts?sdkappid=%d", srv.URL(), appID)
	fmt.Printf("Fake Chat REST API at %s (app %d, identifier %q, %d accounts)\n", srv.URL(), appID, admin, len(accounts))
	fmt.Printf("  list:    curl '%s'\n", base)
	fmt.Printf("  create:  curl -X POST '%s&account=%s&name=News'\n", base, url.QueryEscape(example))
	fmt.Printf("  destroy: curl -X DELETE '%s&account=%s'\n", base, url.QueryEscape(example))
	fmt.Println("Ctrl-C stops it.")

	<-ctx.Done()
	fmt.Println("Stopping")
	return nil
}
