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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// CacheOptions are the manager cache's options. The cache holds every
// OfficialChannel and the metadata of every object of the cleanup kinds, in
// the process that faces the internet: it keeps of that metadata only what
// the cleanup reads.
func CacheOptions() cache.Options {
	return cache.Options{DefaultTransform: StripMetadata}
}

var stripManagedFields = cache.TransformStripManagedFields()

// StripMetadata keeps, of an object the cache holds as metadata only, what
// finding and deleting linked objects needs: name, namespace, uid,
// resourceVersion, labels, ownerReferences, finalizers and deletionTimestamp.
// The rest goes: annotations above all, where kubectl apply's
// last-applied-configuration holds a Secret's whole data. Other objects lose
// their managedFields, which nobody reads.
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
	return obj, nil
}
