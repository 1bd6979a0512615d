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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// LinkLabel marks an object as belonging to the OfficialChannel named by its value.
	LinkLabel = "chat.channel-operator.io/official-channel"

	// CleanupFinalizer keeps an OfficialChannel until a started cleanup has finished.
	CleanupFinalizer = "chat.channel-operator.io/cleanup"

	// ProtectAnnotation, "true" on a linked object, keeps it from every
	// cleanup: it is listed and counted, never deleted.
	ProtectAnnotation = "chat.channel-operator.io/protect"
	// HoldAnnotation, "true" on an OfficialChannel, holds a cleanup that has
	// not started, for as long as it is there.
	HoldAnnotation = "chat.channel-operator.io/hold"
	// ApproveCleanupAnnotation, "true" on an OfficialChannel, starts its due
	// cleanup beyond the deletion budget.
	ApproveCleanupAnnotation = "chat.channel-operator.io/approve-cleanup"

	// MaxInventoryEntries is the most entries status.inventory lists.
	MaxInventoryEntries = 100
)

// CleanupPolicy says what happens to a channel's linked objects once the channel
// has been destroyed on the Chat side.
// +kubebuilder:validation:Enum=Delete;Orphan
type CleanupPolicy string

const (
	// CleanupPolicyDelete deletes every linked object.
	CleanupPolicyDelete CleanupPolicy = "Delete"
	// CleanupPolicyOrphan records the destruction and deletes nothing.
	CleanupPolicyOrphan CleanupPolicy = "Orphan"
)

// Phase is a coarse summary of where an OfficialChannel is in its life.
// +kubebuilder:validation:Enum=Active;Reported;Destroyed;CleaningUp;CleanedUp
type Phase string

const (
	// PhaseActive: the channel exists on the Chat side, as far as the operator knows.
	PhaseActive Phase = "Active"
	// PhaseReported: a callback reported the channel destroyed and the Chat
	// REST API has not confirmed it yet (apps with REST credentials only).
	PhaseReported Phase = "Reported"
	// PhaseDestroyed: the destruction is recorded (and, with REST
	// credentials, confirmed).
	PhaseDestroyed Phase = "Destroyed"
	// PhaseCleaningUp: linked objects are being deleted.
	PhaseCleaningUp Phase = "CleaningUp"
	// PhaseCleanedUp: no linked object remains.
	PhaseCleanedUp Phase = "CleanedUp"
)

// Condition types and reasons.
const (
	// ConditionDestroyed is True once the Chat backend reported the channel destroyed.
	ConditionDestroyed = "Destroyed"
	// ConditionCleanedUp is True once every linked object is gone.
	ConditionCleanedUp = "CleanedUp"
	// ConditionSynced is True while the Chat REST API answers for the channel.
	ConditionSynced = "Synced"

	// ReasonActive: no destruction has been reported.
	ReasonActive = "Active"
	// ReasonCallbackReceived: the destruction came from a verified Chat callback.
	ReasonCallbackReceived = "CallbackReceived"
	// ReasonNotDestroyed: there is nothing to clean up while the channel is active.
	ReasonNotDestroyed = "NotDestroyed"
	// ReasonCleanupPending: the destruction is recorded; the reconciler has not acted on it yet.
	ReasonCleanupPending = "CleanupPending"
	// ReasonCleaningUp: linked objects remain and are being deleted.
	ReasonCleaningUp = "CleaningUp"
	// ReasonCleanedUp: no linked object remains.
	ReasonCleanedUp = "CleanedUp"
	// ReasonOrphaned: policy Orphan, linked objects are left in place.
	ReasonOrphaned = "Orphaned"
	// ReasonCleanupFailed: a list or delete call failed; it is retried.
	ReasonCleanupFailed = "CleanupFailed"
	// ReasonScheduled: the cleanup waits for status.cleanup.notBefore
	// (spec.cleanupDelay after the destruction was confirmed or recorded).
	ReasonScheduled = "Scheduled"
	// ReasonHeld: the hold annotation holds the cleanup.
	ReasonHeld = "Held"
	// ReasonBudgetExceeded: the deletion budget (--cleanup-budget) has no
	// room; the cleanup starts when it has, or once approved.
	ReasonBudgetExceeded = "BudgetExceeded"
	// ReasonDryRun: the operator runs with --dry-run and deletes nothing.
	ReasonDryRun = "DryRun"

	// ReasonReported: a callback reported the destruction; the REST API is
	// asked to confirm it before anything is deleted.
	ReasonReported = "Reported"
	// ReasonConfirmed: the REST API says the account does not exist (130004).
	ReasonConfirmed = "Confirmed"
	// ReasonRefuted: the REST API says the reported account exists.
	ReasonRefuted = "Refuted"

	// ReasonObserved: the last observation through the REST API succeeded.
	ReasonObserved = "Observed"
	// ReasonObserving: the channel has not been observed yet.
	ReasonObserving = "Observing"
	// ReasonNoCredentials: the app has no REST credentials; the callback alone decides.
	ReasonNoCredentials = "NoCredentials"
	// ReasonCredentialsRefused: Chat refused the app's key, UserSig or identifier.
	ReasonCredentialsRefused = "CredentialsRefused"
	// ReasonServiceNotEnabled: the app has not enabled official accounts (131000).
	ReasonServiceNotEnabled = "ServiceNotEnabled"
	// ReasonRateLimited: Chat refused the call as too frequent.
	ReasonRateLimited = "RateLimited"
	// ReasonUnreachable: the REST API did not answer usably (network, timeout, internal error).
	ReasonUnreachable = "Unreachable"
	// ReasonAccountRejected: Chat refused this account ID.
	ReasonAccountRejected = "AccountRejected"
)

// DestructionSource says who told the operator of a destruction.
// +kubebuilder:validation:Enum=Callback;ChatAPI
type DestructionSource string

const (
	// SourceCallback: the destruction webhook.
	SourceCallback DestructionSource = "Callback"
	// SourceChatAPI: an observation through the REST API found the account gone.
	SourceChatAPI DestructionSource = "ChatAPI"
)

// LinkedResource names one object in the OfficialChannel's namespace that belongs
// to the channel although it carries no link label.
type LinkedResource struct {
	// apiVersion of the object, e.g. "apps/v1" or "v1".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?v[0-9]+((alpha|beta)[0-9]+)?$`
	// +required
	APIVersion string `json:"apiVersion"`

	// kind of the object, e.g. "Deployment".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Z][A-Za-z0-9]*$`
	// +required
	Kind string `json:"kind"`

	// name of the object, in the OfficialChannel's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// OfficialChannelSpec declares one Tencent Cloud Chat official channel that the
// cluster runs infrastructure for.
type OfficialChannelSpec struct {
	// sdkAppID is the Chat application (SDKAppID) the channel belongs to. It
	// cannot be changed.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="sdkAppID is immutable"
	// +required
	SDKAppID int64 `json:"sdkAppID"`

	// officialAccountID is the channel ID, e.g. "@TOA#_news": printable ASCII,
	// at most 48 bytes, starting with "@TOA#_". It cannot be changed.
	// +kubebuilder:validation:MaxLength=48
	// +kubebuilder:validation:XValidation:rule="self.startsWith('@TOA#_') && size(self) > 6",message="must start with @TOA#_ followed by the channel name"
	// +kubebuilder:validation:XValidation:rule="self.matches('^[ -~]*$')",message="must be printable ASCII (0x20-0x7e)"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="officialAccountID is immutable"
	// +required
	OfficialAccountID string `json:"officialAccountID"`

	// cleanupPolicy says what happens to linked objects once the channel is
	// destroyed: Delete (the default) deletes them, Orphan leaves them.
	// +kubebuilder:default=Delete
	// +optional
	CleanupPolicy CleanupPolicy `json:"cleanupPolicy,omitempty"`

	// linkedResources lists further objects in this namespace that belong to the
	// channel but carry no link label.
	// +kubebuilder:validation:MaxItems=256
	// +listType=atomic
	// +optional
	LinkedResources []LinkedResource `json:"linkedResources,omitempty"`

	// cleanupDelay is how long after the destruction was confirmed (or
	// recorded, for an app without REST credentials) the cleanup starts:
	// a grace period to hold it in. Default: the operator's
	// --default-cleanup-delay (0s unless set). A Go duration, e.g. 30m or 1h30m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$')",message="must be a duration that is not negative, such as 90s, 30m or 1h30m"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$') || duration(self) <= duration('8760h')",message="must be at most 8760h (a year)"
	// +optional
	CleanupDelay *metav1.Duration `json:"cleanupDelay,omitempty"`
}

// Destruction is what the Chat backend reported when it destroyed the channel,
// copied from the first destruction callback received.
type Destruction struct {
	// eventTime is the callback's EventTime, in Unix milliseconds.
	// +required
	EventTime int64 `json:"eventTime"`

	// ownerAccount is the channel's owner (Owner_Account), cut to 256 bytes.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	OwnerAccount string `json:"ownerAccount,omitempty"`

	// name is the channel's name (Name), cut to 150 bytes.
	// +kubebuilder:validation:MaxLength=150
	// +optional
	Name string `json:"name,omitempty"`

	// clientIP is the ClientIP query parameter of the callback: the address
	// the sender claims, which the Sign does not cover. peerIP is where the
	// callback came from.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	ClientIP string `json:"clientIP,omitempty"`

	// peerIP is the address the callback came from: the TCP peer, or the
	// X-Forwarded-For entry the receiver's --callback-proxy-hops names when
	// it sits behind proxies.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	PeerIP string `json:"peerIP,omitempty"`

	// optPlatform is the OptPlatform query parameter of the callback.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	OptPlatform string `json:"optPlatform,omitempty"`

	// receivedAt is when the operator received the callback (or observed
	// the account gone).
	// +required
	ReceivedAt metav1.Time `json:"receivedAt"`

	// source is who told the operator: Callback or ChatAPI.
	// +optional
	Source DestructionSource `json:"source,omitempty"`

	// confirmedAt is when the Chat REST API confirmed the destruction (the
	// account does not exist). Unset for apps without REST credentials.
	// +optional
	ConfirmedAt *metav1.Time `json:"confirmedAt,omitempty"`
}

// AccountStatus mirrors the channel's profile on the Chat side, from the
// REST API and the create and info-changed callbacks.
type AccountStatus struct {
	// name is the channel's name.
	// +kubebuilder:validation:MaxLength=150
	// +optional
	Name string `json:"name,omitempty"`

	// ownerAccount is the channel's owner.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	OwnerAccount string `json:"ownerAccount,omitempty"`

	// introduction is the channel's introduction.
	// +kubebuilder:validation:MaxLength=400
	// +optional
	Introduction string `json:"introduction,omitempty"`

	// faceURL is the channel's avatar URL.
	// +kubebuilder:validation:MaxLength=500
	// +optional
	FaceURL string `json:"faceURL,omitempty"`

	// organization is the channel's organization.
	// +kubebuilder:validation:MaxLength=500
	// +optional
	Organization string `json:"organization,omitempty"`

	// subscriberCount is how many accounts subscribe to the channel.
	// +optional
	SubscriberCount *int64 `json:"subscriberCount,omitempty"`

	// createTime is when the channel was created on the Chat side.
	// +optional
	CreateTime *metav1.Time `json:"createTime,omitempty"`

	// lastMessageTime is when the channel last sent a message.
	// +optional
	LastMessageTime *metav1.Time `json:"lastMessageTime,omitempty"`

	// observedAt is when the REST API last answered for the channel.
	// +optional
	ObservedAt *metav1.Time `json:"observedAt,omitempty"`
}

// CleanupStatus reports the deletion of the channel's linked objects.
type CleanupStatus struct {
	// deleted counts the linked objects the operator has deleted.
	// +optional
	Deleted int32 `json:"deleted"`

	// remaining counts the linked objects still present at the last attempt.
	// +optional
	Remaining int32 `json:"remaining"`

	// lastAttempt is when the operator last looked for linked objects.
	// +optional
	LastAttempt *metav1.Time `json:"lastAttempt,omitempty"`

	// message says what the last attempt found or what failed.
	// +optional
	Message string `json:"message,omitempty"`

	// protected counts the linked objects the cleanup keeps because they
	// carry the protect annotation.
	// +optional
	Protected int32 `json:"protected,omitempty"`

	// notBefore is when a scheduled cleanup may start (spec.cleanupDelay
	// after the destruction was confirmed or recorded).
	// +optional
	NotBefore *metav1.Time `json:"notBefore,omitempty"`
}

// InventoryEntry names one object linked to the channel.
type InventoryEntry struct {
	// apiVersion of the object.
	// +required
	APIVersion string `json:"apiVersion"`

	// kind of the object.
	// +required
	Kind string `json:"kind"`

	// name of the object, in the OfficialChannel's namespace.
	// +required
	Name string `json:"name"`

	// protected is true when the object carries the protect annotation: no
	// cleanup deletes it.
	// +optional
	Protected bool `json:"protected,omitempty"`
}

// Inventory lists the objects linked to the channel: what a cleanup would
// delete. Kept current while the channel is Active or Reported; once the
// destruction is recorded it is the cleanup's plan and no longer changes.
type Inventory struct {
	// count is how many objects are linked, all of them listed or not.
	// +required
	Count int32 `json:"count"`

	// entries are the linked objects, sorted by apiVersion, kind and name;
	// the first 100.
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	// +optional
	Entries []InventoryEntry `json:"entries,omitempty"`

	// truncated is true when more objects are linked than entries lists.
	// +optional
	Truncated bool `json:"truncated,omitempty"`

	// updatedAt is when the inventory last changed.
	// +optional
	UpdatedAt *metav1.Time `json:"updatedAt,omitempty"`
}

// OfficialChannelStatus is the observed state of an OfficialChannel.
type OfficialChannelStatus struct {
	// phase: Active, Reported, Destroyed, CleaningUp or CleanedUp. Reported
	// only for apps with REST credentials, until the REST API confirms or
	// refutes the reported destruction. With policy Orphan the
	// phase stays Destroyed.
	// +optional
	Phase Phase `json:"phase,omitempty"`

	// destroyedAt is the callback's EventTime as an RFC 3339 time with
	// milliseconds, e.g. "2022-12-09T08:26:54.123Z".
	// +kubebuilder:validation:Format=date-time
	// +optional
	DestroyedAt string `json:"destroyedAt,omitempty"`

	// destruction is copied from the callback that destroyed the channel.
	// +optional
	Destruction *Destruction `json:"destruction,omitempty"`

	// refutedDestruction is the last reported destruction the Chat REST API
	// refuted: the account existed after it was reported.
	// +optional
	RefutedDestruction *Destruction `json:"refutedDestruction,omitempty"`

	// account mirrors the channel's profile on the Chat side.
	// +optional
	Account *AccountStatus `json:"account,omitempty"`

	// inventory lists the objects linked to the channel: what its cleanup
	// would delete, and, once the destruction is recorded, the plan.
	// +optional
	Inventory *Inventory `json:"inventory,omitempty"`

	// cleanup reports the deletion of linked objects.
	// +optional
	Cleanup *CleanupStatus `json:"cleanup,omitempty"`

	// conditions: Destroyed, CleanedUp and Synced.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the generation of the spec the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ochan,categories=chat
// A destroyed channel's linked objects are deleted, or about to be: the list
// of what is deleted is fixed from then on (an absent list and an empty one
// are the same list).
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.destruction) || (has(self.spec.linkedResources) ? self.spec.linkedResources : []) == (has(oldSelf.spec.linkedResources) ? oldSelf.spec.linkedResources : [])",message="spec.linkedResources cannot change once the channel is destroyed",fieldPath=".spec.linkedResources"
// +kubebuilder:selectablefield:JSONPath=`.spec.sdkAppID`
// +kubebuilder:selectablefield:JSONPath=`.spec.officialAccountID`
// +kubebuilder:printcolumn:name="Account",type=string,JSONPath=`.spec.officialAccountID`
// +kubebuilder:printcolumn:name="App",type=integer,JSONPath=`.spec.sdkAppID`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Destroyed",type=date,JSONPath=`.status.destroyedAt`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.spec.cleanupPolicy`,priority=1
// +kubebuilder:printcolumn:name="Deleted",type=integer,JSONPath=`.status.cleanup.deleted`,priority=1
// +kubebuilder:printcolumn:name="Remaining",type=integer,JSONPath=`.status.cleanup.remaining`,priority=1
// +kubebuilder:printcolumn:name="Linked",type=integer,JSONPath=`.status.inventory.count`,priority=1
// +kubebuilder:printcolumn:name="Channel",type=string,JSONPath=`.status.account.name`,priority=1
// +kubebuilder:printcolumn:name="Subscribers",type=integer,JSONPath=`.status.account.subscriberCount`,priority=1

// OfficialChannel is a Tencent Cloud Chat official channel whose cluster
// resources the operator removes once the channel is destroyed on the Chat side.
type OfficialChannel struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec declares the channel.
	// +required
	Spec OfficialChannelSpec `json:"spec"`

	// status is what the operator observed and did.
	// +optional
	Status OfficialChannelStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// OfficialChannelList contains a list of OfficialChannel.
type OfficialChannelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []OfficialChannel `json:"items"`
}
