package limits

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte(strings.Repeat("x", 2048)), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(path, 2048); err != nil || len(b) != 2048 {
		t.Errorf("at the limit: %d bytes, %v", len(b), err)
	}
	_, err := ReadFile(path, 2047)
	want := "file too large: " + path + " is larger than 2047 bytes, the limit for this kind of file; a real one is far smaller"
	if err == nil || err.Error() != want || !errors.Is(err, ErrTooLarge) {
		t.Errorf("past the limit: %v", err)
	}
	if _, err := ReadFile("/dev/zero", Values); err == nil || !strings.Contains(err.Error(), "/dev/zero is larger than 1 MiB") {
		t.Errorf("/dev/zero: %v", err)
	}
}
