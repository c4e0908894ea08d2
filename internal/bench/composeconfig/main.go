// Command composeconfig is the benchmarks' anchor: Compose's own command
// tree (config, up, down, …) from the Compose module this project already
// links, run as a standalone program, so that scripts/bench.sh can compare
// deepflow-compose with `docker compose` without a CLI plugin installed.
//
//	composeconfig -f DIR/docker-compose.yaml config -q
//	composeconfig -f DIR/docker-compose.yaml up -d
//
// It is a measuring stick, not part of the product.
package main

import (
	"fmt"
	"os"

	"github.com/docker/cli/cli/command"
	cliflags "github.com/docker/cli/cli/flags"
	commands "github.com/docker/compose/v5/cmd/compose"
	"github.com/spf13/cobra"
)

func main() {
	cli, err := command.NewDockerCli()
	if err == nil {
		err = cli.Initialize(cliflags.NewClientOptions())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "composeconfig:", err)
		os.Exit(1)
	}
	// Compose's command chains to its parent's pre-run hook, and its
	// parent is cmd.Root(): give it a parent of its own, as docker is.
	docker := &cobra.Command{Use: "docker", SilenceUsage: true, TraverseChildren: true}
	docker.AddCommand(commands.RootCommand(cli, &commands.BackendOptions{}))
	docker.SetArgs(append([]string{"compose"}, os.Args[1:]...))
	if err := docker.Execute(); err != nil {
		os.Exit(1)
	}
}
