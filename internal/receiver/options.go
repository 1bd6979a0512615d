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
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// DefaultSecretName is the callback Secret's name when --callback-secret names none.
const DefaultSecretName = "channel-operator-callback"

// Options configure the callback receiver; cmd/main.go fills them from flags.
type Options struct {
	// BindAddress is where the receiver listens (--callback-bind-address).
	BindAddress string
	// Secret holds the accepted apps and their tokens (--callback-secret).
	Secret types.NamespacedName
	// MaxSkew bounds how far RequestTime may be from now (--callback-max-skew).
	MaxSkew time.Duration
	// AllowUnsigned accepts unsigned callbacks for apps with an empty token
	// (--allow-unsigned-callbacks).
	AllowUnsigned bool
	// MaxInflight bounds callbacks handled at once; beyond it the receiver
	// answers 503 at once (--callback-max-inflight).
	MaxInflight int
	// AnswerBudget is how long a callback may take to be recorded before it
	// is answered FAIL. The Chat backend waits 2 s.
	AnswerBudget time.Duration
	// MaxConnections bounds the connections held open (--callback-max-connections),
	// MaxConnectionsPerIP those from one address (--callback-max-connections-per-ip).
	MaxConnections, MaxConnectionsPerIP int
	// ProxyHops is how many proxies that append to X-Forwarded-For stand in
	// front of the receiver (--callback-proxy-hops); 0: the TCP peer is the
	// sender.
	ProxyHops int
	// Timeouts of the HTTP server.
	Timeouts Timeouts
}

// DefaultAnswerBudget leaves the answer well inside the Chat backend's 2 s.
const DefaultAnswerBudget = 1200 * time.Millisecond

// Validate reports the first option that cannot work.
func (o Options) Validate() error {
	if o.BindAddress == "" {
		return fmt.Errorf("--callback-bind-address must not be empty")
	}
	if o.MaxSkew <= 0 {
		return fmt.Errorf("--callback-max-skew must be positive, got %s", o.MaxSkew)
	}
	if o.MaxInflight <= 0 {
		return fmt.Errorf("--callback-max-inflight must be positive, got %d", o.MaxInflight)
	}
	if o.MaxConnections <= 0 || o.MaxConnectionsPerIP <= 0 {
		return fmt.Errorf("--callback-max-connections and --callback-max-connections-per-ip must be positive, got %d and %d",
			o.MaxConnections, o.MaxConnectionsPerIP)
	}
	if o.ProxyHops < 0 {
		return fmt.Errorf("--callback-proxy-hops must not be negative, got %d", o.ProxyHops)
	}
	if o.Timeouts.ReadHeader <= 0 || o.Timeouts.Read <= 0 || o.Timeouts.Write <= 0 || o.Timeouts.Idle <= 0 ||
		o.Timeouts.UntrustedIdle <= 0 {
		return fmt.Errorf("receiver timeouts must be positive: %+v", o.Timeouts)
	}
	if o.AnswerBudget <= 0 || o.AnswerBudget >= 2*time.Second {
		return fmt.Errorf("answer budget %s must be positive and below the Chat backend's 2s timeout", o.AnswerBudget)
	}
	return nil
}
