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

package cleanup

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestParseCleanupKinds(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []schema.GroupResource
		wantErr string
	}{
		{
			name: "core and grouped",
			in:   "configmaps, deployments.apps,ingresses.networking.k8s.io",
			want: []schema.GroupResource{
				{Resource: "configmaps"},
				{Group: "apps", Resource: "deployments"},
				{Group: "networking.k8s.io", Resource: "ingresses"},
			},
		},
		{name: "empty", in: "", wantErr: "empty entry"},
		{name: "trailing comma", in: "secrets,", wantErr: "empty entry"},
		{name: "upper case", in: "Deployments.apps", wantErr: `resource "Deployments"`},
		{name: "bad group", in: "deployments.Apps_", wantErr: `group "Apps_"`},
		{name: "duplicate", in: "secrets,secrets", wantErr: "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCleanupKinds(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCleanupKinds(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCleanupKinds(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseCleanupKinds(%q) = %v, want %v", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("ParseCleanupKinds(%q)[%d] = %v, want %v", tt.in, i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestDefaultCleanupKindsParse(t *testing.T) {
	kinds, err := ParseCleanupKinds(DefaultCleanupKinds)
	if err != nil {
		t.Fatal(err)
	}
	if len(kinds) != 13 {
		t.Fatalf("default cleanup kinds: got %d, want the 13 the README lists", len(kinds))
	}
}
