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
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

func TestFormatEventTime(t *testing.T) {
	for ms, want := range map[int64]string{
		1670574414123: "2022-12-09T08:26:54.123Z", // the documented sample
		1670574414000: "2022-12-09T08:26:54.000Z",
		1:             "1970-01-01T00:00:00.001Z",
	} {
		got := FormatEventTime(ms)
		if got != want {
			t.Errorf("FormatEventTime(%d) = %q, want %q", ms, got, want)
		}
		if parsed, err := time.Parse(time.RFC3339, got); err != nil || parsed.UnixMilli() != ms {
			t.Errorf("FormatEventTime(%d) = %q does not parse back as RFC 3339: %v", ms, got, err)
		}
	}
}

func TestApplyFirstDestructionWins(t *testing.T) {
	ch := &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
	first := chatv1alpha1.Destruction{EventTime: 1670574414123, OwnerAccount: "107867", ReceivedAt: metav1.Now()}
	if !Apply(ch, first) {
		t.Fatal("the first destruction was not applied")
	}
	st := ch.Status
	if st.Phase != chatv1alpha1.PhaseDestroyed || st.DestroyedAt != "2022-12-09T08:26:54.123Z" || *st.Destruction != first {
		t.Fatalf("status after Apply: %+v", st)
	}
	c := meta.FindStatusCondition(st.Conditions, chatv1alpha1.ConditionDestroyed)
	if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != 3 {
		t.Fatalf("Destroyed condition: %+v", c)
	}
	if c := meta.FindStatusCondition(st.Conditions, chatv1alpha1.ConditionCleanedUp); c == nil || c.Reason != chatv1alpha1.ReasonCleanupPending {
		t.Fatalf("CleanedUp condition: %+v", c)
	}
	for _, later := range []int64{1670574414123, 1670574414122, 1670574499999} {
		if Apply(ch, chatv1alpha1.Destruction{EventTime: later}) {
			t.Errorf("a repeat with EventTime %d changed the status", later)
		}
	}
	if ch.Status.Destruction.EventTime != first.EventTime {
		t.Fatalf("destruction replaced: %+v", ch.Status.Destruction)
	}
}

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
