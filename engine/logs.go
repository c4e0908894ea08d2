package engine

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/docker/compose/v5/cmd/display"
	"github.com/docker/compose/v5/pkg/api"
)

// LogsOptions tune Logs.
type LogsOptions struct {
	// Service limits the output to one service; empty means all.
	Service string
	Follow  bool
	// Tail is how many lines per container to start with; all when empty.
	Tail string
}

// Logs writes the stack's container logs, each line prefixed with its
// service, to the engine's output.
func (e *Engine) Logs(ctx context.Context, s *Stack, o LogsOptions) error {
	p, err := e.project(ctx, s)
	if err != nil {
		return err
	}
	if err := e.checkOwner(ctx, s); err != nil {
		return err
	}
	var services []string
	if o.Service != "" {
		if _, ok := p.Services[o.Service]; !ok {
			if c := s.component(o.Service); c != nil {
				o.Service = c.Service
			} else {
				names := make([]string, 0, len(p.Services))
				for n := range p.Services {
					names = append(names, n)
				}
				sort.Strings(names)
				return fmt.Errorf("%w %q; the stack has: %s", ErrNoService, o.Service, strings.Join(names, ", "))
			}
		}
		services = []string{o.Service}
	}
	c, err := e.compose(display.Quiet())
	if err != nil {
		return err
	}
	width := 0
	for n, svc := range p.Services {
		if svc.ContainerName != "" {
			n = svc.ContainerName
		}
		if o.Service == "" || svc.Name == o.Service {
			width = max(width, len(n))
		}
	}
	return c.Logs(ctx, s.Project, &prefixer{w: e.out, width: width}, api.LogOptions{
		Project: p, Services: services, Follow: o.Follow, Tail: o.Tail,
	})
}

// prefixer writes "service | line"; compose hands it container names, which
// the rendered compose file makes the service's container_name.
type prefixer struct {
	mu    sync.Mutex
	w     io.Writer
	width int
}

func (p *prefixer) Log(name, msg string) { p.write(name, msg) }
func (p *prefixer) Err(name, msg string) { p.write(name, msg) }
func (p *prefixer) Status(name, msg string) {
	p.write(name, "("+msg+")")
}

func (p *prefixer) write(name, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		fmt.Fprintf(p.w, "%-*s | %s\n", p.width, name, l)
	}
}
