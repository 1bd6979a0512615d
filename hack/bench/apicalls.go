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

// API calls: what the API server served during a run, by verb and resource,
// from its own metrics, so that a ratio can be explained by the calls that
// make it. It goes to the log and measures nothing for the report.

package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// apiCalls are the API server's request counts and summed seconds by
// "VERB resource[/subresource]".
type apiCalls map[string]struct{ n, seconds float64 }

// apiServerCalls reads the API server's request counters (mutating verbs
// only: reads are served from its watch cache and cost little).
func (b *bench) apiServerCalls() (apiCalls, error) {
	cs, err := kubernetes.NewForConfig(b.env.Config)
	if err != nil {
		return nil, err
	}
	raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(b.ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	calls := apiCalls{}
	for _, line := range strings.Split(string(raw), "\n") {
		var count bool
		switch {
		case strings.HasPrefix(line, "apiserver_request_total{"):
			count = true
		case strings.HasPrefix(line, "apiserver_request_duration_seconds_sum{"):
		default:
			continue
		}
		labels, value, ok := strings.Cut(line[strings.Index(line, "{")+1:], "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		l := map[string]string{}
		for _, kv := range strings.Split(labels, ",") {
			if k, val, ok := strings.Cut(kv, "="); ok {
				l[k] = strings.Trim(val, `"`)
			}
		}
		switch l["verb"] {
		case "POST", "PUT", "PATCH", "DELETE", "APPLY":
		default:
			continue
		}
		key := l["verb"] + " " + l["resource"]
		if l["subresource"] != "" {
			key += "/" + l["subresource"]
		}
		if code := l["code"]; count && code != "" && !strings.HasPrefix(code, "2") {
			refused := calls[key+" "+code] // conflicts, not found: also counted in key
			refused.n += v
			calls[key+" "+code] = refused
		}
		c := calls[key]
		if count {
			c.n += v
		} else {
			c.seconds += v
		}
		calls[key] = c
	}
	return calls, nil
}

// apiServerCallsOrLog is apiServerCalls, nil (and logged) when the API
// server's metrics cannot be read: they only explain a run, never fail it.
func (b *bench) apiServerCallsOrLog() apiCalls {
	calls, err := b.apiServerCalls()
	if err != nil {
		logf("API writes not counted: %v", err)
	}
	return calls
}

// since is the calls made between before and c, largest count first.
func (c apiCalls) since(before apiCalls) string {
	type row struct {
		key        string
		n, seconds float64
	}
	var rows []row
	for k, v := range c {
		if n := v.n - before[k].n; n > 0 {
			rows = append(rows, row{k, n, v.seconds - before[k].seconds})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].n > rows[j].n })
	parts := make([]string, 0, len(rows))
	for _, r := range rows {
		if r.seconds == 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f", r.key, r.n))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.0f (%.1f ms each)", r.key, r.n, 1000*r.seconds/r.n))
	}
	return strings.Join(parts, ", ")
}
