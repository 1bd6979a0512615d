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
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// A test that panics, or a t.Fatal in another goroutine that ends in the test
// binary's timeout, kills the test process without running Stop: the control
// plane it started would live on. The reaper is a small shell process in a
// session of its own that outlives the test process: once that is gone, it
// kills the control plane's processes and removes their directories. Stop
// ends the reaper first.
const reaperScript = `while kill -0 "$0" 2>/dev/null; do sleep 0.5; done
kill -9 $(cat "$1") 2>/dev/null
shift 2
rm -rf "$@"`

// startReaper starts the reaper for the control plane that runs now.
func (e *Env) startReaper() error {
	if err := e.writeReaperPIDs(); err != nil {
		return err
	}
	args := append([]string{"-c", reaperScript, strconv.Itoa(os.Getpid()), e.reaperPIDFile()}, e.dirs()...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the control plane's reaper: %w", err)
	}
	e.reaper = cmd
	go func() { _ = cmd.Wait() }()
	return nil
}

// stopReaper ends the reaper: Stop stops the control plane itself.
func (e *Env) stopReaper() {
	if e.reaper != nil {
		_ = e.reaper.Process.Kill()
	}
}

func (e *Env) reaperPIDFile() string { return filepath.Join(e.certDir, "control-plane.pids") }

// dirs are the directories Start created.
func (e *Env) dirs() []string {
	var dirs []string
	for _, d := range []string{e.workDir, e.etcdDir, e.certDir} {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// writeReaperPIDs records the control plane's processes (this process's
// children named etcd or kube-apiserver) for the reaper; called again when
// StartAPIServer starts a new kube-apiserver.
func (e *Env) writeReaperPIDs() error {
	pids, err := ControlPlanePIDs(os.Getpid())
	if err != nil {
		return err
	}
	if len(pids) == 0 {
		return fmt.Errorf("no control-plane process found among the children of %d", os.Getpid())
	}
	var b strings.Builder
	for _, pid := range pids {
		fmt.Fprintln(&b, pid)
	}
	return os.WriteFile(e.reaperPIDFile(), []byte(b.String()), 0o600)
}

// ControlPlanePIDs lists the processes named etcd, kube-apiserver or
// kube-controller(-manager, as the kernel cuts the name) whose
// parent is ppid.
func ControlPlanePIDs(ppid int) ([]int, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, path := range stats {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces, not ')'.
		s := string(raw)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		comm := s[open+1 : closing]
		fields := strings.Fields(s[closing+1:])
		if len(fields) < 2 || (comm != "etcd" && comm != "kube-apiserver" && comm != "kube-controller") {
			continue
		}
		if parent, err := strconv.Atoi(fields[1]); err != nil || parent != ppid {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(s[:open])); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// Alive reports whether pid runs (a zombie, dead but not yet reaped, does not).
func Alive(pid int) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(raw)
	closing := strings.LastIndexByte(s, ')')
	fields := strings.Fields(s[closing+1:])
	return len(fields) > 0 && fields[0] != "Z"
}
