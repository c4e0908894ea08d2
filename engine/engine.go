// Package engine brings a rendered DeepFlow deployment up on a Docker engine
// and looks after it: preflight, up with readiness waiting, status, down and
// logs. It embeds the Docker Compose SDK, so no compose plugin is needed on
// the host, and talks to the engine through the moby client, honouring
// DOCKER_HOST, DOCKER_CONTEXT, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and
// DOCKER_CONFIG as the docker CLI does.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/flags"
	"github.com/docker/compose/v5/cmd/display"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/docker/compose/v5/pkg/compose"
	"github.com/moby/moby/client"
	"github.com/spf13/pflag"
)

// Errors callers can test with errors.Is.
var (
	// ErrEngine: the Docker engine cannot be reached or is too old.
	ErrEngine = errors.New("docker engine not usable")
	// ErrPreflight: a preflight check failed; nothing was started.
	ErrPreflight = errors.New("preflight failed")
	// ErrImage: an image is missing and could not be pulled.
	ErrImage = errors.New("image not available")
	// ErrNotReady: services did not become ready in time.
	ErrNotReady = errors.New("services not ready")
	// ErrNotDeployed: the stack has no containers on this engine.
	ErrNotDeployed = errors.New("stack not deployed")
	// ErrAborted: the user declined a confirmation.
	ErrAborted = errors.New("aborted")
	// ErrNoService: a service name that the stack does not have.
	ErrNoService = errors.New("no such service")
)

// Progress modes for compose's events.
const (
	ProgressAuto  = "auto"  // live on a TTY, plain lines otherwise
	ProgressTTY   = "tty"   // live
	ProgressPlain = "plain" // one line per event
	ProgressQuiet = "quiet"
)

// Options configure an Engine.
type Options struct {
	Out io.Writer // results and progress; os.Stdout when nil
	Err io.Writer // warnings; os.Stderr when nil
	In  io.Reader // answers to prompts; os.Stdin when nil
	// Progress is one of the Progress* modes; ProgressAuto when empty.
	Progress string
	// ProbeInterval is the longest pause between readiness rounds (the
	// first are shorter); 1s when zero.
	ProbeInterval time.Duration
}

// Engine is a connection to one Docker engine.
type Engine struct {
	cli *command.DockerCli
	api client.APIClient
	out io.Writer
	err io.Writer
	in  io.Reader
	o   Options
}

// New connects to the engine the Docker environment names. It does not
// contact the engine yet: Preflight does, and reports what it finds.
func New(o Options) (*Engine, error) {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Err == nil {
		o.Err = os.Stderr
	}
	if o.In == nil {
		o.In = os.Stdin
	}
	if o.Progress == "" {
		o.Progress = ProgressAuto
	}
	if o.ProbeInterval == 0 {
		o.ProbeInterval = time.Second
	}
	cli, err := command.NewDockerCli(
		command.WithOutputStream(o.Out),
		command.WithErrorStream(o.Err),
		command.WithInputStream(io.NopCloser(o.In)),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEngine, err)
	}
	// The flag set is never parsed: installing it reads the defaults the
	// docker CLI takes from the environment (TLS, cert path, config dir).
	opts := flags.NewClientOptions()
	fs := pflag.NewFlagSet("docker", pflag.ContinueOnError)
	opts.InstallFlags(fs)
	opts.SetDefaultOptions(fs)
	if err := cli.Initialize(opts); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEngine, err)
	}
	return &Engine{cli: cli, api: cli.Client(), out: o.Out, err: o.Err, in: o.In, o: o}, nil
}

// API is the engine's API client.
func (e *Engine) API() client.APIClient { return e.api }

// Host is the endpoint the engine is reached at.
func (e *Engine) Host() string { return e.cli.DockerEndpoint().Host }

// Close releases the connection.
func (e *Engine) Close() error { return e.api.Close() }

// tty reports whether progress should be drawn live.
func (e *Engine) tty() bool {
	switch e.o.Progress {
	case ProgressTTY:
		return true
	case ProgressAuto:
		return e.cli.Out().IsTerminal()
	}
	return false
}

// processor returns the event processor for compose's progress events.
func (e *Engine) processor() api.EventProcessor {
	switch {
	case e.o.Progress == ProgressQuiet:
		return display.Quiet()
	case e.tty():
		return display.Full(e.out, e.err, true)
	default:
		return display.Plain(e.out)
	}
}

// compose returns a compose service that reports to ep.
func (e *Engine) compose(ep api.EventProcessor) (api.Compose, error) {
	s, err := compose.NewComposeService(e.cli,
		compose.WithOutputStream(e.out),
		compose.WithErrorStream(e.err),
		compose.WithPrompt(compose.AlwaysOkPrompt()),
		compose.WithEventProcessor(ep),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: compose: %v", ErrEngine, err)
	}
	return s, nil
}

// project loads the rendered compose file with its .env, as compose would.
func (e *Engine) project(ctx context.Context, s *Stack) (*types.Project, error) {
	c, err := e.compose(display.Quiet())
	if err != nil {
		return nil, err
	}
	p, err := c.LoadProject(ctx, api.ProjectLoadOptions{
		ProjectName: s.Project,
		ConfigPaths: []string{s.ComposeFile},
		WorkingDir:  s.Dir,
		EnvFiles:    []string{s.EnvFile},
		Offline:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", s.ComposeFile, err)
	}
	return p, nil
}
