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
	"crypto/sha256"
	"time"
)

// sigCacheKey holds a hash of the key, not the key: a rotated key must not
// reuse the old key's UserSig, and the map need not hold secrets.
type sigCacheKey struct {
	appID      int64
	identifier string
	keyHash    [sha256.Size]byte
}

type cachedSig struct {
	sig     string
	renewAt time.Time
}

// userSig returns the UserSig for a call and whether it was made from the
// key. One made from the key is reused until 90% of its validity passed.
func (c *Client) userSig(creds Credentials) (string, bool, *Error) {
	if creds.UserSig != "" {
		return creds.UserSig, false, nil
	}
	key := sigCacheKey{appID: creds.AppID, identifier: creds.Identifier, keyHash: sha256.Sum256([]byte(creds.SecretKey))}
	now := c.o.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.sigs[key]; ok && now.Before(s.renewAt) {
		return s.sig, true, nil
	}
	sig, err := MakeUserSig(creds.AppID, creds.Identifier, creds.SecretKey, now, c.o.UserSigValidity)
	if err != nil {
		return "", true, &Error{Reason: ReasonCredentialsRefused, Message: err.Error()}
	}
	// Entries of rotated keys would otherwise stay forever.
	for k, s := range c.sigs {
		if !now.Before(s.renewAt) {
			delete(c.sigs, k)
		}
	}
	c.sigs[key] = cachedSig{sig: sig, renewAt: now.Add(c.o.UserSigValidity / 10 * 9)}
	return sig, true, nil
}

// dropSig forgets a UserSig Chat called expired (the clock jumped, or Chat's
// differs), unless another call already replaced it.
func (c *Client) dropSig(creds Credentials, sig string) {
	key := sigCacheKey{appID: creds.AppID, identifier: creds.Identifier, keyHash: sha256.Sum256([]byte(creds.SecretKey))}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.sigs[key]; ok && s.sig == sig {
		delete(c.sigs, key)
	}
}
