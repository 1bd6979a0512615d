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
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/status"
)

// RecordProfile copies the profile fields a create or info-changed callback
// carries into status.account of the matching OfficialChannels (at most
// MaxDirectWrites of them, the oldest of each namespace first), and returns
// how many it changed. A callback older than the last observation through
// the REST API changes nothing: that observation saw its change already.
// The profile is a mirror, not a decision: nothing is kept for channels that
// do not exist yet, and the next observation corrects a forged one.
func (r *Recorder) RecordProfile(ctx context.Context, sdkAppID int64, account string, p status.Profile, eventTimeMs int64) (int, error) {
	channels, err := r.listCached(ctx, sdkAppID, account)
	if err != nil {
		return 0, err
	}
	channels = fairFirst(channels)
	if len(channels) > MaxDirectWrites {
		channels = channels[:MaxDirectWrites]
	}
	changed := 0
	for i := range channels {
		ok, err := r.profileOne(ctx, &channels[i], sdkAppID, account, p, time.UnixMilli(eventTimeMs))
		if err != nil {
			return changed, err
		}
		if ok {
			changed++
		}
	}
	return changed, nil
}

func (r *Recorder) profileOne(ctx context.Context, ch *chatv1alpha1.OfficialChannel, sdkAppID int64, account string,
	p status.Profile, eventTime time.Time) (bool, error) {
	key := client.ObjectKeyFromObject(ch)
	backoff := retryBackoff
	for {
		if !Matches(ch, sdkAppID, account) {
			return false, nil
		}
		if a := ch.Status.Account; a != nil && a.ObservedAt != nil && !a.ObservedAt.Time.Before(eventTime) {
			return false, nil
		}
		base := ch.DeepCopy()
		if !status.MergeAccount(ch, p) {
			return false, nil
		}
		err := r.Client.Status().Patch(ctx, ch, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		switch {
		case err == nil:
			return true, nil
		case apierrors.IsNotFound(err):
			return false, nil
		case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
			return false, fmt.Errorf("writing the profile of OfficialChannel %s: %w", key, err)
		case !apierrors.IsConflict(err):
			select {
			case <-ctx.Done():
				return false, fmt.Errorf("writing the profile of OfficialChannel %s: %w", key, err)
			case <-time.After(backoff):
				backoff *= 2
			}
		}
		fresh := &chatv1alpha1.OfficialChannel{}
		if err := r.API.Get(ctx, key, fresh); err != nil {
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return false, fmt.Errorf("reading OfficialChannel %s: %w", key, err)
		}
		ch = fresh
	}
}
