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

package safety

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

func TestParseLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Limit
		err  string
	}{
		{in: "20/10m", want: Limit{N: 20, Window: 10 * time.Minute}},
		{in: "50/1m", want: Limit{N: 50, Window: time.Minute}},
		{in: " 3 / 1h30m ", want: Limit{N: 3, Window: 90 * time.Minute}},
		{in: "0", want: Limit{}},
		{in: "", err: "is not N/duration"},
		{in: "20", err: "is not N/duration"},
		{in: "0/10m", err: "positive integer"},
		{in: "-1/10m", err: "positive integer"},
		{in: "x/10m", err: "positive integer"},
		{in: "20/0s", err: "positive duration"},
		{in: "20/-1m", err: "positive duration"},
		{in: "20/ten", err: "positive duration"},
	} {
		got, err := ParseLimit(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseLimit(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if s := (Limit{N: 20, Window: 10 * time.Minute}).String(); s != "20/10m" {
		t.Errorf("String() = %q, want 20/10m", s)
	}
	if s := (Limit{N: 1, Window: 2 * time.Hour}).String(); s != "1/2h" {
		t.Errorf("String() = %q, want 1/2h", s)
	}
}

func TestPolicyCheck(t *testing.T) {
	received := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	confirmed := metav1.NewTime(received.Add(time.Minute))
	channel := func(delay *time.Duration, confirmedAt *metav1.Time, annotations map[string]string) *chatv1alpha1.OfficialChannel {
		ch := &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Annotations: annotations}}
		if delay != nil {
			ch.Spec.CleanupDelay = &metav1.Duration{Duration: *delay}
		}
		ch.Status.Destruction = &chatv1alpha1.Destruction{ReceivedAt: metav1.NewTime(received), ConfirmedAt: confirmedAt}
		return ch
	}
	hour, zero := time.Hour, time.Duration(0)
	hold := map[string]string{chatv1alpha1.HoldAnnotation: "true"}
	for _, tc := range []struct {
		name      string
		policy    Policy
		ch        *chatv1alpha1.OfficialChannel
		now       time.Time
		want      Guard
		notBefore time.Time
	}{
		{"no delay", Policy{}, channel(nil, nil, nil), received, None, time.Time{}},
		{"the default delay", Policy{DefaultDelay: hour}, channel(nil, nil, nil), received.Add(time.Minute), Scheduled,
			received.Add(hour)},
		{"the spec's delay wins", Policy{DefaultDelay: hour}, channel(&zero, nil, nil), received, None, time.Time{}},
		{"from the confirmation", Policy{}, channel(&hour, &confirmed, nil), received.Add(hour), Scheduled,
			confirmed.Add(hour)},
		{"delay passed", Policy{}, channel(&hour, &confirmed, nil), confirmed.Add(hour), None, time.Time{}},
		{"held before scheduled", Policy{}, channel(&hour, nil, hold), received, Held, time.Time{}},
		{"held after the delay", Policy{}, channel(nil, nil, hold), received.Add(hour), Held, time.Time{}},
		{"not held by another value", Policy{}, channel(nil, nil, map[string]string{chatv1alpha1.HoldAnnotation: "True"}),
			received, None, time.Time{}},
		{"dry run once due", Policy{DryRun: true}, channel(nil, nil, nil), received, DryRun, time.Time{}},
		{"scheduled before dry run", Policy{DryRun: true}, channel(&hour, nil, nil), received, Scheduled, received.Add(hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, nb := tc.policy.Check(tc.ch, tc.now)
			if got != tc.want || !nb.Equal(tc.notBefore) {
				t.Fatalf("Check = %v, %v; want %v, %v", got, nb, tc.want, tc.notBefore)
			}
		})
	}
}

func TestIgnoredAnnotationsAreNamed(t *testing.T) {
	ch := &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
		chatv1alpha1.HoldAnnotation: "yes", chatv1alpha1.ApproveCleanupAnnotation: strings.Repeat("y", 1000)}}}
	notes := Ignored(ch)
	if len(notes) != 2 || !strings.Contains(notes[0], `hold="yes"`) || len(notes[1]) > 120 {
		t.Fatalf("notes %q: want the hold's value named and the approve's cut short", notes)
	}
	ch.Annotations = map[string]string{chatv1alpha1.HoldAnnotation: "true"}
	if notes := Ignored(ch); len(notes) != 0 {
		t.Fatalf("notes %q for a hold set to true", notes)
	}
}
