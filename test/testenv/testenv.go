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

// Package testenv is the one harness every test and local tool uses to run a
// real kube-apiserver and etcd (controller-runtime envtest) with the
// OfficialChannel CRD installed.
//
// The binaries come from KUBEBUILDER_ASSETS when it is set, otherwise from
// bin/k8s, where `make envtest` builds them from Go modules.
package testenv

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
)

// Env is a running control plane with the project's CRDs installed.
type Env struct {
	env *envtest.Environment

	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Client is a direct (uncached) client for Config.
	Client client.Client
	// Scheme knows the built-in kinds and chat.channel-operator.io/v1alpha1.
	Scheme *k8sruntime.Scheme
	// KubeconfigPath is a kubeconfig file for Config, for kubectl and the manager.
	KubeconfigPath string
	// AssetsDir holds kube-apiserver, etcd and kubectl.
	AssetsDir string
	// Manager is the in-process manager Run started, if any.
	Manager *Manager

	workDir  string
	etcdDir  string
	certDir  string
	cleanups []func()
	reaper   *exec.Cmd
}

// Options tune Start.
type Options struct {
	// WorkDir receives the kubeconfig; a temporary directory when empty.
	WorkDir string
}

// Scheme returns a scheme with the built-in kinds and the project's API.
func Scheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(chatv1alpha1.AddToScheme(s))
	return s
}

// RepoRoot is the repository's top directory, found from this source file so
// that it is right whatever the test's working directory.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("testenv: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// AssetsDir is where the control-plane binaries are: KUBEBUILDER_ASSETS when
// set, bin/k8s otherwise.
func AssetsDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join(RepoRoot(), "bin", "k8s")
}

// Start runs etcd and kube-apiserver, installs the CRDs from config/crd/bases
// and waits until they are served.
func Start(opts Options) (*Env, error) {
	assets := AssetsDir()
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			return nil, fmt.Errorf("control-plane binary %s not found in %s (run `make envtest` or set KUBEBUILDER_ASSETS): %w", bin, assets, err)
		}
	}

	scheme := Scheme()
	e := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	etcdDir, err := etcdDataDir()
	if err != nil {
		return nil, err
	}
	if etcdDir != "" {
		e.ControlPlane.Etcd = &envtest.Etcd{DataDir: etcdDir}
	}
	// A certificate directory of our own survives an API server restart
	// (StopAPIServer, StartAPIServer): the restarted server keeps its serving
	// certificate, so existing clients keep trusting it.
	certDir, err := os.MkdirTemp("", "channel-operator-apiserver-")
	if err != nil {
		_ = os.RemoveAll(etcdDir)
		return nil, fmt.Errorf("creating API server certificate directory: %w", err)
	}
	e.ControlPlane.APIServer = &envtest.APIServer{CertDir: certDir}
	cfg, err := e.Start()
	if err != nil {
		_ = os.RemoveAll(etcdDir)
		_ = os.RemoveAll(certDir)
		return nil, fmt.Errorf("starting control plane: %w", err)
	}
	// Tests create many objects quickly; the client-side default (5 QPS) would
	// measure the rate limiter, not the operator.
	cfg.QPS, cfg.Burst = 500, 1000

	env := &Env{env: e, Config: cfg, Scheme: scheme, AssetsDir: assets, etcdDir: etcdDir, certDir: certDir}
	if err := env.init(opts); err != nil {
		_ = e.Stop()
		return nil, err
	}
	if err := env.startReaper(); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return env, nil
}

func (e *Env) init(opts Options) error {
	c, err := client.New(e.Config, client.Options{Scheme: e.Scheme})
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	e.Client = c

	dir := opts.WorkDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "channel-operator-testenv-"); err != nil {
			return fmt.Errorf("creating work directory: %w", err)
		}
		e.workDir = dir
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating work directory: %w", err)
	}
	e.KubeconfigPath = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(e.KubeconfigPath, e.env.KubeConfig, 0o600); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}

// AddCleanup registers fn to run when the Env stops, before the control plane
// goes away; cleanups run last-added first. Stop whatever talks to the API
// server here (a manager, say), or stopping the API server waits for it.
func (e *Env) AddCleanup(fn func()) {
	e.cleanups = append(e.cleanups, fn)
}

// WriteImpersonatingKubeconfig writes a kubeconfig that reaches the control
// plane as the administrator impersonating user in groups: requests made
// with it are authorized by the RBAC of that user, as in a real cluster.
func (e *Env) WriteImpersonatingKubeconfig(path, user string, groups []string) error {
	cfg, err := clientcmd.Load(e.env.KubeConfig)
	if err != nil {
		return fmt.Errorf("reading kubeconfig: %w", err)
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = user
		auth.ImpersonateGroups = groups
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}

// ServiceAccountUser is the user name and groups of a ServiceAccount, for
// WriteImpersonatingKubeconfig.
func ServiceAccountUser(namespace, name string) (string, []string) {
	return "system:serviceaccount:" + namespace + ":" + name,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
}

// Stop runs the cleanups, stops the control plane and removes what Start created.
func (e *Env) Stop() error {
	e.stopReaper()
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	err := e.env.Stop()
	if e.workDir != "" {
		err = errors.Join(err, os.RemoveAll(e.workDir))
	}
	if e.etcdDir != "" {
		err = errors.Join(err, os.RemoveAll(e.etcdDir))
	}
	return errors.Join(err, os.RemoveAll(e.certDir))
}

// etcdDataDir puts etcd's data in memory (tmpfs) when the machine has
// /dev/shm, as CI control planes commonly do: a throwaway control plane
// needs no durable disk writes, and fsync latency on a shared disk would
// otherwise dominate every write. "" lets envtest choose a directory on disk.
func etcdDataDir() (string, error) {
	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		return "", nil
	}
	dir, err := os.MkdirTemp("/dev/shm", "channel-operator-etcd-")
	if err != nil {
		return "", fmt.Errorf("creating etcd data directory: %w", err)
	}
	return dir, nil
}

// KubectlPath is the kubectl built next to the control plane.
func (e *Env) KubectlPath() string {
	return filepath.Join(e.AssetsDir, "kubectl")
}

// Kubectl runs the built kubectl against this control plane and returns its
// standard output; the error carries standard error.
func (e *Env) Kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.KubectlPath(), append([]string{"--kubeconfig", e.KubeconfigPath}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %v: %w: %s", args, err, stderr.String())
	}
	return stdout.String(), nil
}

// RunInput says what a test binary runs on its one control plane, in the
// shape of Cluster API's envtest.RunInput.
type RunInput struct {
	M *testing.M
	// SetupEnv runs once the control plane is up and OperatorNamespace
	// exists, before the manager starts.
	SetupEnv func(*Env) error
	// ManagerInput, when it sets anything up, runs a manager in the process
	// for the whole binary: Env.Manager.
	ManagerInput
	// WithManager runs that manager even when ManagerInput sets nothing
	// up: its cache, for tests that drive the pieces themselves.
	WithManager bool
}

// Run starts one control plane for a test binary, runs its tests and stops
// it; call it from TestMain.
func Run(in RunInput) {
	os.Exit(run(in))
}

func run(in RunInput) int {
	// A fuzzing run (go test -run '^$' -fuzz ...) and its workers run no test
	// that needs the control plane.
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return in.M.Run()
	}
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return in.M.Run()
	}
	start := time.Now()
	env, err := Start(Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "testenv: control plane ready in %s\n", time.Since(start).Round(time.Millisecond))
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "testenv: stopping control plane:", err)
		}
	}()
	if err := env.setup(in); err != nil {
		fmt.Fprintln(os.Stderr, "testenv: setup:", err)
		return 1
	}
	return in.M.Run()
}

func (e *Env) setup(in RunInput) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: OperatorNamespace}}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		return fmt.Errorf("creating namespace %s: %w", OperatorNamespace, err)
	}
	if in.SetupEnv != nil {
		if err := in.SetupEnv(e); err != nil {
			return err
		}
	}
	if !in.WithManager && in.SetupIndexes == nil && in.SetupReconcilers == nil {
		return nil
	}
	m, err := e.StartManager(in.ManagerInput)
	if err != nil {
		return err
	}
	e.Manager = m
	// The manager may be replaced (a restart test): stop whichever runs.
	e.AddCleanup(func() { e.Manager.Stop() })
	return nil
}

// Eventually polls check until it returns nil or WaitTimeout passes, then
// fails the test with check's last error.
func Eventually(t testing.TB, check func() error) {
	t.Helper()
	EventuallyWithin(t, WaitTimeout, check)
}

// EventuallyWithin is Eventually with another timeout.
func EventuallyWithin(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %s: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Namespace creates a namespace named after prefix with a unique suffix and
// returns its name, so that tests sharing a control plane never see each
// other's objects.
func (e *Env) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}
