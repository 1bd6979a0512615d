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

package controller_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"slices"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/internal/chatapi/fakechat"
	"github.com/channel-operator/channel-operator/internal/cleanup"
	"github.com/channel-operator/channel-operator/internal/observer"
	"github.com/channel-operator/channel-operator/internal/operator"
	"github.com/channel-operator/channel-operator/internal/status"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// unservedKind is in --cleanup-kinds but not served by the API server.
const unservedKind = "widgets.example.com"

// chatApp is the suite's app with REST credentials, served by the fake
// Chat REST API; testenv.DemoApp has none.
const (
	chatApp    int64 = 1400000077
	chatAppKey       = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	// chatQPS is the suite's --chat-api-qps.
	chatQPS = 10
	// chatResync is the suite's --chat-api-resync-interval: long, so that
	// no resync races a test; a test that needs one kicks op.Observer.
	chatResync = time.Hour
	// inventoryInterval is the suite's --inventory-interval.
	inventoryInterval = 2 * time.Second
)

var (
	env *testenv.Env
	// chat is the fake Chat REST API.
	chat *fakechat.Server
	// op is the running manager's operator.
	op *operator.Operator
)

// TestMain runs one control plane for the package and a manager with the
// operator, configured with the default --cleanup-kinds plus one kind the
// cluster does not serve.
func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	testenv.Run(testenv.RunInput{
		M: m,
		SetupEnv: func(e *testenv.Env) error {
			env = e
			var err error
			if chat, err = fakechat.Start(); err != nil {
				return err
			}
			chat.AddApp(chatApp, chatAppKey)
			return createChatSecret(e, chatAppKey)
		},
		ManagerInput: managerInput(),
	})
}

// config is the suite's operator configuration.
func config() operator.Config {
	c := operator.Default()
	c.Namespace = testenv.OperatorNamespace
	c.CleanupKinds = cleanup.DefaultCleanupKinds + "," + unservedKind
	c.Callback.BindAddress = "127.0.0.1:0"
	c.PendingMax, c.PendingTTL = 10, time.Hour
	c.ChatAPIQPS, c.ChatAPITimeout, c.ChatAPIResync = chatQPS, 2*time.Second, chatResync
	// The suite destroys more channels than any budget allows; the budget
	// has tests of its own.
	c.CleanupBudget = "0"
	c.InventoryInterval = inventoryInterval
	if err := c.Validate(); err != nil {
		panic(err)
	}
	return c
}

// managerInput sets the operator up through operator.Setup, as cmd/main.go
// does, with RBAC that refuses the objects named refusedPrefix*.
func managerInput() testenv.ManagerInput {
	c := config()
	return testenv.ManagerInput{
		Cache: c.ManagerOptions(testenv.Scheme()).Cache,
		SetupReconcilers: func(ctx context.Context, mgr ctrl.Manager) error {
			var err error
			op, err = operator.Setup(ctx, mgr, c,
				operator.WithReconcilerClients(
					func(c client.Client) client.Client { return refusingRBAC{c} },
					func(r client.Reader) client.Reader { return refusingRBACReader{r} }),
				operator.WithChatAPIBackoff(50*time.Millisecond))
			return err
		},
	}
}

var chatSecret = types.NamespacedName{Namespace: testenv.OperatorNamespace, Name: observer.DefaultSecretName}

// createChatSecret writes the Chat API Secret for chatApp, pointing at the fake.
func createChatSecret(e *testenv.Env, key string) error {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: chatSecret.Namespace, Name: chatSecret.Name},
		StringData: chatSecretData(key)}
	return e.Client.Create(context.Background(), secret)
}

func chatSecretData(key string) map[string]string {
	app := strconv.FormatInt(chatApp, 10)
	return map[string]string{app + ".secretKey": key, app + ".endpoint": chat.URL()}
}

// restartManager stops the running manager; the returned function starts a
// new one.
func restartManager(t *testing.T) (start func()) {
	t.Helper()
	env.Manager.Stop()
	return func() {
		t.Helper()
		m, err := env.StartManager(managerInput())
		if err != nil {
			t.Fatal(err)
		}
		env.Manager = m
	}
}

// --- helpers ---------------------------------------------------------------

func newChannel(
	t *testing.T,
	ns, name string,
	policy chatv1alpha1.CleanupPolicy,
	linked ...chatv1alpha1.LinkedResource,
) *chatv1alpha1.OfficialChannel {
	t.Helper()
	ch := env.NewChannel(t, ns, name, chatv1alpha1.OfficialChannelSpec{SDKAppID: testenv.DemoApp,
		OfficialAccountID: "@TOA#_" + ns + "_" + name, CleanupPolicy: policy, LinkedResources: linked})
	return waitForPhase(t, ch, chatv1alpha1.PhaseActive)
}

// destroy records a destruction in the channel's status, as the callback
// receiver does.
func destroy(t *testing.T, ch *chatv1alpha1.OfficialChannel) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, func() error {
		got := env.Channel(t, ch)
		base := got.DeepCopy()
		if !status.RecordDestruction(
			got,
			chatv1alpha1.Destruction{EventTime: 1670574414123, OwnerAccount: "107867", ReceivedAt: metav1.Now()},
		) {
			return nil
		}
		return env.Client.Status().Patch(ctx, got, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	})
}

func waitFor(t *testing.T, ch *chatv1alpha1.OfficialChannel, check func(*chatv1alpha1.OfficialChannel) error) {
	t.Helper()
	testenv.WaitFor(t, env, ch, check)
}

func waitForPhase(t *testing.T, ch *chatv1alpha1.OfficialChannel, phase chatv1alpha1.Phase) *chatv1alpha1.OfficialChannel {
	t.Helper()
	waitFor(t, ch, func(got *chatv1alpha1.OfficialChannel) error {
		if got.Status.Phase != phase {
			return fmt.Errorf("phase %q, want %q; cleanup %+v", got.Status.Phase, phase, got.Status.Cleanup)
		}
		return nil
	})
	return env.Channel(t, ch)
}

func condition(ch *chatv1alpha1.OfficialChannel, condType string) *metav1.Condition {
	return meta.FindStatusCondition(ch.Status.Conditions, condType)
}

func eventReasons(t *testing.T, ch *chatv1alpha1.OfficialChannel) []string {
	t.Helper()
	return env.EventReasons(t, ch, "OfficialChannel")
}

// countEvents counts the channel's Events of reason.
func countEvents(t *testing.T, ch *chatv1alpha1.OfficialChannel, reason string) int {
	t.Helper()
	n := 0
	for _, r := range eventReasons(t, ch) {
		if r == reason {
			n++
		}
	}
	return n
}

func waitForEvents(t *testing.T, ch *chatv1alpha1.OfficialChannel, reasons ...string) {
	t.Helper()
	testenv.Eventually(t, func() error {
		got := strings.Join(eventReasons(t, ch), ",")
		for _, r := range reasons {
			if !strings.Contains(got, r) {
				return fmt.Errorf("events %s, missing %s", got, r)
			}
		}
		return nil
	})
}

// metricValue is the value of the sample of metric name in the manager's
// registry with the label pairs given (name, value, ...); 0 when there is none.
func metricValue(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
					return l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}) {
					continue samples
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}
