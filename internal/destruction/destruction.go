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

// Package destruction is how a channel's destruction, reported by Chat, is
// handed over to the cluster: the Recorder writes it into the status of the
// matching OfficialChannels, found through a field index, or, while none
// matches, keeps it in a pending record that it hands to a matching
// OfficialChannel when one appears. The callback receiver calls
// Recorder.Record, the reconciler Recorder.ApplyKept; neither needs the other.
package destruction

import (
	"context"
	"fmt"
	"strconv"

	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

// ChannelIndex is the cache field index on (sdkAppID, officialAccountID).
const ChannelIndex = "chat.channel-operator.io/channel"

// Selectable fields of the CRD, for the uncached lookup.
const (
	fieldSDKAppID          = "spec.sdkAppID"
	fieldOfficialAccountID = "spec.officialAccountID"
)

// Key is the ChannelIndex value of a channel.
func Key(sdkAppID int64, officialAccountID string) string {
	return strconv.FormatInt(sdkAppID, 10) + "/" + officialAccountID
}

// IndexChannel extracts the ChannelIndex value of an OfficialChannel (for
// a fake client's index in unit tests too).
func IndexChannel(obj client.Object) []string {
	ch, ok := obj.(*chatv1alpha1.OfficialChannel)
	if !ok {
		return nil
	}
	return []string{Key(ch.Spec.SDKAppID, ch.Spec.OfficialAccountID)}
}

// SetupIndex registers ChannelIndex with the manager's cache.
func SetupIndex(ctx context.Context, indexer client.FieldIndexer) error {
	if err := indexer.IndexField(ctx, &chatv1alpha1.OfficialChannel{}, ChannelIndex, IndexChannel); err != nil {
		return fmt.Errorf("indexing OfficialChannels by channel: %w", err)
	}
	return nil
}

// ListCached lists, from the cache, every OfficialChannel of the channel, in
// every namespace.
func ListCached(
	ctx context.Context,
	cache client.Reader,
	sdkAppID int64,
	officialAccountID string,
) ([]chatv1alpha1.OfficialChannel, error) {
	var list chatv1alpha1.OfficialChannelList
	if err := cache.List(ctx, &list, client.MatchingFields{ChannelIndex: Key(sdkAppID, officialAccountID)}); err != nil {
		return nil, fmt.Errorf("listing OfficialChannels from the cache: %w", err)
	}
	return list.Items, nil
}

// ListLive lists the channel's OfficialChannels from the API server itself,
// through the CRD's selectable fields: it sees objects the cache may not have
// caught up with yet. In every namespace, unless opts say otherwise
// (client.InNamespace).
func ListLive(
	ctx context.Context,
	api client.Reader,
	sdkAppID int64,
	officialAccountID string,
	opts ...client.ListOption,
) ([]chatv1alpha1.OfficialChannel, error) {
	var list chatv1alpha1.OfficialChannelList
	opts = append(opts, client.MatchingFields{
		fieldSDKAppID:          strconv.FormatInt(sdkAppID, 10),
		fieldOfficialAccountID: officialAccountID,
	})
	if err := api.List(ctx, &list, opts...); err != nil {
		return nil, fmt.Errorf("listing OfficialChannels from the API server: %w", err)
	}
	return list.Items, nil
}

// Matches reports whether ch is an OfficialChannel of the channel.
func Matches(ch *chatv1alpha1.OfficialChannel, sdkAppID int64, officialAccountID string) bool {
	return ch.Spec.SDKAppID == sdkAppID && ch.Spec.OfficialAccountID == officialAccountID
}
