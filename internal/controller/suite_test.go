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

package controller

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/internal/status"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// unservedKind is in --cleanup-kinds but not served by the API server.
const unservedKind = "widgets.example.com"

var (
	env *testenv.Env
	// pending and destructions are the ones the running manager's
	// reconciler uses.
	pending      *destruction.PendingStore
	destructions *destruction.Recorder
)

// TestMain runs one control plane for the package and a manager with the
// reconciler, configured with the default --cleanup-kinds plus one kind the
// cluster does not serve.
func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	testenv.Run(testenv.RunInput{
		M:            m,
		SetupEnv:     func(e *testenv.Env) error { env = e; return nil },
		ManagerInput: managerInput,
	})
}

// managerInput sets up the reconciler as cmd/main.go does.
var managerInput = testenv.ManagerInput{
	Cache: CacheOptions(),
	SetupIndexes: func(ctx context.Context, mgr ctrl.Manager) error {
		return destruction.SetupIndex(ctx, mgr.GetFieldIndexer())
	},
	SetupReconcilers: func(_ context.Context, mgr ctrl.Manager) error {
		kinds, err := ParseCleanupKinds(DefaultCleanupKinds + "," + unservedKind)
		if err != nil {
			return err
		}
		pending = &destruction.PendingStore{Client: env.Client, Namespace: testenv.OperatorNamespace, MaxRecords: 10, TTL: time.Hour}
		destructions = &destruction.Recorder{Cache: mgr.GetCache(), API: mgr.GetAPIReader(), Client: mgr.GetClient(), Pending: pending}
		return (&OfficialChannelReconciler{
			Client:                  refusingRBAC{mgr.GetClient()},
			APIReader:               refusingRBACReader{mgr.GetAPIReader()},
			CleanupKinds:            kinds,
			Destructions:            destructions,
			Events:                  mgr.GetEventRecorder("channel-operator"),
			MaxConcurrentReconciles: 4,
		}).SetupWithManager(mgr)
	},
}

// restartManager stops the running manager; the returned function starts a
// new one.
func restartManager(t *testing.T) (start func()) {
	t.Helper()
	env.Manager.Stop()
	return func() {
		t.Helper()
		m, err := env.StartManager(managerInput)
		if err != nil {
			t.Fatal(err)
		}
		env.Manager = m
	}
}

// --- helpers ---------------------------------------------------------------

func newChannel(t *testing.T, ns, name string, policy chatv1alpha1.CleanupPolicy, linked ...chatv1alpha1.LinkedResource) *chatv1alpha1.OfficialChannel {
	t.Helper()
	ch := env.NewChannel(t, ns, name, chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp,
		OfficialAccountID: "@TOA#_" + ns + "_" + name, CleanupPolicy: policy, LinkedResources: linked})
	return waitForPhase(t, ch, chatv1alpha1.PhaseActive)
}

// destroy records a destruction in the channel's status, as the callback
// receiver does.
func destroy(t *testing.T, ch *chatv1alpha1.OfficialChannel) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, testenv.WaitTimeout, func() error {
		got := getChannel(t, ch)
		base := got.DeepCopy()
		if !status.RecordDestruction(got, chatv1alpha1.Destruction{EventTime: 1670574414123, OwnerAccount: "107867", ReceivedAt: metav1.Now()}) {
			return nil
		}
		return env.Client.Status().Patch(ctx, got, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	})
}

func getChannel(t *testing.T, ch *chatv1alpha1.OfficialChannel) *chatv1alpha1.OfficialChannel {
	t.Helper()
	got := ch.DeepCopy()
	env.Get(t, got)
	return got
}

func waitFor(t *testing.T, ch *chatv1alpha1.OfficialChannel, check func(*chatv1alpha1.OfficialChannel) error) {
	t.Helper()
	testenv.WaitFor(t, env, ch, check)
}

func waitForPhase(t *testing.T, ch *chatv1alpha1.OfficialChannel, phase chatv1alpha1.Phase) *chatv1alpha1.OfficialChannel {
	t.Helper()
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if got.Status.Phase != phase {
			return fmt.Errorf("phase %q, want %q; cleanup %+v", got.Status.Phase, phase, got.Status.Cleanup)
		}
		return nil
	})
	return getChannel(t, ch)
}

func condition(ch *chatv1alpha1.OfficialChannel, condType string) *metav1.Condition {
	return meta.FindStatusCondition(ch.Status.Conditions, condType)
}

// exists reports whether obj (its kind set through its Go type) is still there.
func exists(t *testing.T, obj client.Object) bool {
	t.Helper()
	err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, obj := range objs {
		if err := env.Client.Create(context.Background(), obj); err != nil {
			t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
	}
}

func labelled(channel string) map[string]string {
	return map[string]string{chatv1alpha1.LinkLabel: channel}
}

func objectMeta(ns, name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}
}

func eventReasons(t *testing.T, ch *chatv1alpha1.OfficialChannel) []string {
	t.Helper()
	return env.EventReasons(t, ch, "OfficialChannel")
}

// countEvents counts the channel's Events of reason.
func countEvents(t *testing.T, ch *chatv1alpha1.OfficialChannel, reason string) int {
	t.Helper()
	n := 0
	for _, r := range eventReasons(t, ch) {
		if r == reason {
			n++
		}
	}
	return n
}

func waitForEvents(t *testing.T, ch *chatv1alpha1.OfficialChannel, reasons ...string) {
	t.Helper()
	testenv.Eventually(t, testenv.WaitTimeout, func() error {
		got := strings.Join(eventReasons(t, ch), ",")
		for _, r := range reasons {
			if !strings.Contains(got, r) {
				return fmt.Errorf("events %s, missing %s", got, r)
			}
		}
		return nil
	})
}
