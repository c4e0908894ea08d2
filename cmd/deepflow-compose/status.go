package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/deepflow-compose/deepflow-compose/engine"
)

type statusOptions struct {
	output string
}

func newStatusCmd() *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status DIR",
		Short: "Show each service's state, readiness, ports and image",
		Long: `Status probes every running service once and shows its state, readiness,
ports and image. It exits 0 when every service is ready (init containers
done), 1 otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.output != "table" && o.output != "json" {
				return fmt.Errorf("--output must be table or json, not %q", o.output)
			}
			return onStack(cmd, args[0], engine.ProgressQuiet, func(ctx context.Context, e *engine.Engine, s *engine.Stack) error {
				st, err := e.Status(ctx, s)
				if err != nil && !errors.Is(err, engine.ErrNotDeployed) {
					return err
				}
				if o.output == "json" {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					if err := enc.Encode(st); err != nil {
						return err
					}
				} else {
					engine.PrintStatus(cmd.OutOrStdout(), st)
				}
				if err != nil {
					return err
				}
				if !st.Ready {
					return errSilent{code: 1}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "table or json")
	return cmd
}
