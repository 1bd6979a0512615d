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

package destruction

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

const app = testenv.DemoApp

var env *testenv.Env

// TestMain runs one control plane and a manager whose cache has the
// channel index, and nothing else: no receiver, no reconciler.
func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	testenv.Run(testenv.RunInput{
		M:        m,
		SetupEnv: func(e *testenv.Env) error { env = e; return nil },
		ManagerInput: testenv.ManagerInput{SetupIndexes: func(ctx context.Context, mgr ctrl.Manager) error {
			return SetupIndex(ctx, mgr.GetFieldIndexer())
		}},
	})
}

// store is a pending store of its own, in a namespace of its own, so that
// its count and sweep see only the test's records.
// Records live an hour.
func store(t *testing.T, maxRecords int) *PendingStore {
	t.Helper()
	return &PendingStore{Client: env.Client, Namespace: env.Namespace(t, "pending"), MaxRecords: maxRecords, TTL: time.Hour}
}

// recorder writes with c (env.Client when nil) and keeps records in s.
func recorder(s *PendingStore, c client.Client) *Recorder {
	if c == nil {
		c = env.Client
	}
	return &Recorder{Cache: env.Manager.GetCache(), API: env.Client, Client: c, Pending: s}
}

func record(account string, eventTime int64) Record {
	return Record{SDKAppID: app, OfficialAccountID: account, Destruction: chatv1alpha1.Destruction{
		EventTime: eventTime, OwnerAccount: "107867", ClientIP: "203.0.113.7", ReceivedAt: metav1.Now(),
	}}
}

// newChannel creates an OfficialChannel and waits until the cache has it.
func newChannel(t *testing.T, ns, name, account string) *chatv1alpha1.OfficialChannel {
	t.Helper()
	return env.CreateChannel(t, ns, name, chatv1alpha1.OfficialChannelSpec{SDKAppID: app, OfficialAccountID: account},
		testenv.InCache(env.Manager.GetCache()))
}

// interceptPatches routes every status write through hook, which decides
// whether and when write (the real one) runs.
func interceptPatches(t *testing.T, hook func(ctx context.Context, obj client.Object, write func() error) error) client.Client {
	t.Helper()
	base, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return interceptor.NewClient(base, interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch,
			opts ...client.SubResourcePatchOption) error {
			return hook(ctx, obj, func() error { return c.SubResource(sub).Patch(ctx, obj, patch, opts...) })
		},
	})
}

// failingPatches makes status writes to the named channels fail.
func failingPatches(t *testing.T, names ...string) client.Client {
	t.Helper()
	return interceptPatches(t, func(_ context.Context, obj client.Object, write func() error) error {
		if slices.Contains(names, obj.GetName()) {
			return fmt.Errorf("the API server refused the write of %s", obj.GetName())
		}
		return write()
	})
}
