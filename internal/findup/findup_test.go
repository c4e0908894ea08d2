package findup

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPath(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "a", "marker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(deep)
	got, err := Path("marker")
	if want := filepath.Join(root, "a", "marker"); err != nil || got != want {
		t.Errorf("Path(marker) = %q, %v; want %q", got, err, want)
	}
	_, err = Path("scripts/no-such-script.sh")
	if want := "scripts/no-such-script.sh not found above " + deep; err == nil || err.Error() != want {
		t.Errorf("Path(missing) error = %v; want %q", err, want)
	}
}
