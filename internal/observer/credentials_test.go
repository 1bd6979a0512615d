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

package observer

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"

	"github.com/channel-operator/channel-operator/internal/chatapi"
)

func TestParseCredentials(t *testing.T) {
	sig, err := chatapi.MakeUserSig(1400000003, "ops-admin", key, time.Now(), 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherAppSig, _ := chatapi.MakeUserSig(1400000099, "ops-admin", key, time.Now(), time.Hour)
	data := map[string][]byte{
		// Defaults filled in; whitespace (a file's newline) trimmed.
		"1400000001.secretKey": []byte(key + "\n"),
		// Everything given.
		"1400000002.secretKey":  []byte(key),
		"1400000002.identifier": []byte("ops-admin"),
		"1400000002.endpoint":   []byte("https://adminapisgp.im.qcloud.com/"),
		// A UserSig: the identifier comes from it.
		"1400000003.userSig": []byte(sig),
		// Refused, each whole.
		"1400000004.secretKey": []byte(key), "1400000004.userSig": []byte(sig),
		"1400000005.identifier": []byte("admin"),
		"1400000006.secretKey":  []byte(key), "1400000006.endpoint": []byte("http://chat.example.com"),
		"1400000007.secretKey": []byte(key), "1400000007.region": []byte("sg"),
		"1400000099.userSig":   []byte(otherAppSig + "x"),
		"1400000008.userSig":   []byte(otherAppSig),
		"1400000009.secretKey": []byte(key), "1400000009.identifier": []byte(""),
		"news.secretKey": []byte(key),
	}
	apps, refused, refusedApps := ParseCredentials(data)
	want := map[int64]chatapi.Credentials{
		1400000001: {AppID: 1400000001, Identifier: "administrator", Endpoint: chatapi.DefaultEndpoint, SecretKey: key},
		1400000002: {AppID: 1400000002, Identifier: "ops-admin", Endpoint: "https://adminapisgp.im.qcloud.com", SecretKey: key},
		1400000003: {AppID: 1400000003, Identifier: "ops-admin", Endpoint: chatapi.DefaultEndpoint, UserSig: sig},
	}
	if len(apps) != len(want) {
		t.Fatalf("apps %v, want %v; refused %v", apps, want, refused)
	}
	for app, w := range want {
		if apps[app] != w {
			t.Errorf("app %d: %+v, want %+v", app, apps[app], w)
		}
	}
	if want := []int64{1400000004, 1400000005, 1400000006, 1400000007, 1400000008, 1400000009, 1400000099}; !slices.Equal(refusedApps, want) {
		t.Errorf("refused apps %v, want %v", refusedApps, want)
	}
	joined := strings.Join(refused, "\n")
	for _, k := range []string{"1400000004", "1400000005", "1400000006", "1400000007", "1400000008", "1400000009",
		"1400000099", "news.secretKey"} {
		if !strings.Contains(joined, k) {
			t.Errorf("no refusal names %s: %v", k, refused)
		}
	}
	if strings.Contains(joined, key) || strings.Contains(joined, sig) || strings.Contains(joined, otherAppSig[:20]) {
		t.Fatalf("a refusal holds a secret value: %v", refused)
	}
}

// A change of the Secret replaces the whole table; its deletion empties it.
func TestCredentialsFollowTheSecret(t *testing.T) {
	changes := 0
	c := &Credentials{Log: logr.Discard()}
	c.onChange(func() { changes++ })
	c.SecretChanged(&corev1.Secret{Data: map[string][]byte{"1400000001.secretKey": []byte(key)}})
	if !c.Has(1400000001) || c.Has(1400000002) {
		t.Fatalf("apps %v", c.Apps())
	}
	c.SecretChanged(&corev1.Secret{Data: map[string][]byte{"1400000002.secretKey": []byte(key)}})
	if c.Has(1400000001) || !c.Has(1400000002) {
		t.Fatalf("apps after a change %v", c.Apps())
	}
	// A mistake in an edit keeps the app's last good credentials.
	c.SecretChanged(&corev1.Secret{Data: map[string][]byte{"1400000002.secretKey": []byte(key), "1400000002.endpoint": []byte("ftp://x")}})
	if cr, ok := c.Lookup(1400000002); !ok || cr.Endpoint != chatapi.DefaultEndpoint {
		t.Fatalf("credentials after a refused edit: %+v, %v", cr, ok)
	}
	c.SecretChanged(nil)
	if len(c.Apps()) != 0 || changes != 4 {
		t.Fatalf("apps after deletion %v, %d changes", c.Apps(), changes)
	}
}

// A given UserSig's expiry is read from it at load; an app whose UserSig is
// made from its key has none.
func TestUserSigExpiryIsReadAtLoad(t *testing.T) {
	made := time.Unix(1790000000, 0)
	sig, err := chatapi.MakeUserSig(1400000003, "ops-admin", key, made, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := &Credentials{Log: logr.Discard()}
	c.SecretChanged(&corev1.Secret{Data: map[string][]byte{"1400000003.userSig": []byte(sig), "1400000001.secretKey": []byte(key)}})
	if got := c.UserSigExpiry(1400000003); !got.Equal(made.Add(48 * time.Hour)) {
		t.Fatalf("expiry %v, want %v", got, made.Add(48*time.Hour))
	}
	if got := c.UserSigExpiry(1400000001); !got.IsZero() {
		t.Fatalf("an app with a key has an expiry: %v", got)
	}
}
