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
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/channel-operator/channel-operator/test/testenv"
)

// Each reason a cleanup kind can be unusable is told apart, nothing is
// watched until the kind is usable, and a grant added later is picked up by
// the next check, without a restart.
func TestUnusableCleanupKindsAreSkippedUntilUsable(t *testing.T) {
	ctx := context.Background()
	user, groups := testenv.ServiceAccountUser("kinds-test", "operator")
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	asOperator, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	configMaps := schema.GroupResource{Resource: "configmaps"}
	bindings := schema.GroupResource{Resource: "bindings"}                     // served, but create only
	nodes := schema.GroupResource{Resource: "nodes"}                           // cluster-scoped
	widgets := schema.GroupResource{Group: "example.com", Resource: "widgets"} // not served
	var watched []schema.GroupVersionKind
	kinds := newKindTracker([]schema.GroupResource{configMaps, bindings, nodes, widgets})
	kinds.mapper, kinds.discovery, kinds.reviews = env.Manager.GetRESTMapper(), disco, asOperator
	kinds.watch = func(gvk schema.GroupVersionKind) error { watched = append(watched, gvk); return nil }
	if st := kinds.usable(configMaps); st.use != Unchecked {
		t.Fatalf("before any check: %v", st.use)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := kinds.awaitFirstCheck(waitCtx); err == nil {
		t.Fatal("awaitFirstCheck returned before any check")
	}

	kinds.checkAll(ctx)
	if err := kinds.awaitFirstCheck(ctx); err != nil {
		t.Fatal(err)
	}
	for gr, want := range map[schema.GroupResource]struct {
		use    Usability
		reason string
	}{
		// Only a kind that cannot hold a linked object is Unserved (skipped).
		configMaps: {Refused, "RBAC does not allow list cluster-wide"},
		bindings:   {Refused, "the API serves no list, watch, delete for it"},
		nodes:      {Unserved, "cluster-scoped"},
		widgets:    {Unserved, "not served by the cluster"},
	} {
		if st := kinds.usable(gr); st.use != want.use || !strings.Contains(st.reason, want.reason) {
			t.Errorf("%s: %v %q, want %v %q", gr, st.use, st.reason, want.use, want.reason)
		}
	}
	if len(watched) != 0 {
		t.Fatalf("watched %v before any kind was usable", watched)
	}

	// The grant comes later.
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "kinds-test-"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "delete"}},
		},
	}
	env.Create(t, role)
	env.Create(t, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{GenerateName: "kinds-test-"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}})
	testenv.Eventually(t, func() error {
		kinds.checkAll(ctx)
		if st := kinds.usable(configMaps); st.use != Usable || st.reason != "" {
			return fmt.Errorf("configmaps still unusable: %s", st.reason)
		}
		return nil
	})
	if len(watched) != 1 || watched[0].Kind != "ConfigMap" {
		t.Fatalf("watched %v, want the ConfigMap metadata once", watched)
	}
	kinds.checkAll(ctx)
	if len(watched) != 1 {
		t.Fatalf("a usable kind was watched again: %v", watched)
	}
}
