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

// Package version says which build of the manager runs: --version, the log
// line at start and the channel_operator_build_info metric.
package version

import (
	"fmt"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Version is stamped at build time (make build, the Dockerfile:
// -ldflags "-X .../internal/version.Version=v1.2.3"); else the module's
// version, "(devel)" for a build from a checkout.
var Version string

// Info is what the binary knows of its build.
type Info struct {
	Version, Revision, GoVersion string
	// Modified: built from a work tree with uncommitted changes.
	Modified bool
}

// Get reads the build's Info.
func Get() Info {
	i := Info{Version: Version, Revision: "unknown", GoVersion: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return i
	}
	i.GoVersion = bi.GoVersion
	if i.Version == "" {
		i.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// String is the --version line.
func (i Info) String() string {
	modified := ""
	if i.Modified {
		modified = ", modified"
	}
	return fmt.Sprintf("channel-operator %s (revision %s%s, %s)", i.Version, i.Revision, modified, i.GoVersion)
}

var buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "channel_operator_build_info",
	Help: "1, labelled with the running manager's version, VCS revision and Go version.",
}, []string{"version", "revision", "go_version"})

func init() {
	metrics.Registry.MustRegister(buildInfo)
	i := Get()
	buildInfo.WithLabelValues(i.Version, i.Revision, i.GoVersion).Set(1)
}
