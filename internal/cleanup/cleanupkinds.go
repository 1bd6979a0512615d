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

package cleanup

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultCleanupKinds is the default of --cleanup-kinds: the kinds a channel's
// infrastructure is usually made of.
const DefaultCleanupKinds = "deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch," +
	"services,configmaps,secrets,persistentvolumeclaims,serviceaccounts,ingresses.networking.k8s.io," +
	"horizontalpodautoscalers.autoscaling,poddisruptionbudgets.policy"

// ParseCleanupKinds parses --cleanup-kinds: comma-separated `resource.group`,
// core resources without a group. It refuses empty entries, names that are not
// lower-case DNS labels and duplicates, so that a typo fails at start-up rather
// than silently sweeping nothing.
func ParseCleanupKinds(s string) ([]schema.GroupResource, error) {
	var kinds []schema.GroupResource
	seen := map[schema.GroupResource]bool{}
	for _, raw := range strings.Split(s, ",") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			return nil, fmt.Errorf("--cleanup-kinds %q: empty entry", s)
		}
		gr := schema.ParseGroupResource(entry)
		if errs := validation.IsDNS1123Label(gr.Resource); len(errs) > 0 {
			return nil, fmt.Errorf("--cleanup-kinds: resource %q: %s", gr.Resource, strings.Join(errs, "; "))
		}
		if gr.Group != "" {
			if errs := validation.IsDNS1123Subdomain(gr.Group); len(errs) > 0 {
				return nil, fmt.Errorf("--cleanup-kinds: group %q: %s", gr.Group, strings.Join(errs, "; "))
			}
		}
		if seen[gr] {
			return nil, fmt.Errorf("--cleanup-kinds: %q listed twice", entry)
		}
		seen[gr] = true
		kinds = append(kinds, gr)
	}
	return kinds, nil
}
