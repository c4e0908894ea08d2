package dbver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/catalog"
)

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"7.0.1.29", "7.1.0.30", -1},
		{"7.1.0.30", "7.0.1.29", 1},
		{"6.6.1.25", "6.6.1.25", 0},
		{"7.0.1.8", "7.0.1.23", -1}, // numeric, not text, order
		{"7.1", "7.1.0.0", 0},
		{"v7.0.5.0", "v7.1.7.3", -1},
	} {
		got, err := Compare(c.a, c.b)
		if err != nil || got != c.want {
			t.Errorf("Compare(%q, %q) = %d, %v; want %d", c.a, c.b, got, err, c.want)
		}
	}
}

// Compare refuses what catalog.CompareVersions would merely sort first.
func TestCompareRefuses(t *testing.T) {
	for _, c := range []struct {
		a, b string
		is   error
		msg  string
	}{
		{"", "7.1", ErrEmptyVersion, "db_version is empty"},
		{"7.1", "", ErrEmptyVersion, "db_version is empty"},
		{"v", "7.1", ErrUnknownVersion, `unknown version: "v"`},
		{"7.1", "7..1", ErrUnknownVersion, `unknown version: "7..1"`},
		{"7.1+", "7.1", ErrUnknownVersion, `unknown version: "7.1+"`},
	} {
		_, err := Compare(c.a, c.b)
		if !errors.Is(err, c.is) || err.Error() != c.msg {
			t.Errorf("Compare(%q, %q): %v, want %s", c.a, c.b, err, c.msg)
		}
	}
}

func TestJudgeErrors(t *testing.T) {
	for _, c := range []struct {
		current, target string
		want            Verdict
		is              error
		msg             string
	}{
		{"7.0.1.29", "7.1.0.30", Upgrade, nil, ""},
		{"7.1.0.30", "7.1.0.30", Same, nil, ""},
		{"7.1.0.30", "7.0.1.29", Downgrade, ErrDowngrade,
			"deepflow: downgrade: db_version is 7.1.0.30, newer than the 7.0.1.29 the target expects; DeepFlow never migrates down, and its server would exit in a loop. Stay on the current version, or restore a backup taken before the upgrade"},
		{"", "7.1.0.30", Same, ErrEmptyVersion,
			`deepflow: db_version is empty: the server would stop with "current db version is null"; restore the database from a backup, or repair db_version by hand`},
		{"7.1.x", "7.1.0.30", Same, ErrUnknownVersion, `deepflow: db_version "7.1.x", target "7.1.0.30": unknown version: "7.1.x"`},
		{"7.1.0.30", "", Same, ErrEmptyVersion, `deepflow: db_version "7.1.0.30", target "": db_version is empty`},
	} {
		got, err := Judge("deepflow", c.current, c.target)
		if got != c.want || !errors.Is(err, c.is) || (c.is == nil) != (err == nil) {
			t.Errorf("Judge(%q, %q) = %v, %v; want %v, %v", c.current, c.target, got, err, c.want, c.is)
			continue
		}
		if err != nil && err.Error() != c.msg {
			t.Errorf("Judge(%q, %q) says:\n%s\nwant:\n%s", c.current, c.target, err, c.msg)
		}
	}
}

func TestJudgeAll(t *testing.T) {
	vs := []DBVersion{
		{Database: "deepflow", Version: "7.0.1.29"},
		{Database: "0002_deepflow", Version: "7.1.0.30"},
		{Database: "0003_deepflow", Err: ErrEmptyVersion},
	}
	got, err := JudgeAll(vs, "7.1.0.30")
	if got != Upgrade || !errors.Is(err, ErrEmptyVersion) || errors.Is(err, ErrDowngrade) {
		t.Errorf("JudgeAll = %v, %v", got, err)
	}
	got, err = JudgeAll(vs[:2], "7.0.1.29")
	if got != Downgrade || !errors.Is(err, ErrDowngrade) {
		t.Errorf("JudgeAll = %v, %v", got, err)
	}
}

func TestParseBatch(t *testing.T) {
	got := parseBatch("a\tb\\tc\n\\\\x\tline\\nbreak\nNULL\t\n")
	want := [][]string{{"a", "b\tc"}, {`\x`, "line\nbreak"}, {"NULL", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseBatch = %q, want %q", got, want)
	}
	if got := parseBatch(""); got != nil {
		t.Errorf("no output: %q", got)
	}
}

func TestCheckComplete(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, body, msg string
	}{
		{"complete", "-- MySQL dump\nINSERT INTO t VALUES (1);\n-- Dump completed on 2026-11-27  8:00:00\n", ""},
		{"trailing blank lines", "x\n-- Dump completed on 2026-11-27  8:00:00\n\n\n", ""},
		{"cut", "-- MySQL dump\nINSERT INTO t VALUES (1);\n", `cut: dump incomplete: its last line is "INSERT INTO t VALUES (1);", not mysqldump's "-- Dump completed on …"`},
		{"empty", "", `empty: dump incomplete: its last line is "", not mysqldump's "-- Dump completed on …"`},
	} {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		err := CheckComplete(p)
		if c.msg == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrDumpIncomplete) || err.Error() != filepath.Join(dir, c.msg) {
			t.Errorf("%s: %v\nwant %s", c.name, err, filepath.Join(dir, c.msg))
		}
	}
}

func TestDumpContents(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d.sql")
	body := "-- Current Database: `deepflow`\n" +
		"/*!40000 DROP DATABASE IF EXISTS `deepflow`*/;\n" +
		"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `deepflow` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;\n" +
		"USE `deepflow`;\n" +
		"CREATE TABLE `db_version` (\n  `version` char(64) NOT NULL\n);\n" +
		"INSERT INTO `db_version` VALUES ('CREATE TABLE `fake` (');\n" +
		"CREATE TABLE `we``ird` (\n  `id` int\n);\n" +
		"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `grafana` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;\n" +
		"USE `grafana`;\n" +
		"-- Dump completed on 2026-11-27\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := DumpContents(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"deepflow": {"db_version", "we`ird"}, "grafana": {}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DumpContents = %q, want %q", got, want)
	}
}

func TestTableVersionsQuery(t *testing.T) {
	got := TableVersionsQuery([]string{"flow_log", "o'dd"})
	want := `SELECT database, table, comment FROM system.columns WHERE name = 'time' AND database IN ('flow_log', 'o\'dd') ORDER BY database, table FORMAT TabSeparated`
	if got != want {
		t.Errorf("query:\n%s\nwant\n%s", got, want)
	}
	if unescape(`a\tb\\c\nd\'e`) != "a\tb\\c\nd'e" {
		t.Errorf("unescape")
	}
}

func TestCheckClickHouse(t *testing.T) {
	for _, c := range []struct {
		name   string
		tables []TableVersion
		msg    string
	}{
		{"all equal", []TableVersion{{"flow_log", "l4_flow_log", "v7.1.7.3"}, {"flow_metrics", "network.1m", "v7.1.7.3"}}, ""},
		// Equality, not order: a newer table is as wrong as an older one.
		{"newer", []TableVersion{{"flow_log", "l4_flow_log", "v7.2.0.0"}},
			"clickhouse table version differs: want v7.1.7.3, but 1 of 1 tables differ: flow_log.l4_flow_log (v7.2.0.0)"},
		{"none", nil, "clickhouse table version differs: want v7.1.7.3, but no table carries a version yet (has deepflow-server's ingester started?)"},
	} {
		err := CheckClickHouse(c.tables, "v7.1.7.3")
		if c.msg == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrTableVersion) || err.Error() != c.msg {
			t.Errorf("%s: %v\nwant %s", c.name, err, c.msg)
		}
	}
}

func TestCheckClickHouseIn(t *testing.T) {
	r, err := catalog.ParseRange("v7.1.7.3+")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckClickHouseIn([]TableVersion{{"flow_log", "a", "v7.1.7.3"}, {"flow_log", "b", "v7.1.8.0"}}, r); err != nil {
		t.Errorf("in range: %v", err)
	}
	err = CheckClickHouseIn([]TableVersion{{"flow_log", "a", "v7.0.5.0"}, {"flow_log", "b", "x"}, {"flow_log", "c", "v7.2"}}, r)
	want := "clickhouse table version differs: want v7.1.7.3+, but 2 of 3 tables differ: flow_log.a (v7.0.5.0), flow_log.b (x)"
	if !errors.Is(err, ErrTableVersion) || err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

// ClickHouse's TabSeparated answers read as the mysql client's batch
// output does: one row per line, a lone newline one row with an empty
// value, as two newlines are two such rows.
func TestClickHouseQueryRows(t *testing.T) {
	for _, c := range []struct {
		body string
		want [][]string
	}{
		{"", nil},
		{"\n", [][]string{{""}}},
		{"\n\n", [][]string{{""}, {""}}},
		{"flow_log\tl4\\tx\tv7.1.7.3\n", [][]string{{"flow_log", "l4\tx", "v7.1.7.3"}}},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-ClickHouse-User") != "u" || r.Header.Get("X-ClickHouse-Key") != "p" {
				http.Error(w, "Code: 516. Authentication failed", http.StatusUnauthorized)
				return
			}
			io.WriteString(w, c.body)
		}))
		got, err := (&ClickHouse{URL: srv.URL, User: "u", Password: "p"}).Query(context.Background(), "SELECT 1")
		srv.Close()
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %q, %v; want %q", c.body, got, err, c.want)
		}
	}
}
