package main

import (
	"github.com/spf13/cobra"

	"github.com/deepflow-compose/deepflow-compose/engine"
)

type logsOptions struct {
	follow bool
	tail   string
}

func init() { rootCmd.AddCommand(newLogsCmd()) }

func newLogsCmd() *cobra.Command {
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs DIR [SERVICE]",
		Short: "Show the stack's container logs, or one service's",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			s, err := engine.Load(args[0])
			if err != nil {
				return err
			}
			e, err := newEngine(cmd, engine.ProgressQuiet)
			if err != nil {
				return err
			}
			defer e.Close()
			lo := engine.LogsOptions{Follow: o.follow, Tail: o.tail}
			if len(args) == 2 {
				lo.Service = args[1]
			}
			err = e.Logs(ctx, s, lo)
			if ctx.Err() != nil {
				return nil // interrupted while following
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&o.follow, "follow", "f", false, "keep printing new lines")
	cmd.Flags().StringVarP(&o.tail, "tail", "n", "", "lines to show from the end of each container's log (default all)")
	return cmd
}
