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

import (
	"sync"
	"testing"
)

// take acquires up to n slots for app and returns how many it got.
func take(s *slots, app int64, apps, n int) int {
	got := 0
	for range n {
		if s.acquire(app, apps) {
			got++
		}
	}
	return got
}

func TestSlotsGiveEveryAppItsShare(t *testing.T) {
	for _, tt := range []struct {
		name          string
		max, apps     int
		busy          int // slots the busy app A gets when it asks for all
		otherGets     int // then app B's slots when it asks for all
		thirdGets     int // then app C's
		afterReleaseA int // A's slots again after B and C gave theirs back
	}{
		{"one app uses every slot", 8, 1, 8, 0, 0, 8},
		{"two apps: the busy one leaves the other's share", 8, 2, 4, 4, 0, 4},
		{"three apps: two shares left free", 9, 3, 3, 3, 3, 3},
		{"an unused share is all that is kept", 10, 3, 4, 3, 3, 4},
		{"more apps than slots: one each, while any is free", 2, 5, 1, 1, 0, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSlots(tt.max)
			if got := take(s, 'A', tt.apps, tt.max); got != tt.busy {
				t.Fatalf("A got %d slots, want %d", got, tt.busy)
			}
			if tt.apps == 1 {
				return
			}
			if got := take(s, 'B', tt.apps, tt.max); got != tt.otherGets {
				t.Fatalf("B got %d slots, want %d", got, tt.otherGets)
			}
			if got := take(s, 'C', tt.apps, tt.max); got != tt.thirdGets {
				t.Fatalf("C got %d slots, want %d", got, tt.thirdGets)
			}
			if s.total > tt.max {
				t.Fatalf("%d slots held, at most %d", s.total, tt.max)
			}
			// A busy app's slots come back; B and C give theirs back and A
			// may borrow again.
			for range tt.otherGets {
				s.release('B')
			}
			for range tt.thirdGets {
				s.release('C')
			}
			if _, ok := s.held['B']; ok {
				t.Fatal("an app with no slot left is still counted")
			}
			before := s.held['A']
			if got := take(s, 'A', tt.apps, tt.max); before+got != max(tt.afterReleaseA, before) {
				t.Fatalf("A holds %d slots after the others left, want %d", before+got, tt.afterReleaseA)
			}
		})
	}
}

func TestSlotsHoldTheirBoundUnderConcurrency(t *testing.T) {
	const maxSlots, apps = 16, 4
	s := newSlots(maxSlots)
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			app := int64(g % apps)
			for range 1000 {
				if s.acquire(app, apps) {
					s.mu.Lock()
					over := s.total > maxSlots
					s.mu.Unlock()
					if over {
						t.Error("more slots held than the bound")
					}
					s.release(app)
				}
			}
		})
	}
	wg.Wait()
	if s.total != 0 || len(s.held) != 0 {
		t.Fatalf("after every release: total %d, held %v", s.total, s.held)
	}
}
