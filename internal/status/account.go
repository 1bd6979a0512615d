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

package status

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/text"
)

// Profile limits the Chat side enforces (bytes); the CRD schema holds the
// same, and Chat's answers are cut to them so that an odd answer can never
// make a status write fail.
const (
	maxName         = 150
	maxOwner        = 256
	maxIntroduction = 400
	maxFaceURL      = 500
	maxOrganization = 500
)

// Bounds of the other strings a destruction callback chooses (bytes); the
// CRD schema holds the same. With the profile's, a destruction stays under
// 1 KiB however large the body that reported it.
const (
	maxAddress     = 64
	maxOptPlatform = 32
)

// BoundDestruction cuts the strings of d that a callback chose to the
// schema's bounds, on UTF-8 boundaries: a signed sender cannot grow every
// replica's cache, or make the status write fail.
func BoundDestruction(d chatv1alpha1.Destruction) chatv1alpha1.Destruction {
	d.OwnerAccount = text.Cut(d.OwnerAccount, maxOwner)
	d.Name = text.Cut(d.Name, maxName)
	d.ClientIP = text.Cut(d.ClientIP, maxAddress)
	d.PeerIP = text.Cut(d.PeerIP, maxAddress)
	d.OptPlatform = text.Cut(d.OptPlatform, maxOptPlatform)
	return d
}

// Profile is an account's profile as Chat tells it; the zero value of a
// field means "not told" (callbacks carry only some fields).
type Profile struct {
	Name, OwnerAccount, Introduction, FaceURL, Organization string
	// SubscriberCount is nil when not told.
	SubscriberCount *int64
	// CreateTime and LastMessageTime are Unix seconds, 0 when not told.
	CreateTime, LastMessageTime int64
}

// MirrorAccount copies what an observation at at found into status.account:
// every field, as the REST API answers with the whole profile.
func MirrorAccount(ch *chatv1alpha1.OfficialChannel, p Profile, at metav1.Time) {
	a := &chatv1alpha1.AccountStatus{
		Name: text.Cut(p.Name, maxName), OwnerAccount: text.Cut(p.OwnerAccount, maxOwner),
		Introduction: text.Cut(p.Introduction, maxIntroduction), FaceURL: text.Cut(p.FaceURL, maxFaceURL),
		Organization: text.Cut(p.Organization, maxOrganization), SubscriberCount: p.SubscriberCount,
		CreateTime: unixTime(p.CreateTime), LastMessageTime: unixTime(p.LastMessageTime), ObservedAt: &at,
	}
	ch.Status.Account = a
}

// MergeAccount copies the fields a callback carries into status.account and
// reports whether anything changed; the fields it does not carry stay.
func MergeAccount(ch *chatv1alpha1.OfficialChannel, p Profile) bool {
	before := ch.Status.Account.DeepCopy()
	a := ch.Status.Account
	if a == nil {
		a = &chatv1alpha1.AccountStatus{}
	}
	for _, f := range []struct {
		to   *string
		from string
		max  int
	}{
		{&a.Name, p.Name, maxName}, {&a.OwnerAccount, p.OwnerAccount, maxOwner},
		{&a.Introduction, p.Introduction, maxIntroduction}, {&a.FaceURL, p.FaceURL, maxFaceURL},
		{&a.Organization, p.Organization, maxOrganization},
	} {
		if f.from != "" {
			*f.to = text.Cut(f.from, f.max)
		}
	}
	if p.CreateTime > 0 {
		a.CreateTime = unixTime(p.CreateTime)
	}
	ch.Status.Account = a
	return before == nil || !equalAccount(before, a)
}

func equalAccount(a, b *chatv1alpha1.AccountStatus) bool {
	return a.Name == b.Name && a.OwnerAccount == b.OwnerAccount && a.Introduction == b.Introduction &&
		a.FaceURL == b.FaceURL && a.Organization == b.Organization && a.CreateTime.Equal(b.CreateTime)
}

// MarkSynced records a successful observation; message may warn of a
// UserSig about to expire.
func MarkSynced(ch *chatv1alpha1.OfficialChannel, message string) {
	set(ch, chatv1alpha1.ConditionSynced, metav1.ConditionTrue, chatv1alpha1.ReasonObserved, message)
}

// MarkSyncFailed records why the last observation failed.
func MarkSyncFailed(ch *chatv1alpha1.OfficialChannel, reason, message string) {
	set(ch, chatv1alpha1.ConditionSynced, metav1.ConditionFalse, reason, message)
}

// RefreshSynced brings the Synced condition, if any, to the current
// generation: what it says holds for any spec (the account cannot change).
func RefreshSynced(ch *chatv1alpha1.OfficialChannel) {
	if c := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionSynced); c != nil {
		c.ObservedGeneration = ch.Generation
	}
}

// MarkObserving records that the channel waits for its first observation.
func MarkObserving(ch *chatv1alpha1.OfficialChannel) {
	set(ch, chatv1alpha1.ConditionSynced, metav1.ConditionUnknown, chatv1alpha1.ReasonObserving,
		"Waiting for the first answer of Chat's REST API")
}

// MarkNoCredentials records that the app has no REST credentials: the
// callback alone decides.
func MarkNoCredentials(ch *chatv1alpha1.OfficialChannel) {
	set(ch, chatv1alpha1.ConditionSynced, metav1.ConditionUnknown, chatv1alpha1.ReasonNoCredentials,
		fmt.Sprintf("App %d has no REST credentials in the Chat API Secret: a destruction callback alone decides", ch.Spec.SDKAppID))
}

func unixTime(sec int64) *metav1.Time {
	if sec <= 0 || sec >= 253402300800 {
		return nil
	}
	t := metav1.NewTime(time.Unix(sec, 0).UTC())
	return &t
}
