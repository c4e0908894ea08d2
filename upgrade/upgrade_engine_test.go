package upgrade_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/internal/stacktest"

	"github.com/moby/moby/client"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/dbver"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/upgrade"
)

// Versions as DeepFlow's v7.0.9 and v7.1.8 servers leave them (catalog).
const (
	dbV70 = "7.0.1.23"
	dbV71 = "7.1.0.30"
	ckV70 = "v7.0.5.0"
	ckV71 = "v7.1.7.3"
)

const dataSeed = `
CREATE TABLE deepflow.vtap_group (id INT PRIMARY KEY, name VARCHAR(64), note TEXT) DEFAULT CHARSET=utf8mb4;
INSERT INTO deepflow.vtap_group VALUES (1, 'g-default', 'plain'), (2, 'g-tricky', 'quote '' back \\ 数据');
CREATE TABLE grafana.dashboard (id INT PRIMARY KEY, title VARCHAR(64));
INSERT INTO grafana.dashboard VALUES (1, 'DeepFlow Templates');
`

// setVersions sets db_version of both DeepFlow databases.
func setVersions(v string) string {
	return fmt.Sprintf("UPDATE deepflow.db_version SET version = '%[1]s'; UPDATE `0002_deepflow`.db_version SET version = '%[1]s';", v)
}

// columns is the ClickHouse stand-in's answer to the version query: every
// DeepFlow table at one version, as the ingester leaves them.
func columns(v string) string {
	return "flow_log\tl4_flow_log\t" + v + "\nflow_log\tl7_flow_log\t" + v + "\nflow_metrics\tnetwork.1m\t" + v + "\n"
}

type fixture struct {
	t       *testing.T
	dir     string
	e       *engine.Engine
	out     *syncBuffer
	m       *dbver.MySQL
	columns string // the ClickHouse stand-in's seed file
}

func (f *fixture) sql(q string) [][]string {
	f.t.Helper()
	rows, err := f.m.Query(context.Background(), q)
	if err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return rows
}

func (f *fixture) stack() *engine.Stack {
	f.t.Helper()
	s, err := engine.Load(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// untouched is what a refused upgrade must leave as it was.
type untouched struct {
	manifest   []byte
	containers []engine.ServiceContainer
	backups    bool
}

func (f *fixture) snapshot() untouched {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, deployment.ManifestName))
	if err != nil {
		f.t.Fatal(err)
	}
	cs, err := f.e.Containers(context.Background(), f.stack())
	if err != nil {
		f.t.Fatal(err)
	}
	_, err = os.Stat(filepath.Join(f.dir, upgrade.BackupsDir))
	return untouched{manifest: b, containers: cs, backups: err == nil}
}

func (f *fixture) run(o upgrade.Options) (*upgrade.Result, error) {
	f.out.Reset()
	o.Dir, o.Out = f.dir, f.out
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	return upgrade.Run(context.Background(), f.e, o)
}

// newFixture renders v7.0 (bridge), builds the stand-ins of v7.0 and v7.1,
// brings v7.0 up and seeds the databases as a v7.0.9 server leaves them.
func newFixture(t *testing.T) *fixture {
	dockerd.Need(t)
	ctx := context.Background()
	rootfs, err := standin.MariaDBRootfs(ctx)
	if err != nil {
		if os.Getenv("DFC_REQUIRE_ENGINE") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "deploy")
	plan, err := render.Prepare(ctx, render.Options{
		Inputs: settings.Inputs{Profile: "bridge", NodeIP: "127.0.0.1", Version: "v7.0", Sets: []string{
			"dataDir=" + filepath.Join(root, "data"), "registry=" + testRegistry, "projectName=dfc-upgrade",
			// This machine cannot give a container the agent's capabilities.
			"agent.onServer=false",
			`mysql.password=p'w"$x\y`}},
		OutDir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Write(false); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	e, err := engine.New(engine.Options{Out: out, Err: out, Progress: engine.ProgressPlain, ProbeInterval: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	f := &fixture{t: t, dir: dir, e: e, out: out, columns: filepath.Join(root, "data", "clickhouse", "standin-columns.tsv")}
	s := f.stack()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := e.Down(ctx, f.stack(), engine.DownOptions{Purge: true, Yes: true}); err != nil {
			t.Logf("cleanup down: %v\n%s", err, out.String())
		}
	})

	// Two stand-in builds, so v7.0 and v7.1 are different images, as they
	// are for real; MySQL is 8.0.39 in both, the MariaDB stand-in.
	var mysqlRefs []string
	for i, v := range []string{"v7.0", "v7.1"} {
		im, err := catalog.Resolve(v, testRegistry, nil)
		if err != nil {
			t.Fatal(err)
		}
		mysqlRefs = append(mysqlRefs, im.MySQL)
		var refs []string
		for _, r := range im.List() {
			if r != im.MySQL && (i == 0 || !strings.Contains(r, ":latest")) {
				refs = append(refs, r)
			}
		}
		// The v7.1 server stand-in holds a migration stage for a few probes.
		if _, err := standin.Build(ctx, e.API(), refs, standin.Options{Health503: 3 * i}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := standin.BuildMariaDB(ctx, e.API(), rootfs, mysqlRefs); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(f.columns), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.columns, []byte(columns(ckV70)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Up(ctx, s, engine.UpOptions{Timeout: 3 * time.Minute}); err != nil {
		t.Fatalf("up v7.0: %v\n%s", err, out.String())
	}
	if f.m, err = dbver.MySQLFor(e.API(), s); err != nil {
		t.Fatal(err)
	}
	f.sql(stacktest.SeedVersionSQL("deepflow", dbV70) + stacktest.SeedVersionSQL("0002_deepflow", dbV70) + dataSeed)
	return f
}

func (f *fixture) serverImage() string {
	f.t.Helper()
	cs, err := f.e.Containers(context.Background(), f.stack())
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range cs {
		if c.Service == "deepflow-server" {
			return c.Image
		}
	}
	f.t.Fatal("no deepflow-server container")
	return ""
}

func TestUpgradeV70ToV71(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rows := func() [][]string {
		return f.sql("SELECT id, name, note FROM deepflow.vtap_group ORDER BY id; SELECT title FROM grafana.dashboard")
	}
	seeded := rows()
	if len(seeded) != 3 {
		t.Fatalf("seed: %q", seeded)
	}

	refused := func(t *testing.T, o upgrade.Options, sentinel error, says ...string) {
		t.Helper()
		before := f.snapshot()
		_, err := f.run(o)
		if !errors.Is(err, upgrade.ErrRefused) || !errors.Is(err, sentinel) {
			t.Fatalf("want a refusal (%v), got %v\n%s", sentinel, err, f.out.String())
		}
		for _, s := range says {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("the refusal does not say %q:\n%v", s, err)
			}
		}
		after := f.snapshot()
		if !reflect.DeepEqual(before, after) {
			t.Errorf("a refused upgrade touched something:\nbefore %+v\nafter  %+v", before, after)
		}
		if after.backups {
			t.Error("a refused upgrade made a backups folder")
		}
	}

	t.Run("empty db_version refused", func(t *testing.T) {
		f.sql("DELETE FROM `0002_deepflow`.db_version")
		defer f.sql("INSERT INTO `0002_deepflow`.db_version (version) VALUES ('" + dbV70 + "')")
		refused(t, upgrade.Options{Version: "v7.1", Yes: true}, dbver.ErrEmptyVersion,
			"0002_deepflow: db_version is empty in database 0002_deepflow", "restore the database from a backup")
	})

	t.Run("downgrade refused", func(t *testing.T) {
		// From the databases: already at v7.1.8's version, while v7.0's
		// servers expect at most 7.0.1.29.
		f.sql(setVersions(dbV71))
		refused(t, upgrade.Options{Version: "v7.0", Yes: true}, dbver.ErrDowngrade,
			"deepflow: downgrade: db_version is 7.1.0.30, newer than DeepFlow v7.0's 7.0.1.23..7.0.1.29",
			"0002_deepflow: downgrade: db_version is 7.1.0.30")
		f.sql(setVersions(dbV70))
		// From the running server image and the rendered version as well.
		refused(t, upgrade.Options{Version: "v6.6", Yes: true}, dbver.ErrDowngrade,
			"is rendered for DeepFlow v7.0, newer than v6.6",
			"the running server image "+testRegistry+"/deepflow-server:v7.0 is DeepFlow v7.0, newer than v6.6",
			"deepflow: downgrade: db_version is 7.0.1.23, newer than DeepFlow v6.6's 6.5.1.46..6.6.1.25")
	})

	t.Run("not running from this directory", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "copy")
		if out, err := exec.Command("cp", "-a", f.dir, other).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		_, err := upgrade.Run(ctx, f.e, upgrade.Options{Dir: other, Version: "v7.1", Yes: true, Out: f.out})
		if !errors.Is(err, upgrade.ErrRefused) || !errors.Is(err, upgrade.ErrNotRunning) || !strings.Contains(err.Error(), "mysql runs from "+f.dir) {
			t.Fatalf("want ErrNotRunning naming %s, got %v", f.dir, err)
		}
	})

	t.Run("target image absent and not pullable", func(t *testing.T) {
		ref := testRegistry + "/deepflow-app:v7.1"
		img, err := f.e.Inspect(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.e.API().ImageRemove(ctx, ref, client.ImageRemoveOptions{}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := f.e.TagImage(ctx, img.ID, ref); err != nil {
				t.Fatal(err)
			}
		}()
		// The pull goes to the test registry's closed loopback port.
		refused(t, upgrade.Options{Version: "v7.1", Yes: true}, upgrade.ErrImages,
			"target images unavailable: "+ref+" (image not available: pull "+ref,
			"on a host with no network, load them first: `deepflow-compose bundle load BUNDLE` (a bundle saved from a v7.1 render)")
	})

	t.Run("dry run", func(t *testing.T) {
		before := f.snapshot()
		res, err := f.run(upgrade.Options{Version: "v7.1", DryRun: true, WriteDiff: writeDiff})
		if err != nil || !res.DryRun {
			t.Fatalf("dry run: %+v, %v\n%s", res, err, f.out.String())
		}
		out := f.out.String()
		for _, want := range []string{
			"Upgrade plan for " + f.dir + " (project dfc-upgrade): DeepFlow v7.0 -> v7.1",
			"server           " + testRegistry + "/deepflow-server:v7.0 -> " + testRegistry + "/deepflow-server:v7.1",
			"mysql            " + testRegistry + "/mysql:8.0.39 (unchanged)",
			"+++ b/docker-compose.yaml",
			"MySQL db_version: deepflow 7.0.1.23, 0002_deepflow 7.0.1.23 -> 7.1.0.30+",
			"ClickHouse (column time's comment): 3 tables: 3 at v7.0.5.0 -> v7.1.7.3+",
			"Backup: " + filepath.Join(f.dir, "backups") + "/",
			"Dry run: nothing changed.",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("the plan lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, `p'w"$x\y`) {
			t.Errorf("the plan shows the MySQL password:\n%s", out)
		}
		if after := f.snapshot(); !reflect.DeepEqual(before, after) || after.backups {
			t.Errorf("a dry run touched something")
		}
	})

	t.Run("a failed step leaves the old images and names the restore", func(t *testing.T) {
		// Nothing plays the migration this time: the v7.1 server stand-in
		// comes up on a database still at 7.0.1.23, and step 5 must stop
		// the upgrade there, before app and Grafana start.
		_, err := f.run(upgrade.Options{Version: "v7.1", Yes: true})
		if !errors.Is(err, upgrade.ErrFailed) || !errors.Is(err, upgrade.ErrVersionCheck) ||
			!strings.Contains(err.Error(), "step 5 (versions): version check failed: deepflow: db_version 7.0.1.23, want 7.1.0.30+") {
			t.Fatalf("want a failed step 5, got %v\n%s", err, f.out.String())
		}
		bs, lerr := upgrade.ListBackups(f.dir)
		if lerr != nil || len(bs) != 1 || bs[0].Err != nil {
			t.Fatalf("backups: %+v %v", bs, lerr)
		}
		if want := "To go back to DeepFlow v7.0 with the data as it was: deepflow-compose upgrade --restore " + bs[0].Path; !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
		for _, ref := range []string{"deepflow-server:v7.0", "deepflow-app:v7.0", "deepflow-agent:v7.0"} {
			if ok, err := f.e.HasImage(ctx, testRegistry+"/"+ref); !ok || err != nil {
				t.Errorf("old image %s gone: %v", ref, err)
			}
		}
		cs, _ := f.e.Containers(ctx, f.stack())
		for _, c := range cs {
			if c.Service == "deepflow-app" && c.State == "running" {
				t.Error("deepflow-app was started after a failed version check")
			}
		}
		f.out.Reset()
		if err := upgrade.Restore(ctx, f.e, upgrade.RestoreOptions{Backup: bs[0].Path, Yes: true, Timeout: 2 * time.Minute, Out: f.out}); err != nil {
			t.Fatalf("restore: %v\n%s", err, f.out.String())
		}
		if got := f.serverImage(); got != testRegistry+"/deepflow-server:v7.0" {
			t.Errorf("the server runs %s after restore", got)
		}
		if err := os.RemoveAll(filepath.Join(f.dir, upgrade.BackupsDir)); err != nil {
			t.Fatal(err)
		}
	})

	var backup string
	t.Run("upgrade", func(t *testing.T) {
		played, bootstraps := 0, 0
		res, err := f.run(upgrade.Options{Version: "v7.1", Yes: true, WriteDiff: writeDiff,
			// PLAYS DEEPFLOW'S MIGRATION: the server stand-in migrates
			// nothing, so once the v7.1 server has started, the test sets
			// db_version and the ClickHouse table comments to what a
			// v7.1.8 server leaves. The upgrade's own checks (step 5) then
			// read them through the stack.
			ServerStarted: func(ctx context.Context) error {
				played++
				if _, err := f.m.Query(ctx, setVersions(dbV71)); err != nil {
					return err
				}
				return os.WriteFile(f.columns, []byte(columns(ckV71)), 0o644)
			},
			Bootstrap: func(context.Context) error { bootstraps++; return nil },
		})
		out := f.out.String()
		if err != nil {
			t.Fatalf("upgrade: %v\n%s", err, out)
		}
		t.Logf("upgrade said:\n%s", out)
		if played != 1 || bootstraps != 1 {
			t.Errorf("migration played %d times, bootstrap ran %d times; want 1 and 1", played, bootstraps)
		}
		backup = res.Backup
		if filepath.Dir(backup) != filepath.Join(f.dir, upgrade.BackupsDir) {
			t.Fatalf("backup in %s", backup)
		}
		// Steps in order, the migration stage followed.
		last := -1
		for _, step := range []string{"Step 1: stopping the writers", "Backup verified", "Step 2:", "Step 3:", "Step 4:",
			"migrating the database schema", "Step 5:", "MySQL db_version: deepflow 7.1.0.30, 0002_deepflow 7.1.0.30",
			"ClickHouse: 3 tables: 3 at v7.1.7.3", "Step 6:", "Step 7:", "Step 8:", "deepflow-compose agent --server 127.0.0.1 --version v7.1"} {
			i := strings.Index(out, step)
			if i < 0 || i < last {
				t.Errorf("%q missing or out of order in:\n%s", step, out)
				break
			}
			last = i
		}
		// The files are re-rendered.
		d, err := deployment.Load(f.dir)
		if err != nil {
			t.Fatal(err)
		}
		if d.Settings.Version != "v7.1" || d.Settings.MySQL.Password != "" || d.Secrets().MySQL != `p'w"$x\y` {
			t.Errorf("re-rendered settings: version %s, secrets kept: %v", d.Settings.Version, d.Secrets().MySQL == `p'w"$x\y`)
		}
		compose, _ := os.ReadFile(filepath.Join(f.dir, "docker-compose.yaml"))
		if !strings.Contains(string(compose), "deepflow-server:v7.1") {
			t.Error("docker-compose.yaml does not name the v7.1 server")
		}
		if got := f.serverImage(); got != testRegistry+"/deepflow-server:v7.1" {
			t.Errorf("the server runs %s", got)
		}
		// The data is kept.
		if got := rows(); !reflect.DeepEqual(got, seeded) {
			t.Errorf("rows after the upgrade %q, want %q", got, seeded)
		}
		// The backup: 0700, files 0600, a manifest that says what it holds.
		st, err := os.Stat(backup)
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("backup dir: %v %v", st.Mode(), err)
		}
		entries, _ := os.ReadDir(backup)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
			if fi, _ := e.Info(); fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v", e.Name(), fi.Mode().Perm())
			}
		}
		if want := []string{"backup.json", "clickhouse.tar", "mysql.sql", "rendered.tar"}; !reflect.DeepEqual(names, want) {
			t.Errorf("backup files %v, want %v", names, want)
		}
		info, err := upgrade.ReadBackup(backup)
		if err != nil {
			t.Fatal(err)
		}
		if info.From != "v7.0" || info.To != "v7.1" || !reflect.DeepEqual(info.Versions, map[string]string{"deepflow": dbV70, "0002_deepflow": dbV70}) ||
			!reflect.DeepEqual(info.Databases, []string{"deepflow", "0002_deepflow", "grafana"}) || info.DumpRows["deepflow.vtap_group"] != 2 ||
			info.ClickHouseTables["flow_log.l4_flow_log"] != ckV70 {
			t.Errorf("backup manifest: %+v", info)
		}
		var server upgrade.ServiceImage
		for _, im := range info.Images {
			if im.Service == "deepflow-server" {
				server = im
			}
		}
		if server.Ref != testRegistry+"/deepflow-server:v7.0" || !strings.HasPrefix(server.ID, "sha256:") {
			t.Errorf("recorded server image %+v", server)
		}
	})
	if backup == "" {
		t.FailNow()
	}

	t.Run("second upgrade does nothing", func(t *testing.T) {
		before := f.snapshot()
		res, err := f.run(upgrade.Options{Version: "v7.1", Yes: true})
		if err != nil || !res.Nothing {
			t.Fatalf("second upgrade: %+v, %v\n%s", res, err, f.out.String())
		}
		if !strings.Contains(f.out.String(), "already runs DeepFlow v7.1: db_version deepflow 7.1.0.30, 0002_deepflow 7.1.0.30; ClickHouse 3 tables: 3 at v7.1.7.3. Nothing to do.") {
			t.Errorf("output: %s", f.out.String())
		}
		if after := f.snapshot(); !reflect.DeepEqual(before, after) {
			t.Errorf("the second upgrade changed something")
		}
		bs, err := upgrade.ListBackups(f.dir)
		if err != nil || len(bs) != 1 || bs[0].Path != backup || bs[0].Err != nil {
			t.Errorf("backups: %+v, %v", bs, err)
		}
	})

	t.Run("restore after damage", func(t *testing.T) {
		f.sql("DELETE FROM deepflow.vtap_group WHERE id = 2; UPDATE grafana.dashboard SET title = 'damaged'; CREATE TABLE deepflow.added_by_migration (id INT)")
		if err := os.WriteFile(f.columns, []byte("flow_log\tdamaged\tv0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f.out.Reset()
		if err := upgrade.Restore(ctx, f.e, upgrade.RestoreOptions{Backup: backup, Yes: true, Timeout: 2 * time.Minute, Out: f.out}); err != nil {
			t.Fatalf("restore: %v\n%s", err, f.out.String())
		}
		t.Logf("restore said:\n%s", f.out.String())
		d, err := deployment.Load(f.dir)
		if err != nil {
			t.Fatal(err)
		}
		if d.Settings.Version != "v7.0" {
			t.Errorf("files after restore render %s", d.Settings.Version)
		}
		if got := f.serverImage(); got != testRegistry+"/deepflow-server:v7.0" {
			t.Errorf("the server runs %s after restore", got)
		}
		if got := rows(); !reflect.DeepEqual(got, seeded) {
			t.Errorf("rows after restore %q, want %q", got, seeded)
		}
		vs, err := f.m.Versions(ctx)
		if err != nil || !reflect.DeepEqual(vs, []dbver.DBVersion{{Database: "deepflow", Version: dbV70}, {Database: "0002_deepflow", Version: dbV70}}) {
			t.Errorf("versions after restore %+v, %v", vs, err)
		}
		if tables := f.sql("SHOW TABLES FROM deepflow"); len(tables) != 2 {
			t.Errorf("tables after restore: %q", tables)
		}
		if b, _ := os.ReadFile(f.columns); string(b) != columns(ckV70) {
			t.Errorf("ClickHouse data after restore: %q", b)
		}
		if _, err := os.Stat(backup); err != nil {
			t.Errorf("the restore lost the backup: %v", err)
		}
	})

	t.Run("restore refuses to start the old server on a migrated database", func(t *testing.T) {
		// A backup whose recorded version the dump does not bring back
		// stands for a database that stays migrated.
		tampered := filepath.Join(f.dir, upgrade.BackupsDir, "tampered")
		if out, err := exec.Command("cp", "-a", backup, tampered).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		b, _ := os.ReadFile(filepath.Join(tampered, upgrade.BackupManifest))
		var info map[string]any
		if err := json.Unmarshal(b, &info); err != nil {
			t.Fatal(err)
		}
		info["versions"] = map[string]string{"deepflow": "7.0.1.20", "0002_deepflow": dbV70}
		b, _ = json.Marshal(info)
		if err := os.WriteFile(filepath.Join(tampered, upgrade.BackupManifest), b, 0o600); err != nil {
			t.Fatal(err)
		}
		f.out.Reset()
		err := upgrade.Restore(ctx, f.e, upgrade.RestoreOptions{Backup: tampered, Yes: true, Timeout: 2 * time.Minute, Out: f.out})
		if !errors.Is(err, upgrade.ErrMigrated) || !strings.Contains(err.Error(), "deepflow is 7.0.1.23, the backup has 7.0.1.20") {
			t.Fatalf("want ErrMigrated, got %v\n%s", err, f.out.String())
		}
		cs, _ := f.e.Containers(ctx, f.stack())
		for _, c := range cs {
			if c.Service == "deepflow-server" && c.State == "running" {
				t.Errorf("the server was started on a database the backup does not match")
			}
		}
	})
}

// writeDiff is the diff writer cmd passes in, reduced to the headers.
func writeDiff(w io.Writer, changes []render.Change) bool {
	any := false
	for _, c := range changes {
		if c.Kind == render.Unchanged {
			continue
		}
		any = true
		fmt.Fprintf(w, "--- a/%s\n+++ b/%s\n", c.Path, c.Path)
		for _, l := range strings.Split(string(c.New), "\n") {
			fmt.Fprintf(w, "+%s\n", l)
		}
	}
	return any
}
