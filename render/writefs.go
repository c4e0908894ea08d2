package render

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/deepflow-compose/deepflow-compose/internal/limits"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// ErrBusy is returned when another render holds the output directory.
var ErrBusy = errors.New("another render is writing this directory")

// target is the real directory Write replaces: an absolute path, with a
// symlinked output directory resolved so the link itself stays.
func (p *Plan) target() (string, error) {
	abs, err := filepath.Abs(p.OutDir)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if st, err := os.Lstat(abs); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return "", fmt.Errorf("%w: %s is a symlink whose target cannot be followed (%v); point it at a directory, or remove it", ErrWrite, p.OutDir, err)
		}
		abs = real
	}
	if filepath.Dir(abs) == abs {
		return "", fmt.Errorf("%w: %s is the file system root; a render replaces its whole output directory, so give it a directory of its own, like -o /opt/deepflow-compose", ErrWrite, p.OutDir)
	}
	// The swap replaces the directory itself; a shell standing in it would
	// be left in the removed old copy.
	if wd, err := os.Getwd(); err == nil {
		if real, err := filepath.EvalSymlinks(wd); err == nil {
			wd = real
		}
		if wd == abs || strings.HasPrefix(wd, abs+string(filepath.Separator)) {
			return "", fmt.Errorf("%w: %s is the current directory or holds it, and the atomic swap replaces the whole directory; run from its parent: cd %s && deepflow-compose render -o %s",
				ErrWrite, p.OutDir, filepath.Dir(abs), filepath.Base(abs))
		}
	}
	return abs, nil
}

func tmpPrefix(target string) string { return "." + filepath.Base(target) + ".render-" }

// lock takes an exclusive lock beside the target for the whole write. The
// lock file stays (removing it would race with the next render); the
// kernel drops the lock when the process dies, even under kill -9.
func lock(parent, target, shown string) (func(), error) {
	path := filepath.Join(parent, "."+filepath.Base(target)+".render.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is being rendered by another deepflow-compose process right now (it holds %s); wait for it to finish and run this render again",
				ErrBusy, shown, path)
		}
		return nil, fmt.Errorf("%w: locking %s: %w", ErrWrite, path, err)
	}
	return func() { f.Close() }, nil
}

// cleanInterrupted removes the temporary directories of renders that were
// killed before they finished; they may hold a copy of .env. Only called
// under the lock, so none of them belongs to a live render. A backup left
// between the two renames of the non-atomic swap is the only copy of the
// old directory when the target is missing: it is put back first.
func cleanInterrupted(parent, target string) error {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return err
	}
	prefix := tmpPrefix(target)
	_, statErr := os.Lstat(target)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) || !e.IsDir() {
			continue
		}
		path := filepath.Join(parent, e.Name())
		if strings.HasSuffix(e.Name(), ".old") && errors.Is(statErr, fs.ErrNotExist) {
			if err := os.Rename(path, target); err != nil {
				return err
			}
			statErr = nil
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			return err
		}
	}
	return nil
}

// unchangedSincePrepare refuses to write when .env changed between Prepare
// and the lock: another render finished in between, and this plan's
// secrets would replace the ones it wrote.
func (p *Plan) unchangedSincePrepare() error {
	if p.OutDir == "" || p.envSeen == nil {
		return nil
	}
	now, err := limits.ReadFile(filepath.Join(p.OutDir, topology.Env), limits.Env)
	if errors.Is(err, fs.ErrNotExist) {
		now = nil
	} else if err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if !bytes.Equal(now, *p.envSeen) {
		return fmt.Errorf("%w: %s/%s changed while this render was being prepared (another render finished, or an interrupted one was just restored); run this render again so it keeps the secrets now in place",
			ErrBusy, p.OutDir, topology.Env)
	}
	return nil
}

// mountPoints lists the mount points at or under dir.
func mountPoints(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, nil // no procfs: nothing to learn
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// refuseMounts: the swap renames the directory, which a mount point cannot
// do, and removing the old copy would descend into a mount inside it.
func refuseMounts(target, shown string) error {
	mps, err := mountPoints(target)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	for _, mp := range mps {
		if mp == target {
			return fmt.Errorf("%w: %s is a mount point, and a render swaps the whole directory with a new one, which a mount point cannot be; render into a directory inside it, like -o %s",
				ErrWrite, shown, filepath.Join(shown, "deepflow"))
		}
	}
	if len(mps) > 0 {
		rel, _ := filepath.Rel(target, mps[0])
		return fmt.Errorf("%w: %s holds a mount point (%s), which a render cannot carry into the new directory; unmount it, or mount it outside %s",
			ErrWrite, shown, rel, shown)
	}
	return nil
}

// carryOver recreates every entry of the old directory that is not ours in
// the new one: same type, mode, times, owner and group; hard links among
// them stay linked. What cannot be recreated faithfully is refused, never
// dropped: a socket (its listener keeps the old inode), and a file hard
// linked from outside the directory (a copy would split the link).
func carryOver(from, to string, ours map[string]bool) error {
	type inode struct{ dev, ino uint64 }
	type links struct {
		first string
		seen  uint64
		nlink uint64
	}
	linked := map[inode]*links{}
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil || rel == "." {
			return err
		}
		if ours[filepath.ToSlash(rel)] {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: no file status", rel)
		}
		dst := filepath.Join(to, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		mode := info.Mode()
		switch {
		case mode.IsDir():
			if err := os.Mkdir(dst, mode.Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, dst); err != nil {
				return err
			}
		case mode&fs.ModeSocket != 0:
			return fmt.Errorf("%s is a Unix socket; a render replaces the whole directory and a socket cannot move with it (its server keeps the old one); move it out of the directory, or stop what listens on it, and render again", rel)
		case mode.IsRegular() && st.Nlink > 1:
			k := inode{uint64(st.Dev), st.Ino}
			l := linked[k]
			if l == nil {
				l = &links{first: dst, nlink: uint64(st.Nlink)}
				linked[k] = l
				if err := copyFile(path, dst, mode.Perm()); err != nil {
					return err
				}
			} else if err := os.Link(l.first, dst); err != nil {
				return err
			}
			l.seen++
		case mode.IsRegular():
			if err := copyFile(path, dst, mode.Perm()); err != nil {
				return err
			}
		case mode&(fs.ModeNamedPipe|fs.ModeDevice|fs.ModeCharDevice) != 0:
			if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
				return fmt.Errorf("%s: recreating it in the new directory: %w", rel, err)
			}
		default:
			return fmt.Errorf("%s has a file type a render cannot carry over (%s); move it out of the directory", rel, mode.Type())
		}
		if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
		if mode&fs.ModeSymlink == 0 {
			if err := os.Chmod(dst, mode.Perm()|mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
				return err
			}
			_ = os.Chtimes(dst, time.Time{}, info.ModTime())
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, l := range linked {
		if l.seen < l.nlink {
			rel, _ := filepath.Rel(to, l.first)
			return fmt.Errorf("%s is hard linked from outside the directory (%d links, %d inside); a render replaces the whole directory and would split the link; make it a copy or a symlink, and render again", rel, l.nlink, l.seen)
		}
	}
	return nil
}

// keepOwners gives every entry of the new directory the owner and group of
// the entry it replaces, and every directory that stays its mode, so a
// render by root does not hand the user's files to root.
func keepOwners(old, tmp string) error {
	return filepath.WalkDir(tmp, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(tmp, path)
		if err != nil {
			return err
		}
		prev, err := os.Lstat(filepath.Join(old, rel))
		if err != nil {
			return nil // new here: the renderer's owner
		}
		st, ok := prev.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		if err := os.Lchown(path, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
		if d.IsDir() && prev.IsDir() {
			return os.Chmod(path, prev.Mode().Perm()|prev.Mode()&(fs.ModeSetgid|fs.ModeSticky))
		}
		return nil
	})
}
