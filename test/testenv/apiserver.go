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
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// StopAPIServer kills kube-apiserver (SIGKILL; etcd keeps running), as a
// crash would; StartAPIServer brings it back on the same address and
// certificate.
func (e *Env) StopAPIServer() error {
	pid, err := e.apiServerPID()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("killing kube-apiserver: %w", err)
	}
	// envtest reaps the process and, seeing it gone, only tidies up.
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver (pid %d) did not die", pid)
		}
	}
	// envtest marks the process exited a moment after reaping it: a Stop
	// in between signals a process that is gone, which is what we wanted.
	err = e.env.ControlPlane.APIServer.Stop()
	if errors.Is(err, syscall.ESRCH) || errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// apiServerPID finds this Env's kube-apiserver by its certificate directory.
func (e *Env) apiServerPID() (int, error) {
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		raw, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(raw, []byte("kube-apiserver")) || !bytes.Contains(raw, []byte(e.certDir)) {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(p, "/proc/%d/cmdline", &pid); err == nil {
			return pid, nil
		}
	}
	return 0, errors.New("kube-apiserver process not found")
}

// StartAPIServer restarts the kube-apiserver StopAPIServer stopped.
func (e *Env) StartAPIServer() error {
	if err := e.env.ControlPlane.APIServer.Start(); err != nil {
		return err
	}
	return e.writeReaperPIDs()
}
