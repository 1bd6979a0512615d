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

package chatapi

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// The vector of /work/shared/testdata/usersig-vector.txt, computed with the
// reference algorithm and accepted by the official library's verifier.
const (
	vecAppID      = 1400000000
	vecIdentifier = "xiaojun"
	vecKey        = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	vecTime       = 1700000000
	vecExpire     = 15552000
	vecMACHex     = "2ef03b77f230ee04ac9ec92f5730433ce0820dbb8d0b0e061f04c2d1b8a9f81e"
	vecTLSSig     = "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="
)

var vecNow = time.Unix(vecTime, 0)

func TestUserSigMACMatchesVector(t *testing.T) {
	mac := userSigMAC(vecAppID, vecIdentifier, vecKey, vecTime, vecExpire, "")
	if got := hex.EncodeToString(mac); got != vecMACHex {
		t.Errorf("MAC = %s, want %s", got, vecMACHex)
	}
	if got := base64.StdEncoding.EncodeToString(mac); got != vecTLSSig {
		t.Errorf("TLS.sig = %s, want %s", got, vecTLSSig)
	}
}

func TestMakeUserSigDecodesToVector(t *testing.T) {
	tok, err := MakeUserSig(vecAppID, vecIdentifier, vecKey, vecNow, vecExpire*time.Second)
	if err != nil {
		t.Fatalf("MakeUserSig: %v", err)
	}
	if strings.ContainsAny(tok, "+/=") {
		t.Errorf("token %q holds a character the URL-safe alphabet replaces", tok)
	}
	info, err := DecodeUserSig(tok)
	if err != nil {
		t.Fatalf("DecodeUserSig: %v", err)
	}
	want := UserSigInfo{Identifier: vecIdentifier, AppID: vecAppID, Time: vecNow, Expire: vecExpire * time.Second, Sig: vecTLSSig}
	if info != want {
		t.Errorf("decoded %+v, want %+v", info, want)
	}
	if got, want := info.ExpiresAt(), vecNow.Add(180*24*time.Hour); !got.Equal(want) {
		t.Errorf("ExpiresAt = %s, want %s", got, want)
	}
	// The token's JSON holds exactly the documented fields.
	raw := inflate(t, tok)
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("token JSON: %v", err)
	}
	wantFields := map[string]any{
		"TLS.ver": "2.0", "TLS.identifier": vecIdentifier, "TLS.sdkappid": float64(vecAppID),
		"TLS.expire": float64(vecExpire), "TLS.time": float64(vecTime), "TLS.sig": vecTLSSig,
	}
	if len(fields) != len(wantFields) {
		t.Errorf("token JSON %s has %d fields, want %d", raw, len(fields), len(wantFields))
	}
	for k, v := range wantFields {
		if fields[k] != v {
			t.Errorf("token %s = %v (%T), want %v", k, fields[k], fields[k], v)
		}
	}
}

func TestMakeUserSigRefusesBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		app      int64
		id, key  string
		validity time.Duration
	}{
		"no app":          {0, "admin", "k", time.Hour},
		"no identifier":   {1, "", "k", time.Hour},
		"no key":          {1, "admin", "", time.Hour},
		"sub-second life": {1, "admin", "k", time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			if tok, err := MakeUserSig(tc.app, tc.id, tc.key, vecNow, tc.validity); err == nil {
				t.Errorf("MakeUserSig = %q, want an error", tok)
			}
		})
	}
}

func inflate(t *testing.T, tok string) []byte {
	t.Helper()
	compressed, err := base64.StdEncoding.DecodeString(userSigUnreplacer.Replace(tok))
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		t.Fatalf("zlib: %v", err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		t.Fatalf("inflating: %v", err)
	}
	return out.Bytes()
}

// deflate makes a token of arbitrary JSON, as another library might write it.
func deflate(t testing.TB, raw []byte, level int) string {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zlib.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatalf("zlib: %v", err)
	}
	_, _ = zw.Write(raw)
	_ = zw.Close()
	return userSigReplacer.Replace(base64.StdEncoding.EncodeToString(buf.Bytes()))
}

func TestVerifyUserSig(t *testing.T) {
	good, err := MakeUserSig(vecAppID, vecIdentifier, vecKey, vecNow, time.Hour)
	if err != nil {
		t.Fatalf("MakeUserSig: %v", err)
	}
	// Same signature, another identifier: what someone editing a token gets.
	var tok map[string]any
	if err := json.Unmarshal(inflate(t, good), &tok); err != nil {
		t.Fatalf("token JSON: %v", err)
	}
	tok["TLS.identifier"] = "mallory"
	tamperedJSON, _ := json.Marshal(tok)
	tampered := deflate(t, tamperedJSON, zlib.DefaultCompression)
	// Another writer: other key order, best compression, no padding.
	otherOrder := `{"TLS.sig":"` + vecTLSSig + `","TLS.time":1700000000,"TLS.expire":15552000,` +
		`"TLS.sdkappid":1400000000,"TLS.identifier":"xiaojun","TLS.ver":"2.0"}`
	unpadded := strings.TrimRight(deflate(t, []byte(otherOrder), zlib.BestCompression), "_")

	for name, tc := range map[string]struct {
		tok  string
		key  string
		now  time.Time
		want error
	}{
		"good":                {good, vecKey, vecNow.Add(time.Minute), nil},
		"another writer":      {unpadded, vecKey, vecNow, nil},
		"wrong key":           {good, vecKey + "x", vecNow, ErrUserSigMAC},
		"tampered identifier": {tampered, vecKey, vecNow, ErrUserSigMAC},
		"expired":             {good, vecKey, vecNow.Add(time.Hour), ErrUserSigExpired},
		"long expired":        {good, vecKey, vecNow.Add(48 * time.Hour), ErrUserSigExpired},
		"garbage":             {"not a token", vecKey, vecNow, ErrUserSigInvalid},
		"empty":               {"", vecKey, vecNow, ErrUserSigInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := VerifyUserSig(tc.tok, tc.key, tc.now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("VerifyUserSig: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyUserSig error = %v, want %v", err, tc.want)
			}
			for _, other := range []error{ErrUserSigInvalid, ErrUserSigMAC, ErrUserSigExpired} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("error %v is also %v: the kinds must be distinguishable", err, other)
				}
			}
			if strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q holds the key", err)
			}
		})
	}
}

func TestDecodeUserSigRefusesMalformed(t *testing.T) {
	validJSON := func(mutate func(map[string]any)) string {
		m := map[string]any{
			"TLS.ver": "2.0", "TLS.identifier": "a", "TLS.sdkappid": 1, "TLS.expire": 60, "TLS.time": 1, "TLS.sig": vecTLSSig,
		}
		mutate(m)
		raw, _ := json.Marshal(m)
		return deflate(t, raw, zlib.DefaultCompression)
	}
	bomb := deflate(t, bytes.Repeat([]byte(" "), 1<<20), zlib.BestCompression)
	if len(bomb) > MaxUserSigLen {
		t.Fatalf("the bomb is %d bytes: the test would not reach the decompression bound", len(bomb))
	}
	for name, tok := range map[string]string{
		"too long":         strings.Repeat("A", MaxUserSigLen+1),
		"not base64":       "!!!!",
		"not zlib":         base64.StdEncoding.EncodeToString([]byte("plain text")),
		"zlib bomb":        bomb,
		"not JSON":         deflate(t, []byte("TLS.ver=2.0"), zlib.DefaultCompression),
		"version 1":        validJSON(func(m map[string]any) { m["TLS.ver"] = "1.0" }),
		"no identifier":    validJSON(func(m map[string]any) { delete(m, "TLS.identifier") }),
		"app as string":    validJSON(func(m map[string]any) { m["TLS.sdkappid"] = "1" }),
		"no time":          validJSON(func(m map[string]any) { delete(m, "TLS.time") }),
		"negative expire":  validJSON(func(m map[string]any) { m["TLS.expire"] = -1 }),
		"huge expire":      validJSON(func(m map[string]any) { m["TLS.expire"] = int64(1) << 60 }),
		"sig not base64":   validJSON(func(m map[string]any) { m["TLS.sig"] = "%%%" }),
		"sig wrong length": validJSON(func(m map[string]any) { m["TLS.sig"] = "AAAA" }),
	} {
		t.Run(name, func(t *testing.T) {
			if info, err := DecodeUserSig(tok); !errors.Is(err, ErrUserSigInvalid) {
				t.Errorf("DecodeUserSig = %+v, %v; want ErrUserSigInvalid", info, err)
			}
		})
	}
}

// FuzzDecodeUserSig: whatever the input, decoding never panics, refuses
// anything longer than MaxUserSigLen, and fails only with ErrUserSigInvalid;
// verifying never accepts a token that is not signed with the key.
func FuzzDecodeUserSig(f *testing.F) {
	good, err := MakeUserSig(vecAppID, vecIdentifier, vecKey, vecNow, time.Hour)
	if err != nil {
		f.Fatalf("MakeUserSig: %v", err)
	}
	f.Add(good)
	f.Add("")
	f.Add("eJyrVg==")
	f.Add(good[:len(good)/2])
	f.Add(deflate(f, bytes.Repeat([]byte("{"), 10000), zlib.BestCompression))
	f.Fuzz(func(t *testing.T, s string) {
		info, err := DecodeUserSig(s)
		if err != nil {
			if !errors.Is(err, ErrUserSigInvalid) {
				t.Fatalf("DecodeUserSig error %v is not ErrUserSigInvalid", err)
			}
			return
		}
		if len(s) > MaxUserSigLen {
			t.Fatalf("decoded a %d-byte token", len(s))
		}
		if info.Identifier == "" || info.AppID <= 0 || info.Expire <= 0 {
			t.Fatalf("decoded an incomplete token: %+v", info)
		}
		if _, err := VerifyUserSig(s, "another key", info.Time); err == nil {
			t.Fatalf("a token verified with a key that did not sign it: %+v", info)
		}
	})
}
