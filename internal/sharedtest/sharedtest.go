// Package sharedtest holds helpers shared by tests: the location of the
// public router data in ../shared/data (next to the project root) and the
// rank statistics tests assert with. It is for tests only.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the folder of the public router data: ROUTEKIT_SHARED_DATA,
// else shared/data beside the module root. It skips the test, with a
// message, when the folder is absent (a user's fresh clone has none).
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("ROUTEKIT_SHARED_DATA"); d != "" {
		return d
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(filepath.Dir(dir), "shared", "data")
			if _, err := os.Stat(d); err != nil {
				t.Skipf("no public router data at %s (set ROUTEKIT_SHARED_DATA): skipping", d)
			}
			return d
		}
		if filepath.Dir(dir) == dir {
			t.Skip("no go.mod above the test: skipping the shared-data test")
		}
	}
}
