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

package controller_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/controller"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// refusingRBAC also audits every delete (auditDelete).

// refusedPrefix marks the objects the suite's operator may not read or
// delete: refusingRBAC stands in for RBAC that refuses them (Forbidden), as
// it would for a kind or a namespace the operator was granted nothing on.
const refusedPrefix = "rbac-refused-"

type refusingRBAC struct{ client.Client }

// slowPrefix marks the objects whose deletes take slowDelete, each saying
// on slowDeletes that it began.
const (
	slowPrefix = "slow-delete-"
	slowDelete = 300 * time.Millisecond
)

var slowDeletes = make(chan string, 100)

func (c refusingRBAC) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	if strings.HasPrefix(obj.GetName(), refusedPrefix) {
		return forbidden(obj, "delete")
	}
	if strings.HasPrefix(obj.GetName(), slowPrefix) {
		select {
		case slowDeletes <- obj.GetName():
		default:
		}
		time.Sleep(slowDelete)
	}
	auditDelete(ctx, obj)
	return c.Client.Delete(ctx, obj, opts...)
}

// deletes audits the reconciler's deletes of labelled objects: undue lists
// those made while the channel, as the API server had it, was CleanedUp (a
// second cleanup); channels, the channels deleted for, each to have its
// destruction recorded by the end of the suite. (A destruction the
// reconciler learns itself, a kept record or Chat's answer, is written with
// the status of the reconcile that cleans up, after the deletes.)
var deletes struct {
	sync.Mutex
	undue    []string
	channels map[client.ObjectKey]bool
}

func auditDelete(ctx context.Context, obj client.Object) {
	name, ok := obj.GetLabels()[chatv1alpha1.LinkLabel]
	if !ok {
		return
	}
	key := client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}
	ch := &chatv1alpha1.OfficialChannel{}
	err := env.Client.Get(ctx, key, ch)
	deletes.Lock()
	defer deletes.Unlock()
	if deletes.channels == nil {
		deletes.channels = map[client.ObjectKey]bool{}
	}
	deletes.channels[key] = true
	if err == nil && ch.Status.Phase == chatv1alpha1.PhaseCleanedUp {
		deletes.undue = append(deletes.undue, fmt.Sprintf("%s/%s of channel %s, CleanedUp already", obj.GetNamespace(),
			obj.GetName(), name))
	}
}

type refusingRBACReader struct{ client.Reader }

func (r refusingRBACReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if strings.HasPrefix(key.Name, refusedPrefix) {
		return forbidden(obj, "get")
	}
	return r.Reader.Get(ctx, key, obj, opts...)
}

func forbidden(obj client.Object, verb string) error {
	gvk := obj.GetObjectKind().GroupVersionKind()
	return apierrors.NewForbidden(schema.GroupResource{Group: gvk.Group, Resource: strings.ToLower(gvk.Kind) + "s"}, obj.GetName(),
		fmt.Errorf("the operator may not %s it", verb))
}

// A linked object the operator may not delete, and a linkedResources entry it
// may not read, are reported (CleanupFailed) and retried while the channel
// lives; once the OfficialChannel is deleted they no longer hold it (nor its
// namespace): it goes, with a CleanupRefused Event, and they stay.
func TestRefusedObjectsDoNotHoldADeletedChannel(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t, "refused")
	ch := newChannel(t, ns, "news", chatv1alpha1.CleanupPolicyDelete,
		chatv1alpha1.LinkedResource{APIVersion: "v1", Kind: "Secret", Name: refusedPrefix + "unreadable"})
	refused := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, refusedPrefix+"config", testenv.Labelled("news"))}
	deletable := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "news-config", testenv.Labelled("news"))}
	env.Create(t, refused, deletable, &corev1.Secret{ObjectMeta: testenv.ObjectMeta(ns, refusedPrefix+"unreadable", nil)})

	errorsBefore := metricValue(t, "controller_runtime_reconcile_errors_total", "controller", "officialchannel")
	destroy(t, ch)
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		c := condition(got, chatv1alpha1.ConditionCleanedUp)
		if c == nil || c.Reason != chatv1alpha1.ReasonCleanupFailed || !strings.Contains(c.Message, "may not delete") ||
			!strings.Contains(c.Message, "may not get") {
			return fmt.Errorf("CleanedUp = %+v", c)
		}
		return nil
	})
	if env.Exists(t, deletable) {
		t.Fatal("the deletable linked object was not deleted")
	}
	// A failed pass is a failed reconcile: counted, and the generation it
	// ran on is not observed.
	if n := metricValue(t, "controller_runtime_reconcile_errors_total", "controller", "officialchannel"); n <= errorsBefore {
		t.Errorf("reconcile errors %v, before %v: the failed pass was not counted", n, errorsBefore)
	}
	// A new generation (Orphan and back) whose passes fail again.
	setPolicy(t, ch, chatv1alpha1.CleanupPolicyOrphan)
	generation := setPolicy(t, ch, chatv1alpha1.CleanupPolicyDelete)
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		c := condition(got, chatv1alpha1.ConditionCleanedUp)
		if c == nil || c.ObservedGeneration != generation || c.Reason != chatv1alpha1.ReasonCleanupFailed {
			return fmt.Errorf("no failed pass on generation %d yet: %+v", generation, c)
		}
		return nil
	})
	if got := env.Channel(t, ch); got.Status.ObservedGeneration >= generation {
		t.Errorf("observedGeneration %d after failed passes on generation %d", got.Status.ObservedGeneration, generation)
	}

	if err := env.Client.Delete(ctx, env.Channel(t, ch)); err != nil {
		t.Fatal(err)
	}
	env.WaitGone(t, ch)
	waitForEvents(t, ch, controller.EventCleanupRefused)
	if !env.Exists(t, refused) {
		t.Fatal("the refused object is gone: it was not refused")
	}
}
