package engine_test

// Tests here use a real Docker engine from internal/enginetest: the one
// DOCKER_HOST names, else a private dockerd (vfs storage, its own socket,
// bridge and dirs) started on first use and stopped at the end. They skip
// only when no engine can be started, and fail then under CI.
//
// The images they run are STAND-INS (see engine/standin): busybox images
// labelled io.deepflow-compose.standin=true, built locally under the image
// names the render asks for. They listen on the ports the rendered config
// files name and answer the readiness probes, so these tests prove the
// orchestration — compose, ports, wiring, readiness — not DeepFlow itself.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/internal/stacktest"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/client"

	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
	"github.com/deepflow-compose/deepflow-compose/internal/enginetest"
)

// testRegistry keeps every image name on loopback: should a stand-in be
// missing, the engine's pull goes to a closed local port, never to the
// network.
var testRegistry = "127.0.0.1:5999/deepflow-ce"

var dockerd = enginetest.Setup{Name: "engine"}

func TestMain(m *testing.M) {
	code := m.Run()
	dockerd.Stop()
	os.Exit(code)
}

func needEngine(t testing.TB) {
	t.Helper()
	dockerd.Need(t)
}

// syncBuffer collects output written from several goroutines.
type syncBuffer = enginetest.Buffer

func newEngine(t testing.TB, out *syncBuffer, in string) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Options{Out: out, Err: out, In: strings.NewReader(in), Progress: engine.ProgressPlain, ProbeInterval: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// renderStack renders a deployment with the real render package into a
// temporary directory, data dir included, and loads it.
func renderStack(t testing.TB, profile string, sets ...string) *engine.Stack {
	t.Helper()
	root := t.TempDir()
	sets = append([]string{
		"dataDir=" + filepath.Join(root, "data"),
		"registry=" + testRegistry,
		// These tests are about the server stack; the stack's own agent
		// has tests of its own (it needs capabilities a sandboxed engine
		// may not grant).
		"agent.onServer=false",
	}, sets...)
	return stacktest.Render(t, root, profile, sets...)
}

// buildStandins builds stand-in images under every name the stack asks for.
func buildStandins(t testing.TB, e *engine.Engine, s *engine.Stack, o standin.Options) {
	t.Helper()
	images, err := e.AllImages(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(images) < 5 {
		t.Fatalf("the stack names only %d images: %v", len(images), images)
	}
	if _, err := standin.Build(context.Background(), e.API(), images, o); err != nil {
		t.Fatal(err)
	}
}

// downAtEnd removes the stack when the test ends, whatever happened.
func downAtEnd(t testing.TB, e *engine.Engine, s *engine.Stack) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var out syncBuffer
		e2, err := engine.New(engine.Options{Out: &out, Err: &out, Progress: engine.ProgressQuiet})
		if err != nil {
			t.Log(err)
			return
		}
		defer e2.Close()
		err = e2.Down(ctx, s, engine.DownOptions{Purge: true, Yes: true})
		if errors.Is(err, engine.ErrPurge) {
			// Data the stack did not create (a test made it): leave it
			// to t.TempDir, and remove the containers.
			err = e2.Down(ctx, s, engine.DownOptions{})
		}
		if err != nil {
			t.Errorf("cleanup down: %v\n%s", err, out.String())
		}
	})
}

// containers lists the project's containers by service.
func containers(t testing.TB, e *engine.Engine, project string) map[string]struct{ ID, State, StartedAt string } {
	t.Helper()
	ctx := context.Background()
	res, err := e.API().ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", api.ProjectLabel+"="+project)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]struct{ ID, State, StartedAt string }{}
	for _, c := range res.Items {
		ins, err := e.API().ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out[c.Labels[api.ServiceLabel]] = struct{ ID, State, StartedAt string }{c.ID, string(c.State), ins.Container.State.StartedAt}
	}
	return out
}
