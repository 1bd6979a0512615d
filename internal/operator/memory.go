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

package operator

import (
	"fmt"
	"runtime/debug"
	"strconv"
)

// MemoryLimitEnv holds the container's memory limit in bytes: the
// Deployment sets it from the container's limits.memory.
const MemoryLimitEnv = "MEMORY_LIMIT"

// MemoryLimitShare of the container's memory limit is the Go runtime's soft
// limit: the runtime collects harder as the heap nears it, and the rest is
// room for what it does not count (stacks, the binary's pages, kernel
// buffers) before the OOM killer acts at the container's limit.
const MemoryLimitShare = 0.9

// minMemoryLimit is the smallest MEMORY_LIMIT taken for bytes: 32 MiB.
const minMemoryLimit = 32 << 20

// ApplyMemoryLimit sets the Go runtime's soft memory limit to
// MemoryLimitShare of MEMORY_LIMIT, unless GOMEMLIMIT sets one. It returns
// the limit it set, 0 for none.
func ApplyMemoryLimit(getenv func(string) string) (int64, error) {
	return applyMemoryLimit(getenv, debug.SetMemoryLimit)
}

func applyMemoryLimit(getenv func(string) string, set func(int64) int64) (int64, error) {
	raw := getenv(MemoryLimitEnv)
	if raw == "" || getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	limit, err := strconv.ParseInt(raw, 10, 64)
	// A divisor on the resourceFieldRef (1Mi) would give a soft limit of a
	// few hundred bytes: the collector would run without pause.
	if err != nil || limit < minMemoryLimit {
		return 0, fmt.Errorf("%s=%q: want the container's memory limit in bytes (no divisor), at least %d",
			MemoryLimitEnv, raw, minMemoryLimit)
	}
	soft := int64(float64(limit) * MemoryLimitShare)
	set(soft)
	return soft, nil
}
