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

package receiver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/channel-operator/channel-operator/internal/callback"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// hugeDestroyedBody is a signed sender's worst: a body just under the
// 64 KiB bound, nearly all of it in the two strings status copies.
func hugeDestroyedBody(t *testing.T, account string) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"CallbackCommand":  callback.CommandDestroyed,
		"EventTime":        1700000000000,
		"Official_Account": account,
		"Owner_Account":    strings.Repeat("o", 30<<10),
		"Name":             strings.Repeat("\u00e9", 15<<10), // 30 KiB of two-byte runes
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(body) < 60<<10 || len(body) > callback.MaxBodyBytes {
		t.Fatalf("body of %d bytes", len(body))
	}
	return body
}

// A 60 KiB signed body cannot grow a channel's status (in every replica's
// cache) past a few hundred bytes: every string it writes is cut, on a
// UTF-8 boundary, as it is in the pending store.
func TestAHugeSignedBodyWritesABoundedStatus(t *testing.T) {
	ns := env.Namespace(t, "bounds")
	const account = "@TOA#_bounds"
	ch := newChannel(t, ns, "bounds", signedApp, account)
	longIP := func(v url.Values) {
		v.Set(callback.ParamClientIP, strings.Repeat("9", 2<<10))
		v.Set(callback.ParamOptPlatform, strings.Repeat("p", 2<<10))
	}

	u := callbackURL(signedApp, testToken, callback.CommandDestroyed, longIP)
	if a := post(t, u, hugeDestroyedBody(t, account)); a.status != http.StatusOK {
		t.Fatalf("answer %+v", a)
	}
	st := env.Channel(t, ch).Status
	d := st.Destruction
	if d == nil || len(d.OwnerAccount) != 256 || len(d.Name) != 150 || d.Name != strings.Repeat("\u00e9", 75) ||
		len(d.ClientIP) != 64 || len(d.OptPlatform) != 32 {
		t.Fatalf("destruction not bounded: owner %d, name %d, clientIP %d, optPlatform %d bytes",
			len(d.OwnerAccount), len(d.Name), len(d.ClientIP), len(d.OptPlatform))
	}
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 4<<10 {
		t.Fatalf("status of %d bytes after one callback", len(raw))
	}

	// With no channel to match, the record kept for one created later is
	// bounded the same way.
	const unmatched = "@TOA#_bounds_pending"
	if a := post(t, u, hugeDestroyedBody(t, unmatched)); a.status != http.StatusOK {
		t.Fatalf("answer %+v", a)
	}
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: testenv.OperatorNamespace, Name: pending.Name(signedApp, unmatched)}
	if err := env.Client.Get(context.Background(), key, cm); err != nil {
		t.Fatal(err)
	}
	size := 0
	for _, v := range cm.Data {
		size += len(v)
	}
	if size > 2<<10 {
		t.Fatalf("pending record of %d bytes", size)
	}
}

// The ClientIP parameter is the sender's claim; the destruction also names
// the peer it came from, which a forger cannot choose.
func TestADestructionNamesItsPeer(t *testing.T) {
	ns := env.Namespace(t, "peer")
	const account = "@TOA#_peer"
	ch := newChannel(t, ns, "peer", signedApp, account)
	u := callbackURL(signedApp, testToken, callback.CommandDestroyed)
	if a := post(t, u, destroyedBody(t, account, 1700000000000)); a.status != http.StatusOK {
		t.Fatalf("answer %+v", a)
	}
	d := env.Channel(t, ch).Status.Destruction
	if d == nil || d.ClientIP != "203.0.113.7" || d.PeerIP != "127.0.0.1" {
		t.Fatalf("destruction %+v: want clientIP 203.0.113.7 (claimed), peerIP 127.0.0.1", d)
	}
}

func TestPeerIP(t *testing.T) {
	for _, tt := range []struct {
		name   string
		remote string
		xff    []string
		hops   int
		want   string
	}{
		{"direct", "192.0.2.1:4321", nil, 0, "192.0.2.1"},
		{"direct, a forged header ignored", "192.0.2.1:4321", []string{"198.51.100.9"}, 0, "192.0.2.1"},
		{"IPv6 peer", "[2001:db8::1]:443", nil, 0, "2001:db8::1"},
		{"no port", "192.0.2.1", nil, 0, "192.0.2.1"},
		{"one proxy: the entry it appended", "10.0.0.5:80", []string{"198.51.100.9, 203.0.113.50"}, 1, "203.0.113.50"},
		{"one proxy, the header split in two", "10.0.0.5:80", []string{"198.51.100.9", "203.0.113.50"}, 1, "203.0.113.50"},
		{"two proxies", "10.0.0.5:80", []string{"198.51.100.9, 203.0.113.50 ,10.1.1.1"}, 2, "203.0.113.50"},
		{"fewer entries than hops: the farthest known", "10.0.0.5:80", []string{"203.0.113.50"}, 3, "203.0.113.50"},
		{"a proxy that sent no header: the peer", "10.0.0.5:80", nil, 1, "10.0.0.5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/callback", nil)
			req.RemoteAddr = tt.remote
			for _, h := range tt.xff {
				req.Header.Add("X-Forwarded-For", h)
			}
			if got := PeerIP(req, tt.hops); got != tt.want {
				t.Errorf("PeerIP = %q, want %q", got, tt.want)
			}
		})
	}
}
