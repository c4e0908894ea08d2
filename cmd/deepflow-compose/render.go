package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
)

// inputFlags are the settings inputs render, diff and images share.
type inputFlags struct {
	profile string
	nodeIP  string
	version string
	values  []string
	sets    []string
}

func (f *inputFlags) bind(cmd *cobra.Command, nodeIPHelp string) {
	fl := cmd.Flags()
	fl.StringVar(&f.profile, "profile", "", "profile to start from: "+profileNames()+" (default bridge; a directory rendered before keeps its own)")
	fl.StringVar(&f.nodeIP, "node-ip", "", nodeIPHelp)
	f.bindValues(cmd)
}

// bindValues binds the inputs every command that renders takes: the
// version, values files and --set.
func (f *inputFlags) bindValues(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.version, "version", "", "DeepFlow release line: "+strings.Join(catalog.Versions(), ", ")+" (default v7.1)")
	fl.StringArrayVarP(&f.values, "values", "f", nil, "values file (YAML), e.g. agent.group recipes; repeat to layer several, later ones win")
	fl.StringArrayVar(&f.sets, "set", nil, "set one setting, e.g. --set mysql.port=30131; repeatable, wins over -f")
}

func (f *inputFlags) inputs() settings.Inputs {
	return settings.Inputs{Profile: f.profile, ValuesFiles: f.values, Sets: f.sets, NodeIP: f.nodeIP, Version: f.version}
}

// renderFlags are the inputs and output directory render and diff share.
type renderFlags struct {
	inputFlags
	out   string
	reset bool
}

func (f *renderFlags) bind(cmd *cobra.Command) {
	f.inputFlags.bind(cmd, "IP agents and browsers use to reach this host (default: the address of the interface holding the default route)")
	cmd.Flags().StringVarP(&f.out, "output", "o", "deepflow", "deployment directory to write")
	cmd.Flags().BoolVar(&f.reset, "reset", false, "start from the defaults, not from the settings the directory's earlier render recorded (secrets and the agent group ID are kept)")
}

func (f *renderFlags) options(stderr io.Writer) render.Options {
	return render.Options{
		Inputs: f.inputs(),
		OutDir: f.out,
		Reset:  f.reset,
		DetectNodeIP: func() (string, string, error) {
			ip, from, err := render.DefaultRouteIP()
			if err == nil {
				fmt.Fprintf(stderr, "Using node IP %s from %s; pass --node-ip to choose another.\n", ip, from)
			}
			return ip, from, err
		},
	}
}

type renderOptions struct {
	renderFlags
	force  bool
	dryRun bool
}

func newRenderCmd() *cobra.Command {
	var o renderOptions
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Write a validated deployment directory",
		Long: `Render resolves the settings (built-in defaults < profile < -f files < --set <
flags), derives every address and port from one topology, validates every file
with its format's parser, and only then swaps the new directory into place.

A directory rendered before is rendered again from the settings it recorded:
a flag or --set changes only that setting, and render prints what changed.
--reset starts from the defaults again.

Passwords not given are generated once and kept in .env (mode 0600); later
renders read them back, as they do the agent group ID (g-…) chosen at the
first render. Files changed by hand since the last render are not
overwritten without --force.`,
		Example: `  deepflow-compose render --node-ip 10.1.2.3 -o deepflow
  deepflow-compose render --profile host-network --node-ip 10.1.2.3 --set mysql.port=30131 -o deepflow
  deepflow-compose render -o deepflow --set mysql.port=30131   # keeps everything else
  deepflow-compose render -f values.yaml --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRender(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	o.bind(cmd)
	cmd.Flags().BoolVar(&o.force, "force", false, "overwrite files changed by hand or not written by deepflow-compose")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print what would be written and write nothing")
	return cmd
}

func runRender(ctx context.Context, stdout, stderr io.Writer, o renderOptions) error {
	opts := o.options(stderr)
	opts.Force = o.force
	plan, err := render.Prepare(ctx, opts)
	if err != nil {
		return err
	}
	for _, n := range plan.Notices {
		fmt.Fprintln(stderr, "Note:", n)
	}
	if o.dryRun {
		changes, err := plan.Changes()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Would write %s (dry run, nothing written):\n", o.out)
		printChanges(stdout, changes)
		return nil
	}
	changes, err := plan.Write(o.force)
	if err != nil {
		return err
	}
	for _, s := range plan.Generated {
		if s == "agent.groupID" {
			fmt.Fprintf(stderr, "Chose the agent group ID %s; it is kept in %s/%s.\n", plan.Settings.Agent.GroupID, o.out, deployment.ManifestName)
			continue
		}
		fmt.Fprintf(stderr, "Generated %s; it is kept in %s/.env.\n", s, o.out)
	}
	if len(plan.Changed) > 0 {
		fmt.Fprintln(stdout, "Settings changed since the last render:")
		for _, c := range plan.Changed {
			fmt.Fprintf(stdout, "  %s\n", c)
		}
	}
	fmt.Fprintf(stdout, "Rendered DeepFlow %s (%s profile, %s network, node IP %s) into %s:\n",
		plan.Settings.Version, plan.Profile.Name, plan.Settings.Network, plan.Settings.NodeIP, o.out)
	printChanges(stdout, changes)
	fmt.Fprintf(stdout, "Next: %s/NEXT-STEPS.md\n", o.out)
	return nil
}

func printChanges(w io.Writer, changes []render.Change) {
	for _, c := range changes {
		note := ""
		if c.Conflict != "" {
			note = " (" + c.Conflict + ")"
		}
		fmt.Fprintf(w, "  %-9s %s%s\n", c.Kind, c.Path, note)
	}
}

func newDiffCmd() *cobra.Command {
	var o renderFlags
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show what render would change in the deployment directory",
		Long:  "diff takes the same inputs as render and prints a unified diff of what it would change. It exits 0 when nothing would change, 1 when something would, and 2 when the inputs are invalid.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := o.options(cmd.ErrOrStderr())
			plan, err := render.Prepare(cmd.Context(), opts)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			changes, err := plan.Changes()
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			s := plan.Settings
			if !writeDiff(cmd.OutOrStdout(), changes, s.MySQL.Password, s.ClickHouse.Password, s.Grafana.AdminPassword) {
				return nil
			}
			return errSilent{code: 1}
		},
	}
	o.bind(cmd)
	return cmd
}

func profileNames() string {
	all, err := settings.Profiles()
	if err != nil {
		return err.Error()
	}
	var names []string
	for _, p := range all {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

func newProfilesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "profiles",
		Short: "List the profiles, one per line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := settings.Profiles()
			if err != nil {
				return err
			}
			for _, p := range all {
				name := p.Name
				if len(p.Aliases) > 0 {
					name += " (" + strings.Join(p.Aliases, ", ") + ")"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%-28s %s\n", name, p.Description)
			}
			return nil
		},
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of deepflow-compose and the DeepFlow releases it knows",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "deepflow-compose %s (DeepFlow %s)\n", version, strings.Join(catalog.Versions(), ", "))
			printSchemas(w)
		},
	}
}
