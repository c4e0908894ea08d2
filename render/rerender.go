package render

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"gopkg.in/yaml.v3"
)

// Rerender renders a directory again from the settings its manifest
// recorded and the secrets its .env holds, with sets (key.path=value) on
// top, and writes it. Files changed by hand are not overwritten.
func Rerender(ctx context.Context, dir string, sets ...string) (*Plan, []Change, error) {
	m, err := deployment.ReadManifest(dir)
	if err != nil {
		return nil, nil, err
	}
	if m == nil {
		return nil, nil, fmt.Errorf("%s: %w (no %s)", dir, deployment.ErrNotRendered, deployment.ManifestName)
	}
	raw, err := yaml.Marshal(m.Settings)
	if err != nil {
		return nil, nil, err
	}
	recorded, err := settings.ParseLayer(filepath.Join(dir, deployment.ManifestName), raw)
	if err != nil {
		return nil, nil, err
	}
	p, err := Prepare(ctx, Options{Inputs: settings.Inputs{Profile: m.Profile, Sets: sets, Recorded: &recorded}, OutDir: dir})
	if err != nil {
		return nil, nil, err
	}
	changes, err := p.Write(false)
	return p, changes, err
}
