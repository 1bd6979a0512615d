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

package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Run(testenv.RunInput{M: m, SetupEnv: func(e *testenv.Env) error { env = e; return nil }})
}

func newNamespace(t *testing.T) string { return env.Namespace(t, "api") }

func validChannel(ns, name string) *chatv1alpha1.OfficialChannel {
	return &chatv1alpha1.OfficialChannel{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: chatv1alpha1.OfficialChannelSpec{
			SDKAppID:          1400000001,
			OfficialAccountID: "@TOA#_news",
		},
	}
}

func TestValidChannelIsAcceptedAndDefaulted(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	for _, id := range []string{
		"@TOA#_news",
		"@TOA#_@TOA#dZDP",                        // system-assigned
		"@TOA#_" + strings.Repeat("x", 42),       // exactly 48 bytes
		"@TOA#_ ~!\"$%&'()*+,-./:;<=>?[\\]^`{|}", // every kind of printable ASCII
	} {
		ch := validChannel(ns, fmt.Sprintf("valid-%d", len(id)))
		ch.Spec.OfficialAccountID = id
		ch.Spec.LinkedResources = []chatv1alpha1.LinkedResource{
			{APIVersion: "v1", Kind: "ConfigMap", Name: "legacy"},
			{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "web"},
		}
		if err := env.Client.Create(ctx, ch); err != nil {
			t.Fatalf("creating channel with officialAccountID %q: %v", id, err)
		}
		got := &chatv1alpha1.OfficialChannel{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ch), got); err != nil {
			t.Fatal(err)
		}
		if got.Spec.CleanupPolicy != chatv1alpha1.CleanupPolicyDelete {
			t.Errorf("cleanupPolicy defaulted to %q, want %q", got.Spec.CleanupPolicy, chatv1alpha1.CleanupPolicyDelete)
		}
		if got.Spec.OfficialAccountID != id || len(got.Spec.LinkedResources) != 2 {
			t.Errorf("spec did not round-trip: %+v", got.Spec)
		}
	}
	for _, delay := range []string{"0", "0s", "90s", "1h30m", "1.5h", "8760h"} {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": chatv1alpha1.GroupVersion.String(), "kind": "OfficialChannel",
			"metadata": map[string]any{"namespace": ns, "name": "delay-" + strings.ReplaceAll(delay, ".", "-")},
			"spec":     map[string]any{"sdkAppID": int64(1400000001), "officialAccountID": "@TOA#_news", "cleanupDelay": delay},
		}}
		if err := env.Client.Create(ctx, u); err != nil {
			t.Errorf("creating a channel with cleanupDelay %q: %v", delay, err)
			continue
		}
		got := &chatv1alpha1.OfficialChannel{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(u), got); err != nil {
			t.Fatalf("reading the channel with cleanupDelay %q as a typed object: %v", delay, err)
		}
	}
}

func TestInvalidChannelIsRejected(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	tests := []struct {
		name   string
		mutate func(spec map[string]any)
		// wantField and wantMsg must both appear in the API server's answer.
		wantField, wantMsg string
	}{
		{"sdkAppID zero", func(s map[string]any) { s["sdkAppID"] = 0 }, "spec.sdkAppID", "greater than or equal to 1"},
		{"sdkAppID negative", func(s map[string]any) { s["sdkAppID"] = -5 }, "spec.sdkAppID", "greater than or equal to 1"},
		{"sdkAppID missing", func(s map[string]any) { delete(s, "sdkAppID") }, "spec.sdkAppID", "Required value"},
		{"sdkAppID not a number", func(s map[string]any) { s["sdkAppID"] = "1400000001" }, "spec.sdkAppID", "must be of type integer"},
		{"officialAccountID missing", func(s map[string]any) { delete(s, "officialAccountID") }, "spec.officialAccountID", "Required value"},
		{"officialAccountID without prefix", func(s map[string]any) { s["officialAccountID"] = "news_channel" }, "spec.officialAccountID", "must start with @TOA#_"},
		{"officialAccountID wrong case prefix", func(s map[string]any) { s["officialAccountID"] = "@toa#_news" }, "spec.officialAccountID", "must start with @TOA#_"},
		{"officialAccountID prefix only", func(s map[string]any) { s["officialAccountID"] = "@TOA#_" }, "spec.officialAccountID", "must start with @TOA#_ followed by the channel name"},
		// A short ID gets the prefix message, not a length one.
		{"officialAccountID short, no prefix", func(s map[string]any) { s["officialAccountID"] = "news" }, "spec.officialAccountID", `Invalid value: "news": must start with @TOA#_`},
		{"officialAccountID 49 bytes", func(s map[string]any) { s["officialAccountID"] = "@TOA#_" + strings.Repeat("x", 43) }, "spec.officialAccountID", "may not be more than 48 bytes"},
		{"officialAccountID tab", func(s map[string]any) { s["officialAccountID"] = "@TOA#_a\tb" }, "spec.officialAccountID", "printable ASCII"},
		{"officialAccountID non-ASCII", func(s map[string]any) { s["officialAccountID"] = "@TOA#_café" }, "spec.officialAccountID", "printable ASCII"},
		{"officialAccountID DEL", func(s map[string]any) { s["officialAccountID"] = "@TOA#_\x7f" }, "spec.officialAccountID", "printable ASCII"},
		{"cleanupPolicy unknown", func(s map[string]any) { s["cleanupPolicy"] = "Keep" }, "spec.cleanupPolicy", `supported values: "Delete", "Orphan"`},
		{"cleanupDelay negative", func(s map[string]any) { s["cleanupDelay"] = "-1h" }, "spec.cleanupDelay", "not negative"},
		{"cleanupDelay not a duration", func(s map[string]any) { s["cleanupDelay"] = "soon" }, "spec.cleanupDelay", "not negative"},
		{"cleanupDelay days", func(s map[string]any) { s["cleanupDelay"] = "2d" }, "spec.cleanupDelay", "such as 90s, 30m or 1h30m"},
		{"cleanupDelay over a year", func(s map[string]any) { s["cleanupDelay"] = "8761h" }, "spec.cleanupDelay", "at most 8760h"},
		{"cleanupDelay overflowing", func(s map[string]any) { s["cleanupDelay"] = "9999999999999h" }, "spec.cleanupDelay", ""},
		{"cleanupDelay too long", func(s map[string]any) { s["cleanupDelay"] = strings.Repeat("1h", 17) }, "spec.cleanupDelay",
			"may not be more than 32 bytes"},
		{"linkedResources name missing", func(s map[string]any) {
			s["linkedResources"] = []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}
		}, "spec.linkedResources[0].name", "Required value"},
		{"linkedResources kind missing", func(s map[string]any) {
			s["linkedResources"] = []any{map[string]any{"apiVersion": "v1", "name": "x"}}
		}, "spec.linkedResources[0].kind", "Required value"},
		{"linkedResources apiVersion missing", func(s map[string]any) {
			s["linkedResources"] = []any{map[string]any{"kind": "ConfigMap", "name": "x"}}
		}, "spec.linkedResources[0].apiVersion", "Required value"},
		{"linkedResources empty name", func(s map[string]any) {
			s["linkedResources"] = []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": ""}}
		}, "spec.linkedResources[0].name", "at least 1 chars"},
		{"linkedResources bad apiVersion", func(s map[string]any) {
			s["linkedResources"] = []any{map[string]any{"apiVersion": "apps", "kind": "Deployment", "name": "x"}}
		}, "spec.linkedResources[0].apiVersion", "should match"},
		{"linkedResources lower-case kind", func(s map[string]any) {
			s["linkedResources"] = []any{map[string]any{"apiVersion": "v1", "kind": "configmap", "name": "x"}}
		}, "spec.linkedResources[0].kind", "should match"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := map[string]any{"sdkAppID": int64(1400000001), "officialAccountID": "@TOA#_news"}
			tt.mutate(spec)
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": chatv1alpha1.GroupVersion.String(),
				"kind":       "OfficialChannel",
				"metadata":   map[string]any{"namespace": ns, "name": fmt.Sprintf("invalid-%d", i)},
				"spec":       spec,
			}}
			err := env.Client.Create(ctx, u)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("create: got %v, want an Invalid error", err)
			}
			if !strings.Contains(err.Error(), tt.wantField) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("create: error %q does not name %q with %q", err, tt.wantField, tt.wantMsg)
			}
			// Nothing was written.
			got := &chatv1alpha1.OfficialChannel{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(u), got); !apierrors.IsNotFound(err) {
				t.Fatalf("rejected object exists: %v", err)
			}
		})
	}
}

func TestChannelIdentityIsImmutable(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ch := validChannel(ns, "immutable")
	if err := env.Client.Create(ctx, ch); err != nil {
		t.Fatal(err)
	}

	changed := ch.DeepCopy()
	changed.Spec.OfficialAccountID = "@TOA#_other"
	err := env.Client.Update(ctx, changed)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.officialAccountID") ||
		!strings.Contains(err.Error(), "officialAccountID is immutable") {
		t.Fatalf("changing officialAccountID: got %v, want Invalid naming spec.officialAccountID", err)
	}

	otherApp := ch.DeepCopy()
	otherApp.Spec.SDKAppID++
	err = env.Client.Update(ctx, otherApp)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.sdkAppID") ||
		!strings.Contains(err.Error(), "sdkAppID is immutable") {
		t.Fatalf("changing sdkAppID: got %v, want Invalid naming spec.sdkAppID", err)
	}

	// Other fields stay mutable.
	policy := ch.DeepCopy()
	policy.Spec.CleanupPolicy = chatv1alpha1.CleanupPolicyOrphan
	if err := env.Client.Update(ctx, policy); err != nil {
		t.Fatalf("changing cleanupPolicy: %v", err)
	}
	got := &chatv1alpha1.OfficialChannel{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ch), got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.OfficialAccountID != "@TOA#_news" || got.Spec.CleanupPolicy != chatv1alpha1.CleanupPolicyOrphan {
		t.Fatalf("after updates: spec = %+v", got.Spec)
	}
}

// Once a destruction is recorded, spec.linkedResources is fixed: what the
// operator deletes cannot be extended (or changed) after the fact. Other
// spec fields stay mutable, and an absent list equals an empty one.
func TestLinkedResourcesCannotChangeOnceDestroyed(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	const refused = "spec.linkedResources cannot change once the channel is destroyed"
	legacy := chatv1alpha1.LinkedResource{APIVersion: "v1", Kind: "ConfigMap", Name: "legacy"}
	get := func(ch *chatv1alpha1.OfficialChannel) *chatv1alpha1.OfficialChannel {
		t.Helper()
		got := &chatv1alpha1.OfficialChannel{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ch), got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	destroy := func(ch *chatv1alpha1.OfficialChannel) {
		t.Helper()
		got := get(ch)
		got.Status.Destruction = &chatv1alpha1.Destruction{EventTime: 1670574414123, ReceivedAt: metav1.Now()}
		if err := env.Client.Status().Update(ctx, got); err != nil {
			t.Fatalf("recording a destruction: %v", err)
		}
	}

	ch := validChannel(ns, "linked")
	ch.Spec.LinkedResources = []chatv1alpha1.LinkedResource{legacy}
	if err := env.Client.Create(ctx, ch); err != nil {
		t.Fatal(err)
	}
	// Before the destruction, the list may change.
	before := get(ch)
	before.Spec.LinkedResources = append(before.Spec.LinkedResources, chatv1alpha1.LinkedResource{APIVersion: "v1", Kind: "Secret", Name: "token"})
	if err := env.Client.Update(ctx, before); err != nil {
		t.Fatalf("changing linkedResources of an active channel: %v", err)
	}
	destroy(ch)

	for _, tt := range []struct {
		name   string
		mutate func(*chatv1alpha1.OfficialChannelSpec)
	}{
		{"an entry added", func(s *chatv1alpha1.OfficialChannelSpec) {
			s.LinkedResources = append(s.LinkedResources, chatv1alpha1.LinkedResource{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"})
		}},
		{"an entry renamed", func(s *chatv1alpha1.OfficialChannelSpec) { s.LinkedResources[0].Name = "other" }},
		{"an entry removed", func(s *chatv1alpha1.OfficialChannelSpec) { s.LinkedResources = s.LinkedResources[1:] }},
		{"the list removed", func(s *chatv1alpha1.OfficialChannelSpec) { s.LinkedResources = nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := get(ch)
			tt.mutate(&got.Spec)
			err := env.Client.Update(ctx, got)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.linkedResources") || !strings.Contains(err.Error(), refused) {
				t.Fatalf("update: got %v, want Invalid naming spec.linkedResources with %q", err, refused)
			}
		})
	}
	if got := get(ch); len(got.Spec.LinkedResources) != 2 || got.Spec.LinkedResources[0] != legacy {
		t.Fatalf("linkedResources after the refused updates: %+v", got.Spec.LinkedResources)
	}

	// Other spec fields stay mutable.
	policy := get(ch)
	policy.Spec.CleanupPolicy = chatv1alpha1.CleanupPolicyOrphan
	if err := env.Client.Update(ctx, policy); err != nil {
		t.Fatalf("changing cleanupPolicy of a destroyed channel: %v", err)
	}

	// A destroyed channel without the list: adding one is refused, an empty
	// one is no change.
	bare := validChannel(ns, "bare")
	bare.Spec.OfficialAccountID = "@TOA#_bare"
	if err := env.Client.Create(ctx, bare); err != nil {
		t.Fatal(err)
	}
	destroy(bare)
	added := get(bare)
	added.Spec.LinkedResources = []chatv1alpha1.LinkedResource{legacy}
	if err := env.Client.Update(ctx, added); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), refused) {
		t.Fatalf("adding linkedResources to a destroyed channel: got %v, want %q", err, refused)
	}
	empty := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"linkedResources":[]}}`))
	if err := env.Client.Patch(ctx, get(bare), empty); err != nil {
		t.Fatalf("setting an empty linkedResources on a destroyed channel without one: %v", err)
	}
}

func TestStatusSubresource(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ch := validChannel(ns, "status")
	if err := env.Client.Create(ctx, ch); err != nil {
		t.Fatal(err)
	}
	generation := ch.Generation

	// A status written with the main resource is dropped.
	ch.Status.Phase = chatv1alpha1.PhaseCleanedUp
	if err := env.Client.Update(ctx, ch); err != nil {
		t.Fatal(err)
	}
	got := &chatv1alpha1.OfficialChannel{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ch), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != "" {
		t.Fatalf("status written through the main resource: phase %q", got.Status.Phase)
	}

	// The status subresource takes it, and does not bump the generation.
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	got.Status = chatv1alpha1.OfficialChannelStatus{
		Phase:       chatv1alpha1.PhaseDestroyed,
		DestroyedAt: "2022-12-09T08:26:54.123Z",
		Destruction: &chatv1alpha1.Destruction{EventTime: 1670574414123, OwnerAccount: "107867",
			Name: "TestOfficialAccount", ClientIP: "10.0.0.1", OptPlatform: "RESTAPI", ReceivedAt: now},
		Conditions: []metav1.Condition{{Type: chatv1alpha1.ConditionDestroyed, Status: metav1.ConditionTrue,
			Reason: chatv1alpha1.ReasonCallbackReceived, Message: "destroyed", LastTransitionTime: now, ObservedGeneration: generation}},
		ObservedGeneration: generation,
	}
	if err := env.Client.Status().Update(ctx, got); err != nil {
		t.Fatalf("status update: %v", err)
	}
	after := &chatv1alpha1.OfficialChannel{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ch), after); err != nil {
		t.Fatal(err)
	}
	if after.Status.Phase != chatv1alpha1.PhaseDestroyed || after.Status.Destruction == nil ||
		after.Status.Destruction.EventTime != 1670574414123 || after.Status.DestroyedAt != "2022-12-09T08:26:54.123Z" {
		t.Fatalf("status after update: %+v", after.Status)
	}
	if after.Generation != generation {
		t.Fatalf("status update bumped generation %d -> %d", generation, after.Generation)
	}

	// A bad status value is refused too.
	after.Status.Phase = "Exploded"
	if err := env.Client.Status().Update(ctx, after); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "status.phase") {
		t.Fatalf("status with unknown phase: got %v, want Invalid naming status.phase", err)
	}

	// So is a destruction's string past its bound: the schema holds what
	// the receiver cuts to.
	for field, set := range map[string]func(*chatv1alpha1.Destruction){
		"name":         func(d *chatv1alpha1.Destruction) { d.Name = strings.Repeat("n", 151) },
		"ownerAccount": func(d *chatv1alpha1.Destruction) { d.OwnerAccount = strings.Repeat("o", 257) },
		"clientIP":     func(d *chatv1alpha1.Destruction) { d.ClientIP = strings.Repeat("1", 65) },
		"peerIP":       func(d *chatv1alpha1.Destruction) { d.PeerIP = strings.Repeat("1", 65) },
		"optPlatform":  func(d *chatv1alpha1.Destruction) { d.OptPlatform = strings.Repeat("p", 33) },
	} {
		bad := after.DeepCopy()
		bad.Status.Phase = chatv1alpha1.PhaseDestroyed
		set(bad.Status.Destruction)
		if err := env.Client.Status().Update(ctx, bad); !apierrors.IsInvalid(err) ||
			!strings.Contains(err.Error(), "status.destruction."+field) {
			t.Fatalf("destruction %s past its bound: got %v, want Invalid naming it", field, err)
		}
	}
}

func TestKubectlShowsPrinterColumns(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ch := validChannel(ns, "printed")
	if err := env.Client.Create(ctx, ch); err != nil {
		t.Fatal(err)
	}
	ch.Status.Phase = chatv1alpha1.PhaseDestroyed
	ch.Status.DestroyedAt = "2022-12-09T08:26:54.123Z"
	subscribers := int64(1234)
	ch.Status.Account = &chatv1alpha1.AccountStatus{Name: "Morning-News", SubscriberCount: &subscribers}
	ch.Status.Inventory = &chatv1alpha1.Inventory{Count: 7}
	if err := env.Client.Status().Update(ctx, ch); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{{"get", "ochan"}, {"get", "officialchannels"}, {"get", "chat"}} {
		out, err := env.Kubectl(ctx, append(args, "--namespace", ns)...)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("kubectl %v: want a header and one row, got:\n%s", args, out)
		}
		if got := strings.Fields(lines[0]); strings.Join(got, " ") != "NAME ACCOUNT APP PHASE DESTROYED AGE" {
			t.Fatalf("kubectl %v header = %q", args, lines[0])
		}
		row := strings.Fields(lines[1])
		// A category lookup may print the name as officialchannel.<group>/printed.
		name := row[0][strings.LastIndex(row[0], "/")+1:]
		// The Destroyed column is an age, like Age.
		if len(row) != 6 || name != "printed" || row[1] != "@TOA#_news" ||
			row[2] != "1400000001" || row[3] != "Destroyed" {
			t.Fatalf("kubectl %v row = %q", args, lines[1])
		}
	}

	out, err := env.Kubectl(ctx, "get", "ochan", "--namespace", ns, "-o", "wide")
	if err != nil {
		t.Fatal(err)
	}
	want := "NAME ACCOUNT APP PHASE DESTROYED AGE POLICY DELETED REMAINING LINKED CHANNEL SUBSCRIBERS"
	if header := strings.Fields(strings.SplitN(out, "\n", 2)[0]); strings.Join(header, " ") != want {
		t.Fatalf("kubectl get ochan -o wide header = %q", header)
	}
	row := strings.Fields(strings.SplitN(out, "\n", 3)[1])
	if !strings.Contains(out, "Delete") || len(row) < 3 || row[len(row)-3] != "7" || row[len(row)-2] != "Morning-News" ||
		row[len(row)-1] != "1234" {
		t.Fatalf("kubectl get ochan -o wide does not show the policy, the linked count, the channel's name and its subscribers:\n%s", out)
	}
}
