package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
)

// Helpers for `upgrade` (package upgrade): what runs, where its data is,
// pulling one image, and waiting for chosen services only.

// ServiceContainer is one container of a stack as the engine runs it.
type ServiceContainer struct {
	Service   string
	Container string
	ID        string
	// Image is the reference the container was created from; ImageID the
	// image it really runs (a moving tag may since point elsewhere).
	Image, ImageID string
	State          string
	// WorkingDir is the directory compose ran from (its project label).
	WorkingDir string
}

// Containers lists the stack's containers, running or not, by service.
func (e *Engine) Containers(ctx context.Context, s *Stack) ([]ServiceContainer, error) {
	cs, err := e.projectContainers(ctx, s.Project)
	if err != nil {
		return nil, err
	}
	out := make([]ServiceContainer, 0, len(cs))
	for _, c := range cs {
		name := c.ID
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, ServiceContainer{
			Service: c.Labels[api.ServiceLabel], Container: name, ID: c.ID,
			Image: c.Image, ImageID: c.ImageID, State: string(c.State),
			WorkingDir: c.Labels[api.WorkingDirLabel],
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out, nil
}

// ServiceImages are the images the compose file gives each service.
func (e *Engine) ServiceImages(ctx context.Context, s *Stack) (map[string]string, error) {
	p, err := e.project(ctx, s)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for n, svc := range p.Services {
		out[n] = svc.Image
	}
	return out, nil
}

// ServiceDataDirs lists the host directories under the data dir that the
// services bind-mount (all services when none are named).
func (e *Engine) ServiceDataDirs(ctx context.Context, s *Stack, services ...string) ([]string, error) {
	p, err := e.projectOf(ctx, s, services)
	if err != nil {
		return nil, err
	}
	if len(services) > 0 {
		sel := &types.Project{Services: types.Services{}}
		for _, n := range services {
			sel.Services[n] = p.Services[n]
		}
		p = sel
	}
	return dataDirs(s, p), nil
}

// MarkData records in the data dir's marker that its data is now this
// stack's version (an upgrade migrated it, a restore brought the old one
// back). A data dir without this stack's marker is left alone: up claims
// it.
func MarkData(s *Stack) error {
	m, err := readMarker(s.DataDir)
	if err != nil || !m.of(s) {
		return err
	}
	m.Version = s.Version
	return m.write(s.DataDir)
}

// HasImage reports whether ref is on the engine.
func (e *Engine) HasImage(ctx context.Context, ref string) (bool, error) {
	_, err := e.Inspect(ctx, ref)
	if errors.Is(err, ErrImage) {
		return false, nil
	}
	return err == nil, err
}

// WaitServices probes only the named services until they answer or
// timeout passes, printing each change of a probe's answer (the server's
// init stage among them). It never stops or restarts a container: when
// time runs out the services are left as they are.
func (e *Engine) WaitServices(ctx context.Context, s *Stack, timeout time.Duration, services ...string) ([]*Probe, error) {
	want := map[string]bool{}
	for _, n := range services {
		want[n] = true
	}
	var all []*Probe
	for _, p := range s.probes() {
		if want[p.Service] {
			all = append(all, p)
		}
	}
	return e.wait(ctx, s, timeout, all, false)
}

// DirSize adds up the sizes of the regular files under dir; a missing dir
// is empty.
func DirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	if os.IsNotExist(err) {
		return 0, nil
	}
	return n, err
}
