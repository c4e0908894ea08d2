package engine

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
)

// renderedStack renders the default deployment, node IP on loopback, with
// sets, and loads it (internal/stacktest cannot serve this package: it
// imports engine).
func renderedStack(t *testing.T, sets ...string) *Stack {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "deploy")
	plan, err := render.Prepare(context.Background(), render.Options{Inputs: settings.Inputs{NodeIP: "127.0.0.1", Sets: sets}, OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Write(false); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
