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

package controller

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

// One list of the cached channels counts them by phase, by Synced and by
// what holds their cleanup.
func TestPhaseCollectorCountsPhasesAndSynced(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := chatv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ch := func(name string, phase chatv1alpha1.Phase, synced metav1.ConditionStatus) *chatv1alpha1.OfficialChannel {
		c := &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
		c.Status.Phase = phase
		if synced != "" {
			c.Status.Conditions = []metav1.Condition{{Type: chatv1alpha1.ConditionSynced, Status: synced, Reason: "R"}}
		}
		return c
	}
	waiting := func(name, reason string) *chatv1alpha1.OfficialChannel {
		c := ch(name, chatv1alpha1.PhaseDestroyed, metav1.ConditionTrue)
		c.Status.Conditions = append(c.Status.Conditions, metav1.Condition{Type: chatv1alpha1.ConditionCleanedUp,
			Status: metav1.ConditionFalse, Reason: reason})
		return c
	}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		ch("a", chatv1alpha1.PhaseActive, metav1.ConditionTrue),
		ch("b", chatv1alpha1.PhaseReported, metav1.ConditionFalse),
		ch("c", chatv1alpha1.PhaseReported, metav1.ConditionFalse),
		ch("d", "", ""),
		waiting("e", chatv1alpha1.ReasonBudgetExceeded),
		waiting("f", chatv1alpha1.ReasonBudgetExceeded),
		waiting("g", chatv1alpha1.ReasonHeld),
		waiting("h", chatv1alpha1.ReasonOrphaned),
	).Build()
	want := `
# HELP channel_operator_channels OfficialChannels by phase (Unknown: not reconciled yet).
# TYPE channel_operator_channels gauge
channel_operator_channels{phase="Active"} 1
channel_operator_channels{phase="CleanedUp"} 0
channel_operator_channels{phase="CleaningUp"} 0
channel_operator_channels{phase="Destroyed"} 4
channel_operator_channels{phase="Reported"} 2
channel_operator_channels{phase="Unknown"} 1
# HELP channel_operator_channels_synced OfficialChannels by the status of their Synced condition (True, False, Unknown).
# TYPE channel_operator_channels_synced gauge
channel_operator_channels_synced{status="False"} 2
channel_operator_channels_synced{status="True"} 5
channel_operator_channels_synced{status="Unknown"} 1
# HELP channel_operator_cleanups_held Destroyed OfficialChannels whose cleanup waits, by reason (Scheduled, Held, BudgetExceeded, DryRun).
# TYPE channel_operator_cleanups_held gauge
channel_operator_cleanups_held{reason="BudgetExceeded"} 2
channel_operator_cleanups_held{reason="DryRun"} 0
channel_operator_cleanups_held{reason="Held"} 1
channel_operator_cleanups_held{reason="Scheduled"} 0
`
	if err := testutil.CollectAndCompare(newPhaseCollector(reader), strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
