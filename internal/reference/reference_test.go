package reference

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPresent: every reference set the tests use is here. Under make test
// (DFC_REQUIRE_REFERENCE=1) an absent one fails this test rather than
// silently skipping the tests built on it.
func TestPresent(t *testing.T) {
	for sub, probe := range map[string]string{
		"deepflow-docker-compose": "docker-compose.yaml",
		"deepflow-agent":          "agent-group-config-template.yaml",
		"deepflow-charts":         filepath.Join("v7.1", "deepflow", "Chart.yaml"),
		".":                       "deepflow-server-api.md",
	} {
		if dir := Dir(t, sub, probe); dir == "" {
			t.Errorf("%s: no directory", sub)
		}
	}
}

func TestAbsentFailsWhenRequired(t *testing.T) {
	if os.Getenv("DFC_REFERENCE_CHILD") == "1" {
		Dir(t, "no-such-reference", "x")
		return
	}
	// Run the lookup in a child test binary, where a failure is the
	// expected outcome.
	for _, tc := range []struct {
		require string
		wantOK  bool
	}{{"1", false}, {"", true}} {
		cmd := testCommand(t, "-test.run=^TestAbsentFailsWhenRequired$")
		cmd.Env = append(os.Environ(), "DFC_REFERENCE_CHILD=1", RequireEnv+"="+tc.require)
		err := cmd.Run()
		if (err == nil) != tc.wantOK {
			t.Errorf("%s=%q: child test error %v, want ok=%v", RequireEnv, tc.require, err, tc.wantOK)
		}
	}
}

func testCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exec.Command(exe, args...)
}
