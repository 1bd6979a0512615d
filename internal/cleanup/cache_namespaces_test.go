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
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/testenv"
)

func TestParseWatchNamespaces(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "", want: nil},
		{in: "  ", want: nil},
		{in: "newsroom", want: []string{"newsroom"}},
		{in: "newsroom, sports ,weather", want: []string{"newsroom", "sports", "weather"}},
		{in: "newsroom,,sports", wantErr: "empty entry"},
		{in: "newsroom,", wantErr: "empty entry"},
		{in: ",", wantErr: "empty entry"},
		{in: "newsroom,newsroom", wantErr: `"newsroom" listed twice`},
		{in: "Newsroom", wantErr: `namespace "Newsroom"`},
		{in: "news/room", wantErr: `namespace "news/room"`},
		{in: "news.room", wantErr: `namespace "news.room"`},
		{in: strings.Repeat("n", 64), wantErr: "must be no more than 63"},
	} {
		got, err := ParseWatchNamespaces(tt.in)
		switch {
		case tt.wantErr == "" && (err != nil || !slices.Equal(got, tt.want)):
			t.Errorf("ParseWatchNamespaces(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) ||
			!strings.Contains(err.Error(), "--watch-namespaces")):
			t.Errorf("ParseWatchNamespaces(%q) = %q, %v; want an error naming the flag and %q", tt.in, got, err, tt.wantErr)
		}
	}
}

// A cache made with --watch-namespaces holds only those namespaces' objects,
// keeps its transform, and needs list and watch only there: it syncs for a
// user whom a Role grants them in that namespace and nothing cluster-wide.
func TestCacheWithNamespacesHoldsOnlyThoseNamespaces(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitTimeout)
	defer cancel()
	watched, other := env.Namespace(t, "watched"), env.Namespace(t, "unwatched")
	for _, ns := range []string{watched, other} {
		env.NewChannel(t, ns, "news", chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp, OfficialAccountID: "@TOA#_cache_ns"})
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "news-config",
			Labels:      map[string]string{chatv1alpha1.LinkLabel: "news"},
			Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: `{"data":{"k":"secret"}}`}}}
		if err := env.Client.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}

	const user = "confined-cache"
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: watched, Name: "confined-cache"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{chatv1alpha1.GroupVersion.Group}, Resources: []string{"officialchannels"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list", "watch"}},
	}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: watched, Name: "confined-cache"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}}
	for _, obj := range []client.Object{role, binding} {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}

	opts := CacheOptions(watched)
	opts.Scheme = env.Scheme
	c, err := cache.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()

	var channels chatv1alpha1.OfficialChannelList
	// The first List starts the informer and waits for its sync: a
	// cluster-wide list would be forbidden and never sync.
	if err := c.List(ctx, &channels); err != nil {
		t.Fatalf("listing OfficialChannels from the confined cache: %v", err)
	}
	if len(channels.Items) != 1 || channels.Items[0].Namespace != watched {
		t.Fatalf("the cache holds %d OfficialChannels (%v), want only the one in %s", len(channels.Items), namespacesOf(channels.Items), watched)
	}
	var cms metav1.PartialObjectMetadataList
	cms.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
	if err := c.List(ctx, &cms, client.MatchingLabels{chatv1alpha1.LinkLabel: "news"}); err != nil {
		t.Fatalf("listing ConfigMap metadata from the confined cache: %v", err)
	}
	if len(cms.Items) != 1 || cms.Items[0].Namespace != watched {
		t.Fatalf("the cache holds %d labelled ConfigMaps, want only the one in %s", len(cms.Items), watched)
	}
	if len(cms.Items[0].Annotations) != 0 {
		t.Fatalf("the transform is lost: annotations %v kept", cms.Items[0].Annotations)
	}
	// Elsewhere it does not even look.
	ch := &chatv1alpha1.OfficialChannel{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: other, Name: "news"}, ch); err == nil {
		t.Fatalf("the confined cache found %s/news", other)
	}
}

func TestCacheWithoutNamespacesHoldsEveryNamespace(t *testing.T) {
	if opts := CacheOptions(); opts.DefaultNamespaces != nil || opts.DefaultTransform == nil {
		t.Fatalf("CacheOptions() = %+v, want every namespace and the transform", opts)
	}
	opts := CacheOptions("a", "b")
	if len(opts.DefaultNamespaces) != 2 || opts.DefaultTransform == nil {
		t.Fatalf("CacheOptions(a, b) = %+v", opts)
	}
	for _, ns := range []string{"a", "b"} {
		if _, ok := opts.DefaultNamespaces[ns]; !ok {
			t.Fatalf("CacheOptions(a, b) lacks %s", ns)
		}
	}
}

func namespacesOf(channels []chatv1alpha1.OfficialChannel) []string {
	out := make([]string, 0, len(channels))
	for i := range channels {
		out = append(out, channels[i].Namespace)
	}
	return out
}
