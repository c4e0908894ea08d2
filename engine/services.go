package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
)

// UpServices creates and starts only the named services (and those they
// depend on) through the compose SDK, with the rendered compose file and
// .env, as `docker compose up -d SERVICE…` would. It runs no preflight and
// does not wait for readiness: an upgrade starts the datastores before the
// server, and tests start one service alone. Orphans are left alone, since
// the rest of the stack is one's own.
func (e *Engine) UpServices(ctx context.Context, s *Stack, services ...string) error {
	p, err := e.projectOf(ctx, s, services)
	if err != nil {
		return err
	}
	p, err = p.WithSelectedServices(services)
	if err != nil {
		return fmt.Errorf("compose up %s: %w", strings.Join(services, " "), err)
	}
	c, err := e.compose(e.processor())
	if err != nil {
		return err
	}
	err = c.Up(ctx, p, api.UpOptions{
		Create: api.CreateOptions{
			Services:             services,
			Recreate:             api.RecreateDiverged,
			RecreateDependencies: api.RecreateDiverged,
			Inherit:              true,
		},
		Start: api.StartOptions{Project: p, Services: services},
	})
	if err != nil {
		return fmt.Errorf("compose up %s %s: %w", s.Project, strings.Join(services, " "), err)
	}
	return nil
}

// StopServices stops the named services' containers and keeps them, as
// `docker compose stop SERVICE…` would: an upgrade stops the writers
// before its backup.
func (e *Engine) StopServices(ctx context.Context, s *Stack, services ...string) error {
	p, err := e.projectOf(ctx, s, services)
	if err != nil {
		return err
	}
	c, err := e.compose(e.processor())
	if err != nil {
		return err
	}
	if err := c.Stop(ctx, s.Project, api.StopOptions{Project: p, Services: services}); err != nil {
		return fmt.Errorf("compose stop %s %s: %w", s.Project, strings.Join(services, " "), err)
	}
	return nil
}

// projectOf loads the stack's compose project after checking that it has
// every one of the named services.
func (e *Engine) projectOf(ctx context.Context, s *Stack, services []string) (*types.Project, error) {
	p, err := e.project(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, n := range services {
		if _, err := p.GetService(n); err != nil {
			return nil, fmt.Errorf("%w: %q in %s", ErrNoService, n, s.ComposeFile)
		}
	}
	return p, nil
}
