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

package chatapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/channel-operator/channel-operator/internal/text"
)

// failure is a failed call and whether another attempt may succeed.
type failure struct {
	err   *Error
	retry bool
}

// request is get_official_account_info's body.
type request struct {
	OfficialAccountIDList []accountID    `json:"OfficialAccountIdList"`
	ResponseFilter        responseFilter `json:"ResponseFilter"`
}

type accountID struct {
	OfficialAccount string `json:"Official_Account"`
}

type responseFilter struct {
	OfficialAccountBaseInfoFilter []string `json:"OfficialAccountBaseInfoFilter"`
}

// answer is get_official_account_info's answer. Items are decoded one by one
// so that one odd item does not lose the others.
type answer struct {
	ActionStatus            string            `json:"ActionStatus"`
	ErrorCode               flexInt           `json:"ErrorCode"`
	ErrorInfo               string            `json:"ErrorInfo"`
	OfficialAccountInfoList []json.RawMessage `json:"OfficialAccountInfoList"`
}

type item struct {
	OfficialAccount string  `json:"Official_Account"`
	ActionStatus    string  `json:"ActionStatus"`
	ErrorCode       flexInt `json:"ErrorCode"`
	ErrorInfo       string  `json:"ErrorInfo"`
	Name            string  `json:"Name"`
	OwnerAccount    string  `json:"Owner_Account"`
	Introduction    string  `json:"Introduction"`
	FaceURL         string  `json:"FaceUrl"`
	Organization    string  `json:"Organization"`
	SubscriberNum   flexInt `json:"SubscriberNum"`
	CreateTime      flexInt `json:"CreateTime"`
	LastMsgTime     flexInt `json:"LastMsgTime"`
}

// flexInt reads a JSON number, a quoted number or null: nothing in the docs
// promises that every integer comes unquoted.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		fl, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || fl != float64(int64(fl)) {
			// The value is not quoted: it comes from the answer, which
			// may echo the request (and its UserSig).
			return errors.New("a number field is not an integer")
		}
		n = int64(fl)
	}
	*f = flexInt(n)
	return nil
}

// once makes one HTTP call and reads its answer.
func (c *Client) attempt(ctx context.Context, creds Credentials, sig string, accounts []string) (*answer, *failure) {
	body := request{ResponseFilter: responseFilter{OfficialAccountBaseInfoFilter: responseFields}}
	for _, a := range accounts {
		body.OfficialAccountIDList = append(body.OfficialAccountIDList, accountID{OfficialAccount: a})
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, &failure{err: &Error{Reason: ReasonUnreachable, Message: "encoding the request: " + err.Error()}}
	}
	q := url.Values{}
	q.Set("sdkappid", strconv.FormatInt(creds.AppID, 10))
	q.Set("identifier", creds.Identifier)
	q.Set("usersig", sig)
	q.Set("random", strconv.FormatUint(uint64(rand.Uint32()), 10))
	q.Set("contenttype", "json")
	target := strings.TrimRight(creds.Endpoint, "/") + servicePath + CommandGetAccountInfo + "?" + q.Encode()

	callCtx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, target, bytes.NewReader(raw))
	if err != nil {
		// The error would quote the URL, and with it the UserSig.
		return nil, &failure{err: &Error{Reason: ReasonCredentialsRefused, Message: "the endpoint does not make a valid request URL"}}
	}
	req.Header.Set("Content-Type", "application/json")
	redact := redactor(creds, sig)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &failure{retry: ctx.Err() == nil,
			err: &Error{Reason: ReasonUnreachable, Message: redact(c.transportMessage(ctx, callCtx, err))}}
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, &failure{retry: true, err: &Error{Reason: ReasonRateLimited, Message: "Chat answered HTTP 429"}}
	case resp.StatusCode != http.StatusOK:
		return nil, &failure{retry: true, err: &Error{Reason: ReasonUnreachable, Message: fmt.Sprintf("Chat answered HTTP %d", resp.StatusCode)}}
	case err != nil:
		return nil, &failure{retry: ctx.Err() == nil,
			err: &Error{Reason: ReasonUnreachable, Message: redact("reading Chat's answer: " + c.transportMessage(ctx, callCtx, err))}}
	case len(data) > maxResponseBytes:
		return nil, &failure{retry: true, err: &Error{Reason: ReasonUnreachable, Message: "Chat's answer is larger than 1 MiB"}}
	}
	var ans answer
	if err := json.Unmarshal(data, &ans); err != nil {
		return nil, &failure{retry: true,
			err: &Error{Reason: ReasonUnreachable, Message: chatMessage(redact("Chat's answer is not the expected JSON: "+err.Error()), -1)}}
	}
	code := int(ans.ErrorCode)
	ans.ErrorInfo = redact(ans.ErrorInfo)
	for i, raw := range ans.OfficialAccountInfoList {
		// The items' ErrorInfo ends up in messages too.
		ans.OfficialAccountInfoList[i] = json.RawMessage(redact(string(raw)))
	}
	switch {
	case code == 0 && ans.ActionStatus == "FAIL":
		return nil, &failure{retry: true, err: &Error{Reason: ReasonUnreachable, Message: "Chat answered FAIL without an error code"}}
	case code == 0 || isAccountCode(code):
		return &ans, nil
	}
	reason, retry := classify(code)
	return nil, &failure{retry: retry, err: &Error{Reason: reason, Code: code, Message: chatMessage(ans.ErrorInfo, code)}}
}

// transportMessage says why http.Client.Do or the body read failed, without
// the *url.Error's URL (which holds the UserSig).
func (c *Client) transportMessage(ctx, callCtx context.Context, err error) string {
	if ctx.Err() != nil {
		return "the call was abandoned: " + ctx.Err().Error()
	}
	if errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("Chat did not answer within %s", c.o.Timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return "calling Chat: " + err.Error()
}

// redactor hides the secrets of a call in a message, raw and as the query
// escaped them: a message must be safe for logs, events and status.
func redactor(creds Credentials, sig string) func(string) string {
	var pairs []string
	for _, s := range []string{sig, creds.UserSig, creds.SecretKey} {
		if s != "" {
			pairs = append(pairs, s, "<redacted>", url.QueryEscape(s), "<redacted>")
		}
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

func chatMessage(info string, code int) string {
	if info == "" {
		return fmt.Sprintf("Chat answered error %d without ErrorInfo", code)
	}
	return text.Abbrev(info, maxErrorInfo)
}
