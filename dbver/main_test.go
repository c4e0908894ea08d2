package dbver_test

// The engine tests here run the rendered MySQL service on a MariaDB
// STAND-IN OF THE DATABASE ENGINE (engine/standin: Debian's mariadb-server,
// labelled io.deepflow-compose.standin=true and
// io.deepflow-compose.standin.kind=database-engine), tagged as the rendered
// MySQL image. It is not MySQL 8: it proves that the rendered my.cnf,
// init.sql and passwords work with a server that speaks MySQL's protocol,
// and that versions, dumps and restores go through the container. The
// ClickHouse service runs on the busybox stand-in, which answers the version
// query with comments the test seeds in its data dir.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/internal/stacktest"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/deepflow-compose/deepflow-compose/dbver"
	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
	"github.com/deepflow-compose/deepflow-compose/internal/enginetest"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// testRegistry keeps every image name on loopback: a missing stand-in makes
// the engine pull from a closed local port, never from the network.
const testRegistry = "127.0.0.1:5999/deepflow-ce"

// A private engine of its own, always: the rendered container names are
// fixed (deepflow-mysql, …), so sharing the engine the other packages'
// tests use at the same time would make their containers clash.
var dockerd = enginetest.Setup{Name: "dbver",
	Env: []string{"DFC_DOCKER_BRIDGE=dfcdbver", "DFC_DOCKER_BIP=172.27.254.1/24", "DFC_DOCKER_POOL=172.27.0.0/17"}}

func TestMain(m *testing.M) {
	os.Unsetenv("DOCKER_HOST")
	code := m.Run()
	dockerd.Stop()
	os.Exit(code)
}

type syncBuffer = enginetest.Buffer

// stack is one rendered deployment with some of its services running.
type stack struct {
	s   *engine.Stack
	e   *engine.Engine
	out *syncBuffer
}

// renderStack renders a bridge deployment with the real render package
// (its data dir in the test's temporary dir) and loads it.
func renderStack(t *testing.T, sets ...string) *stack {
	t.Helper()
	dockerd.Need(t)
	root := t.TempDir()
	sets = append([]string{
		"dataDir=" + filepath.Join(root, "data"),
		"registry=" + testRegistry,
		"projectName=dfc-dbver",
	}, sets...)
	s := stacktest.Render(t, root, "bridge", sets...)
	out := &syncBuffer{}
	e, err := engine.New(engine.Options{Out: out, Err: out, Progress: engine.ProgressPlain})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	st := &stack{s: s, e: e, out: out}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := e.Down(ctx, s, engine.DownOptions{Purge: true, Yes: true}); err != nil {
			t.Logf("cleanup down: %v\n%s", err, out.String())
		}
	})
	return st
}

// image is the image the rendered compose file gives a service.
func (st *stack) image(t *testing.T, service string) string {
	t.Helper()
	d, err := layout.Read(context.Background(), st.s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	svc := d.Compose.Service(service)
	if svc == nil || svc.Image.Val == "" {
		t.Fatalf("%s names no image for %s", topology.Compose, service)
	}
	return svc.Image.Val
}

var (
	rootfsOnce sync.Once
	rootfsPath string
	rootfsErr  error
)

// startMySQL tags the MariaDB stand-in of the database engine as the
// rendered MySQL image, starts only the mysql service and waits until root
// can log in.
func (st *stack) startMySQL(t *testing.T) *dbver.MySQL {
	t.Helper()
	ctx := context.Background()
	rootfsOnce.Do(func() { rootfsPath, rootfsErr = standin.MariaDBRootfs(ctx) })
	if rootfsErr != nil {
		if os.Getenv("DFC_REQUIRE_ENGINE") == "1" {
			t.Fatal(rootfsErr)
		}
		t.Skip(rootfsErr)
	}
	if _, err := standin.BuildMariaDB(ctx, st.e.API(), rootfsPath, []string{st.image(t, st.s.Topology.MySQL.Service)}); err != nil {
		t.Fatal(err)
	}
	if err := st.e.UpServices(ctx, st.s, "mysql"); err != nil {
		t.Fatalf("up mysql: %v\n%s", err, st.out.String())
	}
	m, err := dbver.MySQLFor(st.e.API(), st.s)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, st, m.Container, m.Ping)
	return m
}

// waitFor retries ready until it succeeds, the container stops, or two
// minutes pass.
func waitFor(t *testing.T, st *stack, name string, ready func(context.Context) error) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := ready(ctx)
		if err == nil {
			return
		}
		ins, ierr := st.e.API().ContainerInspect(ctx, name, client.ContainerInspectOptions{})
		if ierr == nil && ins.Container.State != nil && !ins.Container.State.Running {
			t.Fatalf("%s stopped (exit %d): %v\nlogs:\n%s", name, ins.Container.State.ExitCode, err, logs(t, st, name))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready: %v\nlogs:\n%s", name, err, logs(t, st, name))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// logs is a container's output, stdout and stderr together.
func logs(t *testing.T, st *stack, name string) string {
	t.Helper()
	rc, err := st.e.API().ContainerLogs(context.Background(), name, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := stdcopy.StdCopy(&b, &b, rc); err != nil {
		return err.Error()
	}
	return b.String()
}

// execOut runs a command in a container and returns its stdout.
func execOut(t *testing.T, st *stack, name string, cmd ...string) string {
	t.Helper()
	ctx := context.Background()
	api := st.e.API()
	cr, err := api.ExecCreate(ctx, name, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	att, err := api.ExecAttach(ctx, cr.ID, client.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer att.Close()
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, att.Reader); err != nil {
		t.Fatal(err)
	}
	ins, err := api.ExecInspect(ctx, cr.ID, client.ExecInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ins.ExitCode != 0 {
		t.Fatalf("%v exited %d: %s", cmd, ins.ExitCode, errOut.String())
	}
	return out.String()
}

// mustSQL runs SQL text as the given MySQL login and returns its rows.
func mustSQL(t *testing.T, m *dbver.MySQL, sql string) [][]string {
	t.Helper()
	rows, err := m.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows
}
