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
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/text"
)

// CacheOptions are the manager cache's options. The cache holds the
// OfficialChannels and the metadata of the objects of the cleanup kinds, in
// the process that faces the internet: it keeps of that metadata only what
// the cleanup reads. With namespaces (--watch-namespaces) it holds only
// those namespaces' objects, and needs list and watch only there: the
// reconciler, the cleanup and the receiver's matching then see nothing
// else. Without, it holds every namespace's.
func CacheOptions(namespaces ...string) cache.Options {
	opts := cache.Options{DefaultTransform: StripMetadata}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = make(map[string]cache.Config, len(namespaces))
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// ParseWatchNamespaces parses --watch-namespaces: comma-separated namespace
// names. Empty (the default) means every namespace and gives nil. It refuses
// empty entries, names that are not DNS-1123 labels and duplicates: a typo
// must stop the manager at start-up, not leave a namespace unwatched.
func ParseWatchNamespaces(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var namespaces []string
	seen := map[string]bool{}
	for _, raw := range strings.Split(s, ",") {
		ns := strings.TrimSpace(raw)
		if ns == "" {
			return nil, fmt.Errorf("--watch-namespaces %q: empty entry", s)
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("--watch-namespaces: namespace %q: %s", ns, strings.Join(errs, "; "))
		}
		if seen[ns] {
			return nil, fmt.Errorf("--watch-namespaces: %q listed twice", ns)
		}
		seen[ns] = true
		namespaces = append(namespaces, ns)
	}
	return namespaces, nil
}

// maxProtectValue is as much of the protect annotation's value as the
// cache keeps: enough for "true" and for a note on any other value.
const maxProtectValue = 32

var stripManagedFields = cache.TransformStripManagedFields()

// StripMetadata keeps, of an object the cache holds as metadata only, what
// finding and deleting linked objects needs: name, namespace, uid,
// resourceVersion, labels, ownerReferences, finalizers, deletionTimestamp and
// the protect annotation (its value cut short: a tenant may write up to
// 256 KiB there). The rest goes: other annotations above all, where kubectl
// apply's last-applied-configuration holds a Secret's whole data. Other
// objects lose their managedFields, which nobody reads.
func StripMetadata(in any) (any, error) {
	obj, ok := in.(*metav1.PartialObjectMetadata)
	if !ok {
		if _, tombstone := in.(toolscache.DeletedFinalStateUnknown); tombstone {
			return in, nil
		}
		return stripManagedFields(in)
	}
	m := obj.ObjectMeta
	obj.ObjectMeta = metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		UID:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		Labels:            m.Labels,
		OwnerReferences:   m.OwnerReferences,
		Finalizers:        m.Finalizers,
		DeletionTimestamp: m.DeletionTimestamp,
	}
	if v, ok := m.Annotations[chatv1alpha1.ProtectAnnotation]; ok {
		obj.Annotations = map[string]string{chatv1alpha1.ProtectAnnotation: text.Cut(v, maxProtectValue)}
	}
	return obj, nil
}
