// Package reference finds DeepFlow's published files (../shared/reference
// beside the clone) for tests. They are facts the tests derive from and
// check against, never copied into the project.
//
// Tests that need them skip when they are absent, so a clone on its own
// still tests the rest; `make test` sets DFC_REQUIRE_REFERENCE=1, under
// which an absent reference fails instead of silently skipping.
package reference

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/internal/findup"
)

// RequireEnv makes an absent reference a failure.
const RequireEnv = "DFC_REQUIRE_REFERENCE"

// Root is ../shared/reference from the module root above the working
// directory.
func Root() (string, error) {
	mod, err := findup.Path("go.mod")
	if err != nil {
		return "", errors.New("no go.mod above the working directory")
	}
	return filepath.Join(filepath.Dir(mod), "..", "shared", "reference"), nil
}

// Dir returns a reference directory (sub, e.g. "deepflow-charts") after
// checking that probe, a file inside it, exists. Without it the test skips,
// or fails under DFC_REQUIRE_REFERENCE=1.
func Dir(t testing.TB, sub, probe string) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, sub)
	if _, err := os.Stat(filepath.Join(dir, probe)); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("DeepFlow's reference files are required here (%s=1) but absent: %v", RequireEnv, err)
		}
		t.Skipf("DeepFlow's reference files are not beside the clone: %v", err)
	}
	return dir
}
