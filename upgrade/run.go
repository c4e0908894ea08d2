package upgrade

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/dbver"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/internal/humanize"
	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

type upgrader struct {
	e      *engine.Engine
	o      Options
	st     *state
	target *catalog.Release
	plan   *render.Plan
	// stoppedCH: the backup stopped ClickHouse.
	stoppedCH bool
	writers   []string
}

// Run upgrades the stack in o.Dir to o.Version. Refusals wrap ErrRefused
// (and the reason: ErrNotRunning, ErrDisk, ErrImages, dbver.ErrDowngrade,
// dbver.ErrEmptyVersion, …) and touch nothing.
func Run(ctx context.Context, e *engine.Engine, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	target, err := catalog.Lookup(o.Version)
	if err != nil {
		return nil, err
	}
	u := &upgrader{e: e, o: o, target: target}
	st, err := readState(ctx, e, o.Dir)
	if err != nil {
		if errors.Is(err, ErrNotRunning) {
			return nil, fmt.Errorf("%w: %w", ErrRefused, err)
		}
		return nil, err
	}
	u.st = st
	res := &Result{From: st.dep.Release.Name, To: target.Name}
	if err := st.judge(target); err != nil {
		return res, err
	}
	u.plan, err = render.Prepare(ctx, render.Options{OutDir: o.Dir, Inputs: settings.Inputs{Version: target.Name}})
	if err != nil {
		return res, err
	}
	changes, err := u.plan.Changes()
	if err != nil {
		return res, err
	}
	if u.nothingToDo(changes) {
		say(o.Out, "%s already runs DeepFlow %s: db_version %s; ClickHouse %s. Nothing to do.",
			o.Dir, target.Name, describeDBs(st.dbs), describeTables(st.tables, st.tablesErr))
		res.Nothing = true
		return res, nil
	}

	backup := filepath.Join(o.BackupDir, o.Now().UTC().Format("20060102T150405Z"))
	need, err := u.printPlan(ctx, changes, backup)
	if err != nil {
		return res, err
	}
	if err := u.preflight(ctx, need); err != nil {
		return res, err
	}
	if o.DryRun {
		say(o.Out, "Dry run: nothing changed.")
		res.DryRun = true
		return res, nil
	}
	if !o.Yes {
		if err := u.confirm(); err != nil {
			return res, err
		}
	}

	// Step 1 comes before the backup so that the backup holds everything
	// written; it changes no file and no data.
	if err := u.stopWriters(ctx); err != nil {
		return res, fmt.Errorf("%w: %w", ErrBackup, err)
	}
	say(o.Out, "Backing up into %s", backup)
	if err := os.MkdirAll(o.BackupDir, 0o700); err != nil {
		return res, u.backupFailed(ctx, "", err)
	}
	// Two upgrades within one second get distinct folders.
	for i := 2; ; i++ {
		err := os.Mkdir(backup, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i > 9 {
			return res, u.backupFailed(ctx, "", err)
		}
		backup = strings.TrimSuffix(backup, fmt.Sprintf("-%d", i-1)) + fmt.Sprintf("-%d", i)
	}
	if _, err := u.makeBackup(ctx, backup); err != nil {
		return res, u.backupFailed(ctx, backup, err)
	}
	res.Backup = backup
	say(o.Out, "Backup verified: %s", backup)

	if err := u.steps(ctx); err != nil {
		return res, fmt.Errorf("%w: %w\nThe old images are still on this engine. To go back to DeepFlow %s with the data as it was: %s",
			ErrFailed, err, res.From, RestoreCommand(backup))
	}
	return res, nil
}

// nothingToDo: the directory is rendered for the target with nothing to
// change, every container runs the image its compose file names, and the
// databases carry the target's versions.
func (u *upgrader) nothingToDo(changes []render.Change) bool {
	st := u.st
	if st.dep.Release.Name != u.target.Name {
		return false
	}
	for _, c := range changes {
		if c.Kind != render.Unchanged {
			return false
		}
	}
	for _, c := range st.containers {
		if want := u.serviceImage(c.Service); want != "" && c.Image != want {
			return false
		}
	}
	return st.dbsAt(u.target) && checkVersions(u.target, st.dbs, st.tables, st.tablesErr) == nil
}

// serviceImage is the image the target render gives a service.
func (u *upgrader) serviceImage(service string) string {
	t := u.plan.Topology
	im := u.plan.Images
	switch service {
	case t.MySQL.Service:
		return im.MySQL
	case t.ClickHouse.Service:
		return im.ClickHouse
	case t.Server.Service:
		return im.Server
	case t.App.Service:
		return im.App
	case t.Grafana.Service:
		return im.Grafana
	case t.GrafanaInitDsDh.Service:
		return im.GrafanaInitDsDh
	case t.Agent.Service:
		return im.Agent
	}
	return ""
}

// printPlan says what will change and returns the disk the backup needs.
func (u *upgrader) printPlan(ctx context.Context, changes []render.Change, backup string) (int64, error) {
	st, w := u.st, u.o.Out
	say(w, "Upgrade plan for %s (project %s): DeepFlow %s -> %s", st.stack.Dir, st.stack.Project, st.dep.Release.Name, u.target.Name)
	if st.serverLine != nil && st.serverLine != st.dep.Release {
		say(w, "  note: the running server image %s is DeepFlow %s, not the rendered %s", st.serverImage, st.serverLine.Name, st.dep.Release.Name)
	}
	say(w, "Images:")
	before := st.dep.Images.Named()
	after := u.plan.Images.Named()
	for i := range before {
		if before[i][1] == after[i][1] {
			say(w, "  %-16s %s (unchanged)", before[i][0], before[i][1])
		} else {
			say(w, "  %-16s %s -> %s", before[i][0], before[i][1], after[i][1])
		}
	}
	say(w, "Files (re-rendered from the recorded settings, secrets kept):")
	if u.o.WriteDiff != nil {
		var b strings.Builder
		if !u.o.WriteDiff(&b, maskSecrets(changes, st.dep.Secrets())) {
			say(w, "  no file changes")
		}
		io.WriteString(w, b.String())
	} else {
		for _, c := range changes {
			if c.Kind != render.Unchanged {
				say(w, "  %s %s", c.Kind, c.Path)
			}
		}
	}
	exp := u.target.Expected()
	say(w, "Databases:")
	say(w, "  MySQL db_version: %s -> %s", describeDBs(st.dbs), exp.MySQL)
	for _, rel := range u.target.Releases {
		say(w, "    %s expects %s", rel, u.target.Schema[rel].MySQL)
	}
	say(w, "  ClickHouse (column time's comment): %s -> %s", describeTables(st.tables, st.tablesErr), exp.ClickHouse)

	mysqlDirs, err := u.e.ServiceDataDirs(ctx, st.stack, st.stack.Topology.MySQL.Service)
	if err != nil {
		return 0, err
	}
	chDirs, err := u.e.ServiceDataDirs(ctx, st.stack, st.stack.Topology.ClickHouse.Service)
	if err != nil {
		return 0, err
	}
	// The backups already in the directory, walked once: they can be large.
	inside := strings.HasPrefix(u.o.BackupDir, st.stack.Dir+string(filepath.Separator))
	var old int64
	if inside {
		if old, err = engine.DirSize(u.o.BackupDir); err != nil {
			return 0, err
		}
	}
	var need int64
	for _, d := range append(append(mysqlDirs, chDirs...), st.stack.Dir) {
		n, err := engine.DirSize(d)
		if err != nil {
			return 0, err
		}
		if d == st.stack.Dir {
			// The backups folder inside the directory is not copied.
			n -= old
		}
		need += n
	}
	copied := int64(0)
	if inside {
		// Step 2's render copies every file of the directory it did not
		// write into the new directory before the swap: the backups too.
		copied = need + old
	}
	backupSize := need
	need += copied
	say(w, "Backup: %s (mode 0700, files 0600)", backup)
	say(w, "  MySQL dump of every DeepFlow database and Grafana's; ClickHouse cold copy of %s (container stopped: the compose ClickHouse has no backup disk, and stopped files are consistent); the rendered directory; the image IDs", strings.Join(chDirs, ", "))
	say(w, "  needs about %s (the MySQL data dir, ClickHouse's data and the rendered directory)", humanize.Bytes(backupSize))
	if copied > 0 {
		say(w, "  and %s more while step 2 renders: the render copies the backups folder into the new directory (--backup-dir elsewhere avoids that)", humanize.Bytes(copied))
	}
	say(w, "Then: 1 stop server, app and Grafana; 2 render %s; 3 start MySQL and ClickHouse; 4 start the server and follow its migration (up to %s, never restarted); 5 check the database versions; 6 start app and Grafana; 7 bootstrap; 8 agents last",
		u.target.Name, u.o.Timeout)
	return need, nil
}

// maskSecrets hides the passwords in the files the plan prints: the plan
// goes to terminals and logs, the files stay as they are.
func maskSecrets(changes []render.Change, sec deployment.Secrets) []render.Change {
	var repl []string
	for _, v := range []string{sec.MySQL, sec.ClickHouse, sec.Grafana} {
		if v != "" {
			repl = append(repl, v, "********")
		}
	}
	if len(repl) == 0 {
		return changes
	}
	r := strings.NewReplacer(repl...)
	out := make([]render.Change, len(changes))
	for i, c := range changes {
		c.Old, c.New = []byte(r.Replace(string(c.Old))), []byte(r.Replace(string(c.New)))
		out[i] = c
	}
	return out
}

// preflight refuses too little disk and unavailable target images.
func (u *upgrader) preflight(ctx context.Context, need int64) error {
	var errs []error
	free, where, err := freeSpace(u.o.BackupDir)
	if err != nil {
		errs = append(errs, fmt.Errorf("%w: cannot tell the free space for %s: %w", ErrDisk, u.o.BackupDir, err))
	} else if err := checkDisk(u.o.BackupDir, where, free, need); err != nil {
		errs = append(errs, err)
	} else {
		say(u.o.Out, "Preflight: %s free on %s for a backup of about %s", humanize.Bytes(int64(free)), where, humanize.Bytes(need))
	}
	var missing []string
	for _, ref := range u.plan.Images.List() {
		if !u.plan.Settings.Agent.OnServer && ref == u.plan.Images.Agent {
			continue
		}
		ok, err := u.e.HasImage(ctx, ref)
		if err != nil {
			return err
		}
		if !ok {
			missing = append(missing, ref)
		}
	}
	switch {
	case len(missing) == 0:
		say(u.o.Out, "Preflight: every target image is on this engine")
	case u.o.DryRun:
		say(u.o.Out, "Preflight: %d target image(s) not on this engine; the upgrade would pull them: %s", len(missing), strings.Join(missing, ", "))
	default:
		pull := func(ref string) error {
			say(u.o.Out, "Pulling %s", ref)
			return u.e.PullImage(ctx, ref, u.o.Out)
		}
		if err := fetchImages(missing, u.plan.Settings.Offline, u.target.Name, pull); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrRefused, errors.Join(errs...))
	}
	return nil
}

// fetchImages pulls the missing target images, or, for an offline
// deployment, which has no registry to ask, says to load them.
func fetchImages(missing []string, offline bool, target string, pull func(string) error) error {
	if offline {
		return fmt.Errorf("%w: not on this engine: %s; this deployment is offline: load them first with `deepflow-compose bundle load BUNDLE` (a bundle saved from a %s render)",
			ErrImages, strings.Join(missing, ", "), target)
	}
	var failed []string
	for _, ref := range missing {
		if err := pull(ref); err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", ref, err))
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s; on a host with no network, load them first: `deepflow-compose bundle load BUNDLE` (a bundle saved from a %s render)",
		ErrImages, strings.Join(failed, "; "), target)
}

// checkDisk refuses a backup that would not fit.
func checkDisk(dir, where string, free uint64, need int64) error {
	if need < 0 || free >= uint64(need) {
		return nil
	}
	return fmt.Errorf("%w: %s needs about %s, %s has %s free; free some space, or put the backups elsewhere with --backup-dir",
		ErrDisk, dir, humanize.Bytes(need), where, humanize.Bytes(int64(free)))
}

// freeSpace is the space free to an unprivileged writer on the file
// system that will hold path (its nearest existing parent).
func freeSpace(path string) (uint64, string, error) {
	p := path
	for {
		var fs syscall.Statfs_t
		err := syscall.Statfs(p, &fs)
		if err == nil {
			return fs.Bavail * uint64(fs.Bsize), p, nil
		}
		parent := filepath.Dir(p)
		if parent == p || !errors.Is(err, syscall.ENOENT) {
			return 0, p, err
		}
		p = parent
	}
}

func (u *upgrader) confirm() error {
	yes, answered := ask(u.o.Out, u.o.In, "Proceed? [y/N] ")
	switch {
	case yes:
		return nil
	case !answered:
		return fmt.Errorf("%w: no answer (pass --yes to upgrade without asking)", ErrAborted)
	}
	return fmt.Errorf("%w: nothing changed", ErrAborted)
}

// ask prints prompt and reads one line from in (stdin when nil): yes for
// y or yes; answered is false when the input ended with nothing typed.
func ask(out io.Writer, in io.Reader, prompt string) (yes, answered bool) {
	fmt.Fprint(out, prompt)
	if in == nil {
		in = os.Stdin
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", err == nil || a != ""
}

// writerServices are the services that write to the databases, and an
// agent on the server's host, in the stack's compose file.
func writerServices(ctx context.Context, e *engine.Engine, s *engine.Stack) ([]string, error) {
	imgs, err := e.ServiceImages(ctx, s)
	if err != nil {
		return nil, err
	}
	t := s.Topology
	var out []string
	for _, n := range []string{t.Server.Service, t.App.Service, t.Grafana.Service, t.Agent.Service} {
		if _, ok := imgs[n]; ok {
			out = append(out, n)
		}
	}
	return out, nil
}

func (u *upgrader) stopWriters(ctx context.Context) error {
	ws, err := writerServices(ctx, u.e, u.st.stack)
	if err != nil {
		return err
	}
	u.writers = ws
	say(u.o.Out, "Step 1: stopping the writers: %s", strings.Join(ws, ", "))
	return u.e.StopServices(ctx, u.st.stack, ws...)
}

// backupFailed starts again what the backup stopped (the files and images
// are unchanged) and removes the partial backup.
func (u *upgrader) backupFailed(ctx context.Context, backup string, cause error) error {
	ctx = context.WithoutCancel(ctx)
	if _, err := os.Stat(filepath.Join(backup, BackupManifest)); backup != "" && err != nil {
		os.RemoveAll(backup)
	}
	services := append([]string{u.st.stack.Topology.ClickHouse.Service}, u.writers...)
	if err := u.e.UpServices(ctx, u.st.stack, services...); err != nil {
		return fmt.Errorf("%w: %w; starting the stack again also failed: %w (run `deepflow-compose up %s`)", ErrBackup, cause, err, u.st.stack.Dir)
	}
	return fmt.Errorf("%w: %w; nothing was changed and the stack was started again as it was", ErrBackup, cause)
}

// steps are 2 to 8.
func (u *upgrader) steps(ctx context.Context) error {
	o := u.o
	say(o.Out, "Step 2: rendering DeepFlow %s into %s", u.target.Name, o.Dir)
	if _, err := u.plan.Write(false); err != nil {
		return fmt.Errorf("step 2 (render): %w", err)
	}
	s, err := engine.Load(o.Dir)
	if err != nil {
		return fmt.Errorf("step 2 (render): %w", err)
	}
	t := s.Topology

	say(o.Out, "Step 3: starting %s and %s", t.MySQL.Service, t.ClickHouse.Service)
	if err := u.e.UpServices(ctx, s, t.MySQL.Service, t.ClickHouse.Service); err != nil {
		return fmt.Errorf("step 3 (datastores): %w", err)
	}
	if _, err := u.e.WaitServices(ctx, s, o.Timeout, t.MySQL.Service, t.ClickHouse.Service); err != nil {
		return fmt.Errorf("step 3 (datastores): %w", err)
	}

	say(o.Out, "Step 4: starting %s; it migrates the databases on start (following it for up to %s, never restarting it)", t.Server.Service, o.Timeout)
	if err := u.e.UpServices(ctx, s, t.Server.Service); err != nil {
		return fmt.Errorf("step 4 (server): %w", err)
	}
	if o.ServerStarted != nil {
		if err := o.ServerStarted(ctx); err != nil {
			return fmt.Errorf("step 4 (server): %w", err)
		}
	}
	if _, err := u.e.WaitServices(ctx, s, o.Timeout, t.Server.Service); err != nil {
		return fmt.Errorf("step 4 (server): %w; %s was left running as it is: a server stopped while it migrates can leave the database half-migrated. Follow it with `deepflow-compose logs %s %s --follow`",
			err, t.Server.Service, o.Dir, t.Server.Service)
	}

	say(o.Out, "Step 5: checking the database versions")
	// Asked afresh: the restarted containers may have new addresses.
	mysql, err := dbver.MySQLFor(u.e.API(), s)
	if err != nil {
		return fmt.Errorf("step 5 (versions): %w", err)
	}
	ch, err := dbver.ClickHouseFor(ctx, u.e.API(), s)
	if err != nil {
		return fmt.Errorf("step 5 (versions): %w", err)
	}
	dbs, err := mysql.Versions(ctx)
	if err != nil {
		return fmt.Errorf("step 5 (versions): %w", err)
	}
	tables, terr := ch.TableVersions(ctx, nil)
	if err := checkVersions(u.target, dbs, tables, terr); err != nil {
		return fmt.Errorf("step 5 (versions): %w", err)
	}
	say(o.Out, "  MySQL db_version: %s", describeDBs(dbs))
	say(o.Out, "  ClickHouse: %s", describeTables(tables, nil))

	rest := []string{t.App.Service, t.Grafana.Service}
	say(o.Out, "Step 6: starting %s", strings.Join(rest, " and "))
	if err := u.e.UpServices(ctx, s, rest...); err != nil {
		return fmt.Errorf("step 6 (app, Grafana): %w", err)
	}
	if _, err := u.e.WaitServices(ctx, s, o.Timeout, rest...); err != nil {
		return fmt.Errorf("step 6 (app, Grafana): %w", err)
	}

	if o.Bootstrap != nil {
		say(o.Out, "Step 7: bootstrap (agent group and its config, checked again)")
		if err := o.Bootstrap(ctx); err != nil {
			return fmt.Errorf("step 7 (bootstrap): %w", err)
		}
	} else {
		say(o.Out, "Step 7: bootstrap not run here; run `deepflow-compose bootstrap %s`", o.Dir)
	}

	say(o.Out, "Step 8: agents, last (an agent newer than its server cannot sync)")
	for _, w := range u.writers {
		if w == t.Agent.Service {
			if err := u.e.UpServices(ctx, s, w); err != nil {
				return fmt.Errorf("step 8 (agent on this host): %w", err)
			}
			say(o.Out, "  the agent on this host runs %s", u.plan.Images.Agent)
		}
	}
	if err := engine.MarkData(s); err != nil {
		say(o.Out, "  warning: cannot record the data dir's version: %v", err)
	}
	printAgentSteps(o.Out, s, u.plan, u.target)
	say(o.Out, "Upgraded %s to DeepFlow %s. The backup stays in %s until you remove it.", o.Dir, u.target.Name, o.BackupDir)
	return nil
}

// printAgentSteps says how to move the agents on other hosts to the
// target, after the server.
func printAgentSteps(w io.Writer, s *engine.Stack, p *render.Plan, target *catalog.Release) {
	say(w, "  On every other monitored host, once this server is upgraded:")
	say(w, "    deepflow-compose agent --server %s --version %s -o deepflow-agent   # same flags as when it was rendered", s.NodeIP, target.Name)
	switch p.Settings.Agent.Mode {
	case settings.AgentProcess:
		say(w, "    then install deepflow-agent %s as its package says and restart it", target.DeepFlow)
	default:
		say(w, "    then, in that directory: docker compose -f %s up -d   (image %s)", path.Base(topology.AgentCompose), p.Images.Agent)
	}
	say(w, "  Agents older than the server keep working meanwhile; never run an agent newer than its server.")
}
