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

// Package secretwatch follows one Secret, named in advance, through a cache
// of its own: the manager's cache keeps only the metadata of other Secrets,
// and nothing but this one Secret's data is ever read.
package secretwatch

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Watch calls changed with the Secret ref each time it is created or
// changes, and with nil once it is deleted. The cache is one of the
// manager's caches, and its sync includes changed having been called with
// what the first list found: every other runnable (the reconciler, the
// receiver) starts after the Secret's content is loaded.
func Watch(ctx context.Context, mgr manager.Manager, ref types.NamespacedName, changed func(*corev1.Secret)) error {
	secrets, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme:            mgr.GetScheme(),
		Mapper:            mgr.GetRESTMapper(),
		HTTPClient:        mgr.GetHTTPClient(),
		DefaultNamespaces: map[string]cache.Config{ref.Namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Field: fields.OneTermEqualSelector("metadata.name", ref.Name)},
		},
		DefaultTransform: cache.TransformStripManagedFields(),
	})
	if err != nil {
		return fmt.Errorf("creating the cache of Secret %s: %w", ref, err)
	}
	inf, err := secrets.GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return fmt.Errorf("getting the informer of Secret %s: %w", ref, err)
	}
	call := func(obj any, deleted bool) {
		if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj, deleted = tomb.Obj, true
		}
		secret, ok := obj.(*corev1.Secret)
		if !ok || secret.Namespace != ref.Namespace || secret.Name != ref.Name {
			return
		}
		if deleted {
			secret = nil
		}
		changed(secret)
	}
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { call(obj, false) },
		UpdateFunc: func(_, obj any) { call(obj, false) },
		DeleteFunc: func(obj any) { call(obj, true) },
	})
	if err != nil {
		return fmt.Errorf("watching Secret %s: %w", ref, err)
	}
	// Started and synced with the manager's caches, before anything else.
	return mgr.Add(&ownCache{Cache: secrets, handled: reg.HasSynced})
}

// ownCache makes the manager start a cache with its own caches and wait for
// its sync, its handler's included, before it starts anything else. An
// informer's sync says its store holds the first list, not that a handler
// has been called with it.
type ownCache struct {
	cache.Cache
	handled func() bool
}

// GetCache puts ownCache in the manager's group of caches.
func (c *ownCache) GetCache() cache.Cache { return c }

// WaitForCacheSync waits for the cache and for the handler's first calls.
func (c *ownCache) WaitForCacheSync(ctx context.Context) bool {
	if !c.Cache.WaitForCacheSync(ctx) {
		return false
	}
	return toolscache.WaitForCacheSync(ctx.Done(), c.handled)
}

// ParseRef parses a Secret flag: "namespace/name", or "name" in
// defaultNamespace; empty means defaultName in defaultNamespace.
func ParseRef(s, defaultNamespace, defaultName string) (types.NamespacedName, error) {
	ref := types.NamespacedName{Namespace: defaultNamespace, Name: defaultName}
	if s != "" {
		ns, name, found := strings.Cut(s, "/")
		if !found {
			ns, name = defaultNamespace, s
		}
		ref = types.NamespacedName{Namespace: ns, Name: name}
	}
	if errs := validation.IsDNS1123Label(ref.Namespace); len(errs) > 0 {
		return ref, fmt.Errorf("%q: namespace %q: %s", s, ref.Namespace, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(ref.Name); len(errs) > 0 {
		return ref, fmt.Errorf("%q: name %q: %s", s, ref.Name, strings.Join(errs, "; "))
	}
	return ref, nil
}
