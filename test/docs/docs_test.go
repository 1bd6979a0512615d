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

// Package docs holds the README and docs/ to what the repository is: every
// link leads somewhere, every make target and command flag they name exists,
// and the phase diagram names every phase and reason the API has. (The flag
// table is checked in internal/operator, the metric table against a live
// scrape in test/e2e.)
package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/channel-operator/channel-operator/test/testenv"
)

// pages are the README and every page of docs/, by path from the root.
func pages(t *testing.T) map[string]string {
	t.Helper()
	root := testenv.RepoRoot()
	paths, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range append(paths, filepath.Join(root, "README.md")) {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = string(raw)
	}
	return out
}

// The README is a door, not the reference.
func TestTheReadmeIsShort(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) >= 10*1024 {
		t.Errorf("README.md is %d bytes: keep it under 10 KiB, the reference goes to docs/", len(raw))
	}
	if !strings.Contains(string(raw), "```mermaid") {
		t.Error("README.md has lost its diagram of a destruction's flow")
	}
}

var (
	link    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile("(?m)^#{1,6} +(.+)$")
)

// slug is the anchor GitHub gives a heading.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ' || r == '-':
			b.WriteRune('-')
		case r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Every relative link of the README and docs/ leads to a file of the
// repository, and a #fragment to a heading of it.
func TestEveryLinkLeadsSomewhere(t *testing.T) {
	root := testenv.RepoRoot()
	all := pages(t)
	for page, text := range all {
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, fragment, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
				if _, err := os.Stat(filepath.Join(root, path)); err != nil {
					t.Errorf("%s links to %s, which does not exist", page, target)
					continue
				}
			}
			if fragment == "" {
				continue
			}
			body, ok := all[filepath.ToSlash(path)]
			if !ok {
				t.Errorf("%s links to a heading of %s, which is not a page", page, target)
				continue
			}
			found := false
			for _, h := range heading.FindAllStringSubmatch(body, -1) {
				if slug(h[1]) == fragment {
					found = true
				}
			}
			if !found {
				t.Errorf("%s links to %s: no such heading", page, target)
			}
		}
	}
}

// makeCall is a make target as the pages write it in prose (`make x`);
// makeLine, a line of a code block that runs it.
var (
	makeCall = regexp.MustCompile("`make ([a-z][a-z0-9-]*)")
	makeLine = regexp.MustCompile(`^\s*(?:\$ )?make ([a-z][a-z0-9-]*)`)
)

// makeTargets lists the make targets text names, in prose and in its code
// blocks.
func makeTargets(text string) []string {
	var names []string
	for _, m := range makeCall.FindAllStringSubmatch(text, -1) {
		names = append(names, m[1])
	}
	inCode := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		if m := makeLine.FindStringSubmatch(line); inCode && m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

// Every `make <target>` the pages name is a target of the Makefile, and
// every flag they give bin/send-callback is one of its flags.
func TestEveryCommandTheDocsNameExists(t *testing.T) {
	root := testenv.RepoRoot()
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z0-9 -]*):`).FindAllStringSubmatch(string(makefile), -1) {
		for _, name := range strings.Fields(m[1]) {
			targets[name] = true
		}
	}
	sender, err := os.ReadFile(filepath.Join(root, "cmd", "send-callback", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	senderFlags := map[string]bool{}
	for _, m := range regexp.MustCompile(`flag\.\w+\("([a-z-]+)"`).FindAllStringSubmatch(string(sender), -1) {
		senderFlags[m[1]] = true
	}
	if len(targets) < 10 || len(senderFlags) < 5 {
		t.Fatalf("read %d make targets and %d send-callback flags: the patterns no longer match", len(targets), len(senderFlags))
	}
	for page, text := range pages(t) {
		for _, name := range makeTargets(text) {
			if !targets[name] {
				t.Errorf("%s names `make %s`, which the Makefile does not have", page, name)
			}
		}
		for _, line := range strings.Split(text, "\n") {
			_, call, ok := strings.Cut(line, "bin/send-callback ")
			if !ok {
				continue
			}
			for _, f := range regexp.MustCompile(`--([a-z-]+)`).FindAllStringSubmatch(call, -1) {
				if !senderFlags[f[1]] {
					t.Errorf("%s gives bin/send-callback --%s, which it does not have", page, f[1])
				}
			}
		}
	}
}

// apiConstants are the values of the API's constants whose names start
// with prefix (Phase, Reason).
func apiConstants(t *testing.T, prefix string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(),
		filepath.Join(testenv.RepoRoot(), "api", "v1alpha1", "officialchannel_types.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, prefix) || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
					v, _ := strconv.Unquote(lit.Value)
					values = append(values, v)
				}
			}
		}
	}
	return values
}

// docs/api.md draws every phase in its state diagram and names every
// condition reason the API defines.
func TestThePhaseDiagramHasEveryPhaseAndReason(t *testing.T) {
	api := pages(t)[filepath.Join("docs", "api.md")]
	_, after, ok := strings.Cut(api, "```mermaid\nstateDiagram-v2\n")
	diagram, _, closed := strings.Cut(after, "```")
	if !ok || !closed {
		t.Fatal("docs/api.md has no stateDiagram-v2 block")
	}
	phases, reasons := apiConstants(t, "Phase"), apiConstants(t, "Reason")
	if len(phases) != 5 || len(reasons) < 20 {
		t.Fatalf("read %d phases and %d reasons from the API: the parser no longer finds them", len(phases), len(reasons))
	}
	word := func(text, w string) bool { return regexp.MustCompile(`\b` + w + `\b`).MatchString(text) }
	for _, p := range phases {
		if !word(diagram, p) {
			t.Errorf("the phase diagram of docs/api.md lacks the phase %s", p)
		}
	}
	for _, r := range reasons {
		if !word(api, r) {
			t.Errorf("docs/api.md does not name the reason %s", r)
		}
	}
}
