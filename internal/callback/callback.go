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

// Package callback is the Tencent Cloud Chat webhook protocol as far as this
// operator needs it: the query parameters the Chat backend appends, the Sign
// check, the official-account callback bodies and the JSON answer. It knows
// nothing of Kubernetes.
package callback

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Official-account callback commands (CallbackCommand values).
const (
	CommandBeforeCreate   = "OfficialAccount.CallbackBeforeCreateOfficialAccount"
	CommandAfterCreate    = "OfficialAccount.CallbackAfterCreateOfficialAccount"
	CommandInfoChanged    = "OfficialAccount.CallbackAfterOfficialAccountInfoChanged"
	CommandDestroyed      = "OfficialAccount.CallbackAfterOfficialAccountDestroyed"
	CommandBeforeAddSub   = "OfficialAccount.CallbackBeforeAddSubscriber"
	CommandAfterAddSub    = "OfficialAccount.CallbackAfterAddSubscriber"
	CommandFull           = "OfficialAccount.CallbackAfterOfficialAccountFull"
	CommandDeleteSub      = "OfficialAccount.CallbackAfterDeleteSubscriber"
	CommandBeforeSendMsg  = "OfficialAccount.CallbackBeforeSendMsg"
	CommandAfterSendMsg   = "OfficialAccount.CallbackAfterSendMsg"
	CommandAfterWithdrawn = "OfficialAccount.CallbackAfterMsgWithDraw"
)

// KnownCommands are the official-account commands the Chat documentation
// lists. Metrics label only these by name, so that a caller cannot create
// label values at will.
var KnownCommands = []string{
	CommandBeforeCreate, CommandAfterCreate, CommandInfoChanged, CommandDestroyed,
	CommandBeforeAddSub, CommandAfterAddSub, CommandFull, CommandDeleteSub,
	CommandBeforeSendMsg, CommandAfterSendMsg, CommandAfterWithdrawn,
}

// IsKnownCommand reports whether cmd is one of KnownCommands.
func IsKnownCommand(cmd string) bool {
	for _, k := range KnownCommands {
		if k == cmd {
			return true
		}
	}
	return false
}

// Query parameter names, in the casing the Chat backend uses.
const (
	ParamSDKAppID    = "SdkAppid"
	ParamCommand     = "CallbackCommand"
	ParamContentType = "contenttype"
	ParamClientIP    = "ClientIP"
	ParamOptPlatform = "OptPlatform"
	ParamRequestTime = "RequestTime"
	ParamSign        = "Sign"
)

// Query holds the parameters the Chat backend appends to the webhook URL.
type Query struct {
	SDKAppID    int64
	Command     string
	ContentType string
	ClientIP    string
	// OptPlatform is a free string: RESTAPI, Web, Android, iOS, IOS, ... and
	// values the documentation does not list.
	OptPlatform string
	// RequestTime and Sign are empty when webhook authentication is off.
	RequestTime string
	Sign        string
}

// Errors of ParseQuery, one per check, so that the receiver can answer each
// with its own status.
var (
	ErrAppID       = errors.New("SdkAppid")
	ErrCommand     = errors.New("CallbackCommand")
	ErrContentType = errors.New("contenttype")
	ErrAuthParams  = errors.New("RequestTime/Sign")
)

// QueryError says which parameter is wrong and why.
type QueryError struct {
	Kind   error // one of ErrAppID, ErrCommand, ErrContentType, ErrAuthParams
	Reason string
}

func (e *QueryError) Error() string { return e.Reason }

// Unwrap lets errors.Is match the Kind.
func (e *QueryError) Unwrap() error { return e.Kind }

func queryErr(kind error, format string, args ...any) error {
	return &QueryError{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// ParseQuery reads the webhook's query parameters. A parameter given twice is
// refused: which of the two the Sign was meant for cannot be known.
func ParseQuery(v url.Values) (Query, error) {
	var q Query
	single := func(name string, kind error) (string, error) {
		vals := v[name]
		switch len(vals) {
		case 0:
			return "", nil
		case 1:
			return vals[0], nil
		default:
			return "", queryErr(kind, "query parameter %s is given %d times", name, len(vals))
		}
	}

	appID, err := single(ParamSDKAppID, ErrAppID)
	if err != nil {
		return q, err
	}
	if appID == "" {
		return q, queryErr(ErrAppID, "query parameter %s is missing", ParamSDKAppID)
	}
	if q.SDKAppID, err = strconv.ParseInt(appID, 10, 64); err != nil || q.SDKAppID <= 0 {
		return q, queryErr(ErrAppID, "query parameter %s is not a positive decimal integer", ParamSDKAppID)
	}

	if q.RequestTime, err = single(ParamRequestTime, ErrAuthParams); err != nil {
		return q, err
	}
	if q.Sign, err = single(ParamSign, ErrAuthParams); err != nil {
		return q, err
	}

	if q.Command, err = single(ParamCommand, ErrCommand); err != nil {
		return q, err
	}
	if q.Command == "" {
		return q, queryErr(ErrCommand, "query parameter %s is missing", ParamCommand)
	}
	if q.ContentType, err = single(ParamContentType, ErrContentType); err != nil {
		return q, err
	}
	if q.ContentType != "" && q.ContentType != "json" {
		return q, queryErr(ErrContentType, "query parameter %s is %q, want json", ParamContentType, q.ContentType)
	}
	// ClientIP and OptPlatform are informational: a repeat keeps the first.
	q.ClientIP = v.Get(ParamClientIP)
	q.OptPlatform = v.Get(ParamOptPlatform)
	return q, nil
}

// Sign is the Chat webhook signature: lower-case hex SHA-256 of the token
// directly followed by the decimal RequestTime. It is a plain hash, not an
// HMAC, and it covers neither the body nor the other parameters.
func Sign(token, requestTime string) string {
	sum := sha256.Sum256([]byte(token + requestTime))
	return hex.EncodeToString(sum[:])
}

// Errors of Verify.
var (
	ErrUnsigned    = errors.New("request is not signed")
	ErrRequestTime = errors.New("RequestTime is invalid or outside the allowed skew")
	ErrSign        = errors.New("Sign does not match")
)

// Verifier checks a webhook's authentication.
type Verifier struct {
	// MaxSkew bounds how far RequestTime may be from Now (replay protection).
	MaxSkew time.Duration
	// AllowUnsigned accepts requests for apps with an empty token.
	AllowUnsigned bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Verify checks q against the app's token. An app with a token needs a
// RequestTime within MaxSkew of now and the matching Sign, compared in
// constant time. An app with an empty token is accepted, unsigned, only when
// AllowUnsigned is set.
func (v Verifier) Verify(token string, q Query) error {
	if token == "" {
		if v.AllowUnsigned {
			return nil
		}
		return fmt.Errorf("%w: the app has no token and unsigned callbacks are not allowed", ErrUnsigned)
	}
	if q.RequestTime == "" || q.Sign == "" {
		return fmt.Errorf("%w: RequestTime and Sign are required", ErrUnsigned)
	}
	sec, err := strconv.ParseInt(q.RequestTime, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: not a decimal Unix time", ErrRequestTime)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if skew := now().Sub(time.Unix(sec, 0)); skew > v.MaxSkew || skew < -v.MaxSkew {
		return fmt.Errorf("%w: %s from now, at most %s allowed", ErrRequestTime, skew.Round(time.Second), v.MaxSkew)
	}
	want := Sign(token, q.RequestTime)
	if subtle.ConstantTimeCompare([]byte(want), []byte(q.Sign)) != 1 {
		return ErrSign
	}
	return nil
}
