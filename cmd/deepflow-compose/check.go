package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/deepflow-compose/deepflow-compose/check"
	helmexport "github.com/deepflow-compose/deepflow-compose/export/helm"
)

func newCheckCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "check DIR",
		Short: "Review a DeepFlow compose deployment directory for inconsistencies",
		Long: `check reads a directory in DeepFlow's compose package layout (rendered by
deepflow-compose, DeepFlow's own package, or converted by hand), infers the
network mode, node IP, ports and secrets from it, and reports every
inconsistency with its file, line, what is wrong and the exact fix. On a
directory written by export helm it checks every values key against the
DeepFlow chart of the export's version.

Exit status: 0 when clean or only warnings, 1 when there are errors, 2 when
the directory or one of its layout files cannot be read (a directory, a
symlink loop, no permission, over the size limit). --output json prints {"findings": [...],
"summary": {...}, "inferred": {...}}; see the check package documentation.`,
		Example: `  deepflow-compose check deepflow
  deepflow-compose check deepflow-docker-compose --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if output != "text" && output != "json" {
				return &exitError{code: 2, err: fmt.Errorf("--output %q: want text or json", output)}
			}
			var r *check.Report
			if helmexport.IsValuesDir(args[0]) {
				// An export helm directory: its values against the chart.
				fs, err := helmexport.Lint(args[0])
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				r = check.ReportOf(fs)
			} else if r, err = check.Run(args[0], check.Options{Context: cmd.Context()}); err != nil {
				return &exitError{code: 2, err: err}
			}
			w := cmd.OutOrStdout()
			if output == "json" {
				err = r.WriteJSON(w)
			} else {
				err = r.WriteText(w)
			}
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if r.Unreadable() {
				return errSilent{code: 2}
			}
			if r.HasErrors() {
				return errSilent{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
