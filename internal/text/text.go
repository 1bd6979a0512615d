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

// Package text shortens strings that others chose (a callback's fields, an
// API's error message) to a bound, without splitting a UTF-8 sequence: a
// string cut mid-sequence is invalid UTF-8, which the API server replaces or
// refuses and which garbles a log line.
package text

// Cut shortens s to at most n bytes without splitting a UTF-8 sequence.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// ellipsis marks a string Abbrev shortened.
const ellipsis = "..."

// Abbrev keeps at most n bytes of s, without splitting a UTF-8 sequence, and
// marks a shortened string with "..." (so at most n+3 bytes in all).
func Abbrev(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Cut(s, n) + ellipsis
}
