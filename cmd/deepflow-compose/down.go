package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/deepflow-compose/deepflow-compose/engine"
)

type downOptions struct {
	purge, yes bool
	progress   string
}

func newDownCmd() *cobra.Command {
	var o downOptions
	cmd := &cobra.Command{
		Use:   "down DIR",
		Short: "Remove the stack's containers and network; keep its data unless --purge",
		Long: `Down removes the containers and the network of the stack rendered in DIR.
Its data (MySQL, ClickHouse and Grafana directories under the data dir) stays,
so a later up finds it again.

--purge deletes the data too, after asking (--yes skips the question). It
deletes only the directories this stack created: the first up records them in
the data dir's .deepflow-compose-data file. It refuses a data dir that has no
such record, or whose record names another project, and a data dir that is a
system directory (/, /etc, /usr, /var/lib, the home directory, ...); directories
that held data before the first up are kept and named.

Down refuses a project name that a stack from another directory uses on this
engine: it would remove that stack.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onStack(cmd, args[0], o.progress, func(ctx context.Context, e *engine.Engine, s *engine.Stack) error {
				return e.Down(ctx, s, engine.DownOptions{Purge: o.purge, Yes: o.yes})
			})
		},
	}
	cmd.Flags().BoolVar(&o.purge, "purge", false, "also delete the data directories (MySQL, ClickHouse, Grafana) under the data dir")
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "purge without asking")
	cmd.Flags().StringVar(&o.progress, "progress", engine.ProgressAuto, "compose progress: auto, tty, plain or quiet")
	return cmd
}
