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

// Profiles: captures the running manager's CPU and heap profiles (pprof)
// during the benchmarks into bin/bench-out/, each with a `go tool pprof -top`
// summary beside it. They measure nothing for the report.

package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/channel-operator/channel-operator/test/testenv"
)

type profile struct{ done chan struct{} }

// startProfile records a CPU profile of the manager for d in the background.
func (b *bench) startProfile(name string, d time.Duration) *profile {
	p := &profile{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		b.saveProfile(name, fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds())))
	}()
	return p
}

func (p *profile) wait() {
	if p != nil {
		<-p.done
	}
}

func (b *bench) saveProfile(name, path string) {
	resp, err := http.Get("http://" + b.pprofAddr + path)
	if err != nil {
		logf("profile %s: %v", name, err)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	file := filepath.Join(b.outDir, name+".pprof")
	raw, err := io.ReadAll(resp.Body)
	if err == nil {
		err = os.WriteFile(file, raw, 0o644)
	}
	if err != nil {
		logf("profile %s: %v", name, err)
		return
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=12", testenv.ManagerBinary(), file).Output()
	if err == nil {
		_ = os.WriteFile(filepath.Join(b.outDir, name+".top.txt"), out, 0o644)
	}
}
