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

package callback

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestValidateAccountID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"@TOA#_news", true},
		{"@TOA#_" + strings.Repeat("x", 42), true},  // 48 bytes
		{"@TOA#_" + strings.Repeat("x", 43), false}, // 49 bytes
		{"", false},
		{"@TOA#_", false}, // the prefix without a name
		{"news", false},
		{"@toa#_news", false},
		{"@TOA#_a b", true},     // 0x20, the first printable byte
		{"@TOA#_a~b", true},     // 0x7e, the last printable byte
		{"@TOA#_a\x1fb", false}, // below printable
		{"@TOA#_a\x7fb", false}, // DEL
		{"@TOA#_caf\xc3\xa9", false},
	}
	for _, tt := range tests {
		if err := ValidateAccountID(tt.id); (err == nil) != tt.ok {
			t.Errorf("ValidateAccountID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
}

func TestTruncate(t *testing.T) {
	exact := strings.Repeat("a", 80)
	if got := truncate(exact); got != exact {
		t.Errorf("truncate of 80 bytes = %q, want it unchanged", got)
	}
	if got := truncate(exact + "b"); got != exact+"..." {
		t.Errorf("truncate of 81 bytes = %q", got)
	}
}

func TestIsKnownCommand(t *testing.T) {
	for _, cmd := range KnownCommands {
		if !IsKnownCommand(cmd) {
			t.Errorf("IsKnownCommand(%q) = false", cmd)
		}
	}
	for _, cmd := range []string{"", "OfficialAccount.CallbackSomethingNew", "Group.CallbackAfterCreateGroup"} {
		if IsKnownCommand(cmd) {
			t.Errorf("IsKnownCommand(%q) = true", cmd)
		}
	}
}

// A FAIL is never answered 200, whatever its code; an OK always is.
func TestWriteStatus(t *testing.T) {
	tests := []struct {
		answer Answer
		want   int
	}{
		{OK(), http.StatusOK},
		{Fail(400, "bad"), 400},
		{Fail(599, "odd"), 599},
		{Fail(399, "not an error code"), http.StatusInternalServerError},
		{Fail(600, "not an HTTP code"), http.StatusInternalServerError},
		{Fail(0, "no code"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		Write(w, tt.answer)
		if w.Code != tt.want || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("Write(%+v): status %d, Content-Type %q; want %d", tt.answer, w.Code, w.Header().Get("Content-Type"), tt.want)
		}
	}
}

// Call leaves out the informational parameters it was not given.
func TestCallOmitsEmptyParameters(t *testing.T) {
	raw, err := Call{SDKAppID: 1, Command: CommandDestroyed}.URL("http://receiver/callback")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{ParamClientIP, ParamOptPlatform, ParamRequestTime, ParamSign} {
		if u.Query().Has(p) {
			t.Errorf("URL %s has %s", raw, p)
		}
	}
}

// A Sign compared with == or != would pass every behavioural test: this
// reads Verify's source and requires the constant-time comparison, and no
// other comparison of the Sign.
func TestSignIsComparedInConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "callback.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var verify *ast.FuncDecl
	for _, d := range file.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "Verify" {
			verify = fn
		}
	}
	if verify == nil {
		t.Fatal("no Verify in callback.go")
	}
	constantTime := false
	ast.Inspect(verify, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && x.Name == "subtle" && n.Sel.Name == "ConstantTimeCompare" {
				constantTime = true
			}
		case *ast.BinaryExpr:
			// Comparing with a literal ("" for a missing Sign) tells nothing.
			_, xLit := n.X.(*ast.BasicLit)
			_, yLit := n.Y.(*ast.BasicLit)
			for _, side := range []ast.Expr{n.X, n.Y} {
				if sel, ok := side.(*ast.SelectorExpr); ok && sel.Sel.Name == "Sign" && !xLit && !yLit &&
					(n.Op == token.EQL || n.Op == token.NEQ) {
					t.Errorf("%s: the Sign is compared with %s", fset.Position(n.Pos()), n.Op)
				}
			}
		}
		return true
	})
	if !constantTime {
		t.Error("Verify does not call subtle.ConstantTimeCompare")
	}
}
