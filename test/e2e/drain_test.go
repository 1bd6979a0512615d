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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/test/managerproc"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// endpointsProxy stands in for a Service's endpoints and an ingress
// controller in front of the replicas: it sends each request to a replica
// whose readiness it last saw pass, polling every second (endpoint
// propagation is not faster), and does not retry a POST (ingress-nginx does
// not): a replica that closed its port meanwhile costs the callback. It
// gives a replica's /readyz 1 s to answer (the kubelet's default timeout)
// and takes the replica out after readinessFailures failures in a row, each
// replica probed on its own: a stopping replica is out after two rounds
// (1 to 4 s), inside its 5 s --shutdown-delay, and one slow answer of a replica on a loaded
// machine does not take it out. (In a cluster a deleted Pod leaves its
// endpoints at once; the test's readiness stands for that signal.)
type endpointsProxy struct {
	mu       sync.Mutex
	replicas []*replica
	next     int
	client   *http.Client
}

type replica struct {
	proc     *managerproc.Process
	ready    bool
	failures int
}

const readinessFailures = 2

func (p *endpointsProxy) set(i int, proc *managerproc.Process) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.replicas) <= i {
		p.replicas = append(p.replicas, nil)
	}
	p.replicas[i] = &replica{proc: proc}
}

// poll reads each replica's readiness every second until ctx ends.
func (p *endpointsProxy) poll(ctx context.Context) {
	probe := &http.Client{Timeout: time.Second}
	for {
		p.mu.Lock()
		replicas := append([]*replica(nil), p.replicas...)
		p.mu.Unlock()
		var probes sync.WaitGroup
		for _, r := range replicas {
			probes.Go(func() { p.probe(probe, r) })
		}
		probes.Wait()
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// probe reads r's readiness once: it is taken out after readinessFailures
// failures in a row, and back in on a pass.
func (p *endpointsProxy) probe(probe *http.Client, r *replica) {
	resp, err := probe.Get("http://" + r.proc.ProbeAddr + "/readyz")
	ready := err == nil && resp.StatusCode == http.StatusOK
	if err == nil {
		_ = resp.Body.Close()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ready {
		r.ready, r.failures = true, 0
	} else if r.failures++; r.failures >= readinessFailures {
		r.ready = false
	}
}

func (p *endpointsProxy) readyCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.replicas {
		if r.ready {
			n++
		}
	}
	return n
}

func (p *endpointsProxy) pick() *replica {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range p.replicas {
		r := p.replicas[p.next%len(p.replicas)]
		p.next++
		if r.ready {
			return r
		}
	}
	return nil
}

func (p *endpointsProxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r := p.pick()
	if r == nil {
		http.Error(w, "no ready endpoint", http.StatusServiceUnavailable)
		return
	}
	target, _ := url.Parse(r.proc.CallbackURL)
	target.RawQuery = req.URL.RawQuery
	body, _ := io.ReadAll(req.Body)
	out, err := http.NewRequestWithContext(req.Context(), req.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header.Set("Content-Type", req.Header.Get("Content-Type"))
	resp, err := p.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// Two replicas behind endpoints that follow their readiness, a stream of
// signed destructions at 50 a second, and a rolling restart: SIGTERM one
// replica, start its successor, then the other once the first is back.
// Every callback is answered 200, and every one answered so is in status:
// a stopping replica fails readiness at once and answers for
// --shutdown-delay (5 s) before its port closes.
func TestARollingRestartLosesNoCallback(t *testing.T) {
	useSuite(t)
	const (
		ns       = "e2e-drain"
		channels = 1500
		rate     = 50
	)
	ctx := context.Background()
	kubectl(t, "create", "namespace", ns)
	t.Cleanup(func() { _, _ = env.Kubectl(context.Background(), "delete", "namespace", ns, "--wait=false") })
	testenv.CreateStreamChannels(t, env.Client, ns, channels, func(i int) string { return fmt.Sprintf("@TOA#_drain_%04d", i) })

	start := func(name string) *managerproc.Process {
		t.Helper()
		log, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := managerproc.Start(ctx, managerproc.Options{Binary: testenv.ManagerBinary(), Kubeconfig: operatorKubeconfig,
			Namespace: operatorNamespace, Args: append(slices.Clone(suiteManagerArgs), "--shutdown-delay=5s"), Output: log})
		if err != nil {
			t.Fatalf("starting %s: %v", name, err)
		}
		t.Cleanup(p.Kill)
		return p
	}
	proxy := &endpointsProxy{client: &http.Client{Timeout: 2 * time.Second}}
	proxy.set(0, start("a"))
	proxy.set(1, start("b"))
	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	go proxy.poll(pollCtx)
	front := httptest.NewServer(proxy)
	defer front.Close()
	waitReady := func(n int) {
		t.Helper()
		testenv.Eventually(t, func() error {
			if got := proxy.readyCount(); got != n {
				return fmt.Errorf("%d replicas ready behind the proxy, want %d", got, n)
			}
			return nil
		})
	}
	waitReady(2)

	// The stream: one destruction every 20 ms, each for its own channel.
	stream := testenv.StartStream(rate, func(i int) (int, error) {
		if i >= channels {
			return 0, errors.New("the stream ran out of channels")
		}
		return postThrough(front.URL, fmt.Sprintf("@TOA#_drain_%04d", i))
	})

	time.Sleep(2 * time.Second)
	for i, name := range []string{"a", "b"} {
		proxy.mu.Lock()
		old := proxy.replicas[i].proc
		proxy.mu.Unlock()
		if err := old.Stop(); err != nil {
			t.Errorf("replica %s did not stop cleanly: %v", name, err)
		}
		proxy.set(i, start(name+"2"))
		waitReady(2)
	}
	time.Sleep(2 * time.Second)
	sent, ok, failures := stream.End()

	t.Logf("%d destructions sent at %d/s through a rolling restart, %d answered 200", sent, rate, len(ok))
	if len(failures) > 0 {
		t.Fatalf("%d of %d callbacks not answered 200: %v", len(failures), sent, failures[:min(len(failures), 10)])
	}
	testenv.Eventually(t, func() error {
		for _, i := range ok {
			ch := &chatv1alpha1.OfficialChannel{}
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("c%04d", i)}, ch); err != nil {
				return err
			}
			if ch.Status.Destruction == nil {
				return fmt.Errorf("c%04d was answered OK but holds no destruction", i)
			}
		}
		return nil
	})
}

// postThrough sends a signed destruction of account through the proxy.
func postThrough(base, account string) (int, error) {
	req, err := testenv.DestroyedRequest(callback.Call{SDKAppID: testenv.DemoApp, Token: token}, base+"/callback", account)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		// Whose answer it was: the proxy's (no ready endpoint) or a replica's.
		return resp.StatusCode, fmt.Errorf("%s", bytes.TrimSpace(raw))
	}
	return resp.StatusCode, nil
}
