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

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/test/managerproc"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// undeployBound is the bound for `make undeploy` with channels present.
const undeployBound = 2 * time.Minute

// installation is one install of the operator on a control plane of its own,
// with the manager standing in for the Deployment's Pod.
type installation struct {
	env *testenv.Env
	mgr *managerproc.Process
	out *syncBuffer
}

// install applies the kustomize output as `make deploy` does, creates the
// callback Secret and starts the manager as the operator's ServiceAccount.
func (in *installation) install(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if out, err := in.env.Kubectl(ctx, "apply", "--server-side", "--force-conflicts", "-f", installYAML); err != nil {
		t.Fatalf("installing: %v\n%s", err, out)
	}
	if _, err := in.env.Kubectl(ctx, "-n", operatorNamespace, "create", "secret", "generic", "channel-operator-callback",
		"--from-literal="+app+"="+token); err != nil {
		t.Fatal(err)
	}
	user, groups := testenv.ServiceAccountUser(operatorNamespace, serviceAccount)
	kubeconfig := filepath.Join(t.TempDir(), "operator-kubeconfig")
	if err := in.env.WriteImpersonatingKubeconfig(kubeconfig, user, groups); err != nil {
		t.Fatal(err)
	}
	in.out = &syncBuffer{}
	mgr, err := managerproc.Start(ctx, managerproc.Options{
		Binary: testenv.ManagerBinary(), Kubeconfig: kubeconfig, Namespace: operatorNamespace,
		Args:   suiteManagerArgs,
		Output: io.MultiWriter(in.out, prefixed(os.Stderr, "undeploy manager: ")),
	})
	if err != nil {
		t.Fatalf("starting the manager: %v\n%s", err, in.out.String())
	}
	in.mgr = mgr
	t.Cleanup(func() { _ = mgr.Stop() })
}

// undeploy runs `make undeploy` with extra make variables. As the kubelet
// would once the operator's namespace is being deleted, it stops the
// manager; onDeleting runs when the channel named by watch (if any) starts
// going.
func (in *installation) undeploy(t *testing.T, vars []string, watch *chatv1alpha1.OfficialChannel, onDeleting func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), undeployBound)
	defer cancel()
	kubectlPath := in.env.KubectlPath()
	cmd := testenv.MakeCommand(ctx, append([]string{"undeploy", "KUBECTL=" + kubectlPath, "KUSTOMIZE=" + kustomizePath()}, vars...)...)
	cmd.Env = append(cmd.Env, "KUBECONFIG="+in.env.KubeconfigPath)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out

	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped, released := false, watch == nil
	var stopping sync.WaitGroup
	defer stopping.Wait() // the manager is gone before the next install
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("make undeploy %v after %s: %v\n%s\nmanager:\n%s", vars, time.Since(start).Round(time.Second),
					err, out.String(), in.out.String())
			}
			t.Logf("make undeploy %v finished in %s", vars, time.Since(start).Round(100*time.Millisecond))
			return
		case <-tick.C:
		}
		if !released && in.deleting(t, watch) {
			onDeleting()
			released = true
		}
		if !stopped && in.deleting(t, &corev1.Namespace{ObjectMeta: testenv.ObjectMeta("", operatorNamespace, nil)}) {
			m := in.mgr
			stopping.Go(func() { _ = m.Stop() })
			stopped = true
		}
	}
}

// deleting reports whether obj is being deleted or gone.
func (in *installation) deleting(t *testing.T, obj client.Object) bool {
	t.Helper()
	err := in.env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) || (err == nil && obj.GetDeletionTimestamp() != nil) {
		return true
	}
	if err != nil {
		t.Logf("reading %s: %v", client.ObjectKeyFromObject(obj), err)
	}
	return false
}

func kustomizePath() string {
	if k := os.Getenv("KUSTOMIZE"); k != "" {
		return k
	}
	return filepath.Join(testenv.RepoRoot(), "bin", "kustomize")
}

// tenant is a namespace of channels: some no destruction reached, each with
// a linked ConfigMap, and one destroyed whose cleanup waits on an object
// held by a finalizer of another controller.
type tenant struct {
	ns     string
	live   []*corev1.ConfigMap
	doomed *chatv1alpha1.OfficialChannel
	held   *corev1.ConfigMap
}

func (in *installation) newTenant(t *testing.T, ns string) *tenant {
	t.Helper()
	e := in.env
	e.Create(t, &corev1.Namespace{ObjectMeta: testenv.ObjectMeta("", ns, nil)})
	tn := &tenant{ns: ns}
	for i := range 3 {
		name := fmt.Sprintf("live-%d", i)
		e.NewChannel(t, ns, name, chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp, OfficialAccountID: "@TOA#_" + ns + "_" + name})
		cm := &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, name+"-config", testenv.Labelled(name))}
		e.Create(t, cm)
		tn.live = append(tn.live, cm)
	}
	tn.doomed = e.NewChannel(t, ns, "doomed", chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp,
		OfficialAccountID: "@TOA#_" + ns + "_doomed"})
	tn.held = &corev1.ConfigMap{ObjectMeta: testenv.ObjectMeta(ns, "doomed-held", testenv.Labelled("doomed"))}
	tn.held.Finalizers = []string{testenv.HoldFinalizer}
	e.Create(t, tn.held)
	testenv.WaitFor(t, e, tn.doomed, func(ch *chatv1alpha1.OfficialChannel) error {
		return wantPhase(ch, chatv1alpha1.PhaseActive)
	})
	if status, a := postDestroyedAt(t, in.mgr.CallbackURL, testenv.DemoApp, "@TOA#_"+ns+"_doomed", token); status != 200 {
		t.Fatalf("destroyed callback: %d %+v", status, a)
	}
	// Mid-cleanup: the first pass is over, the held object is not gone, the
	// channel carries the finalizer.
	testenv.WaitFor(t, e, tn.doomed, func(ch *chatv1alpha1.OfficialChannel) error {
		if err := wantPhase(ch, chatv1alpha1.PhaseCleaningUp); err != nil {
			return err
		}
		if !slices.Contains(ch.Finalizers, chatv1alpha1.CleanupFinalizer) {
			return errors.New("no finalizer yet")
		}
		return nil
	})
	return tn
}

// heldUntilTheCleanupEnds checks, while the doomed channel is being deleted,
// that the operator keeps its finalizer for as long as the cleanup waits on
// the held object (a few seconds of it).
func (in *installation) heldUntilTheCleanupEnds(t *testing.T, tn *tenant) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		ch := &chatv1alpha1.OfficialChannel{}
		if err := in.env.Client.Get(context.Background(), client.ObjectKeyFromObject(tn.doomed), ch); err != nil {
			t.Fatalf("the channel mid-cleanup went before its cleanup ended: %v", err)
		}
		if !slices.Contains(ch.Finalizers, chatv1alpha1.CleanupFinalizer) {
			t.Fatalf("the channel mid-cleanup lost its finalizer before its cleanup ended: %v", ch.Finalizers)
		}
	}
}

// finishCleanup lets the tenant's cleanup end (a running operator's) and
// checks that it did: the held object is gone, the channel released.
func (in *installation) finishCleanup(t *testing.T, tn *tenant) {
	t.Helper()
	in.env.Release(t, tn.held)
	testenv.WaitFor(t, in.env, tn.doomed, func(ch *chatv1alpha1.OfficialChannel) error {
		if err := wantPhase(ch, chatv1alpha1.PhaseCleanedUp); err != nil {
			return err
		}
		if len(ch.Finalizers) > 0 {
			return fmt.Errorf("finalizers %v", ch.Finalizers)
		}
		return nil
	})
	in.env.WaitGone(t, tn.held)
}

func wantPhase(ch *chatv1alpha1.OfficialChannel, want chatv1alpha1.Phase) error {
	if ch.Status.Phase != want {
		return fmt.Errorf("phase %q, want %q", ch.Status.Phase, want)
	}
	return nil
}

// installGone checks that the operator's namespace and its cluster-scoped
// objects are gone.
func (in *installation) installGone(t *testing.T) {
	t.Helper()
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: testenv.ObjectMeta("", operatorNamespace, nil)},
		&rbacv1.ClusterRole{ObjectMeta: testenv.ObjectMeta("", "channel-operator-manager-role", nil)},
		&rbacv1.ClusterRoleBinding{ObjectMeta: testenv.ObjectMeta("", "channel-operator-manager-rolebinding", nil)},
	} {
		if in.env.Exists(t, obj) {
			t.Errorf("%T %s is still there after make undeploy", obj, obj.GetName())
		}
	}
}

func (in *installation) crdExists(t *testing.T) bool {
	t.Helper()
	out, err := in.env.Kubectl(context.Background(), "get", "crd", "officialchannels.chat.channel-operator.io",
		"--ignore-not-found", "-o", "name")
	if err != nil {
		t.Fatal(err)
	}
	return out != ""
}

// `make undeploy` with channels present, five times over on one cluster,
// each within the two minutes (the make is killed past them):
//   - by default it keeps the CRD and the channels, a cleanup under way
//     included (its finalizer stays; nothing is deleted with the operator
//     gone), and the next install picks that cleanup up and ends it;
//   - KEEP_CRDS=false deletes them, the CRD first while the operator still
//     runs, so that the cleanup under way ends and releases its channel;
//     the objects of live channels stay, and their namespace then goes
//     (< 60 s) with no operator.
func TestUndeployWithChannelsPresentFinishes(t *testing.T) {
	// A control plane of its own: it runs beside the tests that share the suite's.
	t.Parallel()
	e, err := testenv.Start(testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	e.StartControllerManager(t)
	in := &installation{env: e}

	var kept *tenant // a cleanup the previous undeploy left under way
	for round := 1; round <= 5; round++ {
		keep := round%2 == 1
		in.install(t)
		if kept != nil {
			// The reinstalled operator ends the cleanup the undeploy kept.
			in.finishCleanup(t, kept)
			deleteNamespace(t, e, kept.ns)
			kept = nil
		}
		tn := in.newTenant(t, fmt.Sprintf("tenant-%d", round))

		if keep {
			in.undeploy(t, nil, nil, nil)
		} else {
			// The CRD's deletion deletes the channels; the operator, still
			// running, holds the doomed one until its cleanup ends, which
			// it can once the object is released.
			in.undeploy(t, []string{"KEEP_CRDS=false"}, tn.doomed, func() {
				in.heldUntilTheCleanupEnds(t, tn)
				e.Release(t, tn.held)
			})
		}
		in.installGone(t)
		for _, cm := range tn.live {
			if !e.Exists(t, cm.DeepCopy()) {
				t.Fatalf("round %d: %s of a live channel was deleted", round, cm.Name)
			}
		}
		if keep {
			if !in.crdExists(t) {
				t.Fatalf("round %d: make undeploy deleted the CRD", round)
			}
			ch := e.Channel(t, tn.doomed)
			if ch.Status.Phase != chatv1alpha1.PhaseCleaningUp || !slices.Contains(ch.Finalizers, chatv1alpha1.CleanupFinalizer) {
				t.Fatalf("round %d: the channel mid-cleanup after the undeploy: phase %q, finalizers %v",
					round, ch.Status.Phase, ch.Finalizers)
			}
			kept = tn
			continue
		}
		if in.crdExists(t) {
			t.Fatalf("round %d: make undeploy KEEP_CRDS=false left the CRD", round)
		}
		if e.Exists(t, tn.held.DeepCopy()) {
			t.Fatalf("round %d: the cleanup under way did not end before the CRD went", round)
		}
		if reasons := e.EventReasons(t, tn.doomed, "OfficialChannel"); !slices.Contains(reasons, "CleanedUp") {
			t.Fatalf("round %d: the channel went without its cleanup ending (Events %v)", round, reasons)
		}
		deleteNamespace(t, e, tn.ns)
	}
}

// deleteNamespace deletes ns and waits until it is gone, within gcTimeout.
func deleteNamespace(t *testing.T, e *testenv.Env, ns string) {
	t.Helper()
	if _, err := e.Kubectl(context.Background(), "delete", "namespace", ns, "--wait=false"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	testenv.EventuallyWithin(t, gcTimeout, func() error {
		err := e.Client.Get(context.Background(), client.ObjectKey{Name: ns}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace %s still there: %v", ns, err)
	})
	t.Logf("namespace %s gone after %s", ns, time.Since(start).Round(100*time.Millisecond))
}
