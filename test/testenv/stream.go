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

package testenv

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Stream sends callbacks at a steady rate, as Chat's backend does, until
// End: the i-th by post(i), concurrently with those still in flight. It
// records which were answered 200 and how the others failed.
type Stream struct {
	mu       sync.Mutex
	sent     int
	ok       []int
	failures []string

	stop, done chan struct{}
	inflight   sync.WaitGroup
}

// StartStream starts posting at rate per second.
func StartStream(rate int, post func(i int) (status int, err error)) *Stream {
	s := &Stream{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			s.mu.Lock()
			s.sent++
			s.mu.Unlock()
			s.inflight.Go(func() {
				status, err := post(i)
				s.mu.Lock()
				defer s.mu.Unlock()
				if err != nil || status != http.StatusOK {
					s.failures = append(s.failures, fmt.Sprintf("callback %d at %s: %d %v", i,
						time.Now().Format("15:04:05.000"), status, err))
					return
				}
				s.ok = append(s.ok, i)
			})
		}
	}()
	return s
}

// End stops the stream, waits for the callbacks in flight, and returns how
// many were sent, the indexes of those answered 200, and the failures.
func (s *Stream) End() (sent int, ok []int, failures []string) {
	close(s.stop)
	<-s.done
	s.inflight.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent, s.ok, s.failures
}
