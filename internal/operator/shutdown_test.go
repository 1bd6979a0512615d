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

package operator

import (
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// SIGTERM drains at once and ends the context only after the delay; a
// second signal exits at once.
func TestShutdownDrainsThenStops(t *testing.T) {
	const delay = 2 * time.Second
	drained := make(chan time.Time, 1)
	var exits atomic.Int32
	exited := make(chan struct{}, 2)
	ctx := shutdownContext(delay, func() { drained <- time.Now() }, func() { exits.Add(1); exited <- struct{}{} })

	sent := time.Now()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-drained:
		if ctx.Err() != nil {
			t.Fatal("drained only once the context ended: the Pod would not leave its endpoints in time")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not drained")
	}
	select {
	case <-ctx.Done():
		if d := time.Since(sent); d < delay {
			t.Fatalf("the context ended %s after the signal, before the delay %s", d, delay)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the context did not end after the delay")
	}
	if exits.Load() != 0 {
		t.Fatal("exited on one signal")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("a second signal did not exit")
	}
}
