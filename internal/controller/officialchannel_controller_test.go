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
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

var env *testenv.Env

// TestMain runs one control plane and one manager with the reconciler for the
// whole package.
func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	testenv.Main(m, func(e *testenv.Env) error {
		env = e
		mgr, err := ctrl.NewManager(e.Config, ctrl.Options{
			Scheme:                 e.Scheme,
			Metrics:                metricsserver.Options{BindAddress: "0"},
			HealthProbeBindAddress: "0",
		})
		if err != nil {
			return err
		}
		if err := (&OfficialChannelReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
			return err
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
		e.AddCleanup(func() { cancel(); <-done })
		return nil
	})
}

const waitTimeout = 20 * time.Second

func TestNewChannelBecomesActive(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "active")
	ch := &chatv1alpha1.OfficialChannel{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "news"},
		Spec:       chatv1alpha1.OfficialChannelSpec{SDKAppID: 1400000001, OfficialAccountID: "@TOA#_news"},
	}
	if err := env.Client.Create(ctx, ch); err != nil {
		t.Fatal(err)
	}

	testenv.Eventually(t, waitTimeout, func() error {
		got := &chatv1alpha1.OfficialChannel{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ch), got); err != nil {
			return err
		}
		if !controllerutil.ContainsFinalizer(got, chatv1alpha1.CleanupFinalizer) {
			return fmt.Errorf("no finalizer: %v", got.Finalizers)
		}
		if got.Status.Phase != chatv1alpha1.PhaseActive || got.Status.ObservedGeneration != got.Generation {
			return fmt.Errorf("status = %+v", got.Status)
		}
		for _, ct := range []string{chatv1alpha1.ConditionDestroyed, chatv1alpha1.ConditionCleanedUp} {
			c := meta.FindStatusCondition(got.Status.Conditions, ct)
			if c == nil || c.Status != metav1.ConditionFalse || c.ObservedGeneration != got.Generation {
				return fmt.Errorf("condition %s = %+v", ct, c)
			}
		}
		return nil
	})
}

// Deleting a channel that was never destroyed lets it go at once and deletes
// nothing by label.
func TestDeletingActiveChannelDeletesNothing(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "delete-active")
	ch := &chatv1alpha1.OfficialChannel{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "news"},
		Spec:       chatv1alpha1.OfficialChannelSpec{SDKAppID: 1400000001, OfficialAccountID: "@TOA#_news"},
	}
	if err := env.Client.Create(ctx, ch); err != nil {
		t.Fatal(err)
	}
	labelled := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "news-config",
		Labels: map[string]string{chatv1alpha1.LinkLabel: "news"}}}
	if err := env.Client.Create(ctx, labelled); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, func() error {
		got := &chatv1alpha1.OfficialChannel{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ch), got); err != nil {
			return err
		}
		if !controllerutil.ContainsFinalizer(got, chatv1alpha1.CleanupFinalizer) {
			return fmt.Errorf("no finalizer yet")
		}
		return nil
	})

	if err := env.Client.Delete(ctx, ch); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, func() error {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(ch), &chatv1alpha1.OfficialChannel{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("channel still present: %v", err)
	})
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(labelled), &corev1.ConfigMap{}); err != nil {
		t.Fatalf("labelled ConfigMap of an active channel: %v", err)
	}
}
