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

// Command demo shows the operator's main job on a local control plane, in
// two acts. First, for an app without REST credentials: an OfficialChannel
// with a Deployment, ConfigMap, Secret and Service linked to it, and a
// protected volume; its inventory (the plan) before anything happens; a signed
// OfficialAccount.CallbackAfterOfficialAccountDestroyed sent to the receiver;
// then the channel CleanedUp and its resources gone, the protected volume and
// the unlinked ConfigMap still there. Second, for an app whose REST credentials point at a fake Chat
// REST API: a forged destruction of a channel that still exists is refuted
// and nothing is deleted; a channel destroyed without any callback is found
// by observation and cleaned up. It stops everything it started and exits 0
// when all of that happened. Use it through `make demo`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/channel-operator/channel-operator/internal/chatapi/fakechat"
	"github.com/channel-operator/channel-operator/test/managerproc"
	"github.com/channel-operator/channel-operator/test/testenv"
)

const (
	operatorNamespace = testenv.OperatorNamespace
	token             = "demo-token"
	account           = "@TOA#_test_OA_for_penn"

	// The second act's app, with REST credentials, and its key in the fake Chat.
	chatApp    int64 = 1400000002
	chatAppKey       = "demo-secret-key-of-app-1400000002"
	// resync is the second act's --chat-api-resync-interval: short, so that
	// a destruction no callback reported is found while you watch.
	resync = 5 * time.Second
)

// app is the SDKAppID the demo signs for, in decimal.
var app = strconv.FormatInt(testenv.DemoApp, 10)

var chatAppID = strconv.FormatInt(chatApp, 10)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "\ndemo failed:", err)
		os.Exit(1)
	}
	fmt.Println("\nDemo done. Act one: the destroyed channel's Deployment, ConfigMap, Secret and Service are gone, as its" +
		" plan said; its protected volume and the weather team's ConfigMap are not." +
		" Act two: a forged destruction was refuted and deleted nothing;" +
		" a destruction no callback reported was found through Chat's REST API and cleaned up.")
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Output piped to a reader that Ctrl-C also stopped (make dev | tee ...)
	// must not kill us before we have stopped what we started.
	signal.Ignore(syscall.SIGPIPE)
	root := testenv.RepoRoot()

	step("Start a local control plane (etcd and kube-apiserver from " + testenv.AssetsDir() + ")")
	env, err := testenv.Start(testenv.Options{WorkDir: filepath.Join(root, "bin", "demo-cluster")})
	if err != nil {
		return err
	}
	defer func() {
		step("Stop the control plane")
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping control plane:", err)
		}
	}()
	kubectl := func(args ...string) (string, error) {
		fmt.Printf("$ kubectl %s\n", strings.Join(args, " "))
		out, err := env.Kubectl(ctx, args...)
		fmt.Print(out)
		return out, err
	}

	step("Configure the receiver: apps " + app + " and " + chatAppID + " with webhook token " + token)
	if err := managerproc.Prepare(ctx, env.Client, operatorNamespace, map[string]string{app: token, chatAppID: token}); err != nil {
		return err
	}
	chat, err := fakechat.Start()
	if err != nil {
		return err
	}
	defer chat.Close()
	chat.AddApp(chatApp, chatAppKey)
	step("Give app " + chatAppID + " REST credentials: its key, for a fake Chat REST API at " + chat.URL())
	if err := managerproc.PrepareChatAPI(ctx, env.Client, operatorNamespace, map[string]string{
		chatAppID + ".secretKey": chatAppKey, chatAppID + ".endpoint": chat.URL()}); err != nil {
		return err
	}

	step("Start the operator (bin/manager)")
	logPath := filepath.Join(root, "bin", "demo-manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	mgr, err := managerproc.Start(ctx, managerproc.Options{
		Binary: testenv.ManagerBinary(), Kubeconfig: env.KubeconfigPath,
		Namespace: operatorNamespace, Output: logFile,
		// A short --inventory-interval, so that the plan is shown at once.
		Args: []string{"--leader-elect", "--chat-api-resync-interval=" + resync.String(), "--inventory-interval=1s"},
	})
	if err != nil {
		return fmt.Errorf("%w (log: %s)", err, logPath)
	}
	defer func() {
		step("Stop the operator")
		if err := mgr.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping manager:", err)
		}
	}()
	fmt.Printf("Receiver at %s; manager log in %s\n", mgr.CallbackURL, logPath)

	step("Declare the channel and its bot's infrastructure (hack/demo/newsroom.yaml)")
	manifest := filepath.Join(root, "hack", "demo", "newsroom.yaml")
	if _, err := kubectl("apply", "-f", manifest); err != nil {
		return err
	}
	if err := waitFor(ctx, env, "newsroom", "penn-news", "Active"); err != nil {
		return err
	}
	if _, err := kubectl(showObjects...); err != nil {
		return err
	}

	step("The plan, before anything happens: what a destruction would delete (LINKED), the protected volume kept")
	if err := waitForJSONPath(ctx, env, "newsroom", "penn-news", "{.status.inventory.count}", "5"); err != nil {
		return err
	}
	if _, err := kubectl("get", "ochan", "-n", "newsroom", "-o", "wide"); err != nil {
		return err
	}
	if _, err := kubectl("get", "ochan", "penn-news", "-n", "newsroom", "-o",
		`jsonpath={range .status.inventory.entries[*]}{.kind}/{.name}{" "}{.protected}{"\n"}{end}`); err != nil {
		return err
	}

	step("The Chat backend reports the channel destroyed: a signed callback")
	// Destroyed now: the channel's DESTROYED column reads seconds, as a
	// real destruction's would.
	destroyedAt := time.Now().UTC().Truncate(time.Millisecond)
	if err := sendCallback(ctx, root, mgr.CallbackURL, app, account, strconv.FormatInt(destroyedAt.UnixMilli(), 10)); err != nil {
		return err
	}

	step("The operator recorded the destruction and cleaned up")
	if err := waitFor(ctx, env, "newsroom", "penn-news", "CleanedUp"); err != nil {
		return err
	}
	if _, err := kubectl("get", "ochan", "-n", "newsroom", "-o", "wide"); err != nil {
		return err
	}
	if _, err := kubectl("events", "-n", "newsroom", "--for", "officialchannel/penn-news"); err != nil {
		return err
	}
	if _, err := kubectl(showObjects...); err != nil {
		return err
	}
	if err := check(ctx, env, destroyedAt); err != nil {
		return err
	}
	return secondAct(ctx, env, kubectl, chat, root, mgr.CallbackURL)
}

func sendCallback(ctx context.Context, root, url, sdkAppID, officialAccountID, at string) error {
	args := []string{"--url", url, "--sdkappid", sdkAppID, "--token", token, "--account", officialAccountID, "--event-time", at}
	fmt.Printf("$ bin/send-callback %s\n", strings.Join(args, " "))
	send := exec.CommandContext(ctx, filepath.Join(root, "bin", "send-callback"), args...)
	send.Stdout, send.Stderr = os.Stdout, os.Stderr
	if err := send.Run(); err != nil {
		return fmt.Errorf("send-callback: %w", err)
	}
	return nil
}

// showObjects lists the newsroom's objects with the channel each is linked to.
var showObjects = []string{"get", "deployments,configmaps,secrets,services,persistentvolumeclaims", "-n", "newsroom",
	"-L", "chat.channel-operator.io/official-channel"}

// waitFor waits until the channel reaches phase.
func waitFor(ctx context.Context, env *testenv.Env, ns, name, phase string) error {
	return waitForJSONPath(ctx, env, ns, name, "{.status.phase}", phase)
}

// check verifies what the person just saw.
func check(ctx context.Context, env *testenv.Env, destroyedAt time.Time) error {
	linked := []string{"deployment/penn-news-bot", "configmap/penn-news-config", "secret/penn-news-token", "service/penn-news"}
	for _, obj := range linked {
		if _, err := env.Kubectl(ctx, "get", obj, "-n", "newsroom"); err == nil {
			return fmt.Errorf("%s was not deleted", obj)
		}
	}
	if _, err := env.Kubectl(ctx, "get", "configmap/weather-config", "-n", "newsroom"); err != nil {
		return errors.New("the unlinked ConfigMap weather-config was deleted")
	}
	if _, err := env.Kubectl(ctx, "get", "pvc/penn-news-archive", "-n", "newsroom"); err != nil {
		return errors.New("the protected PersistentVolumeClaim penn-news-archive was deleted")
	}
	protected, err := env.Kubectl(ctx, "get", "ochan", "penn-news", "-n", "newsroom", "-o", "jsonpath={.status.cleanup.protected}")
	if err != nil || protected != "1" {
		return fmt.Errorf("status.cleanup.protected %q, want 1 (%v)", protected, err)
	}
	got, err := env.Kubectl(ctx, "get", "ochan", "penn-news", "-n", "newsroom", "-o", "jsonpath={.status.destroyedAt}")
	if err != nil {
		return err
	}
	if at, perr := time.Parse(time.RFC3339Nano, got); perr != nil || !at.Equal(destroyedAt) {
		return fmt.Errorf("destroyedAt %q, want the callback's EventTime %s (%v)", got, destroyedAt.Format(time.RFC3339Nano), perr)
	}
	return nil
}

func step(title string) {
	fmt.Printf("\n==> %s\n", title)
}
