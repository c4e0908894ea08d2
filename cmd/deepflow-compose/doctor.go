package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/deepflow-compose/deepflow-compose/api"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/doctor"
)

type doctorOptions struct {
	agents []string
	output string
	org    int
	server string
	// dial replaces net.Dialer for the port checks (tests).
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// now replaces time.Now (tests).
	now func() time.Time
}

func newDoctorCmd() *cobra.Command {
	var o doctorOptions
	cmd := &cobra.Command{
		Use:   "doctor DIR [--agent IP]...",
		Short: "Check, live, why agents do or do not register with the running server",
		Long: `Doctor runs the agent-registration checklist against the running
deepflow-server: its health and start-up stage; the controller, gRPC and
ingester ports on the node IP; the agent_sync domain and how recently it
synced; the agent group with the rendered ID; the group config against
agent/agent-group-config.yaml; every registered agent (state, type, group,
exceptions, version skew); and, for each --agent IP, whether it is inside
local_ip_ranges, registered, or only reporting. The server's own agent
(agent.onServer) is checked first. Each finding says what, why and the fix.

Exit codes: 0 nothing is wrong, 1 something is.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output); err != nil {
				return err
			}
			for _, a := range o.agents {
				if _, err := netip.ParseAddr(a); err != nil {
					return fmt.Errorf("--agent %q is not an IP address", a)
				}
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			d, err := deployment.Load(args[0])
			if err != nil {
				return err
			}
			return runDoctor(ctx, cmd.OutOrStdout(), d, o)
		},
	}
	cmd.Flags().StringArrayVar(&o.agents, "agent", nil, "an agent host's IP to check (repeatable)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "text or json")
	cmd.Flags().IntVar(&o.org, "org", 1, "the DeepFlow organisation (X-Org-Id) to check")
	cmd.Flags().StringVar(&o.server, "server", "", "controller API URL, instead of the node IP and published port (e.g. through an SSH tunnel)")
	return cmd
}

func runDoctor(ctx context.Context, out io.Writer, d *deployment.Deployment, o doctorOptions) error {
	p, err := doctor.ForDeployment(d)
	if err != nil {
		return err
	}
	base := p.API
	if o.server != "" {
		base = o.server
	}
	c, err := api.New(base, api.WithOrg(o.org))
	if err != nil {
		return err
	}
	p.Expect.Dial, p.Expect.Now = o.dial, o.now
	agents := p.Agents
	for _, a := range o.agents {
		if !slices.Contains(agents, a) {
			agents = append(agents, a)
		}
	}
	fs, err := doctor.Run(ctx, c, p.Expect, agents)
	if err != nil {
		return err
	}
	r := doctor.NewReport(fs)
	if o.output == "json" {
		err = r.WriteJSON(out)
	} else {
		err = r.WriteText(out)
	}
	if err != nil {
		return err
	}
	if code := r.ExitCode(); code != 0 {
		return errSilent{code: code}
	}
	return nil
}
