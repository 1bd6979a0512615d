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

// Package e2e proves the whole path on a local control plane with the
// operator's own manifests: the kustomize output is applied (after a
// server-side dry run), bin/manager runs as the operator's ServiceAccount
// (impersonated, so the RBAC from config/rbac is what authorizes it), signed
// callbacks arrive over real HTTP, and kubectl shows what a user would check.
package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/test/managerproc"
	"github.com/channel-operator/channel-operator/test/testenv"
)

const (
	operatorNamespace = testenv.OperatorNamespace
	serviceAccount    = "channel-operator-controller-manager"
	token             = "e2e-token"
)

// app is the SDKAppID the callbacks are signed for, as the Secret key.
var app = strconv.FormatInt(testenv.DemoApp, 10)

var (
	env         *testenv.Env
	mgr         *managerproc.Process
	mgrLog      *syncBuffer
	installYAML string
	// operatorKubeconfig is the manager's identity: its ServiceAccount.
	operatorKubeconfig string
)

func TestMain(m *testing.M) {
	// Every test is parallel (useSuite), so that the one with a control
	// plane of its own runs beside the others whatever its place. The
	// suite's turns keep the others one at a time, in order, and need every
	// test admitted at once: with fewer slots (-parallel) a later turn could
	// take the last one and wait forever for an earlier turn left outside.
	flag.Parse()
	if f := flag.Lookup("test.parallel"); f != nil {
		if n, err := strconv.Atoi(f.Value.String()); err == nil && n < minParallel {
			_ = f.Value.Set(strconv.Itoa(minParallel))
		}
	}
	testenv.Run(testenv.RunInput{M: m, SetupEnv: setup})
}

// minParallel is more than the package has tests.
const minParallel = 64

// suite is taken in turn by the tests that use the suite's control plane
// and manager: they run one at a time and in the order they are declared,
// as they were written to (some stop the manager, some count what it did),
// while a test on a control plane of its own runs beside them.
var suite struct {
	mu            sync.Mutex
	turn          *sync.Cond
	next, serving int
}

func init() { suite.turn = sync.NewCond(&suite.mu) }

// useSuite makes t parallel and waits for its turn at the suite, which it
// holds until t and its cleanups are done. The turn is taken before
// t.Parallel, while the tests still start one after another in the order
// they are declared.
func useSuite(t *testing.T) {
	suite.mu.Lock()
	ticket := suite.next
	full := ticket+2 > minParallel // the turns and the undeploy test need a slot each
	if !full {
		suite.next++
	}
	suite.mu.Unlock()
	if full { // no turn taken: the tests after this one still get theirs
		t.Fatalf("test/e2e has more tests than minParallel (%d) slots: raise it", minParallel)
	}
	t.Parallel()
	suite.mu.Lock()
	for suite.serving != ticket {
		suite.turn.Wait()
	}
	suite.mu.Unlock()
	t.Cleanup(func() {
		suite.mu.Lock()
		suite.serving++
		suite.turn.Broadcast()
		suite.mu.Unlock()
	})
}

// setup installs the operator from its kustomize output and starts the
// manager as its ServiceAccount.
func setup(e *testenv.Env) error {
	env = e
	ctx := context.Background()
	root := testenv.RepoRoot()

	out, err := exec.Command(kustomizePath(), "build", filepath.Join(root, "config", "default")).Output()
	if err != nil {
		return fmt.Errorf("kustomize build config/default (run `make kustomize`): %w", err)
	}
	installYAML = filepath.Join(os.TempDir(), fmt.Sprintf("channel-operator-install-%d.yaml", os.Getpid()))
	if err := os.WriteFile(installYAML, out, 0o600); err != nil {
		return err
	}
	e.AddCleanup(func() { _ = os.Remove(installYAML) })

	// Server-side dry run first: every object must be valid for the API server.
	// The namespace (testenv.Run made it) has to exist for the namespaced
	// objects' dry run.
	if out, err := e.Kubectl(ctx, "apply", "--dry-run=server", "-f", installYAML); err != nil {
		return fmt.Errorf("server-side dry run of the kustomize output: %w\n%s", err, out)
	}
	if _, err := e.Kubectl(ctx, "apply", "--server-side", "--force-conflicts", "-f", installYAML); err != nil {
		return fmt.Errorf("applying the kustomize output: %w", err)
	}
	// The callback Secret is not part of the install: created as the README
	// says.
	if _, err := e.Kubectl(ctx, "-n", operatorNamespace, "create", "secret", "generic", "channel-operator-callback",
		"--from-literal="+app+"="+token); err != nil {
		return err
	}

	user, groups := testenv.ServiceAccountUser(operatorNamespace, serviceAccount)
	kubeconfig := filepath.Join(filepath.Dir(e.KubeconfigPath), "operator-kubeconfig")
	if err := e.WriteImpersonatingKubeconfig(kubeconfig, user, groups); err != nil {
		return err
	}
	operatorKubeconfig = kubeconfig
	mgrLog = &syncBuffer{}
	mgr, err = managerproc.Start(ctx, managerproc.Options{
		Binary:     testenv.ManagerBinary(),
		Kubeconfig: kubeconfig,
		Namespace:  operatorNamespace,
		Args:       suiteManagerArgs,
		Output:     io.MultiWriter(mgrLog, prefixed(os.Stderr, "manager: ")),
	})
	if err != nil {
		return fmt.Errorf("%w\n%s", err, mgrLog.String())
	}
	e.AddCleanup(func() {
		if err := mgr.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: manager did not exit cleanly:", err)
		}
	})
	return nil
}

// suiteManagerArgs are the flags of the suite's manager: the tests destroy
// more channels than the default deletion budget lets start (the budget's
// own tests start managers with it).
var suiteManagerArgs = []string{"--leader-elect", "--cleanup-budget=0"}

// kubectl runs the built kubectl and fails the test on error.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := env.Kubectl(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// eventually polls until check passes.
func jsonpath(t *testing.T, ns, obj, path string) string {
	t.Helper()
	return kubectl(t, "get", obj, "-n", ns, "-o", "jsonpath="+path)
}

// postDestroyed sends a signed copy of the documented destroyed sample for
// account over HTTP.
func postDestroyed(t *testing.T, account string, tok string) (int, callback.Answer) {
	t.Helper()
	return postDestroyedAt(t, mgr.CallbackURL, testenv.DemoApp, account, tok)
}

// postDestroyedAt sends it, signed for app, to the receiver at endpoint.
func postDestroyedAt(t *testing.T, endpoint string, app int64, account string, tok string) (int, callback.Answer) {
	t.Helper()
	req, err := testenv.DestroyedRequest(callback.Call{SDKAppID: app, Token: tok, ClientIP: "198.51.100.4", OptPlatform: "RESTAPI"},
		endpoint, account)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var a callback.Answer
	raw, _ := io.ReadAll(resp.Body)
	if err := jsonUnmarshal(raw, &a); err != nil {
		t.Fatalf("answer %q: %v", raw, err)
	}
	return resp.StatusCode, a
}

// syncBuffer collects the manager's output for assertions.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type prefixWriter struct {
	w      io.Writer
	prefix string
}

func prefixed(w io.Writer, prefix string) io.Writer { return &prefixWriter{w: w, prefix: prefix} }

func (p *prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			if _, err := io.WriteString(p.w, p.prefix+line); err != nil {
				return 0, err
			}
		}
	}
	return len(b), nil
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
