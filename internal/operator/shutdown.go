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

package operator

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

// ShutdownContext is the manager's context: it ends delay after the first
// SIGTERM or SIGINT, and drain is called at once on that signal. In a
// rollout or a drain the Pod fails readiness at once and still answers for
// delay, the time endpoints, kube-proxy and ingress controllers take to stop
// sending to it: no callback meets a closed port (Chat does not resend). A
// second signal exits at once.
func ShutdownContext(delay time.Duration, drain func()) context.Context {
	return shutdownContext(delay, drain, func() { os.Exit(1) })
}

func shutdownContext(delay time.Duration, drain, exit func()) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	log := ctrl.Log.WithName("shutdown")
	go func() {
		sig := <-signals
		log.Info("Stopping: failing readiness, answering callbacks until the shutdown delay ends", "signal", sig.String(),
			"shutdownDelay", delay)
		drain()
		go func() {
			sig := <-signals
			log.Info("Second signal: exiting at once", "signal", sig.String())
			exit()
		}()
		time.Sleep(delay)
		cancel()
	}()
	return ctx
}
