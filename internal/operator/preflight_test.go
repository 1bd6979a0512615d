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

package operator

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// namespaceReader answers a List per namespace as told.
type namespaceReader struct {
	client.Reader
	errs map[string]error
}

func (r namespaceReader) List(_ context.Context, _ client.ObjectList, opts ...client.ListOption) error {
	var o client.ListOptions
	o.ApplyOptions(opts)
	return r.errs[o.Namespace]
}

func TestPreflightLeavesOutNamespacesItCannotRead(t *testing.T) {
	gr := schema.GroupResource{Group: "chat.channel-operator.io", Resource: "officialchannels"}
	forbidden := apierrors.NewForbidden(gr, "", errors.New("no RoleBinding"))
	for _, tt := range []struct {
		name        string
		errs        map[string]error
		want        []string
		unavailable float64
		wantErr     bool
	}{
		{"all readable", nil, []string{"a", "b"}, 0, false},
		{"one deleted", map[string]error{"b": forbidden}, []string{"a"}, 1, false},
		{"none readable", map[string]error{"a": forbidden, "b": apierrors.NewNotFound(gr, "")}, nil, 2, true},
		{"the API server down: no guess", map[string]error{"a": errors.New("connection refused")}, nil, -1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.WatchNamespaces = "a,b"
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			unavailableNamespaces.Set(-1)
			err := preflight(context.Background(), &c, namespaceReader{errs: tt.errs})
			if (err != nil) != tt.wantErr {
				t.Fatalf("preflight: %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !slices.Equal(c.WatchedNamespaces(), tt.want) {
				t.Fatalf("watched %v, want %v", c.WatchedNamespaces(), tt.want)
			}
			if got := testutil.ToFloat64(unavailableNamespaces); got != tt.unavailable {
				t.Fatalf("unavailable gauge %v, want %v", got, tt.unavailable)
			}
		})
	}
}
