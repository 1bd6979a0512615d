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

package text

import (
	"testing"
	"unicode/utf8"
)

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc"},
		{"aé", 2, "a"},   // é is two bytes: not split
		{"aéb", 3, "aé"}, // cut after it
		{"\x80\x80", 1, ""},
		{"é", 0, ""},
		{"abc", -1, ""},
		{"", 0, ""},
	} {
		if got := Cut(tc.s, tc.n); got != tc.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestAbbrev(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abcdef", 6, "abcdef"},     // fits: untouched
		{"abcdefg", 6, "abcdef..."}, // n bytes of s, then the mark
		{"ab界界界", 4, "ab..."},       // 界 is three bytes: not split
		{"ab界界界", 5, "ab界..."},
		{"abcdefg", 0, "..."},
	} {
		got := Abbrev(tc.s, tc.n)
		if got != tc.want {
			t.Errorf("Abbrev(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Abbrev(%q, %d) = %q: not valid UTF-8", tc.s, tc.n, got)
		}
	}
}
