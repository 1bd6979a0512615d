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

package testenv

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

// WaitTimeout bounds every wait of the suites: long enough for a loaded
// 2-core machine, short enough that a broken test fails in reasonable time.
const WaitTimeout = 30 * time.Second

// Get reads obj's current state from the API server into obj.
func (e *Env) Get(t testing.TB, obj client.Object) {
	t.Helper()
	if err := e.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatalf("getting %T %s: %v", obj, client.ObjectKeyFromObject(obj), err)
	}
}

// WaitFor reads obj from the API server until check passes on it, and
// returns the copy that passed.
func WaitFor[T client.Object](t testing.TB, e *Env, obj T, check func(T) error) T {
	t.Helper()
	var got T
	Eventually(t, func() error {
		got = obj.DeepCopyObject().(T)
		if err := e.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got); err != nil {
			return err
		}
		return check(got)
	})
	return got
}

// WaitGone waits until obj is deleted: only NotFound counts as gone.
func (e *Env) WaitGone(t testing.TB, obj client.Object) {
	t.Helper()
	Eventually(t, func() error {
		err := e.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj.DeepCopyObject().(client.Object))
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("%s still there: %v", client.ObjectKeyFromObject(obj), err)
	})
}

// NewChannel creates an OfficialChannel with spec in ns.
func (e *Env) NewChannel(t testing.TB, ns, name string, spec chatv1alpha1.OfficialChannelSpec) *chatv1alpha1.OfficialChannel {
	t.Helper()
	ch := &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	if err := e.Client.Create(context.Background(), ch); err != nil {
		t.Fatalf("creating OfficialChannel %s/%s: %v", ns, name, err)
	}
	return ch
}

// WaitCached waits until cache (a manager's) has obj, as a running
// operator's cache would have it a moment after it was created.
func WaitCached(t testing.TB, cache client.Reader, obj client.Object) {
	t.Helper()
	Eventually(t, func() error {
		got := obj.DeepCopyObject().(client.Object)
		if err := cache.Get(context.Background(), client.ObjectKeyFromObject(obj), got); err != nil {
			return fmt.Errorf("not in the cache yet: %w", err)
		}
		return nil
	})
}

// EventReasons lists the reasons of the events.k8s.io Events about obj, of
// kind kind, in the order the API server lists them.
func (e *Env) EventReasons(t testing.TB, obj client.Object, kind string) []string {
	t.Helper()
	var list eventsv1.EventList
	if err := e.Client.List(context.Background(), &list, client.InNamespace(obj.GetNamespace())); err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, ev := range list.Items {
		if ev.Regarding.Kind == kind && ev.Regarding.Name == obj.GetName() {
			reasons = append(reasons, ev.Reason)
		}
	}
	return reasons
}

// Create creates each object, failing the test at the first error.
func (e *Env) Create(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, obj := range objs {
		if err := e.Client.Create(context.Background(), obj); err != nil {
			t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
	}
}

// Exists reports whether obj (its kind set through its Go type) is still
// there, reading it into obj; any error but NotFound fails the test.
func (e *Env) Exists(t testing.TB, obj client.Object) bool {
	t.Helper()
	err := e.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// Labelled is the link label of the channel named channel.
func Labelled(channel string) map[string]string {
	return map[string]string{chatv1alpha1.LinkLabel: channel}
}

// ObjectMeta names an object in ns, with labels.
func ObjectMeta(ns, name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}
}

// CreateStreamChannels creates n OfficialChannels named c0000, c0001, ...
// in ns for the streams of the rollout tests: app DemoApp, policy Orphan
// (a destruction deletes nothing), account(i) their accounts; 16 at a time.
// It stops t when one cannot be created.
func CreateStreamChannels(t testing.TB, c client.Client, ns string, n int, account func(i int) string) {
	t.Helper()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ch := &chatv1alpha1.OfficialChannel{ObjectMeta: ObjectMeta(ns, fmt.Sprintf("c%04d", i), nil),
				Spec: chatv1alpha1.OfficialChannelSpec{SDKAppID: DemoApp, OfficialAccountID: account(i),
					CleanupPolicy: chatv1alpha1.CleanupPolicyOrphan}}
			if err := c.Create(context.Background(), ch); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// HoldFinalizer keeps an object of a test from going once deleted, as a
// finalizer of another controller would, until Release.
const HoldFinalizer = "example.com/hold"

// Release removes HoldFinalizer from obj.
func (e *Env) Release(t testing.TB, obj client.Object) {
	t.Helper()
	Eventually(t, func() error {
		if err := e.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return client.IgnoreNotFound(err)
		}
		controllerutil.RemoveFinalizer(obj, HoldFinalizer)
		return e.Client.Update(context.Background(), obj)
	})
}

// Channel reads ch's current state from the API server.
func (e *Env) Channel(t testing.TB, ch *chatv1alpha1.OfficialChannel) *chatv1alpha1.OfficialChannel {
	t.Helper()
	got := ch.DeepCopy()
	e.Get(t, got)
	return got
}

// CreateOption changes what CreateChannel waits for.
type CreateOption func(*createOptions)

type createOptions struct{ caches []client.Reader }

// InCache makes CreateChannel return once cache (a manager's) has the
// channel, as a running operator's would a moment after it was created.
func InCache(cache client.Reader) CreateOption {
	return func(o *createOptions) { o.caches = append(o.caches, cache) }
}

// CreateChannel creates an OfficialChannel with spec in ns and returns it as
// the API server has it.
func (e *Env) CreateChannel(t testing.TB, ns, name string, spec chatv1alpha1.OfficialChannelSpec,
	opts ...CreateOption) *chatv1alpha1.OfficialChannel {
	t.Helper()
	var o createOptions
	for _, opt := range opts {
		opt(&o)
	}
	ch := e.NewChannel(t, ns, name, spec)
	for _, cache := range o.caches {
		WaitCached(t, cache, ch)
	}
	return e.Channel(t, ch)
}
