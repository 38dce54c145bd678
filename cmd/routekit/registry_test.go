package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/artifact/artifacttest"
	"github.com/routekit/routekit/models/encoder"
)

// newTestRegistry adds n versions of a real kNN artifact as router "qa"
// (validation AUC 0.7, 0.8, ...) and returns the registry.
func newTestRegistry(t *testing.T, n int) *artifact.Registry {
	t.Helper()
	m, blobs, err := artifact.Read(artifacttest.KNN(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	r, err := artifact.OpenRegistry(filepath.Join(t.TempDir(), "reg"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		m.Validation = map[string]float64{"auc": 0.7 + 0.1*float64(i), "log_loss": 0.5, "points": 120}
		if _, err := r.Add("qa", *m, blobs); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// tableRow matches a row of 'registry list' by name, version and the
// CURRENT column ("yes", "rollback" or empty).
func tableRow(t *testing.T, out, name, id, cur string) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + name + `\s+` + id + `\s+knn\s+\S+Z\s+` + cur + `\s*auc=`)
	if !re.MatchString(out) {
		t.Errorf("no row %s %s %q in:\n%s", name, id, cur, out)
	}
}

func TestRegistryCommands(t *testing.T) {
	r := newTestRegistry(t, 3)
	root := r.Root()

	out := mustRun(t, "registry", "list", "--registry", root)
	if !strings.HasPrefix(out, "NAME") || !strings.Contains(out, "auc=0.9 log_loss=0.5 points=120") {
		t.Errorf("list:\n%s", out)
	}
	tableRow(t, out, "qa", "v1", "yes")
	tableRow(t, out, "qa", "v3", "")

	got := mustRun(t, "registry", "promote", "--registry", root, "--name", "qa", "--version", "v3")
	if got != "promoted qa v3 (was v1)\n" {
		t.Errorf("promote printed %q", got)
	}
	out = mustRun(t, "registry", "list", "--registry", root, "--name", "qa")
	tableRow(t, out, "qa", "v3", "yes")
	tableRow(t, out, "qa", "v1", "rollback")

	// The CURRENT version is a real artifact that loads and routes.
	cur, err := r.Current("qa")
	if err != nil {
		t.Fatal(err)
	}
	l, err := artifact.Load(context.Background(), cur.Dir, encoder.ONNXConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := l.Route(context.Background(), "what is four plus nine", models.Request{}); err != nil || d.Model != "cheap" {
		t.Errorf("routing with the current version: %+v, %v", d, err)
	}

	// A version with a damaged blob is refused and CURRENT stays.
	if err := os.WriteFile(filepath.Join(root, "qa", "v2", "scorer.bin"), []byte("not the weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "registry", "promote", "--registry", root, "--name", "qa", "--version", "v2")
	if code != exitError || !strings.Contains(errs, "refusing to promote qa v2") || !strings.Contains(errs, "blob scorer.bin") {
		t.Errorf("promote a corrupt version: exit %d, %q", code, errs)
	}
	// list shows the damage only with --verify.
	if out := mustRun(t, "registry", "list", "--registry", root); strings.Contains(out, "error") {
		t.Errorf("list without --verify read the blobs:\n%s", out)
	}
	out = mustRun(t, "registry", "list", "--registry", root, "--verify")
	if !regexp.MustCompile(`(?m)^qa\s+v2\s+\?\s+\S+Z\s+error: artifact \S+: blob scorer.bin: size or sha256 differs`).MatchString(out) {
		t.Errorf("list --verify:\n%s", out)
	}
	tableRow(t, out, "qa", "v3", "yes")
	var list struct {
		Routers []struct {
			Name           string
			Current        string
			RollbackTarget string `json:"rollback_target"`
			Versions       []struct {
				ID         string
				Current    bool
				Validation map[string]float64
			}
			History []artifact.Event
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, "registry", "list", "--registry", root, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Routers) != 1 || list.Routers[0].Current != "v3" || list.Routers[0].RollbackTarget != "v1" ||
		len(list.Routers[0].Versions) != 3 || list.Routers[0].Versions[2].Validation["auc"] < 0.85 || len(list.Routers[0].History) != 5 {
		t.Errorf("list --json: %+v", list)
	}

	got = mustRun(t, "registry", "rollback", "--registry", root, "--name", "qa")
	if got != "rolled qa back to v1 (was v3)\n" {
		t.Errorf("rollback printed %q", got)
	}
	code, _, errs = runCLI(t, "registry", "rollback", "--registry", root, "--name", "qa")
	if code != exitError || !strings.Contains(errs, "no version promoted before v1") {
		t.Errorf("rollback past the first: exit %d, %q", code, errs)
	}

	// gc: CURRENT v1 stays, and the newest --keep.
	got = mustRun(t, "registry", "gc", "--registry", root, "--keep", "0", "--dry-run")
	if got != "would remove qa/v2\nwould remove qa/v3\n" {
		t.Errorf("gc --dry-run printed %q", got)
	}
	got = mustRun(t, "registry", "gc", "--registry", root, "--name", "qa", "--keep", "1")
	if got != "removed qa/v2\n" {
		t.Errorf("gc printed %q", got)
	}
	if got = mustRun(t, "registry", "gc", "--registry", root, "--keep", "1"); got != "nothing to remove\n" {
		t.Errorf("second gc printed %q", got)
	}
	if vs, err := r.Versions("qa"); err != nil || len(vs) != 2 || vs[0].ID != "v1" || vs[1].ID != "v3" {
		t.Errorf("after gc: %+v, %v", vs, err)
	}
}

func TestRegistryAdd(t *testing.T) {
	src := artifacttest.KNN(t, nil)
	root := filepath.Join(t.TempDir(), "reg")
	if got := mustRun(t, "registry", "add", "--registry", root, "--name", "qa", "--artifact", src); !strings.Contains(got, "qa v1 to ") || !strings.HasSuffix(got, "it is CURRENT\n") {
		t.Errorf("first add printed %q", got)
	}
	if got := mustRun(t, "registry", "add", "--registry", root, "--name", "qa", "--artifact", src); !strings.Contains(got, "not CURRENT (CURRENT is v1") {
		t.Errorf("second add printed %q", got)
	}
	mustRun(t, "registry", "add", "--registry", root, "--name", "qa", "--artifact", src, "--promote")
	r, err := artifact.OpenRegistry(root)
	if err != nil {
		t.Fatal(err)
	}
	if cur, err := r.Current("qa"); err != nil || cur.ID != "v3" {
		t.Fatalf("CURRENT %+v, %v; want v3", cur, err)
	}
	// A damaged artifact is refused and nothing is added.
	if err := os.WriteFile(filepath.Join(src, "scorer.bin"), []byte("not the weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "registry", "add", "--registry", root, "--name", "qa", "--artifact", src, "--promote")
	if code != exitError || !strings.Contains(errs, "scorer.bin") {
		t.Errorf("adding a damaged artifact: exit %d, %q", code, errs)
	}
	if vs, err := r.Versions("qa"); err != nil || len(vs) != 3 {
		t.Errorf("versions after a refused add: %d, %v", len(vs), err)
	}
	if code, _, _ := runCLI(t, "registry", "add", "--registry", root, "--name", "qa"); code != exitUsage {
		t.Errorf("add without --artifact: exit %d, want %d", code, exitUsage)
	}
}

func TestRegistryCommandErrors(t *testing.T) {
	r := newTestRegistry(t, 1)
	root := r.Root()
	for _, c := range []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"no registry", []string{"registry", "list"}, exitUsage, "--registry is required"},
		{"no name", []string{"registry", "promote", "--registry", root, "--version", "v1"}, exitUsage, "--name is required"},
		{"no version", []string{"registry", "promote", "--registry", root, "--name", "qa"}, exitUsage, "--version is required"},
		{"traversal", []string{"registry", "rollback", "--registry", root, "--name", "../qa"}, exitUsage, "router name"},
		{"bad version", []string{"registry", "promote", "--registry", root, "--name", "qa", "--version", "../v1"}, exitError, "want v and a positive number"},
		{"missing version", []string{"registry", "promote", "--registry", root, "--name", "qa", "--version", "v9"}, exitError, "no version v9"},
		{"unknown router", []string{"registry", "list", "--registry", root, "--name", "chat"}, exitError, `no router "chat"`},
		{"no current", []string{"registry", "rollback", "--registry", root, "--name", "chat"}, exitError, "no current version"},
		{"negative keep", []string{"registry", "gc", "--registry", root, "--keep", "-1"}, exitUsage, "--keep -1"},
		{"arguments", []string{"registry", "list", "--registry", root, "extra"}, exitUsage, "unexpected arguments"},
		{"root is a file", []string{"registry", "list", "--registry", filepath.Join(root, "qa", "CURRENT")}, exitError, "not a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, c.args...)
			if code != c.code || !strings.Contains(errs, c.wantErr) {
				t.Errorf("exit %d, want %d; stderr %q lacks %q (stdout %q)", code, c.code, errs, c.wantErr, out)
			}
		})
	}
	// An empty registry lists nothing, successfully.
	if got := mustRun(t, "registry", "list", "--registry", t.TempDir()); !strings.HasPrefix(got, "no routers in") {
		t.Errorf("empty registry: %q", got)
	}
}
