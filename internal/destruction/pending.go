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

package destruction

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

const (
	// PendingLabel marks the ConfigMaps that hold pending destructions.
	PendingLabel = "chat.channel-operator.io/pending-destruction"
	// AppLabel carries a pending destruction's SDKAppID: each app's records
	// are counted on their own.
	AppLabel = "chat.channel-operator.io/sdk-app-id"
	// ExpiresAnnotation says when a pending destruction is dropped.
	ExpiresAnnotation = "chat.channel-operator.io/expires-at"

	pendingNamePrefix = "pending-destruction-"
	pendingDataKey    = "destruction.json"
)

// ErrStoreFull is returned by Put when MaxRecords live pending destructions
// of the app are kept already. The caller must report the failure (the
// callback is answered FAIL) rather than drop the destruction.
var ErrStoreFull = errors.New("too many pending destructions")

// Record is one destruction reported by Chat, with the channel it is for.
type Record struct {
	SDKAppID          int64                    `json:"sdkAppID"`
	OfficialAccountID string                   `json:"officialAccountID"`
	Destruction       chatv1alpha1.Destruction `json:"destruction"`
}

// +kubebuilder:rbac:groups="",namespace=system,resources=configmaps,verbs=get;list;create;delete

// PendingStore keeps destructions that matched no OfficialChannel, one
// ConfigMap per channel in the operator's namespace, until TTL passes. The
// first destruction of a channel wins, as in status. Each app may keep at
// most MaxRecords live ones: an app that floods the store (or anyone holding
// one signed URL of it) cannot make other apps' destructions be refused. It
// reads and writes the API server directly: the records are rare, and a
// fresh read is what makes the hand-over between receiver and reconciler
// safe.
type PendingStore struct {
	Client     client.Client
	Namespace  string
	MaxRecords int
	TTL        time.Duration

	// locks holds a lock per app (a channel of one): an app's count and
	// create happen under it, so concurrent callbacks of one app cannot both
	// take its last place. It is taken within the caller's deadline: a LIST
	// slow under load holds one app's callbacks, and each of them still
	// gets its answer in time. Only apps of the callback Secret get this
	// far, so it stays small. Across replicas the count can overshoot by at
	// most one per replica.
	locks sync.Map

	// kicks wakes the leader's Sweeper when a record is kept, so that the
	// count and the hand-over do not wait for its next tick.
	kicksOnce sync.Once
	kicks     chan struct{}
}

// kicked is the channel kick sends on.
func (s *PendingStore) kicked() chan struct{} {
	s.kicksOnce.Do(func() { s.kicks = make(chan struct{}, 1) })
	return s.kicks
}

func (s *PendingStore) kick() {
	select {
	case s.kicked() <- struct{}{}:
	default:
	}
}

// lock takes app's lock, or fails once ctx ends; the caller unlocks with
// the function it returns.
func (s *PendingStore) lock(ctx context.Context, app int64) (func(), error) {
	l, _ := s.locks.LoadOrStore(app, make(chan struct{}, 1))
	ch := l.(chan struct{})
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for app %d's pending destructions: %w", app, context.Cause(ctx))
	}
}

// Name is the ConfigMap name of a channel's pending destruction. Channel IDs
// hold characters object names cannot, hence the hash.
func (s *PendingStore) Name(sdkAppID int64, officialAccountID string) string {
	sum := sha256.Sum256([]byte(Key(sdkAppID, officialAccountID)))
	return pendingNamePrefix + hex.EncodeToString(sum[:12])
}

// Put keeps rec unless a live destruction of the same channel is kept
// already. An expired record of the channel is replaced by a new object (a
// new UID), so that a sweep that listed the old one cannot delete the new.
func (s *PendingStore) Put(ctx context.Context, rec Record, now time.Time) error {
	unlock, err := s.lock(ctx, rec.SDKAppID)
	if err != nil {
		return err
	}
	defer unlock()

	name := s.Name(rec.SDKAppID, rec.OfficialAccountID)
	app := strconv.FormatInt(rec.SDKAppID, 10)
	// Every record (older ones carry no app label), counted by app.
	var kept metav1.PartialObjectMetadataList
	kept.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
	if err := s.Client.List(ctx, &kept, client.InNamespace(s.Namespace), client.HasLabels{PendingLabel}); err != nil {
		return fmt.Errorf("counting pending destructions: %w", err)
	}
	live := 0
	var stale *metav1.PartialObjectMetadata
	for i := range kept.Items {
		item := &kept.Items[i]
		switch {
		case item.Name == name && !expired(item.Annotations, now):
			return nil // first one wins
		case item.Name == name:
			stale = item
		case item.Labels[AppLabel] == app && !expired(item.Annotations, now):
			live++
		}
	}
	if live >= s.MaxRecords {
		return fmt.Errorf("%w: %d kept for app %s in %s", ErrStoreFull, live, app, s.Namespace)
	}

	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding pending destruction: %w", err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   s.Namespace,
			Name:        name,
			Labels:      map[string]string{PendingLabel: "true", AppLabel: app},
			Annotations: map[string]string{ExpiresAnnotation: now.Add(s.TTL).UTC().Format(time.RFC3339)},
		},
		Data: map[string]string{pendingDataKey: string(data)},
	}
	// Twice at most: an expired record of the channel is replaced by a new
	// object, and a record another replica made meanwhile is looked at again.
	for range 2 {
		if stale != nil {
			err := s.Client.Delete(ctx, stale, client.Preconditions{UID: &stale.UID})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return fmt.Errorf("replacing expired pending destruction %s: %w", name, err)
			}
		}
		err := s.Client.Create(ctx, cm.DeepCopy())
		if !apierrors.IsAlreadyExists(err) {
			if err != nil {
				return fmt.Errorf("keeping pending destruction: %w", err)
			}
			s.kick()
			return nil
		}
		// Another replica kept one an instant ago, or the expired record
		// could not be replaced: a live one wins, an expired one goes.
		existing := &metav1.PartialObjectMetadata{}
		existing.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
		if err := s.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: name}, existing); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading pending destruction %s: %w", name, err)
		} else if err == nil && !expired(existing.Annotations, now) {
			return nil
		} else if err == nil {
			stale = existing
		}
	}
	return fmt.Errorf("keeping pending destruction %s: an expired record of it could not be replaced", name)
}

// Get returns the channel's pending destruction, or nil when none is kept or
// it has expired.
func (s *PendingStore) Get(ctx context.Context, sdkAppID int64, officialAccountID string, now time.Time) (*Record, error) {
	cm := &corev1.ConfigMap{}
	err := s.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: s.Name(sdkAppID, officialAccountID)}, cm)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading pending destruction: %w", err)
	}
	if expired(cm.Annotations, now) {
		return nil, nil
	}
	var rec Record
	if err := json.Unmarshal([]byte(cm.Data[pendingDataKey]), &rec); err != nil {
		return nil, fmt.Errorf("decoding pending destruction %s: %w", cm.Name, err)
	}
	// A hash collision, however unlikely, must not destroy another channel.
	if rec.SDKAppID != sdkAppID || rec.OfficialAccountID != officialAccountID {
		return nil, nil
	}
	return &rec, nil
}

// Live returns every pending destruction that has not expired.
func (s *PendingStore) Live(ctx context.Context, now time.Time) ([]Record, error) {
	var list corev1.ConfigMapList
	if err := s.Client.List(ctx, &list, client.InNamespace(s.Namespace), client.HasLabels{PendingLabel}); err != nil {
		return nil, fmt.Errorf("listing pending destructions: %w", err)
	}
	var live []Record
	for i := range list.Items {
		cm := &list.Items[i]
		if expired(cm.Annotations, now) {
			continue
		}
		var rec Record
		// Only a record under its own name: not one of another channel, nor
		// an object someone else labelled.
		if json.Unmarshal([]byte(cm.Data[pendingDataKey]), &rec) != nil || cm.Name != s.Name(rec.SDKAppID, rec.OfficialAccountID) {
			continue
		}
		live = append(live, rec)
	}
	return live, nil
}

// Sweep deletes the pending destructions that have expired and returns how
// many it deleted.
func (s *PendingStore) Sweep(ctx context.Context, now time.Time) (int, error) {
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
	if err := s.Client.List(ctx, &list, client.InNamespace(s.Namespace), client.HasLabels{PendingLabel}); err != nil {
		return 0, fmt.Errorf("listing pending destructions: %w", err)
	}
	deleted := 0
	for i := range list.Items {
		item := &list.Items[i]
		if !strings.HasPrefix(item.Name, pendingNamePrefix) || !expired(item.Annotations, now) {
			continue
		}
		// Precondition on the UID: never delete a record that replaced it.
		err := s.Client.Delete(ctx, item, client.Preconditions{UID: &item.UID})
		switch {
		case err == nil:
			deleted++
		case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
			// Gone already, or replaced by a new destruction: kept.
		default:
			return deleted, fmt.Errorf("deleting expired pending destruction %s: %w", item.Name, err)
		}
	}
	return deleted, nil
}

// expired reads the expiry annotation. A record without a readable one was
// not written by the operator, so it is kept.
func expired(annotations map[string]string, now time.Time) bool {
	at, err := time.Parse(time.RFC3339, annotations[ExpiresAnnotation])
	return err == nil && !now.Before(at)
}

// Sweeper deletes expired pending destructions, counts the live ones
// (channel_operator_pending_destructions) and hands them to the channels
// of their account that lack them, every Interval and whenever this
// replica keeps a record. It needs leader election: one replica sweeping
// (and counting) is enough.
type Sweeper struct {
	Recorder *Recorder
	Interval time.Duration
}

// Start runs the sweeps until ctx ends; a failed sweep is logged and retried
// at the next tick.
func (s *Sweeper) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("pending-sweeper")
	ctx = logf.IntoContext(ctx, log)
	ticker := time.NewTicker(s.Interval)
	defer ticker.Stop()
	for {
		now := time.Now()
		n, err := s.Recorder.Pending.Sweep(ctx, now)
		if err != nil {
			log.Error(err, "Sweeping expired pending destructions")
		} else if n > 0 {
			log.Info("Deleted expired pending destructions", "count", n)
		}
		if live, err := s.Recorder.Pending.Live(ctx, now); err != nil {
			log.Error(err, "Listing pending destructions")
		} else {
			s.Recorder.Pending.countAllPending(live)
			if n, err := s.Recorder.HandOver(ctx, live); err != nil {
				log.Error(err, "Handing pending destructions to their channels")
			} else if n > 0 {
				log.Info("Handed pending destructions to channels that lacked them", "channels", n)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-s.Recorder.Pending.kicked():
		}
	}
}

// NeedLeaderElection is true: only the leader sweeps.
func (s *Sweeper) NeedLeaderElection() bool { return true }
