package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/settings"
)

type imagesOptions struct {
	inputFlags
	output string
}

// imagesJSON is `images --output json`.
type imagesJSON struct {
	DeepFlow string      `json:"deepflow"`
	Registry string      `json:"registry"`
	Images   []imageJSON `json:"images"`
}

type imageJSON struct {
	Ref        string   `json:"ref"`
	Components []string `json:"components"`
}

func newImagesCmd() *cobra.Command {
	var o imagesOptions
	cmd := &cobra.Command{
		Use:   "images [DIR]",
		Short: "List every image a deployment runs, server stack and agent, pinned",
		Long: `images lists the images of the rendered directory DIR or, without DIR, of
the deployment render would write with the same inputs (--profile, --version,
-f, --set). The registry setting rewrites every reference; --set
images.<component>=ref:tag overrides one (components: ` + strings.Join(catalog.ImageKeys, ", ") + `).

Text output is one reference per line, sorted, for scripts
(e.g. xargs -n1 docker pull); --output json adds the components using each.`,
		Example: `  deepflow-compose images deepflow
  deepflow-compose images --set registry=harbor.local/deepflow --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.output != "text" && o.output != "json" {
				return &exitError{code: 2, err: fmt.Errorf("--output %q: want text or json", o.output)}
			}
			var dir string
			if len(args) == 1 {
				dir = args[0]
				if cmd.Flags().Changed("profile") || len(o.values) > 0 || len(o.sets) > 0 || o.version != "" || o.nodeIP != "" {
					return &exitError{code: 2, err: fmt.Errorf("give DIR or render inputs, not both: %s already records its settings", dir)}
				}
			}
			return runImages(cmd.OutOrStdout(), dir, o)
		},
	}
	// The inputs render takes; -o here is the output format.
	o.inputFlags.bind(cmd, "accepted for symmetry with render; images do not depend on it")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

func runImages(w io.Writer, dir string, o imagesOptions) error {
	var s *settings.Settings
	var images catalog.Images
	if dir != "" {
		d, err := deployment.Load(dir)
		if err != nil {
			return err
		}
		s, images = d.Settings, d.Images
	} else {
		in := o.inputs()
		var err error
		if s, _, err = in.Settings(); err != nil {
			return &exitError{code: 2, err: err}
		}
		if images, err = catalog.Resolve(s.Version, s.Registry, s.Images); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	if o.output == "text" {
		for _, ref := range images.List() {
			fmt.Fprintln(w, ref)
		}
		return nil
	}
	out := imagesJSON{DeepFlow: s.Version, Registry: s.Registry, Images: []imageJSON{}}
	at := map[string]int{}
	for _, ref := range images.List() {
		at[ref] = len(out.Images)
		out.Images = append(out.Images, imageJSON{Ref: ref})
	}
	for _, kv := range images.Named() {
		im := &out.Images[at[kv[1]]]
		im.Components = append(im.Components, kv[0])
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
