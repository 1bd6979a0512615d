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
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A test process that dies without Stop (here: a panic) leaves no control
// plane behind: the reaper kills etcd and kube-apiserver and removes their
// directories.
func TestControlPlaneDiesWithTheTestProcess(t *testing.T) {
	if out := os.Getenv("TESTENV_PANIC_PIDS"); out != "" {
		env, err := Start(Options{})
		if err != nil {
			t.Fatal(err)
		}
		pids, err := ControlPlanePIDs(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, pid := range pids {
			fmt.Fprintln(&b, pid)
		}
		fmt.Fprintln(&b, env.certDir)
		if err := os.WriteFile(out, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		panic("a test panics with the control plane running")
	}

	record := filepath.Join(t.TempDir(), "pids")
	cmd := exec.Command(os.Args[0], "-test.run=^TestControlPlaneDiesWithTheTestProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "TESTENV_PANIC_PIDS="+record)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(string(out), "a test panics") {
		t.Fatalf("the child test did not panic: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("the child recorded nothing: %v\n%s", err, out)
	}
	lines := strings.Fields(string(raw))
	if len(lines) != 3 {
		t.Fatalf("recorded %q, want etcd, kube-apiserver and the certificate directory", lines)
	}
	Eventually(t, func() error {
		for _, l := range lines[:2] {
			pid, err := strconv.Atoi(l)
			if err != nil {
				return err
			}
			if Alive(pid) {
				return fmt.Errorf("control-plane process %d still runs", pid)
			}
		}
		if _, err := os.Stat(lines[2]); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s still exists: %v", lines[2], err)
		}
		return nil
	})
}
