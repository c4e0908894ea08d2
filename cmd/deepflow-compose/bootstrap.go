package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/deepflow-compose/deepflow-compose/api"
	"github.com/deepflow-compose/deepflow-compose/bootstrap"
	"github.com/deepflow-compose/deepflow-compose/deployment"
)

type bootstrapOptions struct {
	timeout time.Duration
	org     int
	output  string
	// server replaces the controller API URL the topology gives (an SSH
	// tunnel); the gRPC wait is then skipped, as that port is elsewhere.
	server string
	// poll is the health poll period (tests shorten it).
	poll time.Duration
}

// checkOutput refuses an --output other than bootstrap's and doctor's two.
func checkOutput(output string) error {
	if output != "text" && output != "json" {
		return fmt.Errorf("--output must be text or json, not %q", output)
	}
	return nil
}

// bootstrapDefaults are the flags' defaults, and what upgrade runs
// bootstrap with.
var bootstrapDefaults = bootstrapOptions{timeout: 15 * time.Minute, org: 1, output: "text"}

func addBootstrapFlags(cmd *cobra.Command, o *bootstrapOptions, prefix string) {
	cmd.Flags().DurationVar(&o.timeout, prefix+"timeout", bootstrapDefaults.timeout, "how long to wait for deepflow-server to report healthy (a first start or an upgrade's migration can be slow)")
	cmd.Flags().IntVar(&o.org, "org", bootstrapDefaults.org, "the DeepFlow organisation (X-Org-Id) to bootstrap")
}

func newBootstrapCmd() *cobra.Command {
	o := bootstrapOptions{}
	cmd := &cobra.Command{
		Use:   "bootstrap DIR",
		Short: "Create the agent_sync domain, the agent group and its config on the running server",
		Long: `Bootstrap puts into the running deepflow-server what agents need to register,
over its controller HTTP API on the node IP and the published controller port
(no deepflow-ctl needed): it waits for /v1/health/, finds or creates the
agent_sync domain (none in Kubernetes process mode), finds or creates the agent
group with the name and ID the directory was rendered with, and creates or
updates the group's config from agent/agent-group-config.yaml, through the
API the server has. A second run changes nothing and sends no write request.
up runs it after readiness unless --no-bootstrap is given.

Exit codes: 0 done, 1 the server refused a request (its DESCRIPTION is
quoted), 2 the server is unreachable, 3 it was not ready in time.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output); err != nil {
				return err
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			d, err := deployment.Load(args[0])
			if err != nil {
				return err
			}
			return runBootstrap(ctx, cmd.OutOrStdout(), d, o)
		},
	}
	addBootstrapFlags(cmd, &o, "")
	cmd.Flags().StringVarP(&o.output, "output", "o", bootstrapDefaults.output, "text or json")
	cmd.Flags().StringVar(&o.server, "server", "", "controller API URL, instead of the node IP and published port (e.g. through an SSH tunnel)")
	return cmd
}

// runBootstrap runs bootstrap on a loaded deployment and prints its
// report; the error carries bootstrap's exit code.
func runBootstrap(ctx context.Context, out io.Writer, d *deployment.Deployment, o bootstrapOptions) error {
	tg, err := bootstrap.ForDeployment(d)
	if err != nil {
		return err
	}
	base := tg.API
	bo := bootstrap.Options{HealthTimeout: o.timeout, PollInterval: o.poll}
	if o.server != "" {
		base = o.server
	} else {
		bo.WaitPorts = bootstrap.WaitTCP(tg.GRPC, time.Second, (&net.Dialer{Timeout: 3 * time.Second}).DialContext)
	}
	c, err := api.New(base, api.WithOrg(o.org))
	if err != nil {
		return err
	}
	if o.output == "text" {
		bo.Progress = out
	}
	rep, err := bootstrap.Run(ctx, c, tg.Spec, bo)
	if o.output == "json" {
		if werr := rep.WriteJSON(out); werr != nil {
			return werr
		}
	} else if werr := rep.WriteEnd(out); werr != nil {
		return werr
	}
	if err != nil {
		// The report already says why.
		return errSilent{code: bootstrap.ExitCode(err)}
	}
	return nil
}
