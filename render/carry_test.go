package render

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/settings"
)

// Files render did not write (an upgrade's backups among them, however
// large) come over into the new directory as the same file, not a copy,
// with their mode and time.
func TestCarryOverLinks(t *testing.T) {
	out := filepath.Join(t.TempDir(), "deepflow")
	write(t, settings.Inputs{}, out, false)
	big := filepath.Join(out, "backups", "20261127T080000Z", "clickhouse.tar")
	if err := os.MkdirAll(filepath.Dir(big), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(big, old, old); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(big)
	if err != nil {
		t.Fatal(err)
	}
	write(t, settings.Inputs{Sets: []string{"timezone=UTC"}}, out, false)
	after, err := os.Stat(big)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the carried-over file was copied, not linked")
	}
	if after.Mode().Perm() != 0o600 || !after.ModTime().Equal(old) {
		t.Errorf("carried over with mode %v, time %v", after.Mode().Perm(), after.ModTime())
	}
	if st, err := os.Stat(filepath.Dir(big)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("the backup folder's mode: %v %v", st.Mode().Perm(), err)
	}
}
