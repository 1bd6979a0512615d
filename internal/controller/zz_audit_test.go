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

import "testing"

// This file sorts last: its test runs after every other of the package.

// No test of the suite made the reconciler delete a labelled object while
// its channel lacked the finalizer: the audit has seen every delete of the
// package's tests by now.
func TestNoDeleteSoFarWasUnheld(t *testing.T) {
	unheldDeletes.Lock()
	defer unheldDeletes.Unlock()
	if len(unheldDeletes.names) > 0 {
		t.Fatalf("deleted while their channel did not hold the finalizer: %v", unheldDeletes.names)
	}
}
