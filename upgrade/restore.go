package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/deepflow-compose/deepflow-compose/dbver"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/engine"
)

// RestoreOptions are one restore.
type RestoreOptions struct {
	// Backup is the backup's directory (DIR/backups/<timestamp>).
	Backup string
	Yes    bool
	// Timeout bounds the start of the restored stack; DefaultTimeout when
	// zero.
	Timeout time.Duration
	Out     io.Writer
	In      io.Reader
}

// Restore puts a backup back: the rendered files, the old images under
// their old names, the MySQL databases and ClickHouse's data, together.
// It checks first that every old image is still on the engine, and it
// starts the old server only once db_version is back to what the backup
// recorded.
func Restore(ctx context.Context, e *engine.Engine, o RestoreOptions) error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	path, err := filepath.Abs(o.Backup)
	if err != nil {
		return err
	}
	info, err := ReadBackup(path)
	if err != nil {
		return err
	}
	if err := dbver.CheckComplete(filepath.Join(path, MySQLDump)); err != nil {
		return fmt.Errorf("%w: %w", ErrNoBackup, err)
	}
	dir := info.Dir
	cur, err := engine.Load(dir)
	if err != nil {
		return fmt.Errorf("restore into %s: %w", dir, err)
	}

	// Every old image must be there before anything is touched.
	var missing []string
	for _, im := range info.Images {
		if ok, err := e.HasImage(ctx, im.ID); err != nil {
			return err
		} else if !ok {
			missing = append(missing, fmt.Sprintf("%s (%s, %s)", im.Ref, im.Service, im.ID))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: the images the stack ran before are gone from this engine: %s; load them (`deepflow-compose bundle load` of a %s bundle, or docker pull) and run the restore again; nothing was changed",
			ErrRefused, strings.Join(missing, ", "), info.From)
	}

	say(o.Out, "Restore %s from %s: DeepFlow %s, db_version %s", dir, path, info.From, versionsText(info.Versions))
	say(o.Out, "  files from %s, MySQL from %s (%s), ClickHouse data from %s into %s, images %d",
		RenderedTar, MySQLDump, strings.Join(info.Databases, ", "), ClickHouseTar, strings.Join(info.ClickHouseDirs, ", "), len(info.Images))
	if !o.Yes {
		if yes, _ := ask(o.Out, o.In, "This replaces the current files and data. Proceed? [y/N] "); !yes {
			return fmt.Errorf("%w: nothing changed", ErrAborted)
		}
	}

	// Stop everything but MySQL: the writers first, then ClickHouse, whose
	// files are replaced.
	stop, err := writerServices(ctx, e, cur)
	if err != nil {
		return err
	}
	stop = append(stop, cur.Topology.ClickHouse.Service)
	say(o.Out, "Stopping %s", strings.Join(stop, ", "))
	if err := e.StopServices(ctx, cur, stop...); err != nil {
		return err
	}

	say(o.Out, "Restoring the rendered files")
	if err := restoreFiles(filepath.Join(path, RenderedTar), dir); err != nil {
		return fmt.Errorf("restore files: %w", err)
	}
	for _, im := range info.Images {
		if li, err := e.Inspect(ctx, im.Ref); err == nil && li.ID == im.ID {
			continue
		}
		say(o.Out, "  image %s -> %s again", im.Ref, im.ID)
		if err := e.TagImage(ctx, im.ID, im.Ref); err != nil {
			return err
		}
	}
	old, err := engine.Load(dir)
	if err != nil {
		return err
	}
	ot := old.Topology

	say(o.Out, "Restoring MySQL (%s)", strings.Join(info.Databases, ", "))
	if err := e.UpServices(ctx, old, ot.MySQL.Service); err != nil {
		return err
	}
	if _, err := e.WaitServices(ctx, old, o.Timeout, ot.MySQL.Service); err != nil {
		return err
	}
	m, err := dbver.MySQLFor(e.API(), old)
	if err != nil {
		return err
	}
	if err := waitPing(ctx, m, o.Timeout); err != nil {
		return err
	}
	if err := m.Restore(ctx, filepath.Join(path, MySQLDump)); err != nil {
		return err
	}
	vs, err := m.Versions(ctx)
	if err != nil {
		return err
	}
	var wrong []string
	for _, v := range vs {
		if want, ok := info.Versions[v.Database]; ok && (v.Err != nil || v.Version != want) {
			wrong = append(wrong, fmt.Sprintf("%s is %s, the backup has %s", v.Database, v.Version, want))
		}
	}
	if len(wrong) > 0 {
		return fmt.Errorf("%w: %s; the old server was not started on it (it would exit in a loop)", ErrMigrated, strings.Join(wrong, ", "))
	}
	say(o.Out, "  db_version back to %s", describeDBs(vs))

	say(o.Out, "Restoring ClickHouse's data (%s)", strings.Join(info.ClickHouseDirs, ", "))
	for _, d := range info.ClickHouseDirs {
		if err := emptyDir(d); err != nil {
			return err
		}
	}
	if err := untar(filepath.Join(path, ClickHouseTar), old.DataDir); err != nil {
		return fmt.Errorf("restore ClickHouse: %w", err)
	}
	if err := engine.MarkData(old); err != nil {
		say(o.Out, "  warning: cannot record the data dir's version: %v", err)
	}
	say(o.Out, "Starting DeepFlow %s again", info.From)
	if _, err := e.Up(ctx, old, engine.UpOptions{Timeout: o.Timeout}); err != nil {
		return err
	}
	say(o.Out, "Restored %s to DeepFlow %s from %s", dir, info.From, path)
	return nil
}

// waitPing waits until MySQL answers with the restored credentials.
func waitPing(ctx context.Context, m *dbver.MySQL, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := m.Ping(ctx)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// restoreFiles puts the rendered directory back: the files the later
// render wrote that the backup lacks are removed, and every file of the
// backup is written with its mode. Files of the user's that neither render
// wrote are left alone, and so are the backups.
func restoreFiles(tarPath, dir string) error {
	names, err := tarNames(tarPath)
	if err != nil {
		return err
	}
	m, err := deployment.ReadManifest(dir)
	if err != nil {
		return err
	}
	if m != nil {
		for f := range m.Files {
			if !names[f] {
				if err := os.Remove(filepath.Join(dir, filepath.FromSlash(f))); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		}
	}
	return untar(tarPath, dir)
}

// emptyDir removes what a directory holds and keeps the directory.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, en := range entries {
		if err := os.RemoveAll(filepath.Join(dir, en.Name())); err != nil {
			return err
		}
	}
	return nil
}
