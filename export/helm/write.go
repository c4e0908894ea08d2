package helmexport

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/internal/limits"
)

// ErrConflict is returned when an export would overwrite a file it did
// not write.
var ErrConflict = errors.New("refusing to overwrite files")

// ErrWrite marks a failure to write the output directory.
var ErrWrite = errors.New("cannot write the output directory")

// Write puts the files in OutDir. Each file is written to a temporary
// file beside it, synced and renamed over the old one, so a reader sees
// the old file or the new one, never half of either. (render's Write swaps
// whole directories and records a render manifest; an export directory is
// not a deployment and must not look like one to Load, up or check.)
func (e *Export) Write(force bool) error {
	if e.OutDir == "" {
		return fmt.Errorf("%w: no output directory", ErrWrite)
	}
	var conflicts []string
	for _, f := range e.Files {
		old, err := limits.ReadFile(filepath.Join(e.OutDir, f.Path), limits.Config)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrWrite, err)
		}
		if !bytes.Contains(firstLines(old, 3), []byte(Signature)) {
			conflicts = append(conflicts, f.Path+" (not written by deepflow-compose export helm)")
		}
	}
	if len(conflicts) > 0 && !force {
		return fmt.Errorf("%w in %s: %s; use --force to overwrite, or another -o", ErrConflict, e.OutDir, strings.Join(conflicts, ", "))
	}
	if err := os.MkdirAll(e.OutDir, 0o755); err != nil {
		return fmt.Errorf("%w: %v", ErrWrite, err)
	}
	for _, f := range e.Files {
		if err := writeAtomic(filepath.Join(e.OutDir, f.Path), f.Data, f.Mode); err != nil {
			return fmt.Errorf("%w: %v", ErrWrite, err)
		}
	}
	if d, err := os.Open(e.OutDir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func firstLines(b []byte, n int) []byte {
	end := 0
	for i := 0; i < n && end < len(b); i++ {
		j := bytes.IndexByte(b[end:], '\n')
		if j < 0 {
			return b
		}
		end += j + 1
	}
	return b[:end]
}

func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing to remove
	// The mode first: the secrets must never be readable by others, even
	// for a moment.
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
