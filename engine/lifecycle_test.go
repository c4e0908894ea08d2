package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
)

// TestLifecycle runs a stand-in stack (host networking, which starts
// fastest) through a second up, status, logs, down and purge.
func TestLifecycle(t *testing.T) {
	needEngine(t)
	ctx := context.Background()
	var out syncBuffer
	e := newEngine(t, &out, "")
	s := renderStack(t, "host-network", "projectName=dfc-life")
	buildStandins(t, e, s, standin.Options{})
	downAtEnd(t, e, s)

	if _, err := e.Up(ctx, s, engine.UpOptions{Timeout: time.Minute}); err != nil {
		t.Fatalf("up: %v\n%s", err, out.String())
	}
	before := containers(t, e, s.Project)
	if len(before) != 8 {
		t.Fatalf("want 8 containers, got %d: %v", len(before), before)
	}

	t.Run("second up changes nothing", func(t *testing.T) {
		var out2 syncBuffer
		e2 := newEngine(t, &out2, "")
		res, err := e2.Up(ctx, s, engine.UpOptions{Timeout: time.Minute})
		if err != nil {
			t.Fatalf("second up: %v\n%s", err, out2.String())
		}
		if res.Changed {
			t.Errorf("second up changed something: %v\n%s", res.Changes, out2.String())
		}
		if !strings.Contains(out2.String(), "Nothing to change: all 8 containers") {
			t.Errorf("second up did not say it changed nothing:\n%s", out2.String())
		}
		if !strings.Contains(out2.String(), "held by this stack") {
			t.Errorf("preflight did not recognise the stack's own ports:\n%s", out2.String())
		}
		after := containers(t, e, s.Project)
		for svc, c := range before {
			if after[svc] != c {
				t.Errorf("%s changed: %+v -> %+v", svc, c, after[svc])
			}
		}
	})

	t.Run("status json", func(t *testing.T) {
		st, err := e.Status(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var back struct {
			Project  string
			Ready    bool
			Services []struct {
				Service, State, Status, Readiness, Image string
				Ports                                    []string
				Probes                                   []struct {
					Listener, Target string
					Ready            bool
				}
			}
		}
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if back.Project != "dfc-life" || !back.Ready || len(back.Services) != 8 {
			t.Fatalf("status: %s", data)
		}
		byName := map[string]int{}
		for i, sv := range back.Services {
			byName[sv.Service] = i
		}
		srv := back.Services[byName["deepflow-server"]]
		if srv.Readiness != engine.Ready || srv.State != "running" || !strings.HasPrefix(srv.Status, "Up") || len(srv.Probes) != 3 {
			t.Errorf("deepflow-server status: %+v", srv)
		}
		if !strings.Contains(srv.Image, "/deepflow-server:") {
			t.Errorf("deepflow-server image %q", srv.Image)
		}
		if !strings.Contains(strings.Join(srv.Ports, " "), "20417") {
			t.Errorf("deepflow-server ports %v lack the controller", srv.Ports)
		}
		init := back.Services[byName["deepflow-grafana-init-worksdir"]]
		if init.Readiness != engine.Finished || init.State != "exited" || init.Ports == nil {
			t.Errorf("init container readiness %q, want %q", init.Readiness, engine.Finished)
		}
	})

	t.Run("logs", func(t *testing.T) {
		var lo syncBuffer
		le := newEngine(t, &lo, "")
		if err := le.Logs(ctx, s, engine.LogsOptions{Service: "deepflow-server"}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(lo.String(), "deepflow-server | stand-in deepflow-server: ready\n") {
			t.Errorf("logs:\n%s", lo.String())
		}
		if strings.Contains(lo.String(), "stand-in mysql") {
			t.Errorf("logs of one service show another's lines")
		}
		if err := le.Logs(ctx, s, engine.LogsOptions{Service: "nope"}); !errors.Is(err, engine.ErrNoService) {
			t.Errorf("unknown service: %v", err)
		}
	})

	data := filepath.Join(s.DataDir, "mysql", "standin.ibd")
	t.Run("down keeps data", func(t *testing.T) {
		if _, err := os.Stat(data); err != nil {
			t.Fatalf("the mysql stand-in left no data: %v", err)
		}
		if err := e.Down(ctx, s, engine.DownOptions{}); err != nil {
			t.Fatal(err)
		}
		if n := len(containers(t, e, s.Project)); n != 0 {
			t.Errorf("%d containers left after down", n)
		}
		if _, err := os.Stat(data); err != nil {
			t.Errorf("down removed the data: %v", err)
		}
		if _, err := e.Status(ctx, s); !errors.Is(err, engine.ErrNotDeployed) {
			t.Errorf("status after down: %v", err)
		}
	})

	t.Run("purge asks first", func(t *testing.T) {
		var po syncBuffer
		pe := newEngine(t, &po, "n\n")
		err := pe.Down(ctx, s, engine.DownOptions{Purge: true})
		if !errors.Is(err, engine.ErrAborted) {
			t.Fatalf("purge answered n: %v", err)
		}
		if _, err := os.Stat(data); err != nil {
			t.Errorf("a declined purge removed data: %v", err)
		}
		if !strings.Contains(po.String(), filepath.Join(s.DataDir, "mysql")) {
			t.Errorf("the prompt does not list the mysql dir:\n%s", po.String())
		}
		pe = newEngine(t, &po, "y\n")
		if err := pe.Down(ctx, s, engine.DownOptions{Purge: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(s.DataDir, "mysql")); !os.IsNotExist(err) {
			t.Errorf("purge left the mysql dir: %v", err)
		}
	})

	t.Run("down after purge", func(t *testing.T) {
		var do syncBuffer
		de := newEngine(t, &do, "")
		if err := de.Down(ctx, s, engine.DownOptions{}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(do.String(), "data kept") || !strings.Contains(do.String(), "Nothing removed; there is no data in "+s.DataDir) {
			t.Errorf("down after a purge:\n%s", do.String())
		}
	})
}

// TestPreflightPortBusy holds a port the stack needs and expects preflight
// to fail, naming this test process as the holder, before anything starts.
func TestPreflightPortBusy(t *testing.T) {
	needEngine(t)
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	var out syncBuffer
	e := newEngine(t, &out, "")
	s := renderStack(t, "bridge", "projectName=dfc-busy", "grafana.port="+strconv.Itoa(port))
	_, err = e.Up(context.Background(), s, engine.UpOptions{Timeout: 10 * time.Second})
	if !errors.Is(err, engine.ErrPreflight) {
		t.Fatalf("want a preflight failure, got %v\n%s", err, out.String())
	}
	msg := err.Error()
	self := "pid " + strconv.Itoa(os.Getpid()) + " ("
	for _, want := range []string{strconv.Itoa(port), "deepflow-grafana", self, filepath.Base(os.Args[0]), "--set grafana.port=PORT"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if !strings.Contains(out.String(), "fail  ports") {
		t.Errorf("no failing ports line:\n%s", out.String())
	}
	if n := len(containers(t, e, s.Project)); n != 0 {
		t.Errorf("preflight failed but %d containers exist", n)
	}
}

// TestMissingImage asks for images nobody has under a registry on a closed
// loopback port: the pull fails, and the error names the images and points
// to bundle load.
func TestMissingImage(t *testing.T) {
	needEngine(t)
	var out syncBuffer
	e := newEngine(t, &out, "")
	s := renderStack(t, "host-network", "projectName=dfc-missing", "registry=127.0.0.1:5999/dfc-missing")
	downAtEnd(t, e, s)
	_, err := e.Up(context.Background(), s, engine.UpOptions{Timeout: 10 * time.Second})
	if !errors.Is(err, engine.ErrImage) {
		t.Fatalf("want ErrImage, got %v\n%s", err, out.String())
	}
	for _, want := range []string{"127.0.0.1:5999/dfc-missing/deepflow-server:", "bundle load"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if !strings.Contains(out.String(), "warn  images") {
		t.Errorf("preflight did not warn about missing images:\n%s", out.String())
	}
}

// TestNeverReady uses a server stand-in that stays in its 503 init stage
// forever; up must time out naming it, with its last probe answer and its
// last log lines.
func TestNeverReady(t *testing.T) {
	needEngine(t)
	var out syncBuffer
	e := newEngine(t, &out, "")
	s := renderStack(t, "host-network", "projectName=dfc-never")
	buildStandins(t, e, s, standin.Options{NeverReady: []string{"deepflow-server"}})
	downAtEnd(t, e, s)
	_, err := e.Up(context.Background(), s, engine.UpOptions{Timeout: 4 * time.Second})
	var nr *engine.NotReadyError
	if !errors.As(err, &nr) || !errors.Is(err, engine.ErrNotReady) {
		t.Fatalf("want a NotReadyError, got %v\n%s", err, out.String())
	}
	if len(nr.Services) != 2 {
		t.Errorf("want the server's two probes not ready, got %+v", nr.Services)
	}
	for _, sv := range nr.Services {
		if sv.Service != "deepflow-server" {
			t.Errorf("%s reported not ready", sv.Service)
		}
	}
	msg := err.Error()
	for _, want := range []string{"deepflow-server", "HTTP 503: stage: waiting for a stand-in that never gets ready", "connection refused", "| stand-in deepflow-server: told never to become ready"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

// TestAgentOnServerCapabilities: the stack's own agent needs capabilities
// some engines cannot grant (this workplace's sandboxed engine lacks
// CAP_SYS_RESOURCE). Preflight tries them first: where they are refused,
// up stops before anything starts and says how to go on; where they are
// granted, the agent container runs with the stack.
func TestAgentOnServerCapabilities(t *testing.T) {
	needEngine(t)
	var out syncBuffer
	e := newEngine(t, &out, "")
	s := renderStack(t, "bridge", "projectName=dfc-agentcaps", "agent.onServer=true")
	buildStandins(t, e, s, standin.Options{})
	t.Cleanup(func() { _ = e.Down(context.Background(), s, engine.DownOptions{Purge: true, Yes: true}) })
	_, err := e.Up(context.Background(), s, engine.UpOptions{Timeout: time.Minute})
	if errors.Is(err, engine.ErrPreflight) {
		for _, want := range []string{"agent caps", "cannot give the agent container its capabilities", "--set agent.onServer=false"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("preflight error lacks %q: %v", want, err)
			}
		}
		if n := len(containers(t, e, s.Project)); n != 0 {
			t.Errorf("preflight refused the agent but %d containers exist", n)
		}
		t.Logf("this engine refuses the agent's capabilities; preflight said so: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "the engine grants the agent's capabilities") {
		t.Errorf("preflight did not try the agent's capabilities:\n%s", out.String())
	}
	if _, ok := containers(t, e, s.Project)[s.Topology.Agent.Service]; !ok {
		t.Errorf("the agent container is not part of the stack")
	}
}
