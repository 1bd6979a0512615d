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
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/channel-operator/channel-operator/internal/chatapi"
)

// DefaultSecretName is the Secret holding each app's REST credentials, in
// the manager's namespace unless --chat-api-secret says otherwise.
const DefaultSecretName = "channel-operator-chat-api"

// The Chat API Secret: only the one named by --chat-api-secret is watched.
// +kubebuilder:rbac:groups="",namespace=system,resources=secrets,resourceNames=channel-operator-chat-api,verbs=get;list;watch

// Key suffixes in the Chat API Secret: "<SDKAppID>.<suffix>".
const (
	keySecretKey  = "secretKey"
	keyUserSig    = "userSig"
	keyIdentifier = "identifier"
	keyEndpoint   = "endpoint"
)

// Credentials holds each app's REST credentials as the Chat API Secret says,
// swapped whole when it changes. It is safe for concurrent use; every
// replica keeps one (the receiver asks which apps confirm destructions).
type Credentials struct {
	// Secret names the Chat API Secret, for log lines.
	Secret types.NamespacedName
	// Log gets a line per load: app IDs and refused key names, never a value.
	Log logr.Logger
	mu  sync.RWMutex
	// changed are called after each load (the observer's Kick: New
	// subscribes it).
	changed  []func()
	apps     map[int64]chatapi.Credentials
	expiries map[int64]time.Time // of the given UserSigs
}

// Lookup returns app's credentials.
func (c *Credentials) Lookup(app int64) (chatapi.Credentials, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cr, ok := c.apps[app]
	return cr, ok
}

// Has reports whether app has REST credentials: its reported destructions
// are confirmed before anything is deleted.
func (c *Credentials) Has(app int64) bool {
	_, ok := c.Lookup(app)
	return ok
}

// Apps lists the apps with credentials.
func (c *Credentials) Apps() []int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	apps := make([]int64, 0, len(c.apps))
	for app := range c.apps {
		apps = append(apps, app)
	}
	slices.Sort(apps)
	return apps
}

// SecretChanged loads the Secret as secretwatch.Watch sees it (nil: deleted).
func (c *Credentials) SecretChanged(secret *corev1.Secret) {
	apps := map[int64]chatapi.Credentials{}
	if secret != nil {
		var (
			refused     []string
			refusedApps []int64
		)
		apps, refused, refusedApps = ParseCredentials(secret.Data)
		if len(refused) > 0 {
			// Key names and reasons only: never a value.
			c.Log.Info("Refusing Chat API Secret keys", "secret", c.Secret.String(), "refused", refused)
		}
		// A mistake in an edit must not take an app's credentials away: its
		// reports would then go unconfirmed. The last good ones stay.
		c.mu.RLock()
		for _, app := range refusedApps {
			if old, ok := c.apps[app]; ok {
				apps[app] = old
				c.Log.Info("Keeping the last good Chat API credentials of an app whose new keys are refused", "sdkAppID", app)
			}
		}
		c.mu.RUnlock()
	}
	exp := map[int64]time.Time{}
	for app, cr := range apps {
		if cr.UserSig != "" {
			if info, err := chatapi.DecodeUserSig(cr.UserSig); err == nil {
				exp[app] = info.ExpiresAt()
			}
		}
	}
	c.mu.Lock()
	c.apps, c.expiries = apps, exp
	c.mu.Unlock()
	setUserSigExpiry(exp)
	if secret == nil {
		c.Log.Info("The Chat API Secret does not exist: every app's callbacks alone decide", "secret", c.Secret.String())
	} else {
		c.Log.Info("Loaded Chat API credentials", "secret", c.Secret.String(), "apps", c.Apps())
	}
	c.mu.RLock()
	changed := c.changed
	c.mu.RUnlock()
	for _, fn := range changed {
		fn()
	}
}

// onChange calls fn after each load of the Secret.
func (c *Credentials) onChange(fn func()) {
	c.mu.Lock()
	c.changed = append(c.changed, fn)
	c.mu.Unlock()
}

// UserSigExpiry is when app's given UserSig stops working; zero for an app
// whose UserSig is made from its key (renewed as needed) or without one.
// Read at load: the reconciler asks on every pass.
func (c *Credentials) UserSigExpiry(app int64) time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.expiries[app]
}

// ParseCredentials reads the Chat API Secret: keys "<SDKAppID>.secretKey"
// (or ".userSig"), ".identifier" (default administrator) and ".endpoint"
// (default https://console.tim.qq.com). An app is refused whole when any of
// its keys is wrong: half a configuration must not be used with a default
// filled in for the wrong half. refused says which keys and why, never a
// value; refusedApps lists the apps refused.
func ParseCredentials(data map[string][]byte) (apps map[int64]chatapi.Credentials, refused []string, refusedApps []int64) {
	type parts map[string]string
	byApp := map[int64]parts{}
	bad := map[int64]bool{}
	names := map[int64]string{} // the app's key prefix as written
	for key, value := range data {
		prefix, suffix, found := strings.Cut(key, ".")
		app, err := strconv.ParseInt(prefix, 10, 64)
		if !found || err != nil || app <= 0 {
			refused = append(refused, key+": not <SDKAppID>.secretKey, .userSig, .identifier or .endpoint")
			continue
		}
		if n, seen := names[app]; seen && n != prefix {
			refused = append(refused, key+": the same SDKAppID written two ways")
			bad[app] = true
			continue
		}
		names[app] = prefix
		switch suffix {
		case keySecretKey, keyUserSig, keyIdentifier, keyEndpoint:
		default:
			refused = append(refused, key+": unknown key (want secretKey, userSig, identifier or endpoint)")
			bad[app] = true
			continue
		}
		if byApp[app] == nil {
			byApp[app] = parts{}
		}
		byApp[app][suffix] = strings.TrimSpace(string(value))
	}
	apps = map[int64]chatapi.Credentials{}
	for app, p := range byApp {
		if bad[app] {
			refusedApps = append(refusedApps, app)
			continue
		}
		cr, err := credentialsOf(app, p)
		if err != nil {
			refused = append(refused, fmt.Sprintf("%s.*: %v", names[app], err))
			refusedApps = append(refusedApps, app)
			continue
		}
		apps[app] = cr
	}
	slices.Sort(refused)
	slices.Sort(refusedApps)
	return apps, refused, refusedApps
}

func credentialsOf(app int64, p map[string]string) (chatapi.Credentials, error) {
	cr := chatapi.Credentials{AppID: app, Identifier: chatapi.DefaultIdentifier, Endpoint: chatapi.DefaultEndpoint,
		SecretKey: p[keySecretKey], UserSig: p[keyUserSig]}
	if id, ok := p[keyIdentifier]; ok {
		if id == "" {
			return cr, fmt.Errorf("%s is empty", keyIdentifier)
		}
		cr.Identifier = id
	}
	if ep, ok := p[keyEndpoint]; ok {
		cr.Endpoint = strings.TrimRight(ep, "/")
	}
	if err := chatapi.ValidateEndpoint(cr.Endpoint); err != nil {
		return cr, fmt.Errorf("%s: %w", keyEndpoint, err)
	}
	switch {
	case cr.SecretKey != "" && cr.UserSig != "":
		return cr, fmt.Errorf("both %s and %s are given; keep one", keySecretKey, keyUserSig)
	case cr.SecretKey == "" && cr.UserSig == "":
		return cr, fmt.Errorf("neither %s nor %s is given", keySecretKey, keyUserSig)
	case cr.UserSig != "":
		info, err := chatapi.DecodeUserSig(cr.UserSig)
		if err != nil {
			return cr, fmt.Errorf("%s cannot be read: %w", keyUserSig, err)
		}
		if info.AppID != app {
			return cr, fmt.Errorf("%s was made for app %d", keyUserSig, info.AppID)
		}
		if _, given := p[keyIdentifier]; !given {
			cr.Identifier = info.Identifier
		} else if info.Identifier != cr.Identifier {
			return cr, fmt.Errorf("%s was made for identifier %q, not %q", keyUserSig, info.Identifier, cr.Identifier)
		}
	}
	return cr, nil
}
