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

package version

import (
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestStampedVersionWins(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = "v9.8.7"
	i := Get()
	if i.Version != "v9.8.7" || i.GoVersion != runtime.Version() {
		t.Fatalf("Get() = %+v", i)
	}
	if s := i.String(); !strings.HasPrefix(s, "channel-operator v9.8.7 (revision ") || !strings.Contains(s, runtime.Version()) {
		t.Fatalf("String() = %q", s)
	}
	if s := (Info{Version: "v1", Revision: "abc", GoVersion: "go1", Modified: true}).String(); s !=
		"channel-operator v1 (revision abc, modified, go1)" {
		t.Fatalf("String() = %q", s)
	}
	if n := testutil.CollectAndCount(buildInfo); n != 1 {
		t.Fatalf("build info series: %d", n)
	}
}
