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

package destruction

import (
	"testing"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

func TestKeysAndNames(t *testing.T) {
	ch := &chatv1alpha1.OfficialChannel{Spec: chatv1alpha1.OfficialChannelSpec{SDKAppID: 1400000001, OfficialAccountID: "@TOA#_news"}}
	if got := indexChannel(ch); len(got) != 1 || got[0] != "1400000001/@TOA#_news" {
		t.Fatalf("index = %v", got)
	}
	s := &PendingStore{}
	a, b := s.Name(1400000001, "@TOA#_news"), s.Name(1400000002, "@TOA#_news")
	if a == b || len(a) > 63 {
		t.Fatalf("pending names %q, %q: want distinct valid names", a, b)
	}
}
