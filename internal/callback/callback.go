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

// The query string is read in three steps, in the order the receiver answers
// them: the app (403 when it is not one of ours), the authentication
// parameters (401), then the command and what it says of its origin (400).
// Each step returns a complete value or an error. A parameter given twice is
// refused: which of the two the Sign was meant for cannot be known.

// ParseApp reads the SdkAppid parameter: a positive decimal integer.
func ParseApp(v url.Values) (int64, error) {
	raw, err := single(v, ParamSDKAppID)
	if err != nil {
		return 0, err
	}
	if raw == "" {
		return 0, fmt.Errorf("query parameter %s is missing", ParamSDKAppID)
	}
	app, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || app <= 0 {
		return 0, fmt.Errorf("query parameter %s is not a positive decimal integer", ParamSDKAppID)
	}
	return app, nil
}

// Auth holds the webhook authentication parameters. Both are empty when
// webhook authentication is off for the app.
type Auth struct {
	RequestTime string
	Sign        string
}

// ParseAuth reads RequestTime and Sign. Whether they are required, and
// right, is Verifier's to say.
func ParseAuth(v url.Values) (Auth, error) {
	var a Auth
	var err error
	if a.RequestTime, err = single(v, ParamRequestTime); err != nil {
		return Auth{}, err
	}
	if a.Sign, err = single(v, ParamSign); err != nil {
		return Auth{}, err
	}
	return a, nil
}

// Command holds the callback's command and what the query says of its
// origin.
type Command struct {
	// Name is the CallbackCommand.
	Name string
	// ClientIP is the IP of the client that made the change on the Chat side.
	ClientIP string
	// OptPlatform is a free string: RESTAPI, Web, Android, iOS, IOS, ... and
	// values the documentation does not list.
	OptPlatform string
}

// ParseCommand reads CallbackCommand, contenttype (json when given),
// ClientIP and OptPlatform.
func ParseCommand(v url.Values) (Command, error) {
	var c Command
	var err error
	if c.Name, err = single(v, ParamCommand); err != nil {
		return Command{}, err
	}
	if c.Name == "" {
		return Command{}, fmt.Errorf("query parameter %s is missing", ParamCommand)
	}
	contentType, err := single(v, ParamContentType)
	if err != nil {
		return Command{}, err
	}
	if contentType != "" && contentType != "json" {
		return Command{}, fmt.Errorf("query parameter %s is %q, want json", ParamContentType, truncate(contentType))
	}
	// ClientIP and OptPlatform are informational: a repeat keeps the first.
	c.ClientIP = v.Get(ParamClientIP)
	c.OptPlatform = v.Get(ParamOptPlatform)
	return c, nil
}

// single returns the one value of a parameter, "" when it is absent.
func single(v url.Values, name string) (string, error) {
	switch vals := v[name]; len(vals) {
	case 0:
		return "", nil
	case 1:
		return vals[0], nil
	default:
		return "", fmt.Errorf("query parameter %s is given %d times", name, len(vals))
	}
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

// Verify checks a against the app's token. An app with a token needs a
// RequestTime within MaxSkew of now and the matching Sign, compared in
// constant time. An app with an empty token is accepted, unsigned, only when
// AllowUnsigned is set.
func (v Verifier) Verify(token string, a Auth) error {
	if token == "" {
		if v.AllowUnsigned {
			return nil
		}
		return fmt.Errorf("%w: the app has no token and unsigned callbacks are not allowed", ErrUnsigned)
	}
	if a.RequestTime == "" || a.Sign == "" {
		return fmt.Errorf("%w: RequestTime and Sign are required", ErrUnsigned)
	}
	sec, err := strconv.ParseInt(a.RequestTime, 10, 64)
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
	want := Sign(token, a.RequestTime)
	// Constant time, so that the answer's timing does not tell a forger how
	// much of a guessed Sign was right. No test of behaviour can see a plain
	// == here; TestSignIsComparedInConstantTime reads this function's source.
	if subtle.ConstantTimeCompare([]byte(want), []byte(a.Sign)) != 1 {
		return ErrSign
	}
	return nil
}
