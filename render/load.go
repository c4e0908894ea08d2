package render

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/settings"
)

// Deployment is a rendered directory read back: what up, status and the
// air-gap tools need to act on it.
type Deployment struct {
	Dir         string
	Profile     string
	Settings    *settings.Settings
	Topology    *Topology
	Release     *catalog.Release
	Images      catalog.Images
	ProjectName string
	// Env is the directory's .env, as compose reads it.
	Env map[string]string
}

// ErrNotRendered is returned for a directory without a render manifest.
var ErrNotRendered = errors.New("not a directory rendered by deepflow-compose")

// Load reads a rendered directory's manifest and .env and resolves its
// topology again from the recorded settings.
func Load(dir string) (*Deployment, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if m == nil {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("%s: %w; render it first: deepflow-compose render -o %s", dir, ErrNotRendered, dir)
		}
		return nil, fmt.Errorf("%s: %w (no %s); render it first", dir, ErrNotRendered, ManifestName)
	}
	s := m.Settings
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	t, err := NewTopology(&s)
	if err != nil {
		return nil, err
	}
	r, err := catalog.Lookup(s.Version)
	if err != nil {
		return nil, err
	}
	images, err := catalog.Resolve(s.Version, s.Registry, s.Images)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, layout.Env))
	if err != nil {
		return nil, err
	}
	env, err := layout.ReadEnv(data)
	if err != nil {
		return nil, err
	}
	return &Deployment{Dir: dir, Profile: m.Profile, Settings: &s, Topology: t, Release: r,
		Images: images, ProjectName: env[envNames.ProjectName], Env: env}, nil
}
