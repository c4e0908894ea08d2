package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/internal/golden"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/api"
	"github.com/deepflow-compose/deepflow-compose/api/apitest"
	"github.com/deepflow-compose/deepflow-compose/deployment"
)

// updating says whether -update was given. A dependency linked into this
// test binary already defines the flag, so it is looked up, not defined.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const testGroupID = "g-Abc123XYZ0"

// renderDir renders a deployment in process, with a fixed group ID so the
// output is stable.
func renderDir(t *testing.T, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "deepflow")
	var out, errOut bytes.Buffer
	args = append([]string{"render", "-o", dir, "--node-ip", "10.0.2.10", "--set", "agent.groupID=" + testGroupID}, args...)
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("render exited %d: %s", code, errOut.String())
	}
	return dir
}

// standinServer is the API stand-in as an httptest server, checking group
// configs with the real schema as deepflow-server does.
func standinServer(t *testing.T, o apitest.Options) (*apitest.Server, string) {
	t.Helper()
	o.ValidateConfig = func(b []byte) error { return agentcfg.Validate(agentcfg.Sectioned, b) }
	o.ValidateLegacyConfig = func(b []byte) error { return agentcfg.Validate(agentcfg.Legacy, b) }
	srv := apitest.New(o)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, hs.URL
}

func cli(args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), []byte(got), updating())
}

// Bootstrap from a rendered directory: domain, group with the rendered ID
// and config as rendered; a second run sends no write.
func TestBootstrapCLI(t *testing.T) {
	dir := renderDir(t)
	srv, url := standinServer(t, apitest.Options{})
	out, errOut, code := cli("bootstrap", dir, "--server", url, "--org", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	goldenFile(t, "bootstrap.txt", strings.ReplaceAll(out, url, "http://SERVER"))
	st := srv.Snapshot()
	if len(st.Domains) != 1 || st.Domains[0].Name != "legacy-host" || st.Domains[0].Type != api.DomainTypeAgentSync {
		t.Errorf("domains %+v", st.Domains)
	}
	cfg, ok := srv.GroupConfig(testGroupID)
	rendered, _ := os.ReadFile(filepath.Join(dir, "agent", "agent-group-config.yaml"))
	if !ok || cfg != string(rendered) {
		t.Errorf("group config on the server:\n%s\nrendered:\n%s", cfg, rendered)
	}
	for _, r := range srv.Requests() {
		if r.Org != "1" {
			t.Errorf("%s %s sent X-Org-Id %q", r.Method, r.Path, r.Org)
		}
	}

	srv.ResetRequests()
	out, _, code = cli("bootstrap", dir, "--server", url, "-o", "json")
	if code != 0 || len(srv.Writes()) != 0 {
		t.Fatalf("second run: exit %d, writes %+v\n%s", code, srv.Writes(), out)
	}
	goldenFile(t, "bootstrap-again.json", strings.ReplaceAll(out, url, "http://SERVER"))
}

func TestBootstrapCLIExitCodes(t *testing.T) {
	dir := renderDir(t)
	conflict, curl := standinServer(t, apitest.Options{})
	conflict.SeedGroup("deepflow-agents", "g-0000000000")
	_, stuckURL := standinServer(t, apitest.Options{NotReady: -1, Stage: "migrating the database schema"})
	// A port nothing listens on: taken, then freed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"refused", []string{"--server", curl}, 1, `agent group "deepflow-agents" exists with ID g-0000000000, but the rendered agent files ask for g-Abc123XYZ0`},
		{"unreachable", []string{"--server", closed, "--timeout", "1s"}, 2, "bootstrap failed: no answer within 1s"},
		{"not ready", []string{"--server", stuckURL, "--timeout", "1s"}, 3, `still in stage "migrating the database schema" after 1s`},
		{"bad output", []string{"-o", "yaml"}, 1, `--output must be text or json, not "yaml"`},
	} {
		out, errOut, code := cli(append([]string{"bootstrap", dir}, tc.args...)...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%s: exit %d, want %d and %q in:\n%s%s", tc.name, code, tc.code, tc.want, out, errOut)
		}
	}
	if _, errOut, code := cli("bootstrap", t.TempDir()); code != 1 || !strings.Contains(errOut, "not a directory rendered by deepflow-compose") {
		t.Errorf("unrendered dir: exit %d, %s", code, errOut)
	}
}

// In Kubernetes process mode no agent_sync domain is created.
func TestBootstrapCLIKubernetes(t *testing.T) {
	dir := renderDir(t, "--profile", "process-agent", "--set", "agent.kubernetes.clusterName=prod")
	srv, url := standinServer(t, apitest.Options{})
	out, errOut, code := cli("bootstrap", dir, "--server", url)
	if code != 0 || !strings.Contains(out, "domain        skipped") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	if n := len(srv.Snapshot().Domains); n != 0 {
		t.Errorf("%d domains created", n)
	}
}

// pipeDial answers on every address: the ports check passes without
// binding real ports.
func pipeDial(_ context.Context, _, _ string) (net.Conn, error) {
	a, b := net.Pipe()
	b.Close()
	return a, nil
}

func doctorFor(t *testing.T, dir, url string, agents ...string) (string, string, int) {
	t.Helper()
	d, err := deployment.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	var jout bytes.Buffer
	o := doctorOptions{agents: agents, output: "text", org: 1, server: url, dial: pipeDial, now: func() time.Time { return now }}
	err = runDoctor(context.Background(), &out, d, o)
	o.output = "json"
	_ = runDoctor(context.Background(), &jout, d, o)
	code := 0
	if err != nil {
		code = 1
		if s, ok := err.(errSilent); ok {
			code = s.code
		}
	}
	r := strings.NewReplacer(url, "http://SERVER")
	return r.Replace(out.String()), r.Replace(jout.String()), code
}

// Doctor after bootstrap, with the server's own agent registered: nothing
// is wrong, and the own agent is checked first.
func TestDoctorCLI(t *testing.T) {
	dir := renderDir(t)
	srv, url := standinServer(t, apitest.Options{})
	if _, errOut, code := cli("bootstrap", dir, "--server", url); code != 0 {
		t.Fatal(errOut)
	}
	st := srv.Snapshot()
	tz, _ := time.LoadLocation("Asia/Shanghai")
	st.Domains[0].SyncedAt = time.Date(2026, 1, 1, 11, 59, 30, 0, time.UTC).In(tz).Format(time.DateTime)
	srv.Restore(st)
	var g api.Group
	for _, x := range st.Groups {
		if x.ShortUUID == testGroupID {
			g = x
		}
	}
	srv.SeedVtap(api.Vtap{Name: "own", CtrlIP: "10.0.2.10", State: api.AgentNormal, Type: api.AgentTypeWorkloadP, GroupLCUUID: g.LCUUID, GroupName: g.Name, Revision: "v7.1.8 stand-in"})
	text, js, code := doctorFor(t, dir, url)
	if code != 0 {
		t.Errorf("exit %d:\n%s", code, text)
	}
	if i, j := strings.Index(text, "agent 10.0.2.10"), strings.Index(text, "domain"); i < 0 || j < 0 {
		t.Errorf("own agent or domain missing:\n%s", text)
	}
	goldenFile(t, "doctor.txt", text)
	goldenFile(t, "doctor.json", js)

	// An agent outside local_ip_ranges that never registered: exit 1.
	text, _, code = doctorFor(t, dir, url, "203.0.113.7")
	if code != 1 || !strings.Contains(text, "agent 203.0.113.7") {
		t.Errorf("exit %d:\n%s", code, text)
	}
	goldenFile(t, "doctor-agent.txt", text)
}

func TestDoctorCLIBadInput(t *testing.T) {
	dir := renderDir(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--agent", "web01"}, `Error: --agent "web01" is not an IP address`},
		{[]string{"-o", "yaml"}, `Error: --output must be text or json, not "yaml"`},
	} {
		_, errOut, code := cli(append([]string{"doctor", dir}, tc.args...)...)
		if code != 1 || !strings.HasPrefix(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q", tc.args, code, errOut)
		}
	}
}

// After a successful up, a failed bootstrap says the stack is up and
// exits with bootstrap's code.
func TestUpBootstrapFailure(t *testing.T) {
	dir := renderDir(t)
	conflict, url := standinServer(t, apitest.Options{})
	conflict.SeedGroup("deepflow-agents", "g-0000000000")
	_, stuck := standinServer(t, apitest.Options{NotReady: -1})
	for _, tc := range []struct {
		server string
		code   int
	}{{url, 1}, {stuck, 3}} {
		var out bytes.Buffer
		err := upBootstrap(context.Background(), &out, dir, bootstrapOptions{server: tc.server, output: "text", timeout: 500 * time.Millisecond, poll: 10 * time.Millisecond})
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != tc.code || !strings.HasPrefix(err.Error(), fmt.Sprintf("the stack is up, but bootstrap failed (exit %d, see above)", tc.code)) {
			t.Errorf("%s: %v", tc.server, err)
		}
		if !strings.Contains(out.String(), "bootstrap failed: ") {
			t.Errorf("the report is missing:\n%s", out.String())
		}
	}
	if err := upBootstrap(context.Background(), &bytes.Buffer{}, t.TempDir(), bootstrapOptions{output: "text"}); err == nil || !strings.Contains(err.Error(), "the stack is up, but bootstrap failed: ") {
		t.Errorf("unloadable dir: %v", err)
	}
}
