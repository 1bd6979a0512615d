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

// Package image builds the operator's container image without a container
// engine, with go-containerregistry: the image the Dockerfile describes
// (the static manager binary and a CA bundle on an empty base, user
// 65532, entrypoint /manager), one layer, reproducible (the same inputs give
// the same digest). The Dockerfile stays for users with Docker; the tests
// check that both describe the same image.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image holds, as the Dockerfile's final stage says it.
const (
	// BinaryPath is the manager, the entrypoint.
	BinaryPath = "/manager"
	// CABundlePath is where Go's crypto/x509 looks first on Linux: the
	// bundle the manager trusts for Chat's REST API, and nothing else.
	CABundlePath = "/etc/ssl/certs/ca-certificates.crt"
	// User is the non-root user and group the manager runs as.
	User = "65532:65532"
)

// Spec says what to build the image from.
type Spec struct {
	// Binary is the static (CGO_ENABLED=0) manager for linux/Arch.
	Binary string
	// CABundle is a PEM bundle of the CAs to trust (Debian's
	// ca-certificates in `make image`).
	CABundle string
	// Version labels the image (org.opencontainers.image.version).
	Version string
	// Arch is the GOARCH of Binary; runtime.GOARCH when empty.
	Arch string
}

// Build returns the image of s.
func Build(s Spec) (v1.Image, error) {
	layer, err := layerOf([]string{"etc/", "etc/ssl/", "etc/ssl/certs/"}, []file{
		{BinaryPath, s.Binary, 0o755},
		{CABundlePath, s.CABundle, 0o644},
	})
	if err != nil {
		return nil, err
	}
	return withConfig(layer, s.Arch, func(c *v1.Config) {
		c.User = User
		c.Entrypoint = []string{BinaryPath}
		c.WorkingDir = "/"
		c.Labels = map[string]string{
			"org.opencontainers.image.version": s.Version,
			"org.opencontainers.image.source":  "https://github.com/channel-operator/channel-operator",
		}
	})
}

// PausePath is the pause image's entrypoint.
const PausePath = "/pause"

// Pause returns the pod sandbox ("pause") image of make test-cluster's
// node, which can pull nothing: the static binary at PausePath, run as
// 65535 as the upstream image is.
func Pause(binary, arch string) (v1.Image, error) {
	layer, err := layerOf(nil, []file{{PausePath, binary, 0o755}})
	if err != nil {
		return nil, err
	}
	return withConfig(layer, arch, func(c *v1.Config) {
		c.User = "65535:65535"
		c.Entrypoint = []string{PausePath}
	})
}

// withConfig is the one-layer linux image of layer for arch (this
// machine's when empty), created at the epoch, its runtime configuration
// set by configure.
func withConfig(layer v1.Layer, arch string, configure func(*v1.Config)) (v1.Image, error) {
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, fmt.Errorf("adding the layer: %w", err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	if cfg.Architecture == "" {
		cfg.Architecture = runtime.GOARCH
	}
	cfg.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	configure(&cfg.Config)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("setting the config: %w", err)
	}
	return img, nil
}

// file is a regular file of a layer: its path in the image, the file it is
// read from, its mode.
type file struct {
	path, src string
	mode      int64
}

// layerOf is a layer of dirs and files, owned by root, with a fixed time.
func layerOf(dirs []string, files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0).UTC()
	for _, dir := range dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch,
			Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f.src)
		if err != nil {
			return nil, fmt.Errorf("reading %s for %s: %w", f.src, f.path, err)
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.path, "/"), Mode: f.mode,
			Size: int64(len(data)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// Write saves img as an OCI image layout in dir (replaced) and, when tar is
// set, as a tarball tagged tag that `docker load` and `kind load
// image-archive` take.
func Write(img v1.Image, tag, dir, tarPath string) error {
	ref, err := name.NewTag(tag, name.WeakValidation)
	if err != nil {
		return fmt.Errorf("image tag %q: %w", tag, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing the image layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref.Name(),
	})); err != nil {
		return fmt.Errorf("writing the image into %s: %w", dir, err)
	}
	if tarPath == "" {
		return nil
	}
	if err := tarball.WriteToFile(tarPath, ref, img); err != nil {
		return fmt.Errorf("writing %s: %w", tarPath, err)
	}
	return nil
}

// File is a regular file or directory of an image's filesystem.
type File struct {
	Mode     int64
	UID, GID int
	Dir      bool
	Data     []byte
}

// Files reads img's filesystem (its layers flattened), by path without
// the leading slash.
func Files(img v1.Image) (map[string]File, error) {
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	files := map[string]File{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		f := File{Mode: h.Mode & 0o7777, UID: h.Uid, GID: h.Gid, Dir: h.Typeflag == tar.TypeDir}
		if h.Typeflag == tar.TypeReg {
			if f.Data, err = io.ReadAll(tr); err != nil {
				return nil, err
			}
		} else if !f.Dir {
			return nil, fmt.Errorf("%s: neither a file nor a directory (type %c)", h.Name, h.Typeflag)
		}
		files[path.Clean(h.Name)] = f
	}
}

// Unpack writes img's filesystem under root, with its modes and owners:
// a root filesystem to run the image's entrypoint in (chroot).
func Unpack(img v1.Image, root string) error {
	files, err := Files(img)
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths) // parents first
	for _, p := range paths {
		f, full := files[p], path.Join(root, p)
		if f.Dir {
			err = os.MkdirAll(full, os.FileMode(f.Mode))
		} else {
			err = os.WriteFile(full, f.Data, os.FileMode(f.Mode))
		}
		if err == nil {
			err = os.Chmod(full, os.FileMode(f.Mode))
		}
		if err == nil && os.Geteuid() == 0 {
			err = os.Lchown(full, f.UID, f.GID)
		}
		if err != nil {
			return fmt.Errorf("unpacking %s: %w", p, err)
		}
	}
	return nil
}
