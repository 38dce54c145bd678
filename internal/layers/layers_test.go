package layers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rows lists the module's top-level folders from the bottom layer to the
// top. A package may import module packages from rows strictly below its own,
// and packages of its own row (its own subtree: data/synth may import data).
// internal/... is shared plumbing at the very bottom.
var rows = []string{"internal", "data", "irt", "models", "eval", "train", "serve", "cmd"}

// forbiddenPairs are pairs of rows that must never import each other, in
// either direction, whatever their order in rows.
var forbiddenPairs = [][2]string{{"train", "serve"}}

// gomlxPrefix is the import path prefix of GoMLX, which only gomlxRow may
// import.
const (
	gomlxPrefix = "github.com/gomlx/"
	gomlxRow    = "train"
)

// rowOf returns the row index and name of a module package given by its path
// relative to the module root ("" for the root package), or ok false if the
// package belongs to no row.
func rowOf(rel string) (idx int, name string, ok bool) {
	top, _, _ := strings.Cut(rel, "/")
	i := slices.Index(rows, top)
	if i < 0 {
		return -1, "", false
	}
	return i, top, true
}

// relPath returns path relative to module, and whether path is in module.
func relPath(module, path string) (string, bool) {
	if path == module {
		return "", true
	}
	rel, ok := strings.CutPrefix(path, module+"/")
	return rel, ok
}

// checkImport reports whether module package from may import path to.
func checkImport(module, from, to string) error {
	fromRel, ok := relPath(module, from)
	if !ok {
		return fmt.Errorf("%s is not a package of module %s", from, module)
	}
	fromIdx, fromRow, ok := rowOf(fromRel)
	if !ok {
		return fmt.Errorf("%s belongs to no layer: add its top folder to rows in internal/layers/layers_test.go", from)
	}
	if (to == strings.TrimSuffix(gomlxPrefix, "/") || strings.HasPrefix(to, gomlxPrefix)) && fromRow != gomlxRow {
		return fmt.Errorf("%s imports %s: only %s/... may import GoMLX", from, to, gomlxRow)
	}
	toRel, ok := relPath(module, to)
	if !ok {
		return nil // standard library and other modules are free
	}
	toIdx, toRow, ok := rowOf(toRel)
	if !ok {
		return fmt.Errorf("%s imports %s, which belongs to no layer", from, to)
	}
	for _, p := range forbiddenPairs {
		if (fromRow == p[0] && toRow == p[1]) || (fromRow == p[1] && toRow == p[0]) {
			return fmt.Errorf("%s imports %s: %s and %s must never import each other", from, to, p[0], p[1])
		}
	}
	if toIdx > fromIdx {
		return fmt.Errorf("%s imports %s: layer %s may not import the higher layer %s (order: %s)",
			from, to, fromRow, toRow, strings.Join(rows, " < "))
	}
	return nil
}

// pkg is the part of `go list -json` output the rules look at.
type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// violation is one broken rule: package From imports To (To is empty when
// From itself belongs to no layer).
type violation struct {
	From, To string
	Err      error
}

func (v violation) String() string { return v.Err.Error() }

// check applies the rules to every import of pkgs, tests included, and
// returns one violation per broken rule. Packages outside module are ignored.
func check(module string, pkgs []pkg) []violation {
	var vs []violation
	for _, p := range pkgs {
		fromRel, ok := relPath(module, p.ImportPath)
		if !ok {
			continue
		}
		if _, _, ok := rowOf(fromRel); !ok {
			vs = append(vs, violation{p.ImportPath, "", fmt.Errorf("%s belongs to no layer: add its top folder to rows in internal/layers/layers_test.go", p.ImportPath)})
			continue
		}
		for _, imps := range [][]string{p.Imports, p.TestImports, p.XTestImports} {
			for _, to := range imps {
				if to == p.ImportPath {
					continue // an external test package importing its own package
				}
				if err := checkImport(module, p.ImportPath, to); err != nil {
					vs = append(vs, violation{p.ImportPath, to, err})
				}
			}
		}
	}
	return vs
}

// goList runs the go command with args in dir and returns its stdout.
func goList(t *testing.T, gobin, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(gobin, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestModuleLayering checks the real import graph of the module.
func TestModuleLayering(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	gomod := strings.TrimSpace(string(goList(t, gobin, ".", "env", "GOMOD")))
	if gomod == "" || gomod == "/dev/null" {
		t.Fatalf("not inside a module (go env GOMOD = %q)", gomod)
	}
	root := filepath.Dir(gomod)
	module := strings.TrimSpace(string(goList(t, gobin, root, "list", "-m")))

	// -e: a package that does not compile is still listed with its imports;
	// compiling is go build's job, the layering is ours.
	out := goList(t, gobin, root, "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports", "./...")
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	self := module + "/internal/layers"
	if !slices.ContainsFunc(pkgs, func(p pkg) bool { return p.ImportPath == self }) {
		t.Fatalf("go list ./... in %s did not list %s; got %d packages", root, self, len(pkgs))
	}
	for _, v := range check(module, pkgs) {
		t.Error(v)
	}
	t.Logf("checked %d packages of %s", len(pkgs), module)
}

const testModule = "example.com/rk"

// m returns the full import path of a package of testModule.
func m(rel string) string { return testModule + "/" + rel }

func TestCheckImport(t *testing.T) {
	tests := []struct {
		from string // relative to testModule
		to   string // full import path
		ok   bool
	}{
		// Allowed: lower rows, own subtree, outside the module.
		{"data/synth", m("data"), true},
		{"data", m("data/synth"), true},
		{"irt", m("data"), true},
		{"models", m("irt"), true},
		{"models/encoder", m("models/artifact"), true},
		{"eval", m("models"), true},
		{"train", m("eval"), true},
		{"train/export", m("data/synth"), true},
		{"serve", m("models/artifact"), true},
		{"serve", m("eval"), true},
		{"cmd/routekit", m("serve"), true},
		{"cmd/routekit", m("train"), true},
		{"cmd/routekit", m("cmd/other"), true},
		{"data", m("internal/x"), true},
		{"internal/x", m("internal/y"), true},
		{"data", "fmt", true},
		{"data", "github.com/apache/arrow-go/v18/parquet", true},
		{"train", "github.com/gomlx/gomlx/graph", true},
		{"train/mf", "github.com/gomlx/gomlx", true},

		// Rejected: upward imports.
		{"data", m("models"), false},
		{"data/synth", m("irt"), false},
		{"irt", m("models"), false},
		{"models", m("eval"), false},
		{"eval", m("train"), false},
		{"train", m("serve"), false},
		{"serve", m("cmd/routekit"), false},
		{"internal/x", m("data"), false},
		// Rejected: serve and train never import each other.
		{"serve", m("train"), false},
		{"serve/proxy", m("train/gate"), false},
		// Rejected: GoMLX outside train.
		{"models", "github.com/gomlx/gomlx/graph", false},
		{"serve", "github.com/gomlx/gopjrt", false},
		{"cmd/routekit", "github.com/gomlx/gomlx", false},
		// Rejected: packages outside any row.
		{"tools", m("data"), false},
		{"data", m("tools/gen"), false},
		{"", m("data"), false},
	}
	for _, tc := range tests {
		from := testModule
		if tc.from != "" {
			from += "/" + tc.from
		}
		err := checkImport(testModule, from, tc.to)
		if got := err == nil; got != tc.ok {
			t.Errorf("checkImport(%s -> %s): allowed = %v, want %v (err: %v)", tc.from, tc.to, got, tc.ok, err)
		}
	}
}

func TestCheckGraph(t *testing.T) {
	graph := []pkg{
		{ImportPath: m("data"), Imports: []string{"fmt", m("internal/layers")}},
		{ImportPath: m("data/synth"), Imports: []string{m("data")}, XTestImports: []string{m("data/synth"), "testing"}},
		{ImportPath: m("models"), Imports: []string{m("irt"), m("data")}, TestImports: []string{m("train")}},
		{ImportPath: m("serve"), Imports: []string{m("models"), m("train")}},
		{ImportPath: m("eval"), Imports: []string{"github.com/gomlx/gomlx/graph"}},
		{ImportPath: m("train"), Imports: []string{"github.com/gomlx/gomlx/graph", m("eval")}},
		{ImportPath: m("irt"), XTestImports: []string{m("models")}},
		{ImportPath: m("cmd/routekit"), Imports: []string{m("serve"), m("train"), m("data/synth")}},
		{ImportPath: m("scratch"), Imports: []string{m("data")}},
		{ImportPath: "other.org/x", Imports: []string{m("cmd/routekit")}},
	}
	var got []string
	for _, v := range check(testModule, graph) {
		got = append(got, v.From+" -> "+v.To)
	}
	want := []string{
		m("models") + " -> " + m("train"), // upward, from an in-package test
		m("serve") + " -> " + m("train"),  // serve and train never import each other
		m("eval") + " -> github.com/gomlx/gomlx/graph",
		m("irt") + " -> " + m("models"), // upward, from an external test
		m("scratch") + " -> ",           // no layer
	}
	if !slices.Equal(got, want) {
		t.Errorf("check found:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	// The allowed part of the graph passes.
	if vs := check(testModule, graph[:2]); len(vs) != 0 {
		t.Errorf("clean graph: unexpected violations %v", vs)
	}
}
