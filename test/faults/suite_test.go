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

// Package faults injects faults into a local control plane and the built
// manager, and checks the operator's promises hold: no callback answered OK
// is ever lost, a killed manager finishes its cleanup when it comes back, and
// two replicas record each destruction once and clean up once.
package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/test/managerproc"
	"github.com/channel-operator/channel-operator/test/testenv"
)

const (
	operatorNamespace = testenv.OperatorNamespace
	app               = testenv.DemoApp
	token             = "faults-token"
	// waitTimeout is longer than testenv.WaitTimeout: these tests wait out
	// killed processes and leader elections.
	waitTimeout = 60 * time.Second
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Run(testenv.RunInput{M: m, SetupEnv: func(e *testenv.Env) error {
		env = e
		return managerproc.Prepare(context.Background(), e.Client, operatorNamespace,
			map[string]string{strconv.FormatInt(app, 10): token})
	}})
}

// killableLeader are the flags of the managers whose leader a test kills:
// a successor waits out the lease the dead leader recorded, 6 s here.
var killableLeader = append([]string{"--leader-elect"}, managerproc.QuickLease...)

// startManager runs bin/manager; it is killed when the test ends, if still running.
func startManager(t *testing.T, name string, args ...string) *managerproc.Process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	p, err := managerproc.Start(context.Background(), managerproc.Options{
		Binary:     testenv.ManagerBinary(),
		Kubeconfig: env.KubeconfigPath,
		Namespace:  operatorNamespace,
		// The faults destroy more channels at once than the default
		// deletion budget lets start.
		Args:   append([]string{"--cleanup-budget=0"}, args...),
		Output: logFile,
	})
	if err != nil {
		raw, _ := os.ReadFile(logPath)
		t.Fatalf("starting manager %s: %v\n%s", name, err, raw)
	}
	t.Cleanup(func() {
		p.Kill()
		_ = logFile.Close()
		if t.Failed() {
			raw, _ := os.ReadFile(logPath)
			t.Logf("manager %s log:\n%s", name, raw)
		}
	})
	return p
}

// channels creates n OfficialChannels in a namespace of their own and waits
// until the running manager has made them Active.
func channels(t *testing.T, prefix string, n int, policy chatv1alpha1.CleanupPolicy) []*chatv1alpha1.OfficialChannel {
	t.Helper()
	ns := env.Namespace(t, prefix)
	out := make([]*chatv1alpha1.OfficialChannel, n)
	for i := range out {
		out[i] = &chatv1alpha1.OfficialChannel{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("ch-%d", i)},
			Spec: chatv1alpha1.OfficialChannelSpec{SDKAppID: app, OfficialAccountID: fmt.Sprintf("@TOA#_%s_%d", ns, i),
				CleanupPolicy: policy},
		}
		if err := env.Client.Create(context.Background(), out[i]); err != nil {
			t.Fatal(err)
		}
	}
	testenv.EventuallyWithin(t, waitTimeout, func() error {
		for _, ch := range out {
			if got := env.Channel(t, ch); got.Status.Phase != chatv1alpha1.PhaseActive {
				return fmt.Errorf("%s phase %q", ch.Name, got.Status.Phase)
			}
		}
		return nil
	})
	return out
}

// answer is what a callback got back: an HTTP status and the Chat answer,
// or a transport error.
type answer struct {
	status int
	callback.Answer
	err error
}

func (a answer) ok() bool {
	return a.err == nil && a.status == http.StatusOK && a.ActionStatus == callback.StatusOK
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

func destroy(receiverURL string, ch *chatv1alpha1.OfficialChannel, eventTime int64) answer {
	u, err := callback.Call{SDKAppID: app, Token: token, Command: callback.CommandDestroyed, ClientIP: "192.0.2.1",
		OptPlatform: "RESTAPI"}.URL(receiverURL)
	if err != nil {
		return answer{err: err}
	}
	body := callback.DestroyedBody(ch.Spec.OfficialAccountID, "107867", "TestOfficialAccount", eventTime)
	resp, err := httpClient.Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	a := answer{status: resp.StatusCode}
	raw, err := io.ReadAll(resp.Body)
	if err == nil {
		err = json.Unmarshal(raw, &a.Answer)
	}
	a.err = err
	return a
}

// eventCount counts the Events with reason about ch.
func eventCount(t *testing.T, ch *chatv1alpha1.OfficialChannel, reason string) int {
	t.Helper()
	var list eventsv1.EventList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ch.Namespace)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range list.Items {
		if ev.Regarding.Name == ch.Name && ev.Reason == reason {
			n++
			if ev.Series != nil {
				n += int(ev.Series.Count) - 1
			}
		}
	}
	return n
}

// parallelDo runs fn for 0..n-1 with at most c at once.
func parallelDo(n, c int, fn func(i int)) {
	sem := make(chan struct{}, c)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}
