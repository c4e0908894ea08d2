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
		Args:  cobra.ExactArgs(1),
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
