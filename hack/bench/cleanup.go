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

// Benchmark 2, cleanup: the time from destroying channels with 20 linked
// objects each, all at once, until the operator has every one CleanedUp,
// against deleting the same objects directly at the reconciler's
// concurrency.

package main

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/status"
)

// cleanupResult is one layout's cleanup: two operator runs against two
// baseline runs of the same objects.
type cleanupResult struct {
	channels, namespaces, objects int
	operator, baseline            time.Duration
}

func (r cleanupResult) ratio() float64 { return r.operator.Seconds() / r.baseline.Seconds() }

// operatorPerObject is the operator's seconds per deleted object, over its two runs.
func (r cleanupResult) operatorPerObject() float64 {
	return r.operator.Seconds() / float64(2*r.objects)
}

// linkedObjects returns perChannel objects for channel name in ns: equal
// numbers of Deployments, ConfigMaps, Secrets, Services and CronJobs.
func linkedObjects(ns, name string, perChannel int, labels map[string]string) []client.Object {
	var objs []client.Object
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
	pod := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "bot", Image: "example.com/bot:1"}}}}
	job := pod
	job.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	for i := 0; len(objs) < perChannel; i++ {
		m := func(kind string) metav1.ObjectMeta {
			return metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s-%s-%d", name, kind, i), Labels: labels}
		}
		for _, obj := range []client.Object{
			&appsv1.Deployment{ObjectMeta: m("deploy"), Spec: appsv1.DeploymentSpec{Selector: selector, Template: pod}},
			&corev1.ConfigMap{ObjectMeta: m("cm"), Data: map[string]string{"k": "v"}},
			&corev1.Secret{ObjectMeta: m("secret"), StringData: map[string]string{"k": "v"}},
			// Headless: the test control plane has a /24 of Service IPs.
			&corev1.Service{ObjectMeta: m("svc"), Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone,
				Ports: []corev1.ServicePort{{Port: 80}}}},
			&batchv1.CronJob{ObjectMeta: m("cron"), Spec: batchv1.CronJobSpec{Schedule: "0 * * * *",
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: job}}}},
		} {
			if len(objs) < perChannel {
				objs = append(objs, obj)
			}
		}
	}
	return objs
}

// cleanupSpread is the cleanup of n channels over nss namespaces, with and
// without confirmation by the REST API, against one pair of baselines:
// baseline, operator, confirmed, operator, baseline, each on a set of
// channels of its own, so that a drift of the shared machine over the run
// weighs on every side alike. The confirmed run, one against two, is
// compared with the mean of the baselines.
func (b *bench) cleanupSpread(n, nss, perChannel int) (cleanupResult, confirmedCleanup, error) {
	res := cleanupResult{channels: n, namespaces: nss, objects: n * perChannel}
	conf := confirmedCleanup{channels: n, objects: n * perChannel}
	plain, err := b.cleanupSets("cl", n, nss)
	if err != nil {
		return res, conf, err
	}
	logf("cleanup with confirmation: creating %d channels of app %d, live in the fake Chat", n, chatApp)
	live, err := b.createLiveChannels("clc", n, nss, chatv1alpha1.CleanupPolicyDelete)
	if err != nil {
		return res, conf, err
	}
	if res.baseline, err = b.baselineDeletes(plain[0], perChannel); err != nil {
		return res, conf, err
	}
	d, err := b.operatorCleanup(plain[0], perChannel, true)
	if err != nil {
		return res, conf, err
	}
	res.operator += d
	if err := b.confirmedRun(live, perChannel, &conf); err != nil {
		return res, conf, err
	}
	if d, err = b.operatorCleanup(plain[1], perChannel, false); err != nil {
		return res, conf, err
	}
	res.operator += d
	if d, err = b.baselineDeletes(plain[1], perChannel); err != nil {
		return res, conf, err
	}
	res.baseline += d
	conf.baseline = res.baseline / 2
	logf("cleanup: operator %s, baseline %s (two runs each), with confirmation %s (one run, %d REST calls); ratios %.2f and %.2f",
		res.operator.Round(time.Millisecond), res.baseline.Round(time.Millisecond), conf.operator.Round(time.Millisecond),
		conf.restCalls, res.ratio(), conf.ratio())
	return res, conf, nil
}

// cleanupDense is the cleanup of n channels all in one namespace (each set
// of channels in a namespace of its own): baseline, operator, operator,
// baseline.
func (b *bench) cleanupDense(n, perChannel int) (cleanupResult, error) {
	res := cleanupResult{channels: n, namespaces: 1, objects: n * perChannel}
	sets, err := b.cleanupSets("dn", n, 1)
	if err != nil {
		return res, err
	}
	for i, set := range []int{0, 0, 1, 1} {
		var d time.Duration
		if i == 0 || i == 3 {
			d, err = b.baselineDeletes(sets[set], perChannel)
			res.baseline += d
		} else {
			d, err = b.operatorCleanup(sets[set], perChannel, i == 1)
			res.operator += d
		}
		if err != nil {
			return res, err
		}
	}
	logf("cleanup, one namespace: operator %s, baseline %s (two runs each), ratio %.2f",
		res.operator.Round(time.Millisecond), res.baseline.Round(time.Millisecond), res.ratio())
	return res, nil
}

// cleanupSets creates two sets of n Active channels (policy Delete) over
// nss namespaces each.
func (b *bench) cleanupSets(prefix string, n, nss int) ([][]*chatv1alpha1.OfficialChannel, error) {
	sets := make([][]*chatv1alpha1.OfficialChannel, 2)
	for i := range sets {
		p := fmt.Sprintf("%s%d", prefix, i)
		logf("cleanup: creating %d channels in %d namespace(s) (%s)", n, nss, p)
		channels, err := b.createChannels(p, n, nss, chatv1alpha1.CleanupPolicyDelete)
		if err != nil {
			return nil, err
		}
		if sets[i], err = b.waitPhase(channels, chatv1alpha1.PhaseActive); err != nil {
			return nil, err
		}
	}
	return sets, nil
}

// operatorCleanup links perChannel objects to each channel, destroys all the
// channels at once, and times until the operator has cleaned every one up.
func (b *bench) operatorCleanup(channels []*chatv1alpha1.OfficialChannel, perChannel int, profiled bool) (time.Duration, error) {
	record := func(ch *chatv1alpha1.OfficialChannel, i int) bool {
		return status.RecordDestruction(ch, destructionFor(i))
	}
	return b.timeCleanup(channels, perChannel, profiled, record)
}

// timeCleanup links perChannel objects to each channel, writes a destruction
// into every channel's status at once with destroy, and times until the
// operator has cleaned every one up.
func (b *bench) timeCleanup(channels []*chatv1alpha1.OfficialChannel, perChannel int, profiled bool,
	destroy func(*chatv1alpha1.OfficialChannel, int) bool) (time.Duration, error) {
	objs := make([]client.Object, 0, len(channels)*perChannel)
	for _, ch := range channels {
		objs = append(objs, linkedObjects(ch.Namespace, ch.Name, perChannel, map[string]string{chatv1alpha1.LinkLabel: ch.Name})...)
	}
	if err := parallel(len(objs), setupConcurrency, func(i int) error { return b.c.Create(b.ctx, objs[i]) }); err != nil {
		return 0, err
	}
	if err := b.waitIdle(); err != nil {
		return 0, err
	}
	// As in a cluster, where objects are there long before their channel
	// is destroyed: every inventory lists them (the change reaches status
	// within --inventory-interval), and no wake-up is left for later.
	if err := b.waitInventory(channels, perChannel); err != nil {
		return 0, err
	}
	channels, err := b.waitPhase(channels, chatv1alpha1.PhaseActive) // fresh copies
	if err != nil {
		return 0, err
	}
	// Watch the channels' phases: a watch costs the API server an event per
	// change, where polling it would load it during the operator's runs
	// only, and scraping the manager's metrics makes it count every channel
	// each time (a scrape every 200 ms cost the operator's runs a third).
	done, err := b.watchCleanedUp(channels)
	if err != nil {
		return 0, err
	}

	logf("cleanup: destroying %d channels with %d linked objects each, at once", len(channels), perChannel)
	var prof *profile
	if profiled {
		prof = b.startProfile("cpu-cleanup-"+channels[0].Labels[benchLabel], 5*time.Second)
	}
	calls := b.apiServerCallsOrLog()
	start := time.Now()
	if err := parallel(len(channels), setupConcurrency, func(i int) error {
		ch := channels[i].DeepCopy()
		base := ch.DeepCopy()
		destroy(ch, i)
		return b.c.Status().Patch(b.ctx, ch, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	}); err != nil {
		return 0, err
	}
	select {
	case err := <-done:
		if err != nil {
			return 0, err
		}
	case <-time.After(10 * time.Minute):
		return 0, fmt.Errorf("channels not all CleanedUp after 10 minutes")
	}
	elapsed := time.Since(start)
	if after, err := b.apiServerCalls(); err == nil && calls != nil {
		logf("cleanup: API writes %s", after.since(calls))
	}
	prof.wait()
	if _, err := b.waitPhase(channels, chatv1alpha1.PhaseCleanedUp); err != nil {
		return 0, err
	}
	for _, obj := range objs {
		if err := b.c.Get(b.ctx, client.ObjectKeyFromObject(obj), obj); !apierrors.IsNotFound(err) {
			return 0, fmt.Errorf("%s/%s left after cleanup: %v", obj.GetNamespace(), obj.GetName(), err)
		}
	}
	logf("cleanup: operator %s", elapsed.Round(time.Millisecond))
	return elapsed, nil
}

// watchCleanedUp watches channels (one bench group) and reports on done once
// every one of them is CleanedUp. A watch the API server ends is started
// again: it begins with every channel as it is then, so nothing is missed.
func (b *bench) watchCleanedUp(channels []*chatv1alpha1.OfficialChannel) (<-chan error, error) {
	wc, err := client.NewWithWatch(b.env.Config, client.Options{Scheme: b.c.Scheme()})
	if err != nil {
		return nil, err
	}
	group := client.MatchingLabels{benchLabel: channels[0].Labels[benchLabel]}
	w, err := wc.Watch(b.ctx, &chatv1alpha1.OfficialChannelList{}, group)
	if err != nil {
		return nil, fmt.Errorf("watching the channels: %w", err)
	}
	want := map[client.ObjectKey]bool{}
	for _, ch := range channels {
		want[client.ObjectKeyFromObject(ch)] = true
	}
	done := make(chan error, 1)
	go func() {
		cleaned := map[client.ObjectKey]bool{}
		for restarts := 0; ; restarts++ {
			for ev := range w.ResultChan() {
				ch, ok := ev.Object.(*chatv1alpha1.OfficialChannel)
				if !ok {
					continue // an error or a bookmark: the watch ends or goes on
				}
				if key := client.ObjectKeyFromObject(ch); want[key] && ch.Status.Phase == chatv1alpha1.PhaseCleanedUp {
					cleaned[key] = true
				}
				if len(cleaned) == len(want) {
					w.Stop()
					done <- nil
					return
				}
			}
			if restarts == 100 {
				done <- fmt.Errorf("the watch of the channels ended %d times, with %d of %d CleanedUp", restarts, len(cleaned), len(want))
				return
			}
			time.Sleep(100 * time.Millisecond)
			if w, err = wc.Watch(b.ctx, &chatv1alpha1.OfficialChannelList{}, group); err != nil {
				done <- fmt.Errorf("watching the channels again: %w", err)
				return
			}
		}
	}()
	return done, nil
}

// baselineDeletes creates the same objects, unlinked, and times deleting
// them directly at the reconciler's concurrency.
func (b *bench) baselineDeletes(channels []*chatv1alpha1.OfficialChannel, perChannel int) (time.Duration, error) {
	objs := make([]client.Object, 0, len(channels)*perChannel)
	for _, ch := range channels {
		objs = append(objs, linkedObjects(ch.Namespace, ch.Name, perChannel, map[string]string{"bench": "baseline"})...)
	}
	if err := parallel(len(objs), setupConcurrency, func(i int) error { return b.c.Create(b.ctx, objs[i]) }); err != nil {
		return 0, err
	}
	if err := b.waitIdle(); err != nil {
		return 0, err
	}
	calls := b.apiServerCallsOrLog()
	start := time.Now()
	if err := parallel(len(objs), reconcilers, func(i int) error {
		return b.c.Delete(b.ctx, objs[i], client.PropagationPolicy(metav1.DeletePropagationBackground))
	}); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	if after, err := b.apiServerCalls(); err == nil && calls != nil {
		logf("cleanup: baseline API writes %s", after.since(calls))
	}
	logf("cleanup: baseline %s", elapsed.Round(time.Millisecond))
	return elapsed, nil
}
