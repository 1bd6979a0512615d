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

package cleanup

import (
	"context"
	"fmt"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// env is the package's control plane, with a bare manager: its cache is the
// operator's (metadata stripped), and no controller runs. These tests drive
// the cleaner themselves; the reconciler's use of it is tested in
// internal/controller.
var env *testenv.Env

func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	testenv.Run(testenv.RunInput{
		M:            m,
		SetupEnv:     func(e *testenv.Env) error { env = e; return nil },
		ManagerInput: testenv.ManagerInput{Cache: CacheOptions()},
		WithManager:  true,
	})
}

// channel creates an OfficialChannel in ns and waits until the manager's
// cache has it.
func channel(t *testing.T, ns, name string) *chatv1alpha1.OfficialChannel {
	t.Helper()
	return env.CreateChannel(t, ns, name, chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp,
		OfficialAccountID: "@TOA#_" + ns + "_" + name}, testenv.InCache(env.Manager.GetCache()))
}

// configMapsOnly is a kindTracker that knows one usable kind: ConfigMaps.
func configMapsOnly() *kindTracker {
	gr := schema.GroupResource{Resource: "configmaps"}
	k := newKindTracker([]schema.GroupResource{gr})
	k.state[gr] = kindState{gvk: corev1.SchemeGroupVersion.WithKind("ConfigMap"), use: Usable}
	close(k.checked)
	return k
}

// configMapCleaner is a Cleaner of ConfigMaps reading from cache through
// links.
func configMapCleaner(cache client.Reader, links linkLookup) *Cleaner {
	return &Cleaner{Cache: cache, API: env.Client, Client: env.Client, links: links, mapper: env.Manager.GetRESTMapper(),
		kinds: configMapsOnly(), deletes: make(chan struct{}, 4)}
}

// cachedConfigMaps waits until the manager's cache lists ConfigMaps in ns and
// returns that list: what a cache shows before it catches up with what the
// test does next.
func cachedConfigMaps(t *testing.T, ns string) metav1.PartialObjectMetadataList {
	t.Helper()
	var snapshot metav1.PartialObjectMetadataList
	snapshot.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
	testenv.Eventually(t, func() error {
		err := env.Manager.GetCache().List(context.Background(), &snapshot, client.InNamespace(ns))
		if err != nil || len(snapshot.Items) == 0 {
			return fmt.Errorf("not cached yet: %v", err)
		}
		return nil
	})
	return snapshot
}
