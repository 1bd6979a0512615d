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
	"fmt"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

var unavailableNamespaces = prometheus.NewGauge(prometheus.GaugeOpts{
	Name: "channel_operator_watched_namespaces_unavailable",
	Help: "Namespaces of --watch-namespaces the manager could not read at start (deleted, or the operator's Role " +
		"there gone): it runs without them (its log names them) until it is restarted.",
})

func init() { metrics.Registry.MustRegister(unavailableNamespaces) }

// Preflight readies the process before the manager is made: the Go
// runtime's soft memory limit (ApplyMemoryLimit), and the watched
// namespaces. A namespace of --watch-namespaces that cannot be read (it was
// deleted, and the operator's Role with it) would keep the manager's cache
// from ever syncing, and the Pod from ever becoming ready: it is left out,
// logged and counted, and the manager runs on the others.
func Preflight(ctx context.Context, c *Config, restConfig *rest.Config, scheme *runtime.Scheme) error {
	reader, err := client.New(restConfig, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("creating a client: %w", err)
	}
	return preflight(ctx, c, reader)
}

func preflight(ctx context.Context, c *Config, reader client.Reader) error {
	log := ctrl.Log.WithName("setup")
	if limit, err := ApplyMemoryLimit(os.Getenv); err != nil {
		return err
	} else if limit > 0 {
		log.Info("Go runtime soft memory limit set", "bytes", limit, "share", MemoryLimitShare)
	}
	if len(c.watchNamespaces) == 0 {
		return nil
	}
	var available, unavailable []string
	for _, ns := range c.watchNamespaces {
		err := reader.List(ctx, &chatv1alpha1.OfficialChannelList{}, client.InNamespace(ns), client.Limit(1))
		switch {
		case err == nil:
			available = append(available, ns)
		case apierrors.IsForbidden(err) || apierrors.IsNotFound(err):
			unavailable = append(unavailable, ns)
			log.Error(err, "A watched namespace cannot be read (deleted, or the operator's Role there is gone): "+
				"running without it until restarted", "namespace", ns)
		default:
			return fmt.Errorf("reading OfficialChannels in watched namespace %s: %w", ns, err)
		}
	}
	unavailableNamespaces.Set(float64(len(unavailable)))
	if len(available) == 0 {
		return fmt.Errorf("no namespace of --watch-namespaces can be read: %s", strings.Join(unavailable, ","))
	}
	c.watchNamespaces = available
	return nil
}
