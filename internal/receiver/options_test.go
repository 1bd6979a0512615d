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
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	good := Options{BindAddress: ":8082", MaxSkew: time.Minute, MaxInflight: 1, AnswerBudget: DefaultAnswerBudget, Timeouts: DefaultTimeouts,
		MaxConnections: 1, MaxConnectionsPerIP: 1}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	tests := []struct {
		name    string
		mod     func(*Options)
		wantErr string
	}{
		{"no address", func(o *Options) { o.BindAddress = "" }, "--callback-bind-address"},
		{"zero skew", func(o *Options) { o.MaxSkew = 0 }, "--callback-max-skew"},
		{"negative skew", func(o *Options) { o.MaxSkew = -time.Second }, "--callback-max-skew"},
		{"no in-flight slot", func(o *Options) { o.MaxInflight = 0 }, "--callback-max-inflight"},
		{"no read timeout", func(o *Options) { o.Timeouts.Read = 0 }, "timeouts"},
		{"no read-header timeout", func(o *Options) { o.Timeouts.ReadHeader = 0 }, "timeouts"},
		{"no write timeout", func(o *Options) { o.Timeouts.Write = 0 }, "timeouts"},
		{"no idle timeout", func(o *Options) { o.Timeouts.Idle = 0 }, "timeouts"},
		{"no untrusted idle timeout", func(o *Options) { o.Timeouts.UntrustedIdle = 0 }, "timeouts"},
		{"no connection", func(o *Options) { o.MaxConnections = 0 }, "--callback-max-connections"},
		{"no connection per address", func(o *Options) { o.MaxConnectionsPerIP = 0 }, "--callback-max-connections-per-ip"},
		{"negative proxy hops", func(o *Options) { o.ProxyHops = -1 }, "--callback-proxy-hops"},
		{"no budget", func(o *Options) { o.AnswerBudget = 0 }, "answer budget"},
		{"budget past the Chat backend's 2 s", func(o *Options) { o.AnswerBudget = 2 * time.Second }, "answer budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.mod(&o)
			if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error about %s", err, tt.wantErr)
			}
		})
	}
}
