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

package image_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/channel-operator/channel-operator/hack/image"
	"github.com/channel-operator/channel-operator/test/testenv"
)

// debianBundle is the CA bundle `make image` puts in the image.
const debianBundle = "/etc/ssl/certs/ca-certificates.crt"

var static struct {
	once sync.Once
	path string
	err  error
}

// TestMain removes the static manager the tests built (tens of MB).
func TestMain(m *testing.M) {
	code := m.Run()
	if static.path != "" {
		_ = os.RemoveAll(filepath.Dir(static.path))
	}
	os.Exit(code)
}

// staticManager builds the manager as `make image` does (CGO_ENABLED=0),
// once per test binary.
func staticManager(t *testing.T) string {
	t.Helper()
	static.once.Do(func() {
		dir, err := os.MkdirTemp("", "image-test-")
		if err != nil {
			static.err = err
			return
		}
		static.path = filepath.Join(dir, "manager")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", static.path, "./cmd")
		cmd.Dir, cmd.Env = testenv.RepoRoot(), append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			static.err = &buildError{err: err, out: out}
		}
	})
	if static.err != nil {
		t.Fatal(static.err)
	}
	return static.path
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string {
	return "building the static manager: " + e.err.Error() + "\n" + string(e.out)
}

// dockerfile is what the Dockerfile's final stage says of the image.
type dockerfile struct {
	// stages are the FROM images of every stage, in order.
	stages              []string
	from, user, workdir string
	entrypoint          []string
	copied              []string // destinations, without the leading slash
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.RepoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var d dockerfile
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		args := strings.Fields(rest)
		switch strings.ToUpper(instr) {
		case "FROM": // a new stage: only the last one is the image
			d = dockerfile{stages: append(d.stages, args[0]), from: args[0]}
		case "COPY":
			d.copied = append(d.copied, strings.TrimPrefix(args[len(args)-1], "/"))
		case "USER":
			d.user = args[0]
		case "WORKDIR":
			d.workdir = args[0]
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &d.entrypoint); err != nil {
				t.Fatalf("ENTRYPOINT %s: not the exec form: %v", rest, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return d
}

// pinnedGo is a fully named Go image at a patch release on a named Debian.
var pinnedGo = regexp.MustCompile(`^docker\.io/library/golang:(1\.\d+)\.\d+-[a-z]+$`)

// The Dockerfile builds with a Go image pinned to a patch release on a named
// Debian, of the Go minor go.mod asks for: a floating tag (golang:1.26)
// builds a different manager, with another CA bundle, from day to day.
func TestTheDockerfileBuildsWithAPinnedGo(t *testing.T) {
	d := readDockerfile(t)
	if len(d.stages) != 2 {
		t.Fatalf("stages %q: want the builder and the image", d.stages)
	}
	m := pinnedGo.FindStringSubmatch(d.stages[0])
	if m == nil {
		t.Fatalf("the builder is FROM %s: want docker.io/library/golang:<1.x.y>-<debian>", d.stages[0])
	}
	mod, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (1\.\d+)`).FindSubmatch(mod)
	if goLine == nil || string(goLine[1]) != m[1] {
		t.Errorf("the builder's Go %s is not go.mod's minor %q", m[1], goLine)
	}
}

func build(t *testing.T, bundle string) v1.Image {
	t.Helper()
	img, err := image.Build(image.Spec{Binary: staticManager(t), CABundle: bundle, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// The image `make image` builds and the one the Dockerfile builds are the
// same: an empty base, the manager and the CA bundle at the paths the
// Dockerfile copies them to and nothing else, its user and entrypoint.
func TestTheImageIsWhatTheDockerfileSays(t *testing.T) {
	d := readDockerfile(t)
	if d.from != "scratch" {
		t.Errorf("the Dockerfile's image is built FROM %s: the image holds more than it says", d.from)
	}
	img := build(t, debianBundle)
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != d.user || cfg.Config.User != image.User {
		t.Errorf("user: image %q, Dockerfile %q, want %q", cfg.Config.User, d.user, image.User)
	}
	if !slices.Equal(cfg.Config.Entrypoint, d.entrypoint) || !slices.Equal(d.entrypoint, []string{image.BinaryPath}) {
		t.Errorf("entrypoint: image %q, Dockerfile %q", cfg.Config.Entrypoint, d.entrypoint)
	}
	if cfg.Config.WorkingDir != d.workdir {
		t.Errorf("working directory: image %q, Dockerfile %q", cfg.Config.WorkingDir, d.workdir)
	}
	if cfg.OS != "linux" || len(cfg.Config.Env) != 0 || len(cfg.Config.Cmd) != 0 {
		t.Errorf("config: os %q, env %q, cmd %q", cfg.OS, cfg.Config.Env, cfg.Config.Cmd)
	}

	files, err := image.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	var regular []string
	for p, f := range files {
		switch {
		case f.UID != 0 || f.GID != 0:
			t.Errorf("%s is owned by %d:%d, not root: the manager could change it", p, f.UID, f.GID)
		case f.Dir && f.Mode != 0o755:
			t.Errorf("directory %s: mode %o", p, f.Mode)
		case !f.Dir:
			regular = append(regular, p)
		}
	}
	sort.Strings(regular)
	want := slices.Clone(d.copied)
	sort.Strings(want)
	if !slices.Equal(regular, want) {
		t.Errorf("files in the image %q, the Dockerfile copies %q", regular, want)
	}

	manager := files[strings.TrimPrefix(image.BinaryPath, "/")]
	if manager.Mode != 0o755 {
		t.Errorf("manager mode %o, want 755", manager.Mode)
	}
	exe, err := elf.NewFile(bytes.NewReader(manager.Data))
	if err != nil {
		t.Fatalf("the manager is not an ELF executable: %v", err)
	}
	for _, p := range exe.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the manager is linked dynamically (it has an interpreter): it cannot run on an empty base")
		}
	}
	bundle, err := os.ReadFile(debianBundle)
	if err != nil {
		t.Fatal(err)
	}
	if got := files[strings.TrimPrefix(image.CABundlePath, "/")]; got.Mode != 0o644 || !bytes.Equal(got.Data, bundle) {
		t.Errorf("CA bundle: mode %o, %d bytes, want 644 and the %d bytes of %s", got.Mode, len(got.Data), len(bundle), debianBundle)
	}
}

// The same inputs give the same image, and what `make image` writes reads
// back as that image: the OCI layout names it, the tarball holds it.
func TestTheImageIsReproducibleAndWritten(t *testing.T) {
	first, second := build(t, debianBundle), build(t, debianBundle)
	digest, err := first.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d2, err := second.Digest(); err != nil || d2 != digest {
		t.Fatalf("two builds of the same inputs: %s and %s (%v)", digest, d2, err)
	}

	dir := t.TempDir()
	tarPath := filepath.Join(dir, "image.tar")
	const tag = "example.com/channel-operator:v0.0.0-test"
	if err := image.Write(first, tag, filepath.Join(dir, "layout"), tarPath); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(filepath.Join(dir, "layout"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Digest != digest ||
		m.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != tag {
		t.Errorf("layout index %+v, want the one image %s named %s", m.Manifests, digest, tag)
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	// A docker-style tarball: its manifest is Docker's (another digest),
	// its config and layers are the image's.
	loaded, err := tarball.ImageFromPath(tarPath, &ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []func(v1.Image) (v1.Hash, error){
		func(i v1.Image) (v1.Hash, error) { return i.ConfigName() },
		func(i v1.Image) (v1.Hash, error) {
			layers, err := i.Layers()
			if err != nil || len(layers) != 1 {
				return v1.Hash{}, fmt.Errorf("%d layers (%v), want 1", len(layers), err)
			}
			return layers[0].DiffID()
		},
	} {
		want, err := part(first)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := part(loaded); err != nil || got != want {
			t.Errorf("the tarball holds %s (%v), want %s", got, err, want)
		}
	}
}

// A missing input is an error that names it, not an image without it.
func TestAMissingInputIsNamed(t *testing.T) {
	_, err := image.Build(image.Spec{Binary: filepath.Join(t.TempDir(), "none"), CABundle: debianBundle})
	if err == nil || !strings.Contains(err.Error(), image.BinaryPath) {
		t.Fatalf("err = %v, want one naming %s", err, image.BinaryPath)
	}
}
