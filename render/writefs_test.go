package render

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

func prepareAt(t *testing.T, out string) *Plan {
	t.Helper()
	p, err := Prepare(context.Background(), Options{Inputs: settings.Inputs{NodeIP: "192.0.2.10"}, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A symlinked output directory: the render goes into the link's target
// and the link stays a link.
func TestSymlinkedOutputDirectory(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	link := filepath.Join(base, "link")
	write(t, settings.Inputs{}, real, false)
	if err := os.Symlink("real", link); err != nil {
		t.Fatal(err)
	}
	write(t, settings.Inputs{Sets: []string{"mysql.port=30131"}}, link, false)
	st, err := os.Lstat(link)
	if err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", st.Mode(), err)
	}
	b, err := os.ReadFile(filepath.Join(real, topology.ServerYAML))
	if err != nil || !strings.Contains(string(b), "30131") {
		t.Fatalf("the link's target was not rendered into (%v)", err)
	}
}

func statT(t *testing.T, path string) *syscall.Stat_t {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t)
}

// Every foreign entry is carried over with its type, owner, group and
// mode; our files and the directory keep their owner and group.
func TestForeignEntriesKept(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files other owners")
	}
	out := filepath.Join(t.TempDir(), "deepflow")
	write(t, settings.Inputs{}, out, false)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chown(out, 1234, 2345))
	must(os.Chmod(out, 0o750))
	must(os.Chown(filepath.Join(out, topology.Compose), 1234, 2345))
	must(unix.Mkfifo(filepath.Join(out, "pipe"), 0o620))
	must(os.Chmod(filepath.Join(out, "pipe"), 0o620)) // past the umask
	must(os.Chown(filepath.Join(out, "pipe"), 1001, 1002))
	must(os.WriteFile(filepath.Join(out, "notes"), []byte("mine"), 0o640))
	must(os.Chown(filepath.Join(out, "notes"), 1001, 1002))
	must(os.Link(filepath.Join(out, "notes"), filepath.Join(out, "notes-link")))
	must(os.Symlink("notes", filepath.Join(out, "notes-sym")))
	must(os.Mkdir(filepath.Join(out, "extra"), 0o705))
	must(os.Chown(filepath.Join(out, "extra"), 1001, 1002))

	write(t, settings.Inputs{Sets: []string{"mysql.port=30131"}}, out, false)

	if st := statT(t, out); st.Uid != 1234 || st.Gid != 2345 || st.Mode&0o777 != 0o750 {
		t.Errorf("directory: %d:%d %o, want 1234:2345 750", st.Uid, st.Gid, st.Mode&0o777)
	}
	if st := statT(t, filepath.Join(out, topology.Compose)); st.Uid != 1234 || st.Gid != 2345 {
		t.Errorf("compose file: %d:%d, want 1234:2345", st.Uid, st.Gid)
	}
	for _, c := range []struct {
		name string
		typ  uint32
		perm uint32
	}{{"pipe", syscall.S_IFIFO, 0o620}, {"notes", syscall.S_IFREG, 0o640}, {"extra", syscall.S_IFDIR, 0o705}} {
		st := statT(t, filepath.Join(out, c.name))
		if st.Mode&syscall.S_IFMT != c.typ || st.Mode&0o777 != c.perm || st.Uid != 1001 || st.Gid != 1002 {
			t.Errorf("%s: mode %o %d:%d, want type %o perm %o 1001:1002", c.name, st.Mode, st.Uid, st.Gid, c.typ, c.perm)
		}
	}
	if a, b := statT(t, filepath.Join(out, "notes")), statT(t, filepath.Join(out, "notes-link")); a.Ino != b.Ino {
		t.Error("the hard link was split")
	}
	if l, err := os.Readlink(filepath.Join(out, "notes-sym")); err != nil || l != "notes" {
		t.Errorf("symlink: %q %v", l, err)
	}
}

// What cannot be carried over is refused, and the directory is untouched.
func TestForeignEntriesRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		make func(t *testing.T, out, outside string)
		want string
	}{
		{"socket", func(t *testing.T, out, _ string) {
			l, err := net.Listen("unix", filepath.Join(out, "agent.sock"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}, "agent.sock is a Unix socket"},
		{"hard link from outside", func(t *testing.T, out, outside string) {
			if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(outside, filepath.Join(out, "shared")); err != nil {
				t.Fatal(err)
			}
		}, "shared is hard linked from outside the directory (2 links, 1 inside)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			out := filepath.Join(base, "deepflow")
			write(t, settings.Inputs{}, out, false)
			c.make(t, out, filepath.Join(base, "outside"))
			before, _ := os.ReadFile(filepath.Join(out, topology.ServerYAML))
			p, err := Prepare(context.Background(), Options{Inputs: settings.Inputs{NodeIP: "192.0.2.10", Sets: []string{"mysql.port=30131"}}, OutDir: out})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Write(false)
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrWrite) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			after, _ := os.ReadFile(filepath.Join(out, topology.ServerYAML))
			if string(before) != string(after) {
				t.Error("the directory changed")
			}
			if _, err := os.Lstat(filepath.Join(out, filepath.Base(strings.Fields(c.want)[0]))); err != nil {
				t.Errorf("the foreign entry is gone: %v", err)
			}
		})
	}
}

// A mount point cannot be swapped: a clear error, nothing raw.
func TestMountPointOutput(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	out := filepath.Join(t.TempDir(), "deepflow")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", out, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(out, unix.MNT_DETACH) })
	p := prepareAt(t, out)
	_, err := p.Write(false)
	want := "cannot write the output directory: " + out + " is a mount point, and a render swaps the whole directory with a new one, which a mount point cannot be; render into a directory inside it, like -o " + out + "/deepflow"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	// The supported path works.
	write(t, settings.Inputs{}, filepath.Join(out, "deepflow"), false)
}

// A mount point inside the directory cannot be carried into the new one,
// and removing the old copy would descend into it: refused, data intact.
func TestMountPointInsideOutput(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	out := filepath.Join(t.TempDir(), "deepflow")
	write(t, settings.Inputs{}, out, false)
	data := filepath.Join(out, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", data, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(data, unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(data, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := prepareAt(t, out).Write(false)
	want := "cannot write the output directory: " + out + " holds a mount point (data), which a render cannot carry into the new directory; unmount it, or mount it outside " + out
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if _, err := os.Stat(filepath.Join(data, "keep")); err != nil {
		t.Errorf("data on the mount is gone: %v", err)
	}
}

// A second render while one holds the lock fails at once, clearly.
func TestConcurrentRenderLocked(t *testing.T) {
	base := t.TempDir()
	out := filepath.Join(base, "deepflow")
	f, err := os.OpenFile(filepath.Join(base, ".deepflow.render.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Another process holds it: flock locks are per open file, so a
	// second open in this process stands in for it.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	_, err = prepareAt(t, out).Write(false)
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), out+" is being rendered by another deepflow-compose process right now") {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the directory was written: %v", err)
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	if _, err := prepareAt(t, out).Write(false); err != nil {
		t.Fatalf("after the lock is released: %v", err)
	}
}

// Another render finishing between Prepare and Write: this one would
// replace the secrets just written.
func TestEnvChangedSincePrepare(t *testing.T) {
	out := filepath.Join(t.TempDir(), "deepflow")
	p := prepareAt(t, out)
	write(t, settings.Inputs{}, out, false)
	_, err := p.Write(false)
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "changed while this render was being prepared") {
		t.Fatalf("err = %v", err)
	}
}

// A render killed before its swap leaves a hidden temp dir with .env; the
// next render removes it.
func TestInterruptedTempDirsCleaned(t *testing.T) {
	base := t.TempDir()
	out := filepath.Join(base, "deepflow")
	write(t, settings.Inputs{}, out, false)
	stale := filepath.Join(base, ".deepflow.render-123456")
	if err := os.Mkdir(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, ".env"), []byte("MYSQL_PASSWORD=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(base, ".other.render-1") // another directory's: not ours
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, settings.Inputs{}, out, false)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp dir still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another directory's temp dir was removed: %v", err)
	}
}

func TestRootOutput(t *testing.T) {
	_, err := prepareAt(t, "/").Write(false)
	want := "cannot write the output directory: / is the file system root; a render replaces its whole output directory, so give it a directory of its own, like -o /opt/deepflow-compose"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v", err)
	}
}

// A render killed between the two renames of the non-atomic swap leaves
// the old directory only under its backup name: the next render puts it
// back (keeping what it held) instead of deleting it.
func TestInterruptedSwapBackupRestored(t *testing.T) {
	base := t.TempDir()
	out := filepath.Join(base, "deepflow")
	write(t, settings.Inputs{}, out, false)
	if err := os.WriteFile(filepath.Join(out, "notes"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(base, ".deepflow.render-42.old")
	if err := os.Rename(out, backup); err != nil {
		t.Fatal(err)
	}
	before := readEnv(t, backup)
	// This render was prepared without the secrets (the directory was not
	// there); it restores the directory and stops rather than replace them.
	if _, err := prepareAt(t, out).Write(false); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "an interrupted one was just restored") {
		t.Fatalf("err = %v", err)
	}
	write(t, settings.Inputs{}, out, false)
	if b, err := os.ReadFile(filepath.Join(out, "notes")); err != nil || string(b) != "mine" {
		t.Errorf("the old directory's own file is lost: %q %v", b, err)
	}
	if after := readEnv(t, out); after[topology.Vars.MySQLPassword] != before[topology.Vars.MySQLPassword] {
		t.Error("the secrets of the interrupted directory were replaced")
	}
	if _, err := os.Stat(backup); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup still there: %v", err)
	}
}
