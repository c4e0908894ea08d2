package dbver_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/internal/stacktest"

	"github.com/moby/moby/client"

	"github.com/deepflow-compose/deepflow-compose/dbver"
)

// releases are db_version as each DeepFlow release leaves it (its
// DB_VERSION_EXPECTED), from DeepFlow's server source.
var releases = []struct{ server, dbVersion string }{
	{"v6.5.9", "6.5.1.46"},
	{"v6.6.9", "6.6.1.25"},
	{"v7.0.2", "7.0.1.8"},
	{"v7.0.9", "7.0.1.23"},
	{"v7.1.0", "7.0.1.29"},
	{"v7.1.8", "7.1.0.30"},
}

func TestVersions(t *testing.T) {
	st := renderStack(t)
	m := st.startMySQL(t)
	ctx := context.Background()
	// Databases that are not DeepFlow's, even with a db_version, are not read.
	mustSQL(t, m, stacktest.SeedVersionSQL("deepflow_archive", "9.9.9.9")+stacktest.SeedVersionSQL("grafana", "9.9.9.9"))

	target := releases[len(releases)-1]
	for _, rel := range releases {
		t.Run("as "+rel.server+" leaves it", func(t *testing.T) {
			mustSQL(t, m, stacktest.SeedVersionSQL("deepflow", rel.dbVersion)+stacktest.SeedVersionSQL("0002_deepflow", rel.dbVersion))
			got, err := m.Versions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []dbver.DBVersion{{Database: "deepflow", Version: rel.dbVersion}, {Database: "0002_deepflow", Version: rel.dbVersion}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("versions: %+v, want %+v", got, want)
			}
			verdict, err := dbver.JudgeAll(got, target.dbVersion)
			wantVerdict := dbver.Upgrade
			if rel == target {
				wantVerdict = dbver.Same
			}
			if err != nil || verdict != wantVerdict {
				t.Errorf("to %s: %v, %v; want %v", target.server, verdict, err, wantVerdict)
			}
			// Going back to the release before is a downgrade, except from the oldest.
			if rel != releases[0] {
				verdict, err := dbver.JudgeAll(got, releases[0].dbVersion)
				if verdict != dbver.Downgrade || !errors.Is(err, dbver.ErrDowngrade) {
					t.Errorf("to %s: %v, %v; want a refused downgrade", releases[0].server, verdict, err)
				}
			}
		})
	}

	t.Run("empty version", func(t *testing.T) {
		mustSQL(t, m, stacktest.SeedVersionSQL("deepflow", "7.0.1.29")+stacktest.SeedVersionSQL("0002_deepflow", "7.0.1.29")+"DELETE FROM `0002_deepflow`.db_version")
		got, err := m.Versions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Err != nil || got[0].Version != "7.0.1.29" || !errors.Is(got[1].Err, dbver.ErrEmptyVersion) {
			t.Fatalf("versions: %+v", got)
		}
		_, err = dbver.JudgeAll(got, target.dbVersion)
		if !errors.Is(err, dbver.ErrEmptyVersion) || err.Error() != "0002_deepflow: db_version is empty in database 0002_deepflow" {
			t.Errorf("judged: %v", err)
		}
	})

	t.Run("no db_version table", func(t *testing.T) {
		mustSQL(t, m, stacktest.SeedVersionSQL("deepflow", "7.0.1.29")+"DROP DATABASE `0002_deepflow`; DROP TABLE deepflow.db_version")
		got, err := m.Versions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !errors.Is(got[0].Err, dbver.ErrNoVersionTable) {
			t.Fatalf("versions: %+v", got)
		}
	})

	t.Run("no DeepFlow database", func(t *testing.T) {
		mustSQL(t, m, "DROP DATABASE deepflow")
		if _, err := m.Versions(ctx); !errors.Is(err, dbver.ErrNoVersionTable) {
			t.Fatalf("want ErrNoVersionTable, got %v", err)
		}
	})
}

// tricky holds values that break naive dumping and loading.
const trickySeed = `
CREATE TABLE deepflow.vtap_group (
  id INT AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  note TEXT NULL,
  raw VARBINARY(16) NULL
) ENGINE=innodb DEFAULT CHARSET=utf8mb4;
INSERT INTO deepflow.vtap_group (name, note, raw) VALUES
  ('g-default', 'plain', NULL),
  ('g-tricky', 'quote '' double " back \\ tab \t newline \n dollar $x -- not a comment; USE other;', 0x00FF0A0D27),
  ('g-unicode', 'übergrößen 数据 🚀', ''),
  ('g-null', NULL, NULL);
CREATE DATABASE grafana_probe_free;
`

func TestDumpVerifyRestore(t *testing.T) {
	st := renderStack(t)
	m := st.startMySQL(t)
	ctx := context.Background()
	mustSQL(t, m, stacktest.SeedVersionSQL("deepflow", "7.0.1.29")+stacktest.SeedVersionSQL("0003_deepflow", "7.0.1.29")+trickySeed+
		"CREATE TABLE grafana.dashboard (id INT PRIMARY KEY, title VARCHAR(64)); INSERT INTO grafana.dashboard VALUES (1, 'DeepFlow Templates');")
	snapshot := func() [][]string {
		return mustSQL(t, m, "SELECT id, name, IFNULL(note, 'NULL!'), HEX(raw) FROM deepflow.vtap_group ORDER BY id")
	}
	before := snapshot()
	if len(before) != 4 {
		t.Fatalf("seed: %q", before)
	}

	dbs, err := m.BackupDatabases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"deepflow", "0003_deepflow", "grafana"}; !reflect.DeepEqual(dbs, want) {
		t.Fatalf("backup databases %v, want %v", dbs, want)
	}
	dir := filepath.Join(t.TempDir(), "backup")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(dir, "mysql.sql")
	if err := m.Dump(ctx, dump, dbs); err != nil {
		t.Fatal(err)
	}
	st1, err := os.Stat(dump)
	if err != nil {
		t.Fatal(err)
	}
	if st1.Mode().Perm() != 0o600 {
		t.Errorf("dump mode %v, want 0600", st1.Mode().Perm())
	}
	if err := m.Dump(ctx, dump, dbs); !errors.Is(err, fs.ErrExist) {
		t.Errorf("a second dump over the first: %v", err)
	}
	text, _ := os.ReadFile(dump)
	if !strings.Contains(string(text), "'g-tricky'") || !strings.Contains(string(text), "'DeepFlow Templates'") {
		t.Errorf("the dump lacks the seeded rows")
	}
	contents, err := dbver.DumpContents(dump)
	if err != nil {
		t.Fatal(err)
	}
	wantContents := map[string][]string{"deepflow": {"db_version", "vtap_group"}, "0003_deepflow": {"db_version"}, "grafana": {"dashboard"}}
	if !reflect.DeepEqual(contents, wantContents) {
		t.Errorf("dump contents %v, want %v", contents, wantContents)
	}

	t.Run("verify", func(t *testing.T) {
		v, err := m.VerifyDump(ctx, dump, dbver.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"deepflow.db_version": 1, "deepflow.vtap_group": 4, "0003_deepflow.db_version": 1, "grafana.dashboard": 1}
		if !reflect.DeepEqual(v.Rows, want) {
			t.Errorf("loaded rows %v, want %v", v.Rows, want)
		}
		res, err := st.e.API().ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", dbver.ScratchLabel)})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) != 0 {
			t.Errorf("scratch containers left behind: %d", len(res.Items))
		}
	})

	t.Run("incomplete dump refused", func(t *testing.T) {
		cut := filepath.Join(dir, "cut.sql")
		if err := os.WriteFile(cut, text[:len(text)*2/3], 0o600); err != nil {
			t.Fatal(err)
		}
		if err := m.Restore(ctx, cut); !errors.Is(err, dbver.ErrDumpIncomplete) {
			t.Errorf("restore of a cut dump: %v", err)
		}
		if _, err := m.VerifyDump(ctx, cut, dbver.VerifyOptions{}); !errors.Is(err, dbver.ErrDumpIncomplete) {
			t.Errorf("verify of a cut dump: %v", err)
		}
		if got := snapshot(); !reflect.DeepEqual(got, before) {
			t.Errorf("a refused restore changed data: %q", got)
		}
	})

	t.Run("a failing restore says why", func(t *testing.T) {
		// The client stops at the first error while much input is still
		// to come; its ERROR line must come back, not a broken pipe.
		bad := filepath.Join(dir, "bad.sql")
		body := "CREATE TABLE deepflow.vtap_group (id INT);\n" + strings.Repeat("SELECT 1;\n", 200000) + "-- Dump completed on 2026-11-27\n"
		if err := os.WriteFile(bad, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		err := m.Restore(ctx, bad)
		if !errors.Is(err, dbver.ErrExec) || !strings.Contains(err.Error(), "ERROR 1050 (42S01) at line 1: Table 'vtap_group' already exists") {
			t.Errorf("failing restore: %v", err)
		}
	})

	t.Run("restore after damage", func(t *testing.T) {
		mustSQL(t, m, `UPDATE deepflow.db_version SET version = '7.1.0.30';
DELETE FROM deepflow.vtap_group WHERE name <> 'g-default';
UPDATE deepflow.vtap_group SET note = 'damaged';
CREATE TABLE deepflow.added_by_migration (id INT);
DROP DATABASE `+"`0003_deepflow`"+`;
UPDATE grafana.dashboard SET title = 'damaged';`)
		if err := m.Restore(ctx, dump); err != nil {
			t.Fatal(err)
		}
		if got := snapshot(); !reflect.DeepEqual(got, before) {
			t.Errorf("rows after restore:\n%q\nwant\n%q", got, before)
		}
		vs, err := m.Versions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []dbver.DBVersion{{Database: "deepflow", Version: "7.0.1.29"}, {Database: "0003_deepflow", Version: "7.0.1.29"}}; !reflect.DeepEqual(vs, want) {
			t.Errorf("versions after restore %+v, want %+v", vs, want)
		}
		if rows := mustSQL(t, m, "SHOW TABLES FROM deepflow"); len(rows) != 2 {
			t.Errorf("tables after restore: %q (the migration's table must be gone)", rows)
		}
		if rows := mustSQL(t, m, "SELECT title FROM grafana.dashboard"); len(rows) != 1 || rows[0][0] != "DeepFlow Templates" {
			t.Errorf("grafana after restore: %q", rows)
		}
		// Databases outside the dump are left alone.
		if rows := mustSQL(t, m, "SHOW DATABASES LIKE 'grafana\\_probe\\_free'"); len(rows) != 1 {
			t.Errorf("a database outside the dump was touched: %q", rows)
		}
	})
}
