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

package fakechat

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/channel-operator/channel-operator/internal/chatapi"
)

// adminAccount is an account as the admin endpoints show it, in Chat's field names.
type adminAccount struct {
	Account       string `json:"Official_Account"`
	Name          string `json:"Name"`
	OwnerAccount  string `json:"Owner_Account"`
	Introduction  string `json:"Introduction,omitempty"`
	FaceURL       string `json:"FaceUrl,omitempty"`
	Organization  string `json:"Organization,omitempty"`
	SubscriberNum int64  `json:"SubscriberNum"`
	CreateTime    int64  `json:"CreateTime"`
	LastMsgTime   int64  `json:"LastMsgTime"`
}

func toAdmin(info chatapi.AccountInfo) adminAccount {
	return adminAccount{
		Account: info.Account, Name: info.Name, OwnerAccount: info.OwnerAccount, Introduction: info.Introduction,
		FaceURL: info.FaceURL, Organization: info.Organization, SubscriberNum: info.SubscriberCount,
		CreateTime: info.CreateTime, LastMsgTime: info.LastMessageTime,
	}
}

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID, err := strconv.ParseInt(q.Get("sdkappid"), 10, 64)
	if err != nil {
		adminError(w, http.StatusBadRequest, "sdkappid must be a number")
		return
	}
	if _, _, ok := s.appAuth(appID); !ok {
		adminError(w, http.StatusNotFound, fmt.Sprintf("app %d was not added", appID))
		return
	}
	account := q.Get("account")
	switch r.Method {
	case http.MethodGet:
		list := []adminAccount{}
		for _, info := range s.Accounts(appID) {
			list = append(list, toAdmin(info))
		}
		writeJSON(w, http.StatusOK, list)
	case http.MethodPost:
		if account != "" && !validAccountID(account) {
			adminError(w, http.StatusBadRequest, "account must start with @TOA#_, printable ASCII, at most 48 bytes")
			return
		}
		info := chatapi.AccountInfo{Account: account, Name: q.Get("name"), OwnerAccount: q.Get("owner"), CreateTime: time.Now().Unix()}
		if n := q.Get("subscribers"); n != "" {
			if info.SubscriberCount, err = strconv.ParseInt(n, 10, 64); err != nil {
				adminError(w, http.StatusBadRequest, "subscribers must be a number")
				return
			}
		}
		info.Account = s.CreateAccount(appID, info)
		writeJSON(w, http.StatusCreated, toAdmin(info))
	case http.MethodDelete:
		if !s.Destroy(appID, account) {
			adminError(w, http.StatusNotFound, "no such account")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"destroyed": account})
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		adminError(w, http.StatusMethodNotAllowed, "GET, POST or DELETE")
	}
}
