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

// Command manager runs the channel-operator: the OfficialChannel reconciler and
// the Chat callback receiver.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	// Import all Kubernetes client auth plugins (e.g. Azure, GCP, OIDC, etc.)
	// to ensure that exec-entrypoint and run can make use of them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/operator"
	"github.com/channel-operator/channel-operator/internal/version"
)

var setupLog = ctrl.Log.WithName("setup")

func main() {
	var cfg operator.Config
	cfg.BindFlags(flag.CommandLine)
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	if cfg.PrintVersion {
		fmt.Println(version.Get())
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))

	if err := run(cfg); err != nil {
		setupLog.Error(err, "Manager exited with an error")
		os.Exit(1)
	}
}

func run(cfg operator.Config) error {
	var err error
	if cfg.Namespace, err = operator.Namespace(); err != nil {
		setupLog.Error(err, "Using the namespace default")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(chatv1alpha1.AddToScheme(scheme))
	restConfig := ctrl.GetConfigOrDie()
	if err := operator.Preflight(context.Background(), &cfg, restConfig, scheme); err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(restConfig, cfg.ManagerOptions(scheme))
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	op, err := operator.Setup(context.Background(), mgr, cfg)
	if err != nil {
		return err
	}
	ctx := operator.ShutdownContext(cfg.ShutdownDelay, op.Receiver.Drain)

	watching := "all"
	if ns := cfg.WatchedNamespaces(); len(ns) > 0 {
		watching = strings.Join(ns, ",")
	}
	setupLog.Info("Starting manager", "version", version.Get().String(), "namespace", cfg.Namespace,
		"callbackSecret", cfg.Callback.Secret.String(), "chatAPISecret", cfg.ChatAPISecretRef().String(),
		"leaderElection", cfg.LeaderElection, "watchNamespaces", watching)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running manager: %w", err)
	}
	return nil
}
