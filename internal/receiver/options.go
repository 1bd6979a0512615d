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
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
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
}

// Validate reports the first option that cannot work.
func (o Options) Validate() error {
	if o.BindAddress == "" {
		return fmt.Errorf("--callback-bind-address must not be empty")
	}
	if o.MaxSkew <= 0 {
		return fmt.Errorf("--callback-max-skew must be positive, got %s", o.MaxSkew)
	}
	return nil
}

// ParseSecretRef parses --callback-secret: "namespace/name", or "name" in
// defaultNamespace; empty means DefaultSecretName in defaultNamespace.
func ParseSecretRef(s, defaultNamespace string) (types.NamespacedName, error) {
	ref := types.NamespacedName{Namespace: defaultNamespace, Name: DefaultSecretName}
	if s != "" {
		ns, name, found := strings.Cut(s, "/")
		if !found {
			ns, name = defaultNamespace, s
		}
		ref = types.NamespacedName{Namespace: ns, Name: name}
	}
	if errs := validation.IsDNS1123Label(ref.Namespace); len(errs) > 0 {
		return ref, fmt.Errorf("--callback-secret %q: namespace %q: %s", s, ref.Namespace, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(ref.Name); len(errs) > 0 {
		return ref, fmt.Errorf("--callback-secret %q: name %q: %s", s, ref.Name, strings.Join(errs, "; "))
	}
	return ref, nil
}
