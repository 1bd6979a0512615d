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

package callback

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Call describes a webhook call as the Chat backend makes it, for tools and
// tests that play the Chat backend.
type Call struct {
	SDKAppID int64
	// Token signs the call; an empty token sends it unsigned.
	Token       string
	Command     string
	ClientIP    string
	OptPlatform string
	// RequestTime is the signing time; now when zero.
	RequestTime time.Time
}

// URL returns endpoint with the query parameters of the call, signed.
func (c Call) URL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("receiver URL %q: %w", endpoint, err)
	}
	q := u.Query()
	q.Set(ParamSDKAppID, strconv.FormatInt(c.SDKAppID, 10))
	q.Set(ParamCommand, c.Command)
	q.Set(ParamContentType, "json")
	if c.ClientIP != "" {
		q.Set(ParamClientIP, c.ClientIP)
	}
	if c.OptPlatform != "" {
		q.Set(ParamOptPlatform, c.OptPlatform)
	}
	if c.Token != "" {
		at := c.RequestTime
		if at.IsZero() {
			at = time.Now()
		}
		rt := strconv.FormatInt(at.Unix(), 10)
		q.Set(ParamRequestTime, rt)
		q.Set(ParamSign, Sign(c.Token, rt))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// DestroyedBody is the body of a destroyed callback, shaped like the
// documented sample.
func DestroyedBody(account, owner, name string, eventTime int64) []byte {
	b, _ := json.Marshal(Destroyed{
		Envelope:        Envelope{CallbackCommand: CommandDestroyed, EventTime: eventTime},
		OfficialAccount: account, OwnerAccount: owner, Name: name,
	})
	return b
}
