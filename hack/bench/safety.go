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

// Deletion safety: what keeping every channel's inventory costs while its
// linked objects change (at the first scale size), and the deletion budget
// against a burst of destructions.

package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/cleanup"
	"github.com/channel-operator/channel-operator/internal/status"
)

// inventoryInterval is the manager's --inventory-interval: the default.
const inventoryInterval = cleanup.DefaultInventoryInterval

// The inventory run: a tenth of the linked objects changed per minute for
// churnFor, then idleFor with nothing changing.
const (
	churnFor = time.Minute
	idleFor  = 2 * time.Minute
)

// inventoryResult is the upkeep of the inventories of every channel of the
// first scale size while a tenth of its linked objects per minute are
// relabelled (to another channel) or deleted.
type inventoryResult struct {
	channels, objects int
	// changes were made in churn; they changed the links of changedChannels.
	changes         int
	churn           time.Duration
	changedChannels int
	// writes are the channels' status writes from the churn's start until
	// the last change has had its interval; inventoryWrites those that
	// changed status.inventory; mostPerInterval the most inventory writes of
	// one channel within one --inventory-interval.
	writes, inventoryWrites, mostPerInterval int
	// cpuSeconds is the manager's CPU over the same time.
	cpuSeconds float64
	// idleWrites are the status writes over idleFor with nothing changing.
	idleWrites int
	peakRSSMiB float64
}

// mostWrites bounds the inventory writes: one per changed channel per
// interval, over the churn and the last change's interval.
func (r inventoryResult) mostWrites() int {
	intervals := int((r.churn + 2*inventoryInterval - 1) / inventoryInterval) // rounded up
	return r.changedChannels * intervals
}

func (r inventoryResult) writesPerSecond() float64 {
	return float64(r.inventoryWrites) / (r.churn + inventoryInterval + 5*time.Second).Seconds()
}

// inventoryUpkeep measures the inventories' upkeep with the manager as
// deployed (no resync meanwhile: its observations write status too).
func (b *bench) inventoryUpkeep(channels int) (inventoryResult, error) {
	res := inventoryResult{channels: channels}
	if err := b.mgr.Stop(); err != nil {
		return res, err
	}
	b.resync = 10 * time.Minute
	if err := b.startManager(); err != nil {
		return res, err
	}
	var objs metav1.PartialObjectMetadataList
	objs.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
	var secrets metav1.PartialObjectMetadataList
	secrets.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	for _, l := range []*metav1.PartialObjectMetadataList{&objs, &secrets} {
		if err := b.c.List(b.ctx, l, client.HasLabels{chatv1alpha1.LinkLabel}); err != nil {
			return res, err
		}
	}
	linked := append(objs.Items, secrets.Items...)
	res.objects = len(linked)
	byNamespace := map[string][]string{}
	for _, obj := range linked {
		if name := obj.Labels[chatv1alpha1.LinkLabel]; !slices.Contains(byNamespace[obj.Namespace], name) {
			byNamespace[obj.Namespace] = append(byNamespace[obj.Namespace], name)
		}
	}
	logf("inventory: waiting for the inventories of %d channels (%d linked objects)", channels, res.objects)
	rv, last, err := b.settledInventories(channels)
	if err != nil {
		return res, err
	}

	wc, err := client.NewWithWatch(b.env.Config, client.Options{Scheme: b.c.Scheme()})
	if err != nil {
		return res, err
	}
	w, err := wc.Watch(b.ctx, &chatv1alpha1.OfficialChannelList{}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})
	if err != nil {
		return res, err
	}
	defer w.Stop()
	var (
		mu       sync.Mutex
		writes   int
		invTimes = map[client.ObjectKey][]time.Time{}
	)
	go func() {
		for ev := range w.ResultChan() {
			ch, ok := ev.Object.(*chatv1alpha1.OfficialChannel)
			if !ok || ev.Type != watch.Modified {
				continue
			}
			key := client.ObjectKeyFromObject(ch)
			mu.Lock()
			writes++
			if !status.SameInventory(ch.Status.Inventory, last[key]) {
				invTimes[key] = append(invTimes[key], time.Now())
			}
			last[key] = ch.Status.Inventory
			mu.Unlock()
		}
	}()
	counts := func() (int, map[client.ObjectKey][]time.Time) {
		mu.Lock()
		defer mu.Unlock()
		times := make(map[client.ObjectKey][]time.Time, len(invTimes))
		for k, v := range invTimes {
			times[k] = append([]time.Time(nil), v...)
		}
		return writes, times
	}

	// The churn: a tenth of the objects per minute, evenly spread.
	perMinute := max(1, res.objects/10)
	every := time.Minute / time.Duration(perMinute)
	changed := map[client.ObjectKey]bool{}
	cpuBefore := cpuSeconds(b.mgr.PID())
	res.peakRSSMiB = rssMiB(b.mgr.PID())
	rng := rand.New(rand.NewPCG(1, 2))
	order := rng.Perm(len(linked))
	start := time.Now()
	logf("inventory: changing %d objects a minute for %s", perMinute, churnFor)
	for i := 0; time.Since(start) < churnFor && i < len(order); i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		obj := &linked[order[i]]
		from := obj.Labels[chatv1alpha1.LinkLabel]
		changed[client.ObjectKey{Namespace: obj.Namespace, Name: from}] = true
		if i%2 == 0 {
			if err := b.c.Delete(b.ctx, obj); err != nil {
				return res, fmt.Errorf("deleting %s/%s: %w", obj.Namespace, obj.Name, err)
			}
		} else {
			// To another channel of the namespace.
			names := byNamespace[obj.Namespace]
			target := names[rng.IntN(len(names))]
			if target == from {
				target = names[(slices.Index(names, target)+1)%len(names)]
			}
			patch := client.MergeFrom(obj.DeepCopy())
			obj.Labels[chatv1alpha1.LinkLabel] = target
			if err := b.c.Patch(b.ctx, obj, patch); err != nil {
				return res, fmt.Errorf("relabelling %s/%s: %w", obj.Namespace, obj.Name, err)
			}
			changed[client.ObjectKey{Namespace: obj.Namespace, Name: target}] = true
		}
		res.changes++
		if i%100 == 0 {
			res.peakRSSMiB = max(res.peakRSSMiB, rssMiB(b.mgr.PID()))
		}
	}
	res.churn = time.Since(start)
	for t := time.Now(); time.Since(t) < inventoryInterval+5*time.Second; time.Sleep(time.Second) {
		res.peakRSSMiB = max(res.peakRSSMiB, rssMiB(b.mgr.PID()))
	}
	res.cpuSeconds = cpuSeconds(b.mgr.PID()) - cpuBefore
	var times map[client.ObjectKey][]time.Time
	res.writes, times = counts()
	for key := range changed {
		if b.channelExists(key) {
			res.changedChannels++
		}
	}
	for _, ts := range times {
		res.inventoryWrites += len(ts)
		res.mostPerInterval = max(res.mostPerInterval, mostWithin(ts, inventoryInterval))
	}
	logf("inventory: %d changes in %s touched %d channels: %d status writes, %d of them inventories (most per channel"+
		" per interval %d), manager CPU %.1f s", res.changes, res.churn.Round(time.Second), res.changedChannels, res.writes,
		res.inventoryWrites, res.mostPerInterval, res.cpuSeconds)

	logf("inventory: %s with nothing changing", idleFor)
	for t := time.Now(); time.Since(t) < idleFor; time.Sleep(time.Second) {
		res.peakRSSMiB = max(res.peakRSSMiB, rssMiB(b.mgr.PID()))
	}
	after, _ := counts()
	res.idleWrites = after - res.writes
	logf("inventory: %d status writes while idle; peak RSS %.1f MiB", res.idleWrites, res.peakRSSMiB)
	b.resync = scaleResync
	return res, nil
}

// mostWithin is the most of ts (sorted) within any span of d.
func mostWithin(ts []time.Time, d time.Duration) int {
	most := 0
	for i := range ts {
		n := 0
		for j := i; j < len(ts) && ts[j].Sub(ts[i]) < d; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}

// channelExists reports whether the channel named key exists.
func (b *bench) channelExists(key client.ObjectKey) bool {
	return b.c.Get(b.ctx, key, &chatv1alpha1.OfficialChannel{}) == nil
}

// settledInventories waits until channels channels have an inventory that
// lists their objects and status writes have stopped for a few seconds; it
// returns the list's resourceVersion and each channel's inventory.
func (b *bench) settledInventories(channels int) (string, map[client.ObjectKey]*chatv1alpha1.Inventory, error) {
	deadline := time.Now().Add(5 * time.Minute)
	prevRV := ""
	for {
		var list chatv1alpha1.OfficialChannelList
		if err := b.c.List(b.ctx, &list); err != nil {
			return "", nil, err
		}
		listed := 0
		for i := range list.Items {
			if inv := list.Items[i].Status.Inventory; inv != nil && inv.Count > 0 {
				listed++
			}
		}
		if listed >= channels && list.ResourceVersion == prevRV {
			last := make(map[client.ObjectKey]*chatv1alpha1.Inventory, len(list.Items))
			for i := range list.Items {
				last[client.ObjectKeyFromObject(&list.Items[i])] = list.Items[i].Status.Inventory
			}
			return list.ResourceVersion, last, nil
		}
		if time.Now().After(deadline) {
			return "", nil, fmt.Errorf("%d of %d channels list their objects after 5 minutes", listed, channels)
		}
		prevRV = list.ResourceVersion
		time.Sleep(5 * time.Second)
	}
}

// waitInventory waits until every channel's inventory counts n objects.
func (b *bench) waitInventory(channels []*chatv1alpha1.OfficialChannel, n int) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var list chatv1alpha1.OfficialChannelList
		if err := b.c.List(b.ctx, &list, client.MatchingLabels{benchLabel: channels[0].Labels[benchLabel]}); err != nil {
			return err
		}
		listed := 0
		for i := range list.Items {
			if inv := list.Items[i].Status.Inventory; inv != nil && int(inv.Count) == n {
				listed++
			}
		}
		if listed >= len(channels) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d channels list their %d objects after 3 minutes", listed, len(channels), n)
		}
		time.Sleep(time.Second)
	}
}

// budgetResult is a burst of destructions against a deletion budget.
type budgetResult struct {
	channels int
	budget   string
	limit    int
	window   time.Duration
	// started counts the cleanups started (CleaningUp or CleanedUp) just
	// before the window's end, after counts them just after it.
	started, after int
}

// budgetBurst destroys n channels (one linked ConfigMap each) at once with
// the manager's budget at limit per minute, and counts the cleanups that
// start in the first minute, and just after it.
func (b *bench) budgetBurst(n, limit int) (budgetResult, error) {
	res := budgetResult{channels: n, limit: limit, window: time.Minute, budget: fmt.Sprintf("%d/1m", limit)}
	if err := b.mgr.Stop(); err != nil {
		return res, err
	}
	b.budget = res.budget
	defer func() { b.budget = "0" }()
	if err := b.startManager(); err != nil {
		return res, err
	}
	channels, err := b.createChannels("bu", n, 20, chatv1alpha1.CleanupPolicyDelete)
	if err != nil {
		return res, err
	}
	if channels, err = b.waitPhase(channels, chatv1alpha1.PhaseActive); err != nil {
		return res, err
	}
	if err := parallel(n, setupConcurrency, func(i int) error {
		ch := channels[i]
		return b.c.Create(b.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ch.Namespace, Name: ch.Name + "-config",
			Labels: map[string]string{chatv1alpha1.LinkLabel: ch.Name}}})
	}); err != nil {
		return res, err
	}
	if err := b.waitInventory(channels, 1); err != nil {
		return res, err
	}
	if channels, err = b.waitPhase(channels, chatv1alpha1.PhaseActive); err != nil {
		return res, err
	}
	logf("budget: destroying %d channels at once with --cleanup-budget=%s", n, res.budget)
	start := time.Now()
	if err := parallel(n, setupConcurrency, func(i int) error {
		ch := channels[i].DeepCopy()
		base := ch.DeepCopy()
		status.RecordDestruction(ch, destructionFor(i))
		return b.c.Status().Patch(b.ctx, ch, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	}); err != nil {
		return res, err
	}
	started := func() (int, error) {
		var list chatv1alpha1.OfficialChannelList
		if err := b.c.List(b.ctx, &list, client.MatchingLabels{benchLabel: "bu"}); err != nil {
			return 0, err
		}
		c := 0
		for i := range list.Items {
			if status.CleanupStarted(&list.Items[i]) {
				c++
			}
		}
		return c, nil
	}
	time.Sleep(time.Until(start.Add(res.window - 3*time.Second)))
	if res.started, err = started(); err != nil {
		return res, err
	}
	time.Sleep(time.Until(start.Add(res.window + 10*time.Second)))
	if res.after, err = started(); err != nil {
		return res, err
	}
	logf("budget: %d cleanups started in the first %s, %d by %s", res.started, res.window-3*time.Second, res.after,
		res.window+10*time.Second)
	return res, nil
}
