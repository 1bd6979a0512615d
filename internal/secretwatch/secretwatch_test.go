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

// Package status holds every status transition of an OfficialChannel as a
// pure function over the object: the phase, the conditions with their
// reasons and messages, and the fields each step of a channel's life sets.
// The destruction recorder and the reconciler change status only through
// these functions, so the rules of a channel's life are read in one place.
package secretwatch

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    types.NamespacedName
		wantErr string
	}{
		{in: "", want: types.NamespacedName{Namespace: "ops", Name: "tokens-default"}},
		{in: "tokens", want: types.NamespacedName{Namespace: "ops", Name: "tokens"}},
		{in: "chat/tokens", want: types.NamespacedName{Namespace: "chat", Name: "tokens"}},
		{in: "/tokens", wantErr: `namespace ""`},
		{in: "chat/", wantErr: `name ""`},
		{in: "Chat/tokens", wantErr: `namespace "Chat"`},
		{in: "chat/a/b", wantErr: `name "a/b"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRef(tt.in, "ops", "tokens-default")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRef(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRef(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}
