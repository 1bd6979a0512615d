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
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

// This file sorts last: its test runs after every other of the package.

// No test of the suite made the reconciler delete a labelled object of a
// channel that was not destroyed, or once its cleanup had ended: the audit
// has seen every delete of the package's tests by now.
func TestNoDeleteSoFarWasUndue(t *testing.T) {
	deletes.Lock()
	defer deletes.Unlock()
	if len(deletes.undue) > 0 {
		t.Errorf("deleted after their channel's cleanup ended: %v", deletes.undue)
	}
	for key := range deletes.channels {
		ch := &chatv1alpha1.OfficialChannel{}
		err := env.Client.Get(context.Background(), key, ch)
		switch {
		case apierrors.IsNotFound(err):
			// Deleted by its test; its destruction went with it.
		case err != nil:
			t.Error(err)
		case ch.Status.Destruction == nil:
			t.Errorf("linked objects of %s deleted, and it records no destruction (phase %q)", key, ch.Status.Phase)
		}
	}
	if len(deletes.channels) < 20 {
		t.Errorf("the audit saw the deletes of %d channels only: is it wired?", len(deletes.channels))
	}
}
