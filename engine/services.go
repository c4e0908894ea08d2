package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/compose/v5/pkg/api"
)

// UpServices creates and starts only the named services (and those they
// depend on) through the compose SDK, with the rendered compose file and
// .env, as `docker compose up -d SERVICE…` would. It runs no preflight and
// does not wait for readiness: an upgrade starts the datastores before the
// server, and tests start one service alone. Orphans are left alone, since
// the rest of the stack is one's own.
func (e *Engine) UpServices(ctx context.Context, s *Stack, services ...string) error {
	p, err := e.project(ctx, s)
	if err != nil {
		return err
	}
	for _, n := range services {
		if _, err := p.GetService(n); err != nil {
			return fmt.Errorf("%w: %q in %s", ErrNoService, n, s.ComposeFile)
		}
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
	p, err := e.project(ctx, s)
	if err != nil {
		return err
	}
	for _, n := range services {
		if _, err := p.GetService(n); err != nil {
			return fmt.Errorf("%w: %q in %s", ErrNoService, n, s.ComposeFile)
		}
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
