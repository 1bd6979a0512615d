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

// Command dev runs a local control plane (etcd and kube-apiserver from
// bin/k8s), installs the CRDs, applies the samples, starts a fake Chat REST
// API for a second app and runs bin/manager against it in the foreground.
// Ctrl-C stops everything it started.
//
// Use it through `make dev`; kubectl reaches the control plane with
// KUBECONFIG=bin/dev/kubeconfig.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/chatapi/fakechat"
	"github.com/channel-operator/channel-operator/test/managerproc"
	"github.com/channel-operator/channel-operator/test/testenv"
)

const (
	operatorNamespace = testenv.OperatorNamespace
	// A development token for the samples' app.
	devToken = "dev-token"

	// chatApp has REST credentials, for the fake Chat REST API on chatAddr.
	chatApp    int64 = 1400000002
	chatAppKey       = "dev-secret-key-of-app-1400000002"
	chatAddr         = "127.0.0.1:8090"
	chatResync       = "30s"
)

func main() {
	manager := flag.String("manager", testenv.ManagerBinary(), "manager binary to run")
	flag.Parse()
	if err := run(*manager, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

func run(managerPath string, managerArgs []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Output piped to a reader that Ctrl-C also stopped (make dev | tee ...)
	// must not kill us before we have stopped what we started.
	signal.Ignore(syscall.SIGPIPE)

	root := testenv.RepoRoot()
	fmt.Println("Starting a local control plane from", testenv.AssetsDir())
	env, err := testenv.Start(testenv.Options{WorkDir: filepath.Join(root, "bin", "dev")})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("Stopping the control plane")
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "dev: stopping control plane:", err)
		}
	}()

	// Tokens for the samples' app and chatApp, so that signed callbacks can be sent.
	chatAppID := strconv.FormatInt(chatApp, 10)
	tokens := map[string]string{strconv.FormatInt(testenv.DemoApp, 10): devToken, chatAppID: devToken}
	if err := managerproc.Prepare(ctx, env.Client, operatorNamespace, tokens); err != nil {
		return err
	}
	chat, err := fakechat.StartOn(chatAddr)
	if err != nil {
		return fmt.Errorf("starting the fake Chat REST API on %s: %w", chatAddr, err)
	}
	defer chat.Close()
	chat.AddApp(chatApp, chatAppKey)
	chat.CreateAccount(chatApp, chatapi.AccountInfo{Account: "@TOA#_dev_channel", Name: "Dev channel", SubscriberCount: 3})
	if err := managerproc.PrepareChatAPI(ctx, env.Client, operatorNamespace, map[string]string{
		chatAppID + ".secretKey": chatAppKey, chatAppID + ".endpoint": chat.URL()}); err != nil {
		return err
	}
	out, err := env.Kubectl(ctx, "apply", "--namespace", "default", "-k", filepath.Join(root, "config", "samples"))
	if err != nil {
		return fmt.Errorf("applying samples: %w", err)
	}
	fmt.Print(out)

	mgr, err := managerproc.Start(ctx, managerproc.Options{
		Binary:     managerPath,
		Kubeconfig: env.KubeconfigPath,
		Namespace:  operatorNamespace,
		// A person reads these logs at a terminal: the console format.
		Args:         append([]string{"--zap-devel", "--chat-api-resync-interval=" + chatResync}, managerArgs...),
		CallbackPort: 8082,
		Output:       os.Stdout,
	})
	if err != nil {
		return err
	}
	fmt.Printf("\nReady. In another shell:\n")
	fmt.Printf("  export KUBECONFIG=%s\n  %s get ochan -A\n", env.KubeconfigPath, env.KubectlPath())
	fmt.Printf("  bin/send-callback --url %s --sdkappid %d --token %s --account '@TOA#_test_OA_for_penn'\n",
		mgr.CallbackURL, testenv.DemoApp, devToken)
	fmt.Printf("\nApp %s has REST credentials for a fake Chat REST API at %s (resync every %s here).\n",
		chatAppID, chat.URL(), chatResync)
	fmt.Printf("  # a channel of it that exists in the fake:\n")
	fmt.Printf("  printf 'apiVersion: chat.channel-operator.io/v1alpha1\\nkind: OfficialChannel\\nmetadata: {name: dev}\\n"+
		"spec: {sdkAppID: %s, officialAccountID: \"@TOA#_dev_channel\"}\\n' | %s apply -f -\n", chatAppID, env.KubectlPath())
	fmt.Printf("  # the fake's accounts, and how to destroy one by hand (no callback is sent: the operator finds out by itself):\n")
	fmt.Printf("  curl '%s/fake/accounts?sdkappid=%s'\n", chat.URL(), chatAppID)
	fmt.Printf("  curl -X DELETE '%s/fake/accounts?sdkappid=%s&account=%%40TOA%%23_dev_channel'\n", chat.URL(), chatAppID)
	fmt.Printf("  # a forged destruction of a channel that exists is refuted:\n")
	fmt.Printf("  bin/send-callback --url %s --sdkappid %s --token %s --account '@TOA#_dev_channel'\n", mgr.CallbackURL, chatAppID, devToken)
	fmt.Printf("Metrics: http://%s/metrics. Ctrl-C stops the manager and the control plane.\n\n", mgr.MetricsAddr)

	select {
	case <-mgr.Exited():
		return fmt.Errorf("manager exited: %w", mgr.Stop())
	case <-ctx.Done():
	}
	fmt.Println("\nStopping the manager")
	return mgr.Stop()
}
