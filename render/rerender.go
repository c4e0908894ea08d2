package render

import (
	"context"
	"fmt"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/settings"
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
	p, err := Prepare(ctx, Options{Inputs: settings.Inputs{Sets: sets}, OutDir: dir})
	if err != nil {
		return nil, nil, err
	}
	changes, err := p.Write(false)
	return p, changes, err
}
