package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/render"
)

// Exit codes of the engine commands, beyond 1 for any other error.
const (
	exitPreflight = 2 // a preflight check failed; nothing was started
	exitNotReady  = 3 // a service did not get ready in time
	exitImage     = 4 // an image is missing and could not be pulled
)

type upOptions struct {
	timeout        time.Duration
	progress       string
	acceptPassword bool
	noBootstrap    bool
	bootstrap      bootstrapOptions
}

func newUpCmd() *cobra.Command {
	var o upOptions
	cmd := &cobra.Command{
		Use:   "up DIR",
		Short: "Preflight, start the rendered stack on Docker and wait until every service answers",
		Long: `Up checks the engine, node IP, ports, data dir, existing data and images, then
brings the stack in DIR up through the embedded Docker Compose SDK (no compose
plugin needed; DOCKER_HOST and the usual Docker environment apply) and waits
from this host until every service answers its readiness probe.

Then, unless --no-bootstrap is given, it runs bootstrap: the agent_sync
domain, the agent group with the rendered ID and its config on the server
(see deepflow-compose bootstrap --help).

A second up on an unchanged stack changes nothing and says so. Up refuses a
project name that a stack from another directory uses on this engine, and a
MySQL or Grafana password in .env that differs from the one the existing data
was created with (those keep their first password): it shows how to change
the password inside the database, then --accept-password-change goes on.
Exit codes: 2 preflight failed, 3 not ready in time, 4 image unavailable.
When the stack came up but bootstrap failed, up says so and exits with
bootstrap's code (1 refused, 2 unreachable, 3 not ready in time).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUp(cmd, args[0], o)
		},
	}
	cmd.Flags().DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for every service to be ready")
	cmd.Flags().StringVar(&o.progress, "progress", engine.ProgressAuto, "compose progress: auto (live on a TTY, plain otherwise), tty, plain or quiet")
	cmd.Flags().BoolVar(&o.acceptPassword, "accept-password-change", false, "the datastore passwords in .env were changed inside the databases too: record them and start")
	cmd.Flags().BoolVar(&o.noBootstrap, "no-bootstrap", false, "only start the stack: do not create the domain, agent group and group config on the server")
	addBootstrapFlags(cmd, &o.bootstrap, "bootstrap-")
	o.bootstrap.output = "text"
	return cmd
}

func runUp(cmd *cobra.Command, dir string, o upOptions) error {
	return onStack(cmd, dir, o.progress, func(ctx context.Context, e *engine.Engine, s *engine.Stack) error {
		_, err := e.Up(ctx, s, engine.UpOptions{Timeout: o.timeout, AcceptPasswordChange: o.acceptPassword, Rerender: func(ctx context.Context, dir, set string) error {
			_, _, err := render.Rerender(ctx, dir, set)
			return err
		}})
		if err != nil || o.noBootstrap {
			return engineExit(err)
		}
		return upBootstrap(ctx, cmd.OutOrStdout(), s.Dir, o.bootstrap)
	})
}

// upBootstrap runs bootstrap after a successful up. The directory is
// loaded again: up may have re-rendered it.
func upBootstrap(ctx context.Context, out io.Writer, dir string, o bootstrapOptions) error {
	fmt.Fprintln(out, "bootstrap: domain, agent group and group config on deepflow-server")
	d, err := deployment.Load(dir)
	if err == nil {
		err = runBootstrap(ctx, out, d, o)
	}
	if err == nil {
		return nil
	}
	var s errSilent
	if errors.As(err, &s) {
		// The report above says why.
		return &exitError{code: s.code, err: fmt.Errorf("the stack is up, but bootstrap failed (exit %d, see above); fix the cause, then run deepflow-compose bootstrap %s", s.code, dir)}
	}
	return fmt.Errorf("the stack is up, but bootstrap failed: %w", err)
}

// onStack loads a rendered directory, opens the engine, and runs fn with a
// context that ends on Ctrl-C or SIGTERM.
func onStack(cmd *cobra.Command, dir, progress string, fn func(ctx context.Context, e *engine.Engine, s *engine.Stack) error) error {
	ctx, stop := signalContext(cmd.Context())
	defer stop()
	s, err := engine.Load(dir)
	if err != nil {
		return err
	}
	e, err := newEngine(cmd, progress)
	if err != nil {
		return err
	}
	defer e.Close()
	return fn(ctx, e, s)
}

func newEngine(cmd *cobra.Command, progress string) (*engine.Engine, error) {
	return engine.New(engine.Options{Out: cmd.OutOrStdout(), Err: cmd.ErrOrStderr(), In: cmd.InOrStdin(), Progress: progress})
}

// engineExit maps the engine's errors to exit codes.
func engineExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, engine.ErrPreflight):
		return &exitError{code: exitPreflight, err: err}
	case errors.Is(err, engine.ErrNotReady):
		return &exitError{code: exitNotReady, err: err}
	case errors.Is(err, engine.ErrImage):
		return &exitError{code: exitImage, err: err}
	}
	return err
}

func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}
