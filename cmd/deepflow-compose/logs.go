package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/deepflow-compose/deepflow-compose/engine"
)

type logsOptions struct {
	follow bool
	tail   string
}

func newLogsCmd() *cobra.Command {
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs DIR [SERVICE]",
		Short: "Show the stack's container logs, or one service's",
		Long: `Logs prints the container logs of the stack rendered in DIR, each line prefixed
with its container's name; stdout and stderr are merged. SERVICE limits the
output to one service, named as in the compose file (deepflow-server, mysql, ...)
or by its key (server, grafana, ...).

--tail N starts with each container's last N lines; --follow keeps printing new
lines until Ctrl-C. Logs refuses a project name that a stack from another
directory uses on this engine.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onStack(cmd, args[0], engine.ProgressQuiet, func(ctx context.Context, e *engine.Engine, s *engine.Stack) error {
				lo := engine.LogsOptions{Follow: o.follow, Tail: o.tail}
				if len(args) == 2 {
					lo.Service = args[1]
				}
				err := e.Logs(ctx, s, lo)
				if ctx.Err() != nil {
					return nil // interrupted while following
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&o.follow, "follow", "f", false, "keep printing new lines")
	cmd.Flags().StringVarP(&o.tail, "tail", "n", "", "lines to show from the end of each container's log (default all)")
	return cmd
}
