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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

func TestNotOnlyFinalizers(t *testing.T) {
	base := &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Name: "news", ResourceVersion: "1"}}
	for _, tt := range []struct {
		name   string
		change func(*chatv1alpha1.OfficialChannel)
		passes bool
	}{
		{"the finalizer added", func(c *chatv1alpha1.OfficialChannel) { c.Finalizers = []string{chatv1alpha1.CleanupFinalizer} }, false},
		{"a status write", func(c *chatv1alpha1.OfficialChannel) { c.Status.Phase = chatv1alpha1.PhaseDestroyed }, true},
		{"a deletion", func(c *chatv1alpha1.OfficialChannel) { now := metav1.Now(); c.DeletionTimestamp = &now }, true},
		{"an annotation", func(c *chatv1alpha1.OfficialChannel) { c.Annotations = map[string]string{"a": "b"} }, true},
		{"a spec edit", func(c *chatv1alpha1.OfficialChannel) { c.Generation = 2 }, true},
	} {
		after := base.DeepCopy()
		after.ResourceVersion = "2"
		tt.change(after)
		if got := notOnlyFinalizers.Update(event.UpdateEvent{ObjectOld: base, ObjectNew: after}); got != tt.passes {
			t.Errorf("%s: passes %v, want %v", tt.name, got, tt.passes)
		}
	}
}
