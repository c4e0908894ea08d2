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
		Args:  cobra.RangeArgs(1, 2),
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
