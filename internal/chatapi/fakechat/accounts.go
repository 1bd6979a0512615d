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
	"sort"
	"time"

	"github.com/channel-operator/channel-operator/internal/chatapi"
)

// AddApp adds (or replaces the key and admins of) an app. Without admins,
// the app's administrator is chatapi.DefaultIdentifier.
func (s *Server) AddApp(appID int64, key string, admins ...string) {
	if len(admins) == 0 {
		admins = []string{chatapi.DefaultIdentifier}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		a = &app{accounts: map[string]chatapi.AccountInfo{}}
		s.apps[appID] = a
	}
	a.key = key
	a.admins = map[string]bool{}
	for _, id := range admins {
		a.admins[id] = true
	}
}

// CreateAccount creates or replaces an account of an added app and returns
// its ID: info.Account, or a made-up one when empty. CreateTime defaults to
// now. It panics when the app was not added: that is a mistake in the test.
func (s *Server) CreateAccount(appID int64, info chatapi.AccountInfo) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		panic(fmt.Sprintf("fakechat: CreateAccount for app %d, which was not added", appID))
	}
	if info.Account == "" {
		s.nextID++
		info.Account = fmt.Sprintf("@TOA#_@TOA#fake%d", s.nextID)
	}
	if info.CreateTime == 0 {
		info.CreateTime = time.Now().Unix()
	}
	a.accounts[info.Account] = info
	return info.Account
}

// SetProfile changes an existing account's profile and reports whether it exists.
func (s *Server) SetProfile(appID int64, account string, change func(*chatapi.AccountInfo)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return false
	}
	info, ok := a.accounts[account]
	if !ok {
		return false
	}
	change(&info)
	info.Account = account
	a.accounts[account] = info
	return true
}

// Destroy destroys an account and reports whether it existed.
func (s *Server) Destroy(appID int64, account string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.destroyLocked(appID, account)
}

func (s *Server) destroyLocked(appID int64, account string) bool {
	a, ok := s.apps[appID]
	if !ok {
		return false
	}
	_, ok = a.accounts[account]
	delete(a.accounts, account)
	return ok
}

// Exists reports whether an account exists.
func (s *Server) Exists(appID int64, account string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return false
	}
	_, ok = a.accounts[account]
	return ok
}

// Accounts returns an app's accounts sorted by ID.
func (s *Server) Accounts(appID int64) []chatapi.AccountInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return nil
	}
	out := make([]chatapi.AccountInfo, 0, len(a.accounts))
	for _, info := range a.accounts {
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Account < out[j].Account })
	return out
}
