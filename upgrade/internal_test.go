package upgrade

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/dbver"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/render"
)

func line(t *testing.T, v string) *catalog.Release {
	t.Helper()
	r, err := catalog.Lookup(v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestJudge(t *testing.T) {
	v66, v70, v71 := line(t, "v6.6"), line(t, "v7.0"), line(t, "v7.1")
	db := func(vs ...string) []dbver.DBVersion {
		var out []dbver.DBVersion
		for i, v := range vs {
			name := "deepflow"
			if i > 0 {
				name = "000" + string(rune('1'+i)) + "_deepflow"
			}
			out = append(out, dbver.DBVersion{Database: name, Version: v})
		}
		return out
	}
	for _, c := range []struct {
		name     string
		rendered *catalog.Release
		running  *catalog.Release
		dbs      []dbver.DBVersion
		target   *catalog.Release
		sentinel error
		err      string
	}{
		{name: "upgrade", rendered: v70, running: v70, dbs: db("7.0.1.23", "7.0.1.23"), target: v71},
		{name: "same line, branch head ahead", rendered: v70, running: v70, dbs: db("7.0.1.29"), target: v70},
		{name: "image unknown, judged from the rest", rendered: v70, dbs: db("7.0.1.23"), target: v71},
		{name: "database ahead of the target", rendered: v70, running: v70, dbs: db("7.0.1.23", "7.1.0.30"), target: v70, sentinel: dbver.ErrDowngrade,
			err: "upgrade refused: 0002_deepflow: downgrade: db_version is 7.1.0.30, newer than DeepFlow v7.0's 7.0.1.23..7.0.1.29; DeepFlow never migrates down and its server would exit in a loop\n" +
				"fix: stay on the current version, or restore a backup taken before the upgrade that moved it (`deepflow-compose upgrade --list-backups /d`)"},
		{name: "running image newer", rendered: v66, running: v71, dbs: db("6.6.1.25"), target: v66, sentinel: dbver.ErrDowngrade,
			err: "upgrade refused: downgrade: the running server image r/deepflow-server:x is DeepFlow v7.1, newer than v6.6\n" +
				"fix: stay on the current version, or restore a backup taken before the upgrade that moved it (`deepflow-compose upgrade --list-backups /d`)"},
		{name: "rendered newer", rendered: v71, running: v71, dbs: db("7.1.0.30"), target: v70, sentinel: dbver.ErrDowngrade,
			err: "upgrade refused: downgrade: /d is rendered for DeepFlow v7.1, newer than v7.0\n" +
				"downgrade: the running server image r/deepflow-server:x is DeepFlow v7.1, newer than v7.0\n" +
				"deepflow: downgrade: db_version is 7.1.0.30, newer than DeepFlow v7.0's 7.0.1.23..7.0.1.29; DeepFlow never migrates down and its server would exit in a loop\n" +
				"fix: stay on the current version, or restore a backup taken before the upgrade that moved it (`deepflow-compose upgrade --list-backups /d`)"},
		{name: "empty", rendered: v70, running: v70, dbs: []dbver.DBVersion{{Database: "deepflow", Err: dbver.ErrEmptyVersion}}, target: v71, sentinel: dbver.ErrEmptyVersion,
			err: "upgrade refused: deepflow: db_version is empty\n" +
				"fix: restore the database from a backup, or repair db_version by hand; the server would stop with \"current db version is null\" or a mismatch"},
		{name: "unknown", rendered: v70, running: v70, dbs: db("7.0.x"), target: v71, sentinel: dbver.ErrUnknownVersion,
			err: "upgrade refused: deepflow: unknown version: db_version \"7.0.x\" is not a dotted version\n" +
				"fix: restore the database from a backup, or repair db_version by hand; the server would stop with \"current db version is null\" or a mismatch"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &state{stack: &engine.Stack{Dir: "/d"}, dep: &deployment.Deployment{Release: c.rendered}, serverLine: c.running, serverImage: "r/deepflow-server:x", dbs: c.dbs}
			err := st.judge(c.target)
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrRefused) || !errors.Is(err, c.sentinel) || err.Error() != c.err {
				t.Errorf("got  %v\nwant %s", err, c.err)
			}
		})
	}
}

// A db_version written like a catalog range is not a version: the
// server could not migrate from it.
func TestJudgeRangeShapedVersion(t *testing.T) {
	v70 := line(t, "v7.0")
	for _, v := range []string{"7.0.1.23+", "7.0.1.23..7.0.1.29"} {
		st := &state{stack: &engine.Stack{Dir: "/d"}, dep: &deployment.Deployment{Release: v70}, serverLine: v70, dbs: []dbver.DBVersion{{Database: "deepflow", Version: v}}}
		want := "upgrade refused: deepflow: unknown version: db_version \"" + v + "\" is not a dotted version\n" +
			"fix: restore the database from a backup, or repair db_version by hand; the server would stop with \"current db version is null\" or a mismatch"
		if err := st.judge(line(t, "v7.1")); !errors.Is(err, dbver.ErrUnknownVersion) || err.Error() != want {
			t.Errorf("%s: got %v\nwant %s", v, err, want)
		}
	}
}

func TestCheckVersions(t *testing.T) {
	v71 := line(t, "v7.1")
	ok := []dbver.DBVersion{{Database: "deepflow", Version: "7.1.0.30"}, {Database: "0002_deepflow", Version: "7.1.0.30"}}
	tables := func(vs ...string) []dbver.TableVersion {
		var out []dbver.TableVersion
		for i, v := range vs {
			out = append(out, dbver.TableVersion{Database: "flow_log", Table: "t" + string(rune('0'+i)), Version: v})
		}
		return out
	}
	for _, c := range []struct {
		name   string
		dbs    []dbver.DBVersion
		tables []dbver.TableVersion
		err    string
	}{
		{name: "v7.1.8", dbs: ok, tables: tables("v7.1.7.3", "v7.1.7.3")},
		{name: "branch head", dbs: []dbver.DBVersion{{Database: "deepflow", Version: "7.1.0.40"}}, tables: tables("v7.1.8.0")},
		{name: "not migrated", dbs: []dbver.DBVersion{{Database: "deepflow", Version: "7.0.1.23"}}, tables: tables("v7.1.7.3"),
			err: "version check failed: deepflow: db_version 7.0.1.23, want 7.1.0.30+"},
		{name: "databases disagree", dbs: []dbver.DBVersion{{Database: "deepflow", Version: "7.1.0.30"}, {Database: "0002_deepflow", Version: "7.1.0.31"}}, tables: tables("v7.1.7.3"),
			err: "version check failed: the databases disagree: deepflow 7.1.0.30, 0002_deepflow 7.1.0.31"},
		{name: "a table behind", dbs: ok, tables: tables("v7.1.7.3", "v7.0.5.0", ""),
			err: "version check failed: clickhouse table version differs: want v7.1.7.3+, but 2 of 3 tables differ: flow_log.t1 (v7.0.5.0), flow_log.t2 (no version)"},
		{name: "tables disagree", dbs: ok, tables: tables("v7.1.7.3", "v7.1.8.0"),
			err: "version check failed: clickhouse table version differs: the tables carry 2 different versions: 2 tables: 1 at v7.1.7.3, 1 at v7.1.8.0"},
		{name: "no tables", dbs: ok,
			err: "version check failed: clickhouse table version differs: want v7.1.7.3+, but no table carries a version yet (has deepflow-server's ingester started?)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkVersions(v71, c.dbs, c.tables, nil)
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != c.err || !errors.Is(err, ErrVersionCheck) {
				t.Errorf("got  %v\nwant %s", err, c.err)
			}
		})
	}
}

func TestCheckDisk(t *testing.T) {
	if err := checkDisk("/d/backups", "/d", 2048, 2048); err != nil {
		t.Errorf("exactly enough: %v", err)
	}
	err := checkDisk("/d/backups", "/d", 1024, 3*1024*1024)
	if !errors.Is(err, ErrDisk) || err.Error() != "not enough disk for the backup: /d/backups needs about 3.0 MiB, /d has 1.0 KiB free; free some space, or put the backups elsewhere with --backup-dir" {
		t.Errorf("too little: %v", err)
	}
}

func TestImageTag(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5999/deepflow-ce/deepflow-server:v7.0": "v7.0",
		"127.0.0.1:5999/deepflow-ce/deepflow-server":      "",
		"deepflow-server@sha256:abcd":                     "",
		"deepflow-server:v6.6.8":                          "v6.6.8",
	} {
		if got := imageTag(in); got != want {
			t.Errorf("imageTag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskSecrets(t *testing.T) {
	cs := []render.Change{{Path: ".env", Kind: render.Update, Old: []byte("MYSQL_PASSWORD=s3cret\nX=1\n"), New: []byte("MYSQL_PASSWORD=s3cret\nX=2\nCH=ch-pw\n")}}
	got := maskSecrets(cs, deployment.Secrets{MySQL: "s3cret", ClickHouse: "ch-pw"})
	if string(got[0].New) != "MYSQL_PASSWORD=********\nX=2\nCH=********\n" || string(got[0].Old) != "MYSQL_PASSWORD=********\nX=1\n" {
		t.Errorf("masked: %q / %q", got[0].Old, got[0].New)
	}
	if string(cs[0].New) != "MYSQL_PASSWORD=s3cret\nX=2\nCH=ch-pw\n" {
		t.Error("masking changed the plan's own changes")
	}
}

// The backup's tars keep modes, links and contents, leave the backups
// folder out, and restore over a damaged tree.
func TestTarRoundTrip(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "deploy")
	write := func(p, s string, mode os.FileMode) {
		t.Helper()
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
	}
	write(".env", "MYSQL_PASSWORD=x\n", 0o600)
	write("docker-compose.yaml", "services: {}\n", 0o644)
	write("common/config/server.yaml", "a: 1\n", 0o600)
	write("backups/old/mysql.sql", "not copied", 0o600)
	if err := os.Symlink("docker-compose.yaml", filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(root, "r.tar")
	st, err := tarDirs(tarPath, dir, []string{dir}, filepath.Join(dir, "backups"))
	if err != nil {
		t.Fatal(err)
	}
	if st.files != 3 || st.names["backups/old/mysql.sql"] || !st.names["link.yaml"] {
		t.Errorf("tar stats %+v", st)
	}
	if fi, _ := os.Stat(tarPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("tar mode %v", fi.Mode().Perm())
	}
	if err := checkTar(tarPath, st); err != nil {
		t.Fatal(err)
	}
	st.bytes++
	if err := checkTar(tarPath, st); err == nil || !strings.Contains(err.Error(), "reads back 3 files") {
		t.Errorf("a short tar passed: %v", err)
	}

	// Damage, then restore.
	write(".env", "MYSQL_PASSWORD=changed\n", 0o644)
	os.Remove(filepath.Join(dir, "common/config/server.yaml"))
	if err := untar(tarPath, dir); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{".env": "MYSQL_PASSWORD=x\n", "common/config/server.yaml": "a: 1\n", "backups/old/mysql.sql": "not copied"} {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q %v", p, b, err)
		}
	}
	for p, want := range map[string]os.FileMode{".env": 0o600, "docker-compose.yaml": 0o644, "common/config/server.yaml": 0o600} {
		if fi, _ := os.Stat(filepath.Join(dir, p)); fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	if l, err := os.Readlink(filepath.Join(dir, "link.yaml")); err != nil || l != "docker-compose.yaml" {
		t.Errorf("link: %q %v", l, err)
	}
}

// A tar entry that would land outside the directory is refused.
func TestUntarRefusesEscapes(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	if err := os.MkdirAll(filepath.Join(src, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "a", "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Named relative to a/sub, the entries climb out: "../" and "../f".
	tarPath := filepath.Join(root, "t.tar")
	if _, err := tarDirs(tarPath, filepath.Join(src, "a", "sub"), []string{filepath.Join(src, "a")}, ""); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(root, "dst")
	err := untar(tarPath, dst)
	if err == nil || !strings.Contains(err.Error(), `entry "../" leaves `+dst) {
		t.Errorf("untar of an escaping entry: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "f")); err == nil {
		t.Error("the escaping entry was written")
	}
}

func TestFetchImages(t *testing.T) {
	var pulled []string
	pull := func(ref string) error {
		pulled = append(pulled, ref)
		if strings.Contains(ref, "app") {
			return errors.New("connection refused")
		}
		return nil
	}
	err := fetchImages([]string{"r/deepflow-server:v7.1", "r/deepflow-app:v7.1"}, false, "v7.1", pull)
	if !errors.Is(err, ErrImages) || err.Error() != "target images unavailable: r/deepflow-app:v7.1 (connection refused); on a host with no network, load them first: `deepflow-compose bundle load BUNDLE` (a bundle saved from a v7.1 render)" {
		t.Errorf("pull failed: %v", err)
	}
	if len(pulled) != 2 {
		t.Errorf("pulled %v", pulled)
	}
	pulled = nil
	err = fetchImages([]string{"r/deepflow-server:v7.1"}, true, "v7.1", pull)
	if !errors.Is(err, ErrImages) || err.Error() != "target images unavailable: not on this engine: r/deepflow-server:v7.1; this deployment is offline: load them first with `deepflow-compose bundle load BUNDLE` (a bundle saved from a v7.1 render)" {
		t.Errorf("offline: %v", err)
	}
	if len(pulled) != 0 {
		t.Errorf("an offline deployment pulled %v", pulled)
	}
	if err := fetchImages([]string{"r/x:1"}, false, "v7.1", func(string) error { return nil }); err != nil {
		t.Errorf("pulled fine: %v", err)
	}
}

func TestConfirm(t *testing.T) {
	for _, c := range []struct {
		in, err string
	}{
		{"y\n", ""},
		{" YES \n", ""},
		{"yes", ""},
		{"n\n", "aborted: nothing changed"},
		{"\n", "aborted: nothing changed"},
		{"", "aborted: no answer (pass --yes to upgrade without asking)"},
		{"  ", "aborted: no answer (pass --yes to upgrade without asking)"},
	} {
		var out strings.Builder
		u := &upgrader{o: Options{Out: &out, In: strings.NewReader(c.in)}}
		err := u.confirm()
		if out.String() != "Proceed? [y/N] " {
			t.Errorf("%q: prompt %q", c.in, out.String())
		}
		if c.err == "" {
			if err != nil {
				t.Errorf("%q: %v", c.in, err)
			}
			continue
		}
		if !errors.Is(err, ErrAborted) || err.Error() != c.err {
			t.Errorf("%q: %v, want %s", c.in, err, c.err)
		}
	}
}
