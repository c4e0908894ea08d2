package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/internal/limits"
	"golang.org/x/sys/unix"
)

// swapHook lets a test kill the process at a chosen moment of Write.
var swapHook = func(stage string) {}

func (p *Plan) manifest() ([]byte, error) {
	s := *p.Settings
	s.MySQL.Password, s.ClickHouse.Password, s.Grafana.AdminPassword = "", "", ""
	m := deployment.Manifest{Tool: "deepflow-compose", Profile: p.Profile.Name, Settings: s, Files: map[string]deployment.ManifestFile{}}
	for _, f := range p.Files {
		m.Files[f.Path] = deployment.ManifestFile{SHA256: deployment.Sum(f.Data), Mode: fmt.Sprintf("%04o", f.Mode.Perm())}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	return append(b, '\n'), err
}

// ChangeKind says what a render would do to one file.
type ChangeKind string

const (
	Create    ChangeKind = "create"
	Update    ChangeKind = "update"
	Unchanged ChangeKind = "unchanged"
	Remove    ChangeKind = "remove"
)

// Change is one file's fate.
type Change struct {
	Path string
	Kind ChangeKind
	Old  []byte // current content, when there is one
	New  []byte
	// Conflict explains why the file may not be touched without --force:
	// it was changed by hand, or not written by deepflow-compose at all.
	Conflict string
}

// Changes compares the plan with what is in the output directory.
func (p *Plan) Changes() ([]Change, error) {
	m, err := deployment.ReadManifest(p.OutDir)
	if err != nil {
		return nil, err
	}
	var known map[string]deployment.ManifestFile
	if m != nil {
		known = m.Files
	}
	var out []Change
	rendered := map[string]bool{}
	for _, f := range p.Files {
		rendered[f.Path] = true
		c := Change{Path: f.Path, New: f.Data}
		old, err := limits.ReadFile(filepath.Join(p.OutDir, filepath.FromSlash(f.Path)), limits.Config)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			c.Kind = Create
		case err != nil:
			return nil, err
		default:
			c.Old = old
			c.Kind = Unchanged
			if !bytes.Equal(old, f.Data) {
				c.Kind, c.Conflict = Update, m.Drift(f.Path, old)
			}
		}
		out = append(out, c)
	}
	// Files an earlier render wrote that this one does not.
	var stale []string
	for path := range known {
		if !rendered[path] {
			stale = append(stale, path)
		}
	}
	sort.Strings(stale)
	for _, path := range stale {
		old, err := limits.ReadFile(filepath.Join(p.OutDir, filepath.FromSlash(path)), limits.Config)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Change{Path: path, Kind: Remove, Old: old, Conflict: m.Drift(path, old)})
	}
	return out, nil
}

// ErrConflict is returned when a render would overwrite hand edits.
var ErrConflict = errors.New("refusing to overwrite files")

// ErrWrite marks a failure to write the output directory.
var ErrWrite = errors.New("cannot write the output directory")

// Write puts the plan on disk. It renders into a temporary directory beside
// the target and swaps the two, so an interruption leaves either the old
// directory or the new one. Files whose content is unchanged keep their
// modification time; files in the directory that no render wrote are
// carried over untouched.
func (p *Plan) Write(force bool) ([]Change, error) {
	target, err := p.target()
	if err != nil {
		return nil, err
	}
	parent := filepath.Dir(target)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	unlock, err := lock(parent, target, p.OutDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := cleanInterrupted(parent, target); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if err := p.unchangedSincePrepare(); err != nil {
		return nil, err
	}

	changes, err := p.Changes()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	var conflicts []string
	for _, c := range changes {
		if c.Conflict != "" {
			conflicts = append(conflicts, fmt.Sprintf("%s (%s)", c.Path, c.Conflict))
		}
	}
	if len(conflicts) > 0 && !force {
		return nil, fmt.Errorf("%w in %s: %s; use --force to overwrite, or `deepflow-compose diff` to see the differences",
			ErrConflict, p.OutDir, strings.Join(conflicts, ", "))
	}
	st, err := os.Stat(target)
	exists := err == nil
	if exists && !st.IsDir() {
		return nil, fmt.Errorf("%w: %s exists and is not a directory", ErrWrite, p.OutDir)
	}
	if exists {
		if err := refuseMounts(target, p.OutDir); err != nil {
			return nil, err
		}
	}
	tmp, err := os.MkdirTemp(parent, tmpPrefix(target))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	defer os.RemoveAll(tmp) // after a swap it holds the old directory
	mode := fs.FileMode(0o755)
	if exists {
		mode = st.Mode().Perm()
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}

	ours := map[string]bool{}
	for _, c := range changes {
		ours[c.Path] = true
	}
	ours[deployment.ManifestName] = true
	if exists {
		if err := carryOver(target, tmp, ours); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrWrite, err)
		}
	}
	manifest, err := p.manifest()
	if err != nil {
		return nil, err
	}
	files := append([]File{{Path: deployment.ManifestName, Data: manifest, Mode: 0o644}}, p.Files...)
	for _, f := range files {
		dst := filepath.Join(tmp, filepath.FromSlash(f.Path))
		if err := writeFile(dst, f.Data, f.Mode); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrWrite, err)
		}
		if exists {
			keepMtime(filepath.Join(target, filepath.FromSlash(f.Path)), dst, f.Data)
		}
	}
	if exists {
		if err := keepOwners(target, tmp); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrWrite, err)
		}
	}
	if err := syncDir(tmp); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	swapHook("before-swap")
	if err := swap(tmp, target, exists); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	swapHook("after-swap")
	_ = syncDir(parent)
	return changes, nil
}

func writeFile(path string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	// The umask may have narrowed the mode; the mode is part of the contract.
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// keepMtime gives an unchanged file its old modification time, so tools
// watching the directory see only real changes.
func keepMtime(old, dst string, data []byte) {
	st, err := os.Stat(old)
	if err != nil {
		return
	}
	prev, err := limits.ReadFile(old, limits.Config)
	if err != nil || !bytes.Equal(prev, data) {
		return
	}
	_ = os.Chtimes(dst, time.Time{}, st.ModTime())
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// swap moves the new directory into place. With an existing target it
// exchanges the two atomically (renameat2 RENAME_EXCHANGE), leaving the old
// one at tmp for the caller to remove.
func swap(tmp, target string, exists bool) error {
	if !exists {
		return os.Rename(tmp, target)
	}
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, target, unix.RENAME_EXCHANGE)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EOPNOTSUPP) {
		return err
	}
	// Filesystems without exchange: two renames. In between, the old
	// directory is complete under its backup name.
	backup := tmp + ".old"
	if err := os.Rename(target, backup); err != nil {
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		_ = os.Rename(backup, target)
		return err
	}
	return os.Rename(backup, tmp) // so the caller's cleanup removes it
}
