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
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// StartControllerManager runs kube-controller-manager (built next to the
// control plane by make envtest) with the controllers a real cluster runs
// for what these tests look at, the garbage collector, the namespace
// controller and the ServiceAccount token controller, until the test ends. Its log goes to the test's temporary
// directory, and it is shown when the test fails.
func (e *Env) StartControllerManager(t testing.TB) {
	t.Helper()
	bin := filepath.Join(e.AssetsDir, "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("kube-controller-manager is missing (make envtest builds it): %v", err)
	}
	logPath := filepath.Join(t.TempDir(), "kube-controller-manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--kubeconfig="+e.KubeconfigPath, "--controllers=garbagecollector,namespace,serviceaccount-token",
		// The key the API server verifies ServiceAccount tokens with
		// (envtest's pair): the token controller signs the tokens of
		// kubernetes.io/service-account-token Secrets with it.
		"--service-account-private-key-file="+filepath.Join(e.certDir, "sa-signer.key"),
		"--leader-elect=false", "--secure-port=0", "--use-service-account-credentials=false", "--v=1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kube-controller-manager: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	if err := e.writeReaperPIDs(); err != nil {
		t.Error(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		_ = logFile.Close()
		if t.Failed() {
			if raw, err := os.ReadFile(logPath); err == nil {
				t.Logf("kube-controller-manager's log (last 4 KiB):\n%s", raw[max(0, len(raw)-4096):])
			}
		}
	})
}
