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

package cleanup

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

func TestStripMetadataKeepsWhatTheCleanupReads(t *testing.T) {
	now := metav1.Now()
	kept := metav1.ObjectMeta{
		Name:            "token",
		Namespace:       "news",
		UID:             "u-1",
		ResourceVersion: "42",
		Labels:          map[string]string{chatv1alpha1.LinkLabel: "news"},
		OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "chat.channel-operator.io/v1alpha1", Kind: "OfficialChannel", Name: "news", UID: "c-1", Controller: ptr.To(true)},
		},
		Finalizers:        []string{"example.com/hold"},
		DeletionTimestamp: &now,
	}
	full := kept.DeepCopy()
	full.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: `{"data":{"password":"c2VjcmV0"}}`}
	full.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	full.GenerateName = "tok-"
	full.Generation = 3
	full.CreationTimestamp = now

	in := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: *full}
	out, err := StripMetadata(in)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*metav1.PartialObjectMetadata)
	if !equality.Semantic.DeepEqual(got.ObjectMeta, kept) || got.Kind != "Secret" || got.APIVersion != "v1" {
		t.Fatalf("stripped metadata %+v, want exactly %+v", got.ObjectMeta, kept)
	}
}

// The protect annotation stays, cut short: a tenant's 256 KiB value costs
// the cache 32 bytes, and protects nothing.
func TestStripMetadataKeepsTheProtectAnnotationShort(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"true", "true"},
		{"yes", "yes"},
		{"true" + strings.Repeat("x", 256<<10), "true" + strings.Repeat("x", 28)},
	} {
		in := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "db", Annotations: map[string]string{
			chatv1alpha1.ProtectAnnotation: tc.value, corev1.LastAppliedConfigAnnotation: "{}"}}}
		out, err := StripMetadata(in)
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*metav1.PartialObjectMetadata).Annotations
		if len(got) != 1 || got[chatv1alpha1.ProtectAnnotation] != tc.want {
			t.Errorf("annotations kept for protect=%.10q: %v, want only protect=%q", tc.value, got, tc.want)
		}
	}
}

func TestStripMetadataLeavesOfficialChannelsWhole(t *testing.T) {
	ch := &chatv1alpha1.OfficialChannel{ObjectMeta: metav1.ObjectMeta{Name: "news",
		Annotations:   map[string]string{"team": "newsroom"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	out, err := StripMetadata(ch)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*chatv1alpha1.OfficialChannel)
	if got.Annotations["team"] != "newsroom" || len(got.ManagedFields) != 0 {
		t.Fatalf("OfficialChannel metadata %+v: want annotations kept, managedFields dropped", got.ObjectMeta)
	}
	tomb := toolscache.DeletedFinalStateUnknown{Key: "news/token", Obj: &metav1.PartialObjectMetadata{}}
	if out, err := StripMetadata(tomb); err != nil || out != any(tomb) {
		t.Fatalf("a tombstone came back as %v, %v", out, err)
	}
}
