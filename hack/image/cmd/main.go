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

// Command image builds the operator's image without a container engine
// (`make image`): an OCI image layout and a tarball for `docker load` or
// `kind load image-archive`.
package main

import (
	"flag"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/channel-operator/channel-operator/hack/image"
)

func main() {
	var s image.Spec
	var tag, dir, tarPath string
	var pause bool
	flag.StringVar(&s.Binary, "binary", "bin/manager-linux", "the static manager binary (CGO_ENABLED=0)")
	flag.StringVar(&s.CABundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "the PEM bundle of the CAs the image trusts")
	flag.StringVar(&s.Version, "version", "dev", "the version the image is labelled with")
	flag.StringVar(&s.Arch, "arch", "", "GOARCH of the binary (default: this machine's)")
	flag.StringVar(&tag, "tag", "channel-operator:dev", "the image's name and tag")
	flag.StringVar(&dir, "layout", "bin/image", "the OCI image layout directory to write (replaced)")
	flag.StringVar(&tarPath, "tar", "bin/channel-operator-image.tar", "the tarball to write; empty: none")
	flag.BoolVar(&pause, "pause", false, "build the pod sandbox image of make test-cluster's node from -binary (the pause program) instead")
	flag.Parse()

	var img v1.Image
	var err error
	if pause {
		img, err = image.Pause(s.Binary, s.Arch)
	} else {
		img, err = image.Build(s)
	}
	if err == nil {
		err = image.Write(img, tag, dir, tarPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	digest, err := img.Digest()
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("%s %s -> %s, %s\n", tag, digest, dir, tarPath)
}
