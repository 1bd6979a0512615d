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

package image_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	chatv1alpha1 "github.com/channel-operator/channel-operator/api/v1alpha1"
	"github.com/channel-operator/channel-operator/hack/image"
	"github.com/channel-operator/channel-operator/internal/chatapi"
	"github.com/channel-operator/channel-operator/internal/chatapi/fakechat"
	"github.com/channel-operator/channel-operator/test/managerproc"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// testCA is a CA of the test's own and a certificate it signed for
// 127.0.0.1.
type testCA struct {
	pem    []byte // the CA certificate
	server tls.Certificate
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, serverKey := key(), key()
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "channel-operator image test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "fake Chat REST API"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &serverKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		server: tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: serverKey}}
}

// The manager in the image reaches an https:// Chat REST API whose
// certificate a CA signed that the image trusts through its CA bundle, and
// only through it: the image with Debian's bundle refuses the same server.
// The manager runs in the unpacked image (chroot) as the image's user, with
// nothing of the host's files or environment.
func TestTheManagerInTheImageTrustsChatThroughItsBundle(t *testing.T) {
	if os.Geteuid() != 0 {
		// CI runs as root; a developer's `make test` need not.
		if os.Getenv("CI") != "" {
			t.Fatal("this test runs the manager in the unpacked image with chroot, which needs root")
		}
		t.Skip("needs root (chroot into the unpacked image); CI runs it")
	}
	const (
		app       = int64(1400000009)
		key       = "image-test-secret-key"
		account   = "@TOA#_image_live"
		namespace = "channel-operator-system"
	)
	ctx := context.Background()
	env, err := testenv.Start(testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ca := newTestCA(t)

	chat := fakechat.NewServer()
	chat.AddApp(app, key)
	chat.CreateAccount(app, chatapi.AccountInfo{Account: account, Name: "Image", SubscriberCount: 9})
	srv := httptest.NewUnstartedServer(chat.Handler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.server}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	id := strconv.FormatInt(app, 10)
	if err := managerproc.Prepare(ctx, env.Client, namespace, map[string]string{id: "image-test-token"}); err != nil {
		t.Fatal(err)
	}
	if err := managerproc.PrepareChatAPI(ctx, env.Client, namespace,
		map[string]string{id + ".secretKey": key, id + ".endpoint": srv.URL}); err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t, "image")
	ch := env.NewChannel(t, ns, "live", chatv1alpha1.OfficialChannelSpec{SDKAppID: app, OfficialAccountID: account})

	bundleDir := t.TempDir()
	testBundle := filepath.Join(bundleDir, "test-ca.pem")
	if err := os.WriteFile(testBundle, ca.pem, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, run := range []struct {
		bundle, reason, message string
	}{
		{debianBundle, chatv1alpha1.ReasonUnreachable, "certificate"},
		{testBundle, chatv1alpha1.ReasonObserved, ""},
	} {
		root := unpack(t, build(t, run.bundle), env)
		logPath := filepath.Join(t.TempDir(), "manager.log")
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		chat.ResetCounters()
		p, err := managerproc.Start(ctx, managerproc.Options{Binary: image.BinaryPath, Kubeconfig: "/kubeconfig",
			Namespace: namespace, Root: root, Credential: &syscall.Credential{Uid: 65532, Gid: 65532},
			Args: []string{"--leader-elect=false"}, Output: logFile})
		if err != nil {
			raw, _ := os.ReadFile(logPath)
			t.Fatalf("the manager in the image (bundle %s) did not start: %v\n%s", run.bundle, err, raw)
		}
		testenv.Eventually(t, func() error {
			got := env.Channel(t, ch)
			c := meta.FindStatusCondition(got.Status.Conditions, chatv1alpha1.ConditionSynced)
			if c == nil || c.Reason != run.reason || !strings.Contains(c.Message, run.message) {
				return fmt.Errorf("with the bundle %s: Synced %+v, want reason %s", run.bundle, c, run.reason)
			}
			return nil
		})
		if err := p.Stop(); err != nil {
			t.Errorf("stopping the manager: %v", err)
		}
		_ = logFile.Close()
		if run.reason == chatv1alpha1.ReasonObserved && chat.CallsFor(app) == 0 {
			t.Errorf("observed without a call to the fake Chat REST API")
		}
		if run.reason == chatv1alpha1.ReasonUnreachable && chat.CallsFor(app) != 0 {
			t.Errorf("%d calls reached the fake through a certificate the image does not trust", chat.CallsFor(app))
		}
	}
}

// unpack writes img's filesystem and the manager's kubeconfig (its
// credentials inline) into a new root directory.
func unpack(t *testing.T, img v1.Image, env *testenv.Env) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := image.Unpack(img, root); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(env.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "kubeconfig"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}
