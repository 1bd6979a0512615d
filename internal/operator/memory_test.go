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

package operator

import "testing"

func TestApplyMemoryLimit(t *testing.T) {
	for _, tt := range []struct {
		name          string
		env           map[string]string
		want, wantSet int64
		wantErr       bool
	}{
		{"no limit", nil, 0, -1, false},
		{"256Mi: 90%", map[string]string{"MEMORY_LIMIT": "268435456"}, 241591910, 241591910, false},
		{"GOMEMLIMIT wins", map[string]string{"MEMORY_LIMIT": "268435456", "GOMEMLIMIT": "100MiB"}, 0, -1, false},
		{"not a number", map[string]string{"MEMORY_LIMIT": "256Mi"}, 0, -1, true},
		{"zero", map[string]string{"MEMORY_LIMIT": "0"}, 0, -1, true},
		{"mebibytes (a divisor): refused", map[string]string{"MEMORY_LIMIT": "256"}, 0, -1, true},
		{"32Mi, the floor", map[string]string{"MEMORY_LIMIT": "33554432"}, 30198988, 30198988, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set := int64(-1)
			got, err := applyMemoryLimit(func(k string) string { return tt.env[k] }, func(v int64) int64 { set = v; return 0 })
			if (err != nil) != tt.wantErr || got != tt.want || set != tt.wantSet {
				t.Fatalf("got %d (set %d), err %v; want %d (set %d), error %v", got, set, err, tt.want, tt.wantSet, tt.wantErr)
			}
		})
	}
}
