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
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

func TestKeysAndNames(t *testing.T) {
	ch := &chatv1alpha1.OfficialChannel{Spec: chatv1alpha1.OfficialChannelSpec{SDKAppID: 1400000001, OfficialAccountID: "@TOA#_news"}}
	if got := IndexChannel(ch); len(got) != 1 || got[0] != "1400000001/@TOA#_news" {
		t.Fatalf("index = %v", got)
	}
	s := &PendingStore{}
	a, b := s.Name(1400000001, "@TOA#_news"), s.Name(1400000002, "@TOA#_news")
	if a == b || len(a) > 63 {
		t.Fatalf("pending names %q, %q: want distinct valid names", a, b)
	}
}

func TestFairFirstPutsEveryNamespaceEarly(t *testing.T) {
	at := func(s int) metav1.Time { return metav1.NewTime(time.Unix(int64(s), 0)) }
	ch := func(ns, name string, created int) chatv1alpha1.OfficialChannel {
		return chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: at(created)}}
	}
	// A tenant's flood in "noisy", created first; the victims' channels later.
	in := []chatv1alpha1.OfficialChannel{
		ch("victim-b", "b1", 50), ch("noisy", "n3", 3), ch("noisy", "n1", 1), ch("victim-a", "a1", 40),
		ch("noisy", "n2", 2), ch("victim-a", "a2", 41),
	}
	got := make([]string, 0, len(in))
	for _, c := range fairFirst(in) {
		got = append(got, c.Namespace+"/"+c.Name)
	}
	want := []string{"noisy/n1", "victim-a/a1", "victim-b/b1", "noisy/n2", "victim-a/a2", "noisy/n3"}
	if !slices.Equal(got, want) {
		t.Fatalf("fairFirst = %v, want %v", got, want)
	}
}
