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

package receiver

import "sync"

// slots bounds the authenticated callbacks in flight (reading a body,
// writing status): at most max in all, and every configured app may always
// have its share of them (max / apps), however busy the others are; with
// more apps than slots, each app's share is one slot while any is free. An app takes a slot beyond its share only while enough stay
// free for every other app's unused share: one app's signed URL, trickling
// bodies until the read timeout, cannot starve the others' destructions
// (which Chat does not resend after a 503).
type slots struct {
	mu    sync.Mutex
	max   int
	total int
	// held counts the slots of each app that holds any.
	held map[int64]int
}

func newSlots(max int) *slots { return &slots{max: max, held: map[int64]int{}} }

// acquire takes a slot for app, one of apps configured apps, and reports
// whether it could; a taken slot is given back with release.
func (s *slots) acquire(app int64, apps int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total >= s.max {
		return false
	}
	share := max(s.max/max(apps, 1), 1)
	if s.held[app] >= share {
		// Borrowing: what the other apps have not used of their shares stays free.
		owed := (apps - 1) * share
		for other, n := range s.held {
			if other != app {
				owed -= min(n, share)
			}
		}
		if s.max-s.total <= owed {
			return false
		}
	}
	s.held[app]++
	s.total++
	return true
}

func (s *slots) release(app int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.held[app]--; s.held[app] <= 0 {
		delete(s.held, app)
	}
}
