package upgrade

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/dbver"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/engine"
)

// state is what runs now: containers, the server's release line as its
// image names it, and the databases' versions.
type state struct {
	stack      *engine.Stack
	dep        *deployment.Deployment
	containers map[string]engine.ServiceContainer
	// serverTag is the running server image's tag; serverLine its release
	// line, nil when the catalog does not know the tag.
	serverImage string
	serverLine  *catalog.Release
	mysql       *dbver.MySQL
	dbs         []dbver.DBVersion
	ch          *dbver.ClickHouse
	tables      []dbver.TableVersion
	tablesErr   error
}

// imageTag is the tag of an image reference ("" for a digest or none).
func imageTag(ref string) string {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		return ""
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[i+1:]
	}
	return ""
}

// readState loads the directory and asks the engine and the databases
// what runs. A stack that does not run from dir is refused here.
func readState(ctx context.Context, e *engine.Engine, dir string) (*state, error) {
	dep, err := deployment.Load(dir)
	if err != nil {
		return nil, err
	}
	s, err := engine.FromDeployment(dep)
	if err != nil {
		return nil, err
	}
	st := &state{stack: s, dep: dep, containers: map[string]engine.ServiceContainer{}}
	cs, err := e.Containers(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		st.containers[c.Service] = c
	}
	if err := st.checkRunning(); err != nil {
		return nil, err
	}
	server := st.containers[s.Topology.Server.Service]
	st.serverImage = server.Image
	st.serverLine, _ = catalog.ForTag(imageTag(server.Image))

	st.mysql, err = dbver.MySQLFor(e.API(), s)
	if err != nil {
		return nil, err
	}
	st.dbs, err = st.mysql.Versions(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading db_version: %w", err)
	}
	st.ch, err = dbver.ClickHouseFor(ctx, e.API(), s)
	if err != nil {
		return nil, err
	}
	st.tables, st.tablesErr = st.ch.TableVersions(ctx, nil)
	return st, nil
}

// checkRunning makes sure the project's datastores run, and its server
// exists, from this very directory: another render of the same project
// name elsewhere is not this stack.
func (st *state) checkRunning() error {
	s := st.stack
	if len(st.containers) == 0 {
		return fmt.Errorf("%w: project %s has no containers on this engine; start it first with `deepflow-compose up %s`",
			ErrNotRunning, s.Project, s.Dir)
	}
	var problems []string
	for _, c := range []struct {
		service string
		running bool
	}{{s.Topology.MySQL.Service, true}, {s.Topology.ClickHouse.Service, true}, {s.Topology.Server.Service, false}} {
		sc, ok := st.containers[c.service]
		switch {
		case !ok:
			problems = append(problems, c.service+" has no container")
		case sc.WorkingDir != "" && sc.WorkingDir != s.Dir:
			problems = append(problems, fmt.Sprintf("%s runs from %s", c.service, sc.WorkingDir))
		case c.running && sc.State != "running":
			problems = append(problems, c.service+" is "+sc.State)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: project %s: %s; the upgrade reads the databases through the running stack: run `deepflow-compose up %s` first (or point upgrade at the directory the stack runs from)",
		ErrNotRunning, s.Project, strings.Join(problems, ", "), s.Dir)
}

// judge refuses what DeepFlow's server would choke on: a db_version that
// is empty, unreadable or newer than the target's range, and a target line
// older than the running server's or the directory's.
func (st *state) judge(target *catalog.Release) error {
	var errs []error
	cur := st.dep.Release
	if catalog.Order(cur.Name) > catalog.Order(target.Name) {
		errs = append(errs, fmt.Errorf("%w: %s is rendered for DeepFlow %s, newer than %s", dbver.ErrDowngrade, st.stack.Dir, cur.Name, target.Name))
	}
	if st.serverLine != nil && catalog.Order(st.serverLine.Name) > catalog.Order(target.Name) {
		errs = append(errs, fmt.Errorf("%w: the running server image %s is DeepFlow %s, newer than %s", dbver.ErrDowngrade, st.serverImage, st.serverLine.Name, target.Name))
	}
	want := target.Expected().MySQL
	for _, v := range st.dbs {
		switch {
		case v.Err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", v.Database, v.Err))
		case !catalog.IsVersion(v.Version):
			errs = append(errs, fmt.Errorf("%s: %w: db_version %q is not a dotted version", v.Database, dbver.ErrUnknownVersion, v.Version))
		case want.Above(v.Version):
			errs = append(errs, fmt.Errorf("%s: %w: db_version is %s, newer than DeepFlow %s's %s; DeepFlow never migrates down and its server would exit in a loop",
				v.Database, dbver.ErrDowngrade, v.Version, target.Name, want))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	fix := "stay on the current version, or restore a backup taken before the upgrade that moved it (`deepflow-compose upgrade --list-backups " + st.stack.Dir + "`)"
	if !errors.Is(errors.Join(errs...), dbver.ErrDowngrade) {
		fix = "restore the database from a backup, or repair db_version by hand; the server would stop with \"current db version is null\" or a mismatch"
	}
	return fmt.Errorf("%w: %w\nfix: %s", ErrRefused, errors.Join(errs...), fix)
}

// at reports whether every database already carries a version the target
// expects.
func (st *state) dbsAt(target *catalog.Release) bool {
	want := target.Expected().MySQL
	for _, v := range st.dbs {
		if v.Err != nil || !want.Contains(v.Version) {
			return false
		}
	}
	return len(st.dbs) > 0
}

// describeDBs is "deepflow 7.0.1.23, 0002_deepflow 7.0.1.23".
func describeDBs(dbs []dbver.DBVersion) string {
	var parts []string
	for _, v := range dbs {
		x := v.Version
		if v.Err != nil {
			x = "(" + v.Err.Error() + ")"
		}
		parts = append(parts, v.Database+" "+x)
	}
	return strings.Join(parts, ", ")
}

// describeTables groups tables by version: "4 tables at v7.0.5.0".
func describeTables(tables []dbver.TableVersion, err error) string {
	if err != nil {
		return "unreadable (" + err.Error() + ")"
	}
	if len(tables) == 0 {
		return "no table carries a version yet"
	}
	count := map[string]int{}
	for _, t := range tables {
		v := t.Version
		if v == "" {
			v = "no version"
		}
		count[v]++
	}
	var vs []string
	for v := range count {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	var parts []string
	for _, v := range vs {
		parts = append(parts, fmt.Sprintf("%d at %s", count[v], v))
	}
	return fmt.Sprintf("%d tables: %s", len(tables), strings.Join(parts, ", "))
}

// checkVersions is step 5: every DeepFlow database at one version the
// target expects, every ClickHouse table at one version the target
// expects.
func checkVersions(target *catalog.Release, dbs []dbver.DBVersion, tables []dbver.TableVersion, tablesErr error) error {
	exp := target.Expected()
	var errs []error
	seen := map[string]bool{}
	for _, v := range dbs {
		switch {
		case v.Err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", v.Database, v.Err))
		case !exp.MySQL.Contains(v.Version):
			errs = append(errs, fmt.Errorf("%s: db_version %s, want %s", v.Database, v.Version, exp.MySQL))
		default:
			seen[v.Version] = true
		}
	}
	if len(dbs) == 0 {
		errs = append(errs, errors.New("no DeepFlow database"))
	}
	if len(seen) > 1 {
		errs = append(errs, fmt.Errorf("the databases disagree: %s", describeDBs(dbs)))
	}
	if tablesErr != nil {
		errs = append(errs, tablesErr)
	} else if err := dbver.CheckClickHouseIn(tables, exp.ClickHouse); err != nil {
		errs = append(errs, err)
	} else if got := tableVersions(tables); got > 1 {
		// The ingester compares by equality: one version for all.
		errs = append(errs, fmt.Errorf("%w: the tables carry %d different versions: %s", dbver.ErrTableVersion, got, describeTables(tables, nil)))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrVersionCheck, errors.Join(errs...))
}

// tableVersions counts the distinct versions the tables carry.
func tableVersions(tables []dbver.TableVersion) int {
	seen := map[string]bool{}
	for _, t := range tables {
		seen[t.Version] = true
	}
	return len(seen)
}
