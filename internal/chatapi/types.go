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

// Package chatapi is the Tencent Cloud Chat REST API as the operator uses it:
// the UserSig that authenticates a call, and get_official_account_info, which
// says whether an official account exists and what its profile is. It knows
// nothing of Kubernetes.
package chatapi

import (
	"fmt"
	"time"
)

// DefaultEndpoint is the China data centre's domain.
const DefaultEndpoint = "https://console.tim.qq.com"

// DefaultIdentifier is the app administrator account Chat creates with an app.
const DefaultIdentifier = "administrator"

// MaxBatch is the most accounts get_official_account_info takes in one call.
const MaxBatch = 50

// CommandGetAccountInfo is the one command the operator calls.
const CommandGetAccountInfo = "get_official_account_info"

// Error codes the operator tells apart.
const (
	CodeAccountNotFound   = 130004 // the account does not exist, or existed and was destroyed
	CodeBadAccountID      = 130007
	CodeInvalidParameter  = 6017
	CodeServiceNotEnabled = 131000
)

// Credentials let the operator call the REST API for one app. Exactly one of
// SecretKey (a UserSig is made from it) and UserSig (made elsewhere) is set.
type Credentials struct {
	AppID      int64
	Identifier string
	SecretKey  string
	UserSig    string
	// Endpoint is the base URL, e.g. https://adminapisgp.im.qcloud.com.
	Endpoint string
}

// String never shows the key or the UserSig.
func (c Credentials) String() string {
	kind := "secretKey"
	if c.UserSig != "" {
		kind = "userSig"
	}
	return fmt.Sprintf("app %d as %q at %s with a %s", c.AppID, c.Identifier, c.Endpoint, kind)
}

// AccountInfo is an official account's profile as get_official_account_info
// returns it. Times are Unix seconds; 0 when not given.
type AccountInfo struct {
	Account         string
	Name            string
	OwnerAccount    string
	Introduction    string
	FaceURL         string
	Organization    string
	SubscriberCount int64
	CreateTime      int64
	LastMessageTime int64
}

// Reason classifies why an account could not be observed. It is never a
// destruction: only Result.Gone says an account is gone.
type Reason string

const (
	// ReasonCredentialsRefused: the key, the UserSig, the identifier, the app
	// or the data centre is wrong, expired or not allowed. Retrying does not help
	// until the credentials change.
	ReasonCredentialsRefused Reason = "CredentialsRefused"
	// ReasonServiceNotEnabled: the app has not enabled official accounts (131000).
	ReasonServiceNotEnabled Reason = "ServiceNotEnabled"
	// ReasonRateLimited: Chat said the app calls too often.
	ReasonRateLimited Reason = "RateLimited"
	// ReasonUnreachable: the network failed, the call timed out, Chat answered
	// with an internal error or with something that cannot be parsed.
	ReasonUnreachable Reason = "Unreachable"
	// ReasonAccountRejected: Chat refused this one account ID (130007, 6017).
	ReasonAccountRejected Reason = "AccountRejected"
)

// Error is a failed observation. Message never holds a secret (no URL with
// its usersig, no key).
type Error struct {
	Reason  Reason
	Code    int // Chat's ErrorCode; 0 when the failure was not Chat's answer
	Message string
}

func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("%s: Chat error %d: %s", e.Reason, e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Reason, e.Message)
}

// Result is what one observation found about one account: exactly one of
// Gone (Chat answered 130004 for this account), Info (it exists) and Err.
type Result struct {
	Account string
	Gone    bool
	Info    *AccountInfo
	Err     *Error
	// At is when Chat answered.
	At time.Time
}
