package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	helmexport "github.com/deepflow-compose/deepflow-compose/export/helm"
)

// newExportCmd is `export`, the parent of one exporter per target.
func newExportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a deployment in another tool's format",
	}
	cmd.AddCommand(newExportHelmCmd())
	return cmd
}

type exportHelmOptions struct {
	inputFlags
	out          string
	namespace    string
	storageClass string
	force        bool
}

func newExportHelmCmd() *cobra.Command {
	var o exportHelmOptions
	cmd := &cobra.Command{
		Use:   "helm [DIR]",
		Short: "Write values for DeepFlow's Helm charts from a deployment",
		Long: `export helm writes the deployment in DIR (or, without DIR, the one render
would write from the same inputs) as values for DeepFlow's own Helm charts, at
the chart version of its DeepFlow release (charts exist for ` + strings.Join(helmexport.ChartVersions(), ", ") + `):

  values.yaml          deepflow/deepflow: images, time zone, time source, node
                       ports, storage, server settings, agents. Safe to share.
  values-secrets.yaml  the deployment's passwords (mode 0600).
  values-agent.yaml    deepflow/deepflow-agent: a Kubernetes cluster's agents
                       reporting to this compose server.
  HELM.md              the helm commands, offline steps, and every setting the
                       chart cannot carry with what it does instead.

DIR must be as render left it: a file changed by hand stops the export.`,
		Example: `  deepflow-compose export helm deepflow -o deepflow-helm
  deepflow-compose export helm --profile host-network --node-ip 10.1.2.3 -o deepflow-helm
  deepflow-compose export helm deepflow --storage-class fast-ssd`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := helmexport.Options{OutDir: o.out, Namespace: o.namespace, StorageClass: o.storageClass, Force: o.force}
			if len(args) == 1 {
				opts.Dir = args[0]
				if cmd.Flags().Changed("profile") || len(o.values) > 0 || len(o.sets) > 0 || o.version != "" || o.nodeIP != "" {
					return &exitError{code: 2, err: fmt.Errorf("give DIR or render inputs, not both: %s already records its settings", opts.Dir)}
				}
				if opts.OutDir == "" {
					opts.OutDir = filepath.Clean(opts.Dir) + "-helm"
				}
			} else {
				opts.Render = (&renderFlags{inputFlags: o.inputFlags}).options(cmd.ErrOrStderr())
				if opts.OutDir == "" {
					opts.OutDir = "deepflow-helm"
				}
			}
			e, err := helmexport.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			printExport(cmd.OutOrStdout(), e)
			return nil
		},
	}
	o.inputFlags.bind(cmd, "with render inputs: IP agents reach the compose server on (default: the address of the interface holding the default route)")
	fl := cmd.Flags()
	fl.StringVarP(&o.out, "output", "o", "", "directory to write (default: DIR-helm, or deepflow-helm with render inputs)")
	fl.StringVarP(&o.namespace, "namespace", "n", helmexport.DefaultNamespace, "namespace HELM.md installs into")
	fl.StringVar(&o.storageClass, "storage-class", "", "keep MySQL and ClickHouse in volumes of this storage class (default: host paths under dataDir)")
	fl.BoolVar(&o.force, "force", false, "overwrite files in the output directory that export did not write")
	return cmd
}

func printExport(w io.Writer, e *helmexport.Export) {
	fmt.Fprintf(w, "Exported %s (DeepFlow %s) for chart version %s into %s:\n", e.Source, e.Version, e.Chart.Version, e.OutDir)
	for _, f := range e.Files {
		fmt.Fprintf(w, "  %s\n", f.Path)
	}
	if len(e.Generated) > 0 {
		fmt.Fprintf(w, "Generated passwords for %s: they exist only in %s.\n", strings.Join(e.Generated, ", "), helmexport.SecretsFile)
	}
	fmt.Fprintf(w, "%d settings have no chart value; %s lists them. Next: read %s.\n",
		len(e.Unmapped), helmexport.GuideFile, filepath.Join(e.OutDir, helmexport.GuideFile))
}
