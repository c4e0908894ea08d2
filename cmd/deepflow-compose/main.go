// Command deepflow-compose renders, checks, runs and packs DeepFlow
// all-in-one Docker Compose deployments.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

var rootCmd = &cobra.Command{
	Use:   "deepflow-compose",
	Short: "Render, check and run a consistent DeepFlow all-in-one Docker Compose deployment",
	Long: `deepflow-compose turns a few settings into a complete DeepFlow all-in-one
deployment (deepflow-server, deepflow-app, MySQL, ClickHouse, Grafana and the
agent-side files) in DeepFlow's own package layout, with every address and
port derived from one resolved topology.`,
	SilenceUsage:  true,
	SilenceErrors: true,
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
	if err := rootCmd.Execute(); err != nil {
		var s errSilent
		if errors.As(err, &s) {
			os.Exit(s.code)
		}
		fmt.Fprintln(os.Stderr, "Error:", err)
		var e *exitError
		if errors.As(err, &e) {
			os.Exit(e.code)
		}
		os.Exit(1)
	}
}
