package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
)

// TestOtherDirectory renders two directories with one project name, brings
// the first up, and requires up, status, logs and down on the second to
// refuse, naming the first directory and the projectName fix, and to leave
// the first stack's containers as they were.
func TestOtherDirectory(t *testing.T) {
	needEngine(t)
	ctx := context.Background()
	var out syncBuffer
	e := newEngine(t, &out, "y\n")
	a := renderStack(t, "host-network", "projectName=dfc-twin")
	b := renderStack(t, "host-network", "projectName=dfc-twin")
	buildStandins(t, e, a, standin.Options{})
	downAtEnd(t, e, a)
	if _, err := e.Up(ctx, a, engine.UpOptions{Timeout: time.Minute}); err != nil {
		t.Fatalf("up: %v\n%s", err, out.String())
	}
	before := containers(t, e, a.Project)

	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, engine.ErrOtherStack) {
			t.Fatalf("%s from the second directory: want ErrOtherStack, got %v", what, err)
		}
		for _, want := range []string{a.Dir, b.Dir, "projectName=", "project dfc-twin"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error lacks %q: %v", what, want, err)
			}
		}
	}
	_, err := e.Up(ctx, b, engine.UpOptions{Timeout: time.Minute})
	check("up", err)
	_, err = e.Status(ctx, b)
	check("status", err)
	check("logs", e.Logs(ctx, b, engine.LogsOptions{}))
	check("down", e.Down(ctx, b, engine.DownOptions{Purge: true, Yes: true}))

	after := containers(t, e, a.Project)
	if len(after) != len(before) {
		t.Fatalf("containers %d -> %d", len(before), len(after))
	}
	for svc, c := range before {
		// An init container may finish meanwhile: compare identity only.
		if after[svc].ID != c.ID || after[svc].StartedAt != c.StartedAt {
			t.Errorf("%s changed: %+v -> %+v", svc, c, after[svc])
		}
	}
	if _, err := e.Status(ctx, a); err != nil {
		t.Errorf("status from the owning directory: %v", err)
	}
}
