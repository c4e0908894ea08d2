// Package upgrade moves a running deepflow-compose stack to a newer
// DeepFlow release line and keeps its data, in the order DeepFlow's own
// migration needs:
//
//   - plan: images, re-rendered files, database versions before and
//     after, backup location and the disk it needs;
//   - preflight: refuse a downgrade (judged from the running server image,
//     the rendered version and db_version), an empty or unknown db_version,
//     too little disk, target images that are absent and cannot be pulled,
//     and a stack that is not running from the directory;
//   - stop the writers (server, app, Grafana, an agent on the server's
//     host), then back up into DIR/backups/<timestamp>/ and verify it;
//   - render the target keeping settings and secrets, start the
//     datastores, start the server and follow its health stage through
//     the migration (never restarting it), verify db_version and the
//     ClickHouse table versions, start app and Grafana, run bootstrap,
//     and say how to upgrade the agents, last.
//
// A failure after the backup leaves the old images on the engine and names
// the restore command; Restore puts files, data and old images back
// together and refuses to start the old server on a migrated database.
//
// Why the writers stop before the backup: a dump taken while the server
// writes misses what it writes afterwards, and the ClickHouse copy is cold
// (its container stopped), which the ingester cannot tolerate anyway.
// Stopping changes no file and no data; a failed backup starts them again.
package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/deepflow-compose/deepflow-compose/render"
)

// Errors callers can test with errors.Is.
var (
	// ErrRefused: preflight refused; nothing was touched.
	ErrRefused = errors.New("upgrade refused")
	// ErrNotRunning: the stack does not run from the directory.
	ErrNotRunning = errors.New("stack not running from this directory")
	// ErrDisk: not enough free disk for the backup.
	ErrDisk = errors.New("not enough disk for the backup")
	// ErrImages: target images absent and not pullable.
	ErrImages = errors.New("target images unavailable")
	// ErrAborted: the user declined.
	ErrAborted = errors.New("aborted")
	// ErrBackup: the backup could not be made or verified; the stack was
	// started again as it was.
	ErrBackup = errors.New("backup failed")
	// ErrFailed: a step after the backup failed; restore from the backup.
	ErrFailed = errors.New("upgrade failed")
	// ErrVersionCheck: the databases do not carry the target's versions.
	ErrVersionCheck = errors.New("version check failed")
	// ErrMigrated: a restore found the database still migrated and did
	// not start the old server on it.
	ErrMigrated = errors.New("database still migrated")
	// ErrNoBackup: a path that holds no complete backup.
	ErrNoBackup = errors.New("not a complete backup")
)

// DefaultTimeout bounds the wait for the datastores and for the server's
// migration: DeepFlow migrates on start, and a large database takes long.
const DefaultTimeout = 30 * time.Minute

// BackupsDir is where backups go inside a deployment directory.
const BackupsDir = "backups"

// Options are one upgrade.
type Options struct {
	Dir     string
	Version string
	// DryRun stops after the plan and the preflight.
	DryRun bool
	// Yes skips the confirmation.
	Yes bool
	// Timeout bounds the datastores' start and the server's migration;
	// DefaultTimeout when zero. The server is never stopped when it runs
	// out.
	Timeout time.Duration
	// BackupDir holds the backups; DIR/backups when empty.
	BackupDir string
	Out       io.Writer
	In        io.Reader
	// WriteDiff prints the re-rendered files as `diff` does and reports
	// whether anything changed.
	WriteDiff func(io.Writer, []render.Change) bool
	// Bootstrap runs bootstrap again after the upgrade (step 7); nil skips
	// it with a note.
	Bootstrap func(context.Context) error
	// ServerStarted, when set, runs once the target server's container
	// has started and before its migration is followed (step 4). Tests on
	// stand-ins play DeepFlow's migration here; nothing else needs it.
	ServerStarted func(context.Context) error
	// Now stamps the backup; time.Now when nil.
	Now func() time.Time
}

func (o *Options) defaults() error {
	if o.Dir == "" {
		return errors.New("upgrade: no directory given")
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	o.Dir = abs
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.BackupDir == "" {
		o.BackupDir = filepath.Join(o.Dir, BackupsDir)
	}
	if o.BackupDir, err = filepath.Abs(o.BackupDir); err != nil {
		return err
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Result is what an upgrade did.
type Result struct {
	// Nothing: the stack already runs the target; nothing was done.
	Nothing bool
	// DryRun: the plan was printed and nothing was done.
	DryRun   bool
	From, To string
	// Backup is the backup's directory, once made.
	Backup string
}

// RestoreCommand is what a user runs to go back to a backup.
func RestoreCommand(backup string) string {
	return "deepflow-compose upgrade --restore " + backup
}

func say(w io.Writer, format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
