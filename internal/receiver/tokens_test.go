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

package receiver

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestParseTokens(t *testing.T) {
	tests := []struct {
		name        string
		data        map[string]string
		want        map[int64]string
		wantRefused []string
	}{
		{name: "a token and an unsigned app", data: map[string]string{"1400000001": "tok\n", "1400000002": ""},
			want: map[int64]string{1400000001: "tok", 1400000002: ""}},
		{name: "not an SDKAppID", data: map[string]string{"news": "tok", "0": "tok", "-5": "tok"},
			want: map[int64]string{}, wantRefused: []string{"-5: not an SDKAppID", "0: not an SDKAppID", "news: not an SDKAppID"}},
		{name: "whitespace alone is not an empty token", data: map[string]string{"1400000001": " \n"},
			want: map[int64]string{}, wantRefused: []string{"1400000001: the token is only whitespace"}},
		{name: "one app under two keys", data: map[string]string{"1400000001": "secret-a", "01400000001": "secret-b", "1400000002": "secret-c"},
			want:        map[int64]string{1400000002: "secret-c"},
			wantRefused: []string{"01400000001, 1400000001: the same SDKAppID under several keys"}},
		{name: "a leading zero alone is the app", data: map[string]string{"01400000001": "a"},
			want: map[int64]string{1400000001: "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := map[string][]byte{}
			for k, v := range tt.data {
				data[k] = []byte(v)
			}
			got, refused := parseTokens(data)
			if !maps.Equal(got, tt.want) || !slices.Equal(refused, tt.wantRefused) {
				t.Fatalf("parseTokens = %v, %q; want %v, %q", got, refused, tt.want, tt.wantRefused)
			}
			for _, r := range refused {
				if strings.Contains(r, "secret") {
					t.Fatalf("a refusal %q carries a token", r)
				}
			}
		})
	}
}
