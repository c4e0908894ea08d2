package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/upgrade"
)

// Exit codes of upgrade, beyond 1 for any other error.
const (
	exitUpgradeRefused = 2 // preflight refused; nothing was touched
	exitUpgradeFailed  = 5 // a step after the backup failed; restore from it
)

type upgradeOptions struct {
	version     string
	dryRun, yes bool
	timeout     time.Duration
	backupDir   string
	listBackups bool
	restore     string
	progress    string
}

func newUpgradeCmd() *cobra.Command {
	var o upgradeOptions
	cmd := &cobra.Command{
		Use:   "upgrade DIR --version vX.Y [--dry-run] [--yes] | upgrade --list-backups DIR | upgrade --restore DIR/backups/TS",
		Short: "Upgrade a running stack to a newer DeepFlow, keeping its data (backup first; restore on failure)",
		Long: `Upgrade moves the stack running from DIR to another DeepFlow release line.

It prints the plan first: images, the re-rendered files (as diff shows them,
passwords masked), the database versions before and after, the backup location
and the disk it needs. --dry-run stops there.

It refuses, touching nothing: a downgrade (judged from the running server image,
the rendered version and db_version), an empty or unknown db_version, too little
disk for the backup, target images that are absent and cannot be pulled (on a
host with no network: bundle load first), and a stack not running from DIR.

Then it stops the writers (server, app, Grafana), backs up into
DIR/backups/<timestamp>/ (mode 0700, files 0600: a MySQL dump of every DeepFlow
database and Grafana's, a cold copy of ClickHouse's data with its container
stopped, the rendered directory, the image IDs) and verifies the backup (the
dump loads into a scratch MySQL). In order: render the target keeping settings
and secrets; start MySQL and ClickHouse; start the server and follow its health
stage through the migration (up to --timeout, never restarting it); check
db_version and the ClickHouse table versions against the catalog (see
` + "`deepflow-compose version`" + `); start app and Grafana; bootstrap again; and say how to
upgrade the agents, last.

A failure after the backup leaves the old images and prints the restore command:
  deepflow-compose upgrade --restore DIR/backups/<timestamp>
which puts files, data and old images back together, and refuses to start the
old server on a database that is still migrated.

Exit codes: 2 refused (nothing touched), 5 failed after the backup (restore).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUpgrade(cmd, args, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.version, "version", "", "the DeepFlow release line to upgrade to (see `deepflow-compose version`)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the plan and the preflight, change nothing")
	f.BoolVar(&o.yes, "yes", false, "do not ask for confirmation")
	f.DurationVar(&o.timeout, "timeout", upgrade.DefaultTimeout, "how long to follow the datastores' start and the server's migration (the server is never stopped when it runs out)")
	f.StringVar(&o.backupDir, "backup-dir", "", "where backups go (default DIR/backups)")
	f.BoolVar(&o.listBackups, "list-backups", false, "list the backups of DIR (or of --backup-dir)")
	f.StringVar(&o.restore, "restore", "", "restore the stack from this backup directory (DIR/backups/<timestamp>)")
	f.StringVar(&o.progress, "progress", engine.ProgressAuto, "compose progress: auto, tty, plain or quiet")
	return cmd
}

func runUpgrade(cmd *cobra.Command, args []string, o upgradeOptions) error {
	out := cmd.OutOrStdout()
	switch {
	case o.listBackups:
		root := o.backupDir
		if root == "" {
			if len(args) != 1 {
				return errors.New("--list-backups needs DIR (or --backup-dir)")
			}
			root = args[0]
		}
		bs, err := upgrade.ListBackups(root)
		if err != nil {
			return err
		}
		upgrade.PrintBackups(out, bs)
		return nil
	case o.restore != "":
		if len(args) != 0 || o.version != "" {
			return errors.New("--restore takes only the backup directory: upgrade --restore DIR/backups/<timestamp>")
		}
	case len(args) != 1:
		return errors.New("upgrade needs DIR: upgrade DIR --version vX.Y")
	case o.version == "":
		return errors.New("upgrade needs --version (see `deepflow-compose version` for the release lines)")
	}
	ctx, stop := signalContext(cmd.Context())
	defer stop()
	e, err := newEngine(cmd, o.progress)
	if err != nil {
		return err
	}
	defer e.Close()
	if o.restore != "" {
		err = upgrade.Restore(ctx, e, upgrade.RestoreOptions{Backup: o.restore, Yes: o.yes, Timeout: o.timeout, Out: out, In: cmd.InOrStdin()})
		return upgradeExit(err)
	}
	_, err = upgrade.Run(ctx, e, upgrade.Options{
		Dir: args[0], Version: o.version, DryRun: o.dryRun, Yes: o.yes, Timeout: o.timeout, BackupDir: o.backupDir,
		Out: out, In: cmd.InOrStdin(),
		// The library masks the deployment's passwords before this sees them.
		WriteDiff: func(w io.Writer, cs []render.Change) bool { return writeDiff(w, cs) },
		Bootstrap: upgradeBootstrap(args[0], out),
	})
	return upgradeExit(err)
}

// upgradeBootstrap is step 7's hook: the bootstrap command on the
// re-rendered directory, its progress on out.
func upgradeBootstrap(dir string, out io.Writer) func(context.Context) error {
	return func(ctx context.Context) error {
		d, err := deployment.Load(dir)
		if err != nil {
			return err
		}
		err = runBootstrap(ctx, out, d, bootstrapDefaults)
		// Its report is printed; the upgrade still has to say how to go
		// back, so the error must not stay silent.
		var s errSilent
		if errors.As(err, &s) {
			return fmt.Errorf("bootstrap did not finish (exit code %d; its report is above)", s.code)
		}
		return err
	}
}

func upgradeExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, upgrade.ErrRefused):
		return &exitError{code: exitUpgradeRefused, err: err}
	case errors.Is(err, upgrade.ErrFailed):
		return &exitError{code: exitUpgradeFailed, err: err}
	}
	return err
}
