package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

type agentOptions struct {
	inputFlags
	server         string
	network        string
	controllerPort int
	ingesterPort   int
	groupID        string
	mode           string
	out            string
	force          bool
	dryRun         bool
}

func newAgentCmd() *cobra.Command {
	var o agentOptions
	cmd := &cobra.Command{
		Use:   "agent --server IP -o DIR",
		Short: "Render only the agent side, for one more monitored host",
		Long: `agent writes the files one more monitored host needs: the agent's own
deepflow-agent.yaml, and a compose file (container mode) or a systemd unit
(process mode), plus the group config in this version's format. The ports are
those the server's network mode exposes, unless given.`,
		Example: `  deepflow-compose agent --server 10.1.2.3 --network host --group-id g-TE8la86jlZ --mode process -o agent-web01
  deepflow-compose agent --server 10.1.2.3 --controller-port 30035 --ingester-port 30033 -o agent-db01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.server == "" {
				return fmt.Errorf("--server is required: the address agents use to reach deepflow-server")
			}
			in := o.inputFlags.inputs()
			in.NodeIP = ""
			in.Overrides = append(in.Overrides, settings.Override{Flag: "--server", Key: "nodeIP", Value: o.server})
			fl := cmd.Flags()
			for _, f := range []struct {
				flag, key string
				value     any
			}{
				{"network", "network", o.network},
				{"controller-port", "agent.controllerPort", o.controllerPort},
				{"ingester-port", "agent.ingesterPort", o.ingesterPort},
				{"group-id", "agent.groupID", o.groupID},
				{"mode", "agent.mode", o.mode},
			} {
				if !fl.Changed(f.flag) {
					continue
				}
				if p, ok := f.value.(int); ok && (p < 1 || p > 65535) {
					// 0 would mean "from the network mode": a typed 0 is a mistake.
					return fmt.Errorf("--%s: %w: %d is out of range 1-65535; leave it out to use the network mode's port", f.flag, settings.ErrSettings, p)
				}
				in.Overrides = append(in.Overrides, settings.Override{Flag: "--" + f.flag, Key: f.key, Value: f.value})
			}
			plan, err := render.PrepareAgent(cmd.Context(), render.Options{Inputs: in, OutDir: o.out, Force: o.force})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, n := range plan.Notices {
				fmt.Fprintln(cmd.ErrOrStderr(), "Note:", n)
			}
			if o.dryRun {
				changes, err := plan.Changes()
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "Would write %s (dry run, nothing written):\n", o.out)
				printChanges(out, changes)
				return nil
			}
			changes, err := plan.Write(o.force)
			if err != nil {
				return err
			}
			ap := plan.Topology.AgentPorts()
			fmt.Fprintf(out, "Rendered the %s agent side for DeepFlow %s (server %s, controller port %d) into %s:\n",
				plan.Settings.Agent.Mode, plan.Settings.Version, plan.Settings.NodeIP, firstNonZero(plan.Settings.Agent.ControllerPort, ap.Controller), o.out)
			printChanges(out, changes)
			if plan.Settings.Agent.Mode == settings.AgentProcess {
				fmt.Fprintf(out, "On the host: cp %[1]s/deepflow-agent.yaml /etc/deepflow-agent.yaml; cp %[1]s/deepflow-agent.service /etc/systemd/system/; systemctl daemon-reload; systemctl enable --now deepflow-agent\n", o.out)
			} else {
				fmt.Fprintf(out, "On the host: cd %s && docker compose -p deepflow-agent -f docker-compose.yaml up -d\n", o.out)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	o.inputFlags.bindValues(cmd)
	fl.StringVar(&o.server, "server", "", "address of deepflow-server that agents dial (required)")
	fl.StringVar(&o.network, "network", "", fmt.Sprintf("the server's network mode: bridge (agents use %d/%d) or host (%d/%d)",
		topology.BridgePublished(topology.GRPC), topology.BridgePublished(topology.Ingester), topology.Builtin(topology.GRPC), topology.Builtin(topology.Ingester)))
	fl.IntVar(&o.controllerPort, "controller-port", 0, "controller (gRPC) port agents dial, instead of the network mode's")
	fl.IntVar(&o.ingesterPort, "ingester-port", 0, "ingester port agents send data to, instead of the network mode's")
	fl.StringVar(&o.groupID, "group-id", "", "agent group ID (g-…) the agent asks to join")
	fl.StringVar(&o.mode, "mode", "", "how the agent runs: container or process (default container)")
	fl.StringVarP(&o.out, "output", "o", "deepflow-agent", "directory to write")
	fl.BoolVar(&o.force, "force", false, "overwrite files changed by hand or not written by deepflow-compose")
	fl.BoolVar(&o.dryRun, "dry-run", false, "print what would be written and write nothing")
	return cmd
}

func firstNonZero(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}
