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

// Benchmark 3, scale: the manager's time from start to ready and its
// resident memory (VmRSS) once its caches have synced, and at peak in the
// 15 s after, with many channels, ConfigMaps and Secrets in the cluster, at
// two sizes; GOMEMLIMIT as the Deployment sets it.

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/operator"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// scaleResync is the scale run's --chat-api-resync-interval: long enough for
// the first observation of every channel (at start) to settle before it.
const scaleResync = 45 * time.Second

type scaleResult struct {
	channels, configMaps, secrets int
	// memLimit is the GOMEMLIMIT the manager ran with, as the Deployment sets it.
	memLimit           int64
	readyAfter         time.Duration
	rssMiB, peakRSSMiB float64
	// sweep is the resync measured at the first size only, and inventory
	// the upkeep of the inventories.
	sweep     sweepResult
	inventory inventoryResult
}

// scaleRuns starts the manager against each size in turn, more channels and
// objects added for each: at every size, the start to ready and the memory
// in the 15 s after; at the first, a resync through the REST API too.
func (b *bench) scaleRuns(sizes []int) ([]scaleResult, error) {
	b.resync = scaleResync
	var results []scaleResult
	have := 0
	for i, size := range sizes {
		if err := b.addScaleChannels(fmt.Sprintf("sc%d", i), size-have); err != nil {
			return results, err
		}
		have = size
		res, err := b.scaleRun(size, i == 0)
		res.memLimit = b.memLimit
		results = append(results, res)
		if err != nil {
			return results, err
		}
		if err := b.mgr.Stop(); err != nil {
			return results, fmt.Errorf("stopping manager: %w", err)
		}
	}
	return results, nil
}

// addScaleChannels creates n live channels of chatApp over 20 namespaces,
// and a ConfigMap and a Secret of 4 KiB linked to each.
func (b *bench) addScaleChannels(prefix string, n int) error {
	const nss = 20
	logf("scale: creating %d OfficialChannels, %d ConfigMaps and %d Secrets of 4 KiB", n, n, n)
	// The channels are chatApp's, live in the fake Chat: the manager
	// observes each when it starts, and again at its first resync.
	for i := range n {
		b.chat.CreateAccount(chatApp, chatapi.AccountInfo{Account: fmt.Sprintf("@TOA#_%s_%d", prefix, i), Name: accountName,
			SubscriberCount: int64(i)})
	}
	chs, err := b.createChannelsOf(chatApp, prefix, n, nss, chatv1alpha1.CleanupPolicyDelete)
	if err != nil {
		return err
	}
	payload := strings.Repeat("x", 4096)
	return parallel(2*n, setupConcurrency, func(i int) error {
		ch := chs[i/2]
		meta := metav1.ObjectMeta{Namespace: ch.Namespace, Name: fmt.Sprintf("%s-data-%d", ch.Name, i%2),
			Labels: map[string]string{chatv1alpha1.LinkLabel: ch.Name}}
		if i%2 == 0 {
			return b.c.Create(b.ctx, &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"payload": payload}})
		}
		return b.c.Create(b.ctx, &corev1.Secret{ObjectMeta: meta, StringData: map[string]string{"payload": payload}})
	})
}

// scaleRun starts the manager against channels channels (and as many
// ConfigMaps and Secrets) and measures it; with sweep, its first resync too.
func (b *bench) scaleRun(channels int, sweep bool) (scaleResult, error) {
	res := scaleResult{channels: channels, configMaps: channels, secrets: channels}
	logf("scale: starting the manager")
	start := time.Now()
	if err := b.startManager(); err != nil {
		return res, err
	}
	res.readyAfter = time.Since(start)
	res.rssMiB = rssMiB(b.mgr.PID())
	// The manager now reconciles every new channel; watch its memory
	// meanwhile, and take its heap profile in the middle of it.
	res.peakRSSMiB = res.rssMiB
	ready, profiled := time.Now(), false
	for time.Since(ready) < 15*time.Second {
		res.peakRSSMiB = max(res.peakRSSMiB, rssMiB(b.mgr.PID()))
		if !profiled && time.Since(ready) > 5*time.Second {
			b.saveProfile(fmt.Sprintf("heap-scale-%d", channels), "/debug/pprof/heap")
			profiled = true
		}
		time.Sleep(250 * time.Millisecond)
	}
	logf("scale: %d channels: ready after %s, RSS %.1f MiB at ready, peak %.1f MiB in the 15 s after", channels,
		res.readyAfter.Round(time.Millisecond), res.rssMiB, res.peakRSSMiB)
	if !sweep {
		return res, nil
	}
	var err error
	if res.sweep, err = b.measureSweep(); err != nil {
		return res, err
	}
	res.inventory, err = b.inventoryUpkeep(channels)
	return res, err
}

// goRuntimeVars are the environment variables the Go runtime reads.
var goRuntimeVars = map[string]bool{"GOGC": true, "GOMEMLIMIT": true, "GOMAXPROCS": true, "GODEBUG": true, "GOTRACEBACK": true}

// deployedGoEnv is the Go runtime's environment of the manager container in
// config/manager/manager.yaml, as the Deployment gives it: MEMORY_LIMIT from
// the memory limit, in bytes, and every Go runtime variable set to a value;
// memLimit is the soft limit the manager sets from it.
func deployedGoEnv() (env []string, memLimit int64, err error) {
	path := filepath.Join(testenv.RepoRoot(), "config", "manager", "manager.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	for _, doc := range strings.Split(string(raw), "\n---") {
		var d appsv1.Deployment
		if err := yaml.Unmarshal([]byte(doc), &d); err != nil || d.Kind != "Deployment" {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name != "manager" {
				continue
			}
			for _, e := range c.Env {
				switch {
				case e.Name == operator.MemoryLimitEnv && e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil &&
					e.ValueFrom.ResourceFieldRef.Resource == "limits.memory":
					limit, ok := c.Resources.Limits[corev1.ResourceMemory]
					if !ok {
						return nil, 0, fmt.Errorf("%s: %s from a memory limit that is not set", path, operator.MemoryLimitEnv)
					}
					value := limit.Value()
					if d := e.ValueFrom.ResourceFieldRef.Divisor; !d.IsZero() {
						value = (value + d.Value() - 1) / d.Value() // the kubelet rounds up
					}
					// The manager's soft limit (operator.ApplyMemoryLimit).
					memLimit = int64(float64(limit.Value()) * operator.MemoryLimitShare)
					env = append(env, operator.MemoryLimitEnv+"="+strconv.FormatInt(value, 10))
				case goRuntimeVars[e.Name] && e.ValueFrom == nil:
					env = append(env, e.Name+"="+e.Value)
				}
			}
			if memLimit == 0 {
				return nil, 0, fmt.Errorf("%s: the manager container has no %s from limits.memory", path, operator.MemoryLimitEnv)
			}
			return env, memLimit, nil
		}
	}
	return nil, 0, fmt.Errorf("%s: no Deployment with a manager container", path)
}

func rssMiB(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return -1
}
