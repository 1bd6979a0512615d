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

package receiver_test

import (
	"context"
	"os"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/channel-operator/channel-operator/internal/operator"
	"github.com/channel-operator/channel-operator/internal/receiver"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// TestMain runs one control plane and one manager with the operator set up
// as cmd/main.go does it, but without the reconciler, and with the suite's
// receiver options.
func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	c := operator.Default()
	c.Namespace = testenv.OperatorNamespace
	c.CallbackSecret = receiver.SecretName
	c.Callback = receiver.SuiteOptions()
	c.PendingMax, c.PendingTTL = 100, time.Hour
	if err := c.Validate(); err != nil {
		panic(err)
	}
	var op *operator.Operator
	testenv.Run(testenv.RunInput{
		M:        m,
		SetupEnv: receiver.SetupEnv,
		ManagerInput: testenv.ManagerInput{
			Cache: c.ManagerOptions(testenv.Scheme()).Cache,
			SetupReconcilers: func(ctx context.Context, mgr ctrl.Manager) error {
				var err error
				if op, err = operator.Setup(ctx, mgr, c, operator.WithoutReconciler()); err != nil {
					return err
				}
				receiver.UseSuite(op.Receiver, op.Recorder, op.Pending)
				return nil
			},
			ReadyCheck: func() error { return op.Receiver.ReadyCheck(nil) },
		},
	})
}
