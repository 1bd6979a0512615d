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
	"encoding/json"
)

// match gives each account the item Chat answered for it: by
// Official_Account when the item names it, otherwise by position, but only
// when there are as many items as accounts. An account left without an item
// is Unreachable, never Gone: a missing item says nothing of the account.
// It returns the accounts of a batch of several found Gone by position.
func (c *Client) match(accounts []string, raws []json.RawMessage, out map[string]*Result) (goneByPosition []string) {
	at := c.o.Now()
	index := make(map[string]int, len(accounts))
	for i, a := range accounts {
		index[a] = i
	}
	found := make([]*item, len(accounts))
	byPosition := make([]bool, len(accounts))
	broken := make([]bool, len(accounts))
	items := make([]*item, len(raws))
	for i, raw := range raws {
		var it item
		if err := json.Unmarshal(raw, &it); err == nil {
			items[i] = &it
		}
	}
	// Named items first: an item that names an account is never taken by position.
	for _, it := range items {
		if it == nil || it.OfficialAccount == "" {
			continue
		}
		if j, ok := index[it.OfficialAccount]; ok && found[j] == nil {
			found[j] = it
		}
	}
	if len(raws) == len(accounts) {
		for i, it := range items {
			switch {
			case found[i] != nil || broken[i]:
			case it == nil:
				broken[i] = true
			case it.OfficialAccount == "":
				found[i], byPosition[i] = it, true
			}
		}
	}
	for i, a := range accounts {
		r := out[a]
		r.At = at
		switch {
		case broken[i]:
			r.Err = &Error{Reason: ReasonUnreachable, Message: "Chat's item for this account cannot be parsed"}
		case found[i] == nil:
			r.Err = &Error{Reason: ReasonUnreachable, Message: "Chat's answer has no item for this account"}
		default:
			c.fromItem(r, a, found[i])
			if r.Gone && byPosition[i] && len(accounts) > 1 {
				goneByPosition = append(goneByPosition, a)
			}
		}
	}
	return goneByPosition
}

func (c *Client) fromItem(r *Result, account string, it *item) {
	code := int(it.ErrorCode)
	switch {
	case code == 0 && it.ActionStatus == "FAIL":
		r.Err = &Error{Reason: ReasonUnreachable, Message: "Chat marked this account's item FAIL without an error code"}
	case code == 0:
		r.Info = &AccountInfo{
			Account:         account,
			Name:            it.Name,
			OwnerAccount:    it.OwnerAccount,
			Introduction:    it.Introduction,
			FaceURL:         it.FaceURL,
			Organization:    it.Organization,
			SubscriberCount: int64(it.SubscriberNum),
			CreateTime:      int64(it.CreateTime),
			LastMessageTime: int64(it.LastMsgTime),
		}
	case code == CodeAccountNotFound:
		r.Gone = true
	case code == CodeBadAccountID || code == CodeInvalidParameter:
		r.Err = &Error{Reason: ReasonAccountRejected, Code: code, Message: chatMessage(it.ErrorInfo, code)}
	default:
		reason, _ := classify(code)
		r.Err = &Error{Reason: reason, Code: code, Message: chatMessage(it.ErrorInfo, code)}
	}
}

// Error codes the client treats specially besides the exported ones.
const (
	codeUserSigExpired = 70001
)

// isAccountCode: the code is about an account, and so about the whole batch
// only when the batch holds one account.
func isAccountCode(code int) bool {
	return code == CodeAccountNotFound || code == CodeBadAccountID || code == CodeInvalidParameter
}

// classify maps a Chat error code that is not about one account to a Reason,
// and says whether another attempt may succeed.
func classify(code int) (Reason, bool) {
	switch code {
	case 10004, 20005, 60002, 60003:
		return ReasonUnreachable, true
	case 60007, 60011, 60018, 60019, 70050:
		return ReasonRateLimited, true
	case 60004, 60005, 60006, 60010, 60016, 60020, 60021, 130002:
		return ReasonCredentialsRefused, false
	case CodeServiceNotEnabled:
		return ReasonServiceNotEnabled, false
	}
	if code >= 70000 && code < 80000 {
		// 70001, 70003, 70009, 70013, 70014, 70016, 70020 and the rest of
		// the UserSig family: a new key or UserSig is needed.
		return ReasonCredentialsRefused, false
	}
	// An unknown code is most likely Chat's own trouble; retrying is cheap
	// and never turns into a destruction.
	return ReasonUnreachable, true
}
