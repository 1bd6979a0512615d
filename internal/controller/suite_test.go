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

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/destruction"
	"github.com/channel-operator/channel-operator/test/testenv"
)

const (
	operatorNamespace = "operator-system"
	waitTimeout       = 30 * time.Second
	// unservedKind is in --cleanup-kinds but not served by the API server.
	unservedKind = "widgets.example.com"
)

var (
	env         *testenv.Env
	stopManager func()
)

// TestMain runs one control plane for the package and a manager with the
// reconciler, configured with the default --cleanup-kinds plus one kind the
// cluster does not serve.
func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	testenv.Main(m, func(e *testenv.Env) error {
		env = e
		if err := e.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil {
			return err
		}
		stop, err := startManager()
		if err != nil {
			return err
		}
		stopManager = stop
		e.AddCleanup(func() { stopManager() })
		return nil
	})
}

// startManager starts a manager with the reconciler and returns a function
// that stops it and waits until it has stopped.
func startManager() (func(), error) {
	kinds, err := ParseCleanupKinds(DefaultCleanupKinds + "," + unservedKind)
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// The restart test starts a second manager in this process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, err
	}
	if err := (&OfficialChannelReconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		CleanupKinds:            kinds,
		Pending:                 &destruction.PendingStore{Client: env.Client, Namespace: operatorNamespace, MaxRecords: 10, TTL: time.Hour},
		Events:                  mgr.GetEventRecorder("channel-operator"),
		MaxConcurrentReconciles: 4,
	}).SetupWithManager(mgr); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
			os.Exit(1)
		}
	}()
	return func() { cancel(); <-done }, nil
}

// restartManager stops the running manager; the returned function starts a
// new one.
func restartManager(t *testing.T) (start func()) {
	t.Helper()
	stopManager()
	stopManager = func() {}
	return func() {
		t.Helper()
		stop, err := startManager()
		if err != nil {
			t.Fatal(err)
		}
		stopManager = stop
	}
}

// --- helpers ---------------------------------------------------------------

func newChannel(t *testing.T, ns, name string, policy chatv1alpha1.CleanupPolicy, linked ...chatv1alpha1.LinkedResource) *chatv1alpha1.OfficialChannel {
	t.Helper()
	ch := &chatv1alpha1.OfficialChannel{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: chatv1alpha1.OfficialChannelSpec{SDKAppID: 1400000001, OfficialAccountID: "@TOA#_" + ns + "_" + name,
			CleanupPolicy: policy, LinkedResources: linked},
	}
	if err := env.Client.Create(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if got.Status.Phase != chatv1alpha1.PhaseActive {
			return fmt.Errorf("phase %q", got.Status.Phase)
		}
		return nil
	})
	return getChannel(t, ch)
}

// destroy records a destruction in the channel's status, as the callback
// receiver does.
func destroy(t *testing.T, ch *chatv1alpha1.OfficialChannel) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, waitTimeout, func() error {
		got := getChannel(t, ch)
		base := got.DeepCopy()
		if !destruction.Apply(got, chatv1alpha1.Destruction{EventTime: 1670574414123, OwnerAccount: "107867", ReceivedAt: metav1.Now()}) {
			return nil
		}
		return env.Client.Status().Patch(ctx, got, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	})
}

func getChannel(t *testing.T, ch *chatv1alpha1.OfficialChannel) *chatv1alpha1.OfficialChannel {
	t.Helper()
	got := &chatv1alpha1.OfficialChannel{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(ch), got); err != nil {
		t.Fatal(err)
	}
	return got
}

func waitFor(t *testing.T, ch *chatv1alpha1.OfficialChannel, check func(*chatv1alpha1.OfficialChannel) error) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, func() error {
		got := &chatv1alpha1.OfficialChannel{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(ch), got); err != nil {
			return err
		}
		return check(got)
	})
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
	var list eventsv1.EventList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ch.Namespace)); err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, ev := range list.Items {
		if ev.Regarding.Kind == "OfficialChannel" && ev.Regarding.Name == ch.Name {
			reasons = append(reasons, ev.Reason)
		}
	}
	return reasons
}

func waitForEvents(t *testing.T, ch *chatv1alpha1.OfficialChannel, reasons ...string) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, func() error {
		got := strings.Join(eventReasons(t, ch), ",")
		for _, r := range reasons {
			if !strings.Contains(got, r) {
				return fmt.Errorf("events %s, missing %s", got, r)
			}
		}
		return nil
	})
}
