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
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// MaxUserSigLen bounds both a UserSig token and its decompressed JSON: a real
// one is a few hundred bytes, and a token comes from a Secret or a request
// that anyone may have written, so a zlib bomb must not be inflated.
const MaxUserSigLen = 4096

// Sentinel errors of DecodeUserSig and VerifyUserSig, for errors.Is: the
// fake Chat server answers each with a different code, as the real one does.
var (
	// ErrUserSigInvalid: the token cannot be parsed (70003).
	ErrUserSigInvalid = errors.New("the UserSig cannot be parsed")
	// ErrUserSigMAC: the token was not signed with this key (70009).
	ErrUserSigMAC = errors.New("the UserSig was not signed with this key")
	// ErrUserSigExpired: the token's validity has passed (70001).
	ErrUserSigExpired = errors.New("the UserSig expired")
)

// userSigVersion is the only token format MakeUserSig writes and DecodeUserSig reads.
const userSigVersion = "2.0"

// userSigToken is the token's JSON. Field order does not matter to Chat.
type userSigToken struct {
	Version    string `json:"TLS.ver"`
	Identifier string `json:"TLS.identifier"`
	AppID      int64  `json:"TLS.sdkappid"`
	Expire     int64  `json:"TLS.expire"`
	Time       int64  `json:"TLS.time"`
	Sig        string `json:"TLS.sig"`
	// UserBuf is only in tokens made with a user buffer; it is signed too.
	UserBuf string `json:"TLS.userbuf,omitempty"`
}

// UserSigInfo is what a UserSig token says. Sig is TLS.sig as written
// (standard base64 of the MAC).
type UserSigInfo struct {
	Identifier string
	AppID      int64
	Time       time.Time
	Expire     time.Duration
	Sig        string
	// UserBuf is TLS.userbuf as written (base64), empty for most tokens.
	UserBuf string
}

// ExpiresAt is when Chat stops accepting the token.
func (i UserSigInfo) ExpiresAt() time.Time {
	return i.Time.Add(i.Expire)
}

// userSigMAC is the HMAC-SHA256 that TLS signature v2 puts in TLS.sig: the
// key is used as a string, not hex-decoded, and time comes before expire.
func userSigMAC(appID int64, identifier, key string, unixTime, expireSeconds int64, userBuf string) []byte {
	var b strings.Builder
	b.WriteString("TLS.identifier:" + identifier + "\n")
	b.WriteString("TLS.sdkappid:" + strconv.FormatInt(appID, 10) + "\n")
	b.WriteString("TLS.time:" + strconv.FormatInt(unixTime, 10) + "\n")
	b.WriteString("TLS.expire:" + strconv.FormatInt(expireSeconds, 10) + "\n")
	if userBuf != "" {
		b.WriteString("TLS.userbuf:" + userBuf + "\n")
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(b.String()))
	return mac.Sum(nil)
}

// The token is standard base64 with the three characters that a URL query
// would mangle replaced, as Chat's libraries do.
var (
	userSigReplacer   = strings.NewReplacer("+", "*", "/", "-", "=", "_")
	userSigUnreplacer = strings.NewReplacer("*", "+", "-", "/", "_", "=")
)

// MakeUserSig makes the UserSig that lets identifier call Chat's REST API for
// the app, valid from now for validity (whole seconds).
func MakeUserSig(appID int64, identifier, key string, now time.Time, validity time.Duration) (string, error) {
	switch {
	case appID <= 0:
		return "", fmt.Errorf("making a UserSig: the SDKAppID %d is not positive", appID)
	case identifier == "":
		return "", errors.New("making a UserSig: the identifier is empty")
	case key == "":
		return "", errors.New("making a UserSig: the secret key is empty")
	case validity < time.Second:
		return "", fmt.Errorf("making a UserSig: the validity %s is shorter than a second", validity)
	}
	unixTime := now.Unix()
	expire := int64(validity / time.Second)
	tok := userSigToken{
		Version:    userSigVersion,
		Identifier: identifier,
		AppID:      appID,
		Expire:     expire,
		Time:       unixTime,
		Sig:        base64.StdEncoding.EncodeToString(userSigMAC(appID, identifier, key, unixTime, expire, "")),
	}
	raw, err := json.Marshal(tok)
	if err != nil {
		return "", fmt.Errorf("making a UserSig: encoding its JSON: %w", err)
	}
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return "", fmt.Errorf("making a UserSig: compressing it: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("making a UserSig: compressing it: %w", err)
	}
	return userSigReplacer.Replace(base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

// DecodeUserSig reads a UserSig token without checking its MAC. Every error
// wraps ErrUserSigInvalid. Inputs and their decompressed JSON are bounded by
// MaxUserSigLen.
func DecodeUserSig(s string) (UserSigInfo, error) {
	if s == "" {
		return UserSigInfo{}, fmt.Errorf("%w: it is empty", ErrUserSigInvalid)
	}
	if len(s) > MaxUserSigLen {
		return UserSigInfo{}, fmt.Errorf("%w: it is %d bytes long, more than %d", ErrUserSigInvalid, len(s), MaxUserSigLen)
	}
	b64 := userSigUnreplacer.Replace(s)
	compressed, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		// Some writers drop the padding.
		var rawErr error
		compressed, rawErr = base64.RawStdEncoding.DecodeString(strings.TrimRight(b64, "="))
		if rawErr != nil {
			return UserSigInfo{}, fmt.Errorf("%w: not base64: %w", ErrUserSigInvalid, err)
		}
	}
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return UserSigInfo{}, fmt.Errorf("%w: not zlib: %w", ErrUserSigInvalid, err)
	}
	defer func() { _ = zr.Close() }()
	raw, err := io.ReadAll(io.LimitReader(zr, MaxUserSigLen+1))
	if err != nil {
		return UserSigInfo{}, fmt.Errorf("%w: decompressing: %w", ErrUserSigInvalid, err)
	}
	if len(raw) > MaxUserSigLen {
		return UserSigInfo{}, fmt.Errorf("%w: it decompresses to more than %d bytes", ErrUserSigInvalid, MaxUserSigLen)
	}
	var tok userSigToken
	if err := json.Unmarshal(raw, &tok); err != nil {
		return UserSigInfo{}, fmt.Errorf("%w: its JSON: %w", ErrUserSigInvalid, err)
	}
	switch {
	case tok.Version != userSigVersion:
		return UserSigInfo{}, fmt.Errorf("%w: TLS.ver is %q, not %q", ErrUserSigInvalid, tok.Version, userSigVersion)
	case tok.Identifier == "":
		return UserSigInfo{}, fmt.Errorf("%w: TLS.identifier is missing", ErrUserSigInvalid)
	case tok.AppID <= 0:
		return UserSigInfo{}, fmt.Errorf("%w: TLS.sdkappid is missing or not positive", ErrUserSigInvalid)
	case tok.Time <= 0:
		return UserSigInfo{}, fmt.Errorf("%w: TLS.time is missing or not positive", ErrUserSigInvalid)
	// Bounded so that Time.Add cannot overflow: a century is far beyond any real validity.
	case tok.Expire <= 0 || tok.Expire > 100*365*24*3600:
		return UserSigInfo{}, fmt.Errorf("%w: TLS.expire %d is out of range", ErrUserSigInvalid, tok.Expire)
	case tok.Time > 1<<40:
		return UserSigInfo{}, fmt.Errorf("%w: TLS.time %d is out of range", ErrUserSigInvalid, tok.Time)
	}
	if mac, err := base64.StdEncoding.DecodeString(tok.Sig); err != nil || len(mac) != sha256.Size {
		return UserSigInfo{}, fmt.Errorf("%w: TLS.sig is not the base64 of a SHA-256 MAC", ErrUserSigInvalid)
	}
	return UserSigInfo{
		Identifier: tok.Identifier,
		AppID:      tok.AppID,
		Time:       time.Unix(tok.Time, 0),
		Expire:     time.Duration(tok.Expire) * time.Second,
		Sig:        tok.Sig,
		UserBuf:    tok.UserBuf,
	}, nil
}

// VerifyUserSig decodes a token and checks that key signed it and that it has
// not expired at now. The error wraps ErrUserSigInvalid, ErrUserSigMAC or
// ErrUserSigExpired; the info is returned whenever the token could be decoded,
// so that a caller can tell which identifier and app it claims.
func VerifyUserSig(s string, key string, now time.Time) (UserSigInfo, error) {
	info, err := DecodeUserSig(s)
	if err != nil {
		return UserSigInfo{}, err
	}
	got, err := base64.StdEncoding.DecodeString(info.Sig)
	if err != nil {
		return info, fmt.Errorf("%w: TLS.sig: %w", ErrUserSigInvalid, err)
	}
	want := userSigMAC(info.AppID, info.Identifier, key, info.Time.Unix(), int64(info.Expire/time.Second), info.UserBuf)
	if !hmac.Equal(got, want) {
		return info, ErrUserSigMAC
	}
	if !now.Before(info.ExpiresAt()) {
		return info, fmt.Errorf("%w at %s", ErrUserSigExpired, info.ExpiresAt().UTC().Format(time.RFC3339))
	}
	return info, nil
}
