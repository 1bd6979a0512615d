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

// Package managerproc runs the built manager (bin/manager) as a process against
// a control plane, the way a Deployment would run it: for the end-to-end
// tests, `make dev` and `make demo`.
package managerproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/channel-operator/channel-operator/internal/observer"
	"github.com/channel-operator/channel-operator/internal/receiver"
)

// Options say how to run the manager.
type Options struct {
	// Binary is the manager executable.
	Binary string
	// Kubeconfig is the manager's client identity.
	Kubeconfig string
	// Namespace is the manager's own namespace (POD_NAMESPACE).
	Namespace string
	// Args are further flags. The callback, probe and metrics addresses are
	// set by Start, on loopback ports, and --shutdown-delay is 0s unless
	// Args set it: nothing stands in front of a manager started here, and a
	// test that stops a manager should not wait out a drain it does not test.
	Args []string
	// CallbackPort is the receiver's port; a free one when zero.
	CallbackPort int
	// Output receives the manager's standard output and error.
	Output io.Writer
	// ReadyTimeout bounds the wait for /readyz; 60 s when zero.
	ReadyTimeout time.Duration
	// Env are further environment variables (KEY=value).
	Env []string
	// Root, when set, is a root filesystem (an unpacked image) the manager
	// runs in (chroot, which needs root): Binary and Kubeconfig are paths
	// in it, and it sees nothing of the host's files, nor its environment
	// but Env.
	Root string
	// Credential is the user the manager runs as; the caller's when nil.
	Credential *syscall.Credential
}

// Process is a running manager.
type Process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error

	// CallbackURL is the receiver's endpoint, http://127.0.0.1:<port>/callback.
	CallbackURL string
	// ProbeAddr serves /healthz and /readyz.
	ProbeAddr string
	// MetricsAddr serves /metrics over plain HTTP.
	MetricsAddr string
}

// QuickLease are lease timings for the managers of tests that kill a
// leader: a successor waits out the lease the dead leader recorded, 6 s
// from when it first read it, not the default 15 s. Only for managers that
// are killed: the renew deadline (5 s) is short for a loaded machine.
var QuickLease = []string{"--leader-elect-lease-duration=6s", "--leader-elect-renew-deadline=5s", "--leader-elect-retry-period=1s"}

// Start runs the manager and waits until it reports ready.
func Start(ctx context.Context, opts Options) (*Process, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	if opts.CallbackPort != 0 {
		ports[0] = opts.CallbackPort
	}
	p := &Process{
		CallbackURL: fmt.Sprintf("http://127.0.0.1:%d/callback", ports[0]),
		ProbeAddr:   fmt.Sprintf("127.0.0.1:%d", ports[1]),
		MetricsAddr: fmt.Sprintf("127.0.0.1:%d", ports[2]),
		exited:      make(chan struct{}),
	}
	args := append([]string{
		"--callback-bind-address=127.0.0.1:" + strconv.Itoa(ports[0]),
		"--health-probe-bind-address=" + p.ProbeAddr,
		"--metrics-bind-address=" + p.MetricsAddr,
		"--metrics-secure=false",
		"--shutdown-delay=0s",
	}, opts.Args...)
	env := append(os.Environ(), "KUBECONFIG="+opts.Kubeconfig)
	if opts.Root != "" {
		// As in a container: only what the Pod spec sets. The kubeconfig
		// by flag: with $KUBECONFIG and no $HOME the client looks up the
		// user's home directory, which a static binary on an empty base
		// cannot (in a Pod, the in-cluster config comes first).
		env = nil
		args = append(args, "--kubeconfig="+opts.Kubeconfig)
	}
	p.cmd = exec.Command(opts.Binary, args...)
	p.cmd.Env = append(append(env, "POD_NAMESPACE="+opts.Namespace), opts.Env...)
	p.cmd.Stdout, p.cmd.Stderr = opts.Output, opts.Output
	// Its own process group: a terminal's Ctrl-C reaches it only through
	// whoever started it, which stops it before the control plane.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Chroot: opts.Root, Credential: opts.Credential}
	if opts.Root != "" {
		p.cmd.Dir = "/"
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", opts.Binary, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()

	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	if err := p.waitReady(ctx, timeout); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}

func (p *Process) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	url := "http://" + p.ProbeAddr + "/readyz"
	for {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("manager exited before it was ready: %v", p.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("manager not ready after %s", timeout)
		}
	}
}

// Stop asks the manager to stop (SIGTERM) and waits for it; after 20 s it is
// killed. It returns the manager's exit error, if any.
func (p *Process) Stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.Kill()
		return errors.New("manager did not stop within 20s; killed")
	}
	return p.err
}

// Kill stops the manager at once (SIGKILL), as a crash would. Killing a
// manager that has exited already does nothing.
func (p *Process) Kill() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// PID is the manager's process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed when the manager has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// freePorts finds n free loopback TCP ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Prepare creates the manager's namespace and its callback Secret
// (receiver.DefaultSecretName) with tokens, SDKAppID to token; what exists
// already is left as it is.
func Prepare(ctx context.Context, c client.Client, namespace string, tokens map[string]string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", namespace, err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: receiver.DefaultSecretName},
		StringData: tokens,
	}
	if err := c.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the callback Secret: %w", err)
	}
	return nil
}

// PrepareChatAPI creates the manager's Chat API Secret
// (observer.DefaultSecretName) with data, e.g. "<SDKAppID>.secretKey" and
// "<SDKAppID>.endpoint"; an existing one is left as it is.
func PrepareChatAPI(ctx context.Context, c client.Client, namespace string, data map[string]string) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: observer.DefaultSecretName},
		StringData: data,
	}
	if err := c.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the Chat API Secret: %w", err)
	}
	return nil
}
