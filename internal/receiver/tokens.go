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
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The callback Secret says which apps the receiver accepts and with which
// webhook token: each key an SDKAppID, each value its token. Only the one
// Secret named by --callback-secret is watched, and a change replaces the
// whole table at once.

// secretChanged loads the tokens from the callback Secret as the watch sees
// it (nil: deleted).
func (r *Receiver) secretChanged(secret *corev1.Secret) {
	deleted := secret == nil
	tokens := map[int64]string{}
	if !deleted {
		var refused []string
		tokens, refused = parseTokens(secret.Data)
		if len(refused) > 0 {
			// Key names and reasons only: never a token.
			r.log.Info("Refusing callback Secret keys", "secret", r.opts.Secret.String(), "refused", refused)
		}
	}
	r.tokens.Store(&tokens)
	apps := make([]int64, 0, len(tokens))
	for app := range tokens {
		apps = append(apps, app)
	}
	// Only the app IDs: tokens never reach a log line.
	r.secretFound.Store(!deleted)
	if deleted {
		r.log.Info("The callback Secret was deleted: every callback is refused (403) until it is created again",
			"secret", r.opts.Secret.String())
		return
	}
	r.log.Info("Loaded callback apps", "secret", r.opts.Secret.String(), "apps", apps)
}

// parseTokens reads the callback Secret: each key an SDKAppID in decimal,
// each value its token. Surrounding whitespace (a file's final newline) is
// not part of a token. Only an empty value means "no token" (accepted
// unsigned with --allow-unsigned-callbacks): a value of whitespace alone is
// a mistake, not a wish to go unsigned, so its app is refused. So is an app
// given by two keys (1400000001 and 01400000001): which token is meant
// cannot be known. refused says which keys were refused and why.
func parseTokens(data map[string][]byte) (tokens map[int64]string, refused []string) {
	tokens = make(map[int64]string, len(data))
	keys := map[int64][]string{}
	for key, value := range data {
		app, err := strconv.ParseInt(key, 10, 64)
		if err != nil || app <= 0 {
			refused = append(refused, key+": not an SDKAppID")
			continue
		}
		token := strings.TrimSpace(string(value))
		if token == "" && len(value) > 0 {
			refused = append(refused, key+": the token is only whitespace")
			continue
		}
		keys[app] = append(keys[app], key)
		tokens[app] = token
	}
	for app, ks := range keys {
		if len(ks) > 1 {
			slices.Sort(ks)
			refused = append(refused, strings.Join(ks, ", ")+": the same SDKAppID under several keys")
			delete(tokens, app)
		}
	}
	slices.Sort(refused)
	return tokens, refused
}
