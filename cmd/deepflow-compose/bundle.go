package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/moby/term"
	"github.com/spf13/cobra"

	"github.com/deepflow-compose/deepflow-compose/bundle"
	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/internal/humanize"
)

// Exit codes of the bundle commands, beyond 1 for any other error.
const (
	exitBundleBad    = 2 // the bundle is corrupt, truncated, unsafe or of an unknown format
	exitBundleImages = 4 // images are missing from the engine (save)
)

func newBundleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Pack a rendered deployment and its images for a host with no network, and unpack it there",
		Long: `A bundle is one zstd-compressed tar file holding every image a rendered
deployment runs (from the engine, as docker save writes them), the rendered
directory, and a manifest with the image IDs and the sha256 of every member.

  bundle save DIR -o deepflow-bundle.tar.zst    on a host with the images
  bundle verify FILE                            anywhere; loads nothing
  bundle load FILE [-o DIR] [--registry R] [--push]   on the air-gapped host

load checks the whole file's checksum before anything reaches the engine or
the disk: a corrupted or truncated bundle is refused and nothing is loaded.
The bundle holds the directory's .env, so its passwords: keep it like .env.`,
	}
	cmd.AddCommand(newBundleSaveCmd(), newBundleLoadCmd(), newBundleVerifyCmd())
	return cmd
}

// progressFlag binds --progress and turns it into bundle.Progress on stderr.
type progressFlag string

func (p *progressFlag) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar((*string)(p), "progress", engine.ProgressAuto, "auto (a bar on a terminal, plain lines otherwise), tty, plain or quiet")
}

func (p progressFlag) progress(w io.Writer) (bundle.Progress, error) {
	switch string(p) {
	case engine.ProgressAuto:
		tty := false
		if f, ok := w.(*os.File); ok {
			_, tty = term.GetFdInfo(f)
		}
		return bundle.Progress{W: w, TTY: tty}, nil
	case engine.ProgressTTY:
		return bundle.Progress{W: w, TTY: true}, nil
	case engine.ProgressPlain:
		return bundle.Progress{W: w}, nil
	case engine.ProgressQuiet:
		return bundle.Progress{}, nil
	}
	return bundle.Progress{}, &exitError{code: 2, err: fmt.Errorf("--progress %q: want auto, tty, plain or quiet", string(p))}
}

// bundleExit maps bundle errors to exit codes.
func bundleExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bundle.ErrCorrupt), errors.Is(err, bundle.ErrUnsafe), errors.Is(err, bundle.ErrFormat):
		return &exitError{code: exitBundleBad, err: err}
	case errors.Is(err, bundle.ErrMissingImages):
		return &exitError{code: exitBundleImages, err: err}
	}
	return err
}

func newBundleSaveCmd() *cobra.Command {
	var out string
	var prog progressFlag
	cmd := &cobra.Command{
		Use:   "save DIR -o FILE",
		Short: "Write the images and the rendered directory DIR into one bundle file",
		Long: `save takes every image DIR names (see deepflow-compose images DIR) from the
Docker engine — they must be there: pull them first on a connected host — and
streams them, DIR and a manifest into one zstd-compressed tar. Memory stays
flat whatever the size; the file appears only once complete.

Exit codes: 4 an image is not on the engine.`,
		Example: `  deepflow-compose images deepflow | xargs -n1 docker pull
  deepflow-compose bundle save deepflow -o deepflow-bundle.tar.zst`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			p, err := prog.progress(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			e, err := newEngine(cmd, engine.ProgressQuiet)
			if err != nil {
				return err
			}
			defer e.Close()
			res, err := bundle.Save(ctx, bundle.SaveOptions{Dir: args[0], Out: out, Engine: e, Progress: p, Tool: version})
			if err != nil {
				return bundleExit(err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Wrote %s: %d images, %d files of %s, %s (%s before compression).\n", out,
				len(res.Manifest.Images), len(res.Manifest.Files()), args[0], humanize.Bytes(res.Size), humanize.Bytes(res.Raw))
			fmt.Fprintf(w, "It holds %s/.env and so its passwords. On the air-gapped host:\n  deepflow-compose bundle load %s\n", args[0], out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "deepflow-bundle.tar.zst", "bundle file to write")
	prog.bind(cmd)
	return cmd
}

func newBundleVerifyCmd() *cobra.Command {
	var prog progressFlag
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check every member of a bundle against its manifest; load nothing",
		Long:  "verify reads the whole bundle and checks each member's size and sha256 against the manifest, and that nothing is missing, added, truncated or would be written outside the directory. Exit codes: 2 the bundle is bad.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := prog.progress(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			man, err := bundle.Verify(cmd.Context(), bundle.VerifyOptions{File: args[0], Progress: p})
			if err != nil {
				return bundleExit(err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s is intact: DeepFlow %s (%s profile), directory %s with %d files, %d images:\n",
				args[0], man.DeepFlow, man.Profile, man.Dir, len(man.Files()), len(man.Images))
			for _, im := range man.Images {
				fmt.Fprintf(w, "  %s  %s\n", im.Ref, im.ID)
			}
			return nil
		},
	}
	prog.bind(cmd)
	return cmd
}

func newBundleLoadCmd() *cobra.Command {
	var o bundle.LoadOptions
	var prog progressFlag
	cmd := &cobra.Command{
		Use:   "load FILE",
		Short: "Verify a bundle, load its images, optionally retag and push them to a mirror, unpack its directory",
		Long: `load first checks the bundle file's checksum and its manifest, then streams
the images into the Docker engine while it checks every member against the
manifest (as verify does); the engine takes them only once everything
matched, and on any difference the bundle is refused with nothing loaded.
It checks that each image has the ID it was saved with, gives each a second
name under --registry and pushes those with --push (credentials as docker
login stored them), and unpacks the rendered directory into -o (default: the
directory's own name here), which must not exist or be empty.

Exit codes: 2 the bundle is bad.`,
		Example: `  deepflow-compose bundle load deepflow-bundle.tar.zst
  deepflow-compose bundle load deepflow-bundle.tar.zst -o /opt/deepflow-deploy --registry harbor.local/deepflow --push`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			p, err := prog.progress(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if o.Push && o.Registry == "" {
				return &exitError{code: 2, err: errors.New("--push needs --registry: the mirror to push to")}
			}
			e, err := newEngine(cmd, engine.ProgressQuiet)
			if err != nil {
				return err
			}
			defer e.Close()
			o.File, o.Engine, o.Progress = args[0], e, p
			res, err := bundle.Load(ctx, o)
			if err != nil {
				return bundleExit(err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Loaded %d images (IDs as saved) and unpacked %s.\n", len(res.Manifest.Images), res.Dir)
			if len(res.Mirrored) > 0 {
				refs := make([]string, 0, len(res.Mirrored))
				for r := range res.Mirrored {
					refs = append(refs, r)
				}
				sort.Strings(refs)
				verb := "Tagged"
				if o.Push {
					verb = "Tagged and pushed"
				}
				fmt.Fprintf(w, "%s for %s:\n", verb, o.Registry)
				for _, r := range refs {
					fmt.Fprintf(w, "  %s\n", res.Mirrored[r])
				}
				if res.Manifest.Registry != o.Registry {
					fmt.Fprintf(w, "The directory still names %s; for other hosts to pull from the mirror, re-render it with --set registry=%s.\n",
						res.Manifest.Registry, o.Registry)
				}
			}
			fmt.Fprintf(w, "Next: deepflow-compose up %s\n", res.Dir)
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.OutDir, "output", "o", "", "directory to unpack into (default: the bundled directory's name, here)")
	cmd.Flags().StringVar(&o.Registry, "registry", "", "also name every image under this registry, e.g. harbor.local/deepflow")
	cmd.Flags().BoolVar(&o.Push, "push", false, "push the --registry names")
	prog.bind(cmd)
	return cmd
}
