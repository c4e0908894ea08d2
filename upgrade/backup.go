package upgrade

import (
	"archive/tar"
	"context"
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

	"github.com/deepflow-compose/deepflow-compose/dbver"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/internal/humanize"
)

// Files of one backup directory.
const (
	BackupManifest = "backup.json"    // written last: its presence marks a verified backup
	MySQLDump      = "mysql.sql"      // mysqldump of every DeepFlow database and Grafana's
	ClickHouseTar  = "clickhouse.tar" // cold copy of ClickHouse's data dirs
	RenderedTar    = "rendered.tar"   // the rendered directory before the upgrade
)

// BackupInfo is a backup's manifest.
type BackupInfo struct {
	Created time.Time `json:"created"`
	// Dir is the deployment directory the backup was taken from.
	Dir     string `json:"dir"`
	Project string `json:"project"`
	From    string `json:"from"`
	To      string `json:"to"`
	// Databases are the MySQL databases dumped; Versions their db_version.
	Databases []string          `json:"databases"`
	Versions  map[string]string `json:"versions"`
	// DumpRows counts rows per database.table as the dump loaded back.
	DumpRows map[string]int64 `json:"dumpRows"`
	// ClickHouse is how its data was copied and from where.
	ClickHouse       string            `json:"clickhouse"`
	ClickHouseDirs   []string          `json:"clickhouseDirs"`
	ClickHouseTables map[string]string `json:"clickhouseTables"`
	// Images are the images the stack ran, by service.
	Images []ServiceImage `json:"images"`
}

// ServiceImage is the image one service ran.
type ServiceImage struct {
	Service string `json:"service"`
	Ref     string `json:"ref"`
	ID      string `json:"id"`
}

// Backup is one backup directory.
type Backup struct {
	Path string
	Info *BackupInfo
	Size int64
	// Err says why the directory is not a complete backup.
	Err error
}

// ReadBackup reads a backup directory's manifest and checks that its
// files are there.
func ReadBackup(path string) (*BackupInfo, error) {
	b, err := os.ReadFile(filepath.Join(path, BackupManifest))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w (an interrupted backup, or not a backup)", ErrNoBackup, path, err)
	}
	var info BackupInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoBackup, filepath.Join(path, BackupManifest), err)
	}
	for _, f := range []string{MySQLDump, ClickHouseTar, RenderedTar} {
		if _, err := os.Stat(filepath.Join(path, f)); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrNoBackup, path, err)
		}
	}
	return &info, nil
}

// ListBackups lists the backups under a deployment directory's backups
// folder (or root itself), oldest first; incomplete ones carry Err.
func ListBackups(root string) ([]Backup, error) {
	if st, err := os.Stat(filepath.Join(root, BackupsDir)); err == nil && st.IsDir() {
		root = filepath.Join(root, BackupsDir)
	}
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Backup
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(root, e.Name())
		b := Backup{Path: p}
		b.Info, b.Err = ReadBackup(p)
		b.Size, _ = engine.DirSize(p)
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// PrintBackups writes the list ListBackups returns.
func PrintBackups(w io.Writer, bs []Backup) {
	if len(bs) == 0 {
		fmt.Fprintln(w, "No backups.")
		return
	}
	for _, b := range bs {
		if b.Err != nil {
			fmt.Fprintf(w, "%s  incomplete: %v\n", b.Path, b.Err)
			continue
		}
		fmt.Fprintf(w, "%s  %s  DeepFlow %s -> %s  %s  db_version %s\n", b.Path, b.Info.Created.UTC().Format(time.RFC3339),
			b.Info.From, b.Info.To, humanize.Bytes(b.Size), versionsText(b.Info.Versions))
	}
}

func versionsText(m map[string]string) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, k+" "+m[k])
	}
	return strings.Join(parts, ", ")
}

// makeBackup takes the backup with the writers already stopped: the MySQL
// dump through the running container, a cold copy of ClickHouse (its
// container stopped here), the rendered directory and the image IDs; it
// then verifies them and writes the manifest last.
func (u *upgrader) makeBackup(ctx context.Context, path string) (*BackupInfo, error) {
	st := u.st
	s := st.stack
	info := &BackupInfo{Created: u.o.Now().UTC(), Dir: s.Dir, Project: s.Project, From: st.dep.Release.Name, To: u.target.Name,
		Versions: map[string]string{}, ClickHouse: "cold copy (container stopped): the compose ClickHouse declares no backup disk, and a stopped server's files are consistent",
		ClickHouseTables: map[string]string{}}
	for _, v := range st.dbs {
		info.Versions[v.Database] = v.Version
	}
	for _, t := range st.tables {
		info.ClickHouseTables[t.Database+"."+t.Table] = t.Version
	}
	var svcs []string
	for n := range st.containers {
		svcs = append(svcs, n)
	}
	sort.Strings(svcs)
	for _, n := range svcs {
		c := st.containers[n]
		info.Images = append(info.Images, ServiceImage{Service: n, Ref: c.Image, ID: c.ImageID})
	}

	dbs, err := st.mysql.BackupDatabases(ctx)
	if err != nil {
		return nil, err
	}
	info.Databases = dbs
	dump := filepath.Join(path, MySQLDump)
	say(u.o.Out, "  MySQL dump of %s through %s", strings.Join(dbs, ", "), st.mysql.Container)
	if err := st.mysql.Dump(ctx, dump, dbs); err != nil {
		return nil, err
	}

	ch := s.Topology.ClickHouse.Service
	dirs, err := u.e.ServiceDataDirs(ctx, s, ch)
	if err != nil {
		return nil, err
	}
	say(u.o.Out, "  stopping %s for a cold copy of %s", ch, strings.Join(dirs, ", "))
	if err := u.e.StopServices(ctx, s, ch); err != nil {
		return nil, err
	}
	u.stoppedCH = true
	info.ClickHouseDirs = dirs
	chStats, err := tarDirs(filepath.Join(path, ClickHouseTar), s.DataDir, dirs, "")
	if err != nil {
		return nil, fmt.Errorf("ClickHouse copy: %w", err)
	}
	rStats, err := tarDirs(filepath.Join(path, RenderedTar), s.Dir, []string{s.Dir}, u.o.BackupDir)
	if err != nil {
		return nil, fmt.Errorf("rendered directory: %w", err)
	}

	say(u.o.Out, "  verifying: the dump loads into a scratch %s container", st.mysql.Container)
	v, err := st.mysql.VerifyDump(ctx, dump, dbver.VerifyOptions{})
	if err != nil {
		return nil, err
	}
	info.DumpRows = v.Rows
	if err := checkTar(filepath.Join(path, ClickHouseTar), chStats); err != nil {
		return nil, fmt.Errorf("ClickHouse copy: %w", err)
	}
	if err := checkTar(filepath.Join(path, RenderedTar), rStats); err != nil {
		return nil, fmt.Errorf("rendered directory: %w", err)
	}
	if !rStats.names[deployment.ManifestName] {
		return nil, fmt.Errorf("rendered directory: the copy lacks %s", deployment.ManifestName)
	}
	rows := int64(0)
	for _, n := range v.Rows {
		rows += n
	}
	say(u.o.Out, "  verified: %d tables, %d rows loaded back; ClickHouse copy %d files, %s; rendered dir %d files",
		len(v.Rows), rows, chStats.files, humanize.Bytes(chStats.bytes), rStats.files)
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(path, BackupManifest), append(b, '\n')); err != nil {
		return nil, err
	}
	return info, nil
}

func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// tarStats is what a tar holds, to check it back.
type tarStats struct {
	files int
	bytes int64
	names map[string]bool
}

// tarDirs writes the dirs, named relative to base, into a new tar file of
// mode 0600, keeping modes, owners and times; skip is left out.
func tarDirs(path, base string, dirs []string, skip string) (st tarStats, err error) {
	st.names = map[string]bool{}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return st, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tw := tar.NewWriter(f)
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return filepath.SkipDir
			}
			if err != nil {
				return err
			}
			if skip != "" && (p == skip || strings.HasPrefix(p, skip+string(filepath.Separator))) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			rel, err := filepath.Rel(base, p)
			if err != nil {
				return err
			}
			if rel == "." {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			link := ""
			if fi.Mode()&fs.ModeSymlink != 0 {
				if link, err = os.Readlink(p); err != nil {
					return err
				}
			} else if !fi.Mode().IsRegular() && !fi.IsDir() {
				return nil
			}
			h, err := tar.FileInfoHeader(fi, link)
			if err != nil {
				return err
			}
			h.Name = filepath.ToSlash(rel)
			if fi.IsDir() {
				h.Name += "/"
			}
			h.Uname, h.Gname = "", ""
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			st.names[filepath.ToSlash(rel)] = true
			if !fi.Mode().IsRegular() {
				return nil
			}
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			n, err := io.Copy(tw, in)
			in.Close()
			if err != nil {
				return err
			}
			st.files++
			st.bytes += n
			return nil
		})
		if err != nil {
			return st, err
		}
	}
	if err := tw.Close(); err != nil {
		return st, err
	}
	return st, f.Sync()
}

// checkTar reads a tar back through and compares it with what was written.
func checkTar(path string, want tarStats) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var got tarStats
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if h.Typeflag == tar.TypeReg {
			n, err := io.Copy(io.Discard, tr)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			got.files++
			got.bytes += n
		}
	}
	if got.files != want.files || got.bytes != want.bytes {
		return fmt.Errorf("%s reads back %d files, %d bytes; %d files, %d bytes were written", path, got.files, got.bytes, want.files, want.bytes)
	}
	return nil
}

// untar extracts a tar written by tarDirs under base, keeping modes,
// owners and times. Names that would leave base are refused.
func untar(path, base string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	type dirTime struct {
		path string
		t    time.Time
	}
	var dirs []dirTime
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if name == "." || filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%s: entry %q leaves %s", path, h.Name, base)
		}
		dst := filepath.Join(base, name)
		mode := fs.FileMode(h.Mode).Perm()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, mode); err != nil {
				return err
			}
			if err := os.Chmod(dst, mode); err != nil {
				return err
			}
			dirs = append(dirs, dirTime{dst, h.ModTime})
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			os.Remove(dst)
			if err := os.Symlink(h.Linkname, dst); err != nil {
				return err
			}
			_ = os.Lchown(dst, h.Uid, h.Gid)
			continue
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			os.Remove(dst)
			out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
			if err := os.Chmod(dst, mode); err != nil {
				return err
			}
		default:
			continue
		}
		// Owners matter for the datastores (they run as their own users);
		// without root this fails and the files stay the caller's.
		_ = os.Lchown(dst, h.Uid, h.Gid)
		if h.Typeflag == tar.TypeReg {
			_ = os.Chtimes(dst, h.ModTime, h.ModTime)
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Chtimes(dirs[i].path, dirs[i].t, dirs[i].t)
	}
	return nil
}

// tarNames lists the regular files and symlinks of a tar.
func tarNames(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	out := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if h.Typeflag != tar.TypeDir {
			out[filepath.ToSlash(filepath.Clean(h.Name))] = true
		}
	}
}
