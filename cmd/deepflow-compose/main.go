// Command deepflow-compose renders, checks, runs and packs DeepFlow
// all-in-one Docker Compose deployments.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// newRootCmd builds the whole command tree; out and errOut receive
// everything the commands print, so tests run it in process.
func newRootCmd(out, errOut io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "deepflow-compose",
		Short: "Render, check and run a consistent DeepFlow all-in-one Docker Compose deployment",
		Long: `deepflow-compose turns a few settings into a complete DeepFlow all-in-one
deployment (deepflow-server, deepflow-app, MySQL, ClickHouse, Grafana and the
agent-side files) in DeepFlow's own package layout, with every address and
port derived from one resolved topology.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	root.AddCommand(
		newRenderCmd(), newDiffCmd(), newProfilesCmd(), newVersionCmd(),
		newAgentCmd(), newCheckCmd(), newImagesCmd(),
		newUpCmd(), newStatusCmd(), newDownCmd(), newLogsCmd(),
		newBootstrapCmd(), newDoctorCmd(),
		newBundleCmd(), newExportCmd(), newUpgradeCmd(),
	)
	return root
}

// exitError carries an exit code other than 1 up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// errSilent exits non-zero without printing: the command already said why.
type errSilent struct{ code int }

func (e errSilent) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns its exit code; only here is
// "Error:" printed.
func run(args []string, out, errOut io.Writer) int {
	root := newRootCmd(out, errOut)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var s errSilent
	if errors.As(err, &s) {
		return s.code
	}
	fmt.Fprintln(errOut, "Error:", err)
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}
