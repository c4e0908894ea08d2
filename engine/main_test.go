package engine_test

// Tests here use a real Docker engine. When DOCKER_HOST does not already
// name a usable one, TestMain starts a private dockerd with
// scripts/dockerd.sh (vfs storage, its own socket, bridge and dirs) and
// stops it at the end. They skip only when no engine can be started.
//
// The images they run are STAND-INS (see engine/standin): busybox images
// labelled io.deepflow-compose.standin=true, built locally under the image
// names the render asks for. They listen on the ports the rendered config
// files name and answer the readiness probes, so these tests prove the
// orchestration — compose, ports, wiring, readiness — not DeepFlow itself.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/client"

	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
	"github.com/deepflow-compose/deepflow-compose/render"
)

var (
	skipReason string
	// testRegistry keeps every image name on loopback: should a stand-in
	// be missing, the engine's pull goes to a closed local port, never to
	// the network.
	testRegistry = "127.0.0.1:5999/deepflow-ce"
)

func TestMain(m *testing.M) {
	stop, err := ensureEngine()
	if err != nil {
		skipReason = "no Docker engine: " + err.Error()
		fmt.Fprintln(os.Stderr, skipReason)
	}
	if stop != nil {
		// An interrupted run still stops the dockerd it started.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
		go func() {
			<-sig
			stop()
			os.Exit(2)
		}()
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

func engineAnswers() bool {
	c, err := client.New(client.FromEnv)
	if err != nil {
		return false
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.Ping(ctx, client.PingOptions{})
	return err == nil
}

// ensureEngine uses DOCKER_HOST when it answers, else starts the private
// dockerd and returns how to stop it.
func ensureEngine() (func(), error) {
	if os.Getenv("DOCKER_HOST") != "" && engineAnswers() {
		return nil, nil
	}
	script, err := findScript()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dfc-engine-test-")
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "DFC_DOCKER_DIR="+filepath.Join(dir, "d"))
	cmd := exec.Command("bash", script, "start")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%s start: %v: %s", script, err, strings.TrimSpace(stderr.String()))
	}
	host := ""
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "export DOCKER_HOST="); ok {
			host = v
		}
	}
	stop := func() {
		c := exec.Command("bash", script, "stop")
		c.Env = env
		c.Stdout, c.Stderr = os.Stderr, os.Stderr
		_ = c.Run()
		os.RemoveAll(dir)
	}
	if host == "" {
		stop()
		return nil, fmt.Errorf("%s start printed no DOCKER_HOST", script)
	}
	os.Setenv("DOCKER_HOST", host)
	if !engineAnswers() {
		stop()
		return nil, fmt.Errorf("dockerd at %s does not answer", host)
	}
	return stop, nil
}

func findScript() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "scripts", "dockerd.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("scripts/dockerd.sh not found above %s", wd)
		}
	}
}

// needEngine skips when no engine could be started, unless
// DFC_REQUIRE_ENGINE=1 (CI sets it), where that is a failure.
func needEngine(t testing.TB) {
	t.Helper()
	if skipReason == "" {
		return
	}
	if os.Getenv("DFC_REQUIRE_ENGINE") == "1" {
		t.Fatal(skipReason + " (DFC_REQUIRE_ENGINE=1)")
	}
	t.Skip(skipReason)
}

// syncBuffer collects output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

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
	}, sets...)
	plan, err := render.Prepare(context.Background(), render.Options{
		Inputs: render.Inputs{Profile: profile, NodeIP: "127.0.0.1", Sets: sets},
		OutDir: filepath.Join(root, "deploy"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Write(false); err != nil {
		t.Fatal(err)
	}
	s, err := engine.Load(filepath.Join(root, "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// buildStandins builds stand-in images under every name the stack asks for.
func buildStandins(t testing.TB, e *engine.Engine, s *engine.Stack, o standin.Options) {
	t.Helper()
	images, err := e.Images(context.Background(), s)
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
		if err := e2.Down(ctx, s, engine.DownOptions{Purge: true, Yes: true}); err != nil {
			t.Logf("cleanup down: %v\n%s", err, out.String())
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
