package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"20.10.24+dfsg1", "20.10.10", 1},
		{"20.10.9", "20.10.10", -1},
		{"19.03.15", "20.10.10", -1},
		{"1.41", "1.40", 1},
		{"1.39", "1.40", -1},
		{"1.40", "1.40", 0},
		{"v29.1.0", "20.10.10", 1},
	} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compare(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestCheckAgentOldDocker(t *testing.T) {
	s := &Stack{}
	if c := checkAgent(s, "19.03.15"); c.Level != Warn || !strings.Contains(c.Msg, "privileged: true") {
		t.Errorf("old engine, agent not privileged: %+v", c)
	}
	s.AgentPrivileged = true
	if c := checkAgent(s, "19.03.15"); c.Level != OK {
		t.Errorf("old engine, agent privileged: %+v", c)
	}
	if c := checkAgent(&Stack{}, "20.10.10"); c.Level != OK {
		t.Errorf("20.10.10: %+v", c)
	}
}

func TestCheckExistingData(t *testing.T) {
	dir := t.TempDir()
	s := &Stack{DataDir: dir, Version: "v7.1", Project: "deepflow", Dir: "/srv/deploy"}
	if c := checkExistingData(s); c.Level != OK || !strings.Contains(c.Msg, "fresh") {
		t.Errorf("empty data dir: %+v", c)
	}
	if err := os.MkdirAll(filepath.Join(dir, "mysql"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mysql", "ibdata1"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := checkExistingData(s)
	if c.Level != Warn || !strings.Contains(c.Msg, "db_version") || !strings.Contains(c.Msg, "an earlier install") || !strings.Contains(c.Msg, "To start fresh, move "+dir+" aside before up") {
		t.Errorf("foreign data: %+v", c)
	}
	if err := os.WriteFile(filepath.Join(dir, markerName), []byte("v6.6 deepflow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := checkExistingData(s); c.Level != Warn || !strings.Contains(c.Msg, "DeepFlow v6.6") {
		t.Errorf("data of another version: %+v", c)
	}
	if err := claimData(s, nil, false); err != nil {
		t.Fatal(err)
	}
	if c := checkExistingData(s); c.Level != OK {
		t.Errorf("this stack's own data: %+v", c)
	}
	s.Version = "v7.2"
	if c := checkExistingData(s); c.Level != Warn || !strings.Contains(c.Msg, "To start fresh, run `deepflow-compose down /srv/deploy --purge` before up") {
		t.Errorf("this stack's data of another version: %+v", c)
	}
}

func TestCheckNodeIP(t *testing.T) {
	s := &Stack{NodeIP: "127.0.0.1", Network: settings.Host}
	if c := checkNodeIP(s); c.Level != OK {
		t.Errorf("loopback: %+v", c)
	}
	// 192.0.2.0/24 is TEST-NET-1: never assigned to a real interface. It is
	// only compared with local addresses here, never contacted.
	s.NodeIP = "192.0.2.10"
	if c := checkNodeIP(s); c.Level != Fail {
		t.Errorf("foreign IP under host networking: %+v", c)
	}
	s.Network = settings.Bridge
	if c := checkNodeIP(s); c.Level != Warn {
		t.Errorf("foreign IP under bridge: %+v", c)
	}
}

func TestCheckDataDir(t *testing.T) {
	dir := t.TempDir()
	s := &Stack{DataDir: filepath.Join(dir, "not", "yet")}
	c := checkDataDir(s)
	if c.Level == Fail || !strings.Contains(c.Msg, "will be created") {
		t.Errorf("missing data dir: %+v", c)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	s.DataDir = file
	if c := checkDataDir(s); c.Level != Fail {
		t.Errorf("data dir is a file: %+v", c)
	}
}

// TestPrivilegeAgent: on an engine older than 20.10.10, up renders the
// directory again so the agent's compose file runs it privileged; newer
// engines and hand-edited directories are left alone.
func TestPrivilegeAgent(t *testing.T) {
	s := renderedStack(t)
	dir := s.Dir
	var out, warn strings.Builder
	privilegeAgent(context.Background(), &out, &warn, s, "20.10.24", rerender)
	if out.Len()+warn.Len() != 0 {
		t.Errorf("a new engine changed something: %q %q", out.String(), warn.String())
	}
	privilegeAgent(context.Background(), &out, &warn, s, "19.03.15", rerender)
	data, _ := os.ReadFile(filepath.Join(dir, topology.AgentCompose))
	if !s.AgentPrivileged || !strings.Contains(string(data), "privileged: true") || strings.Contains(string(data), "cap_add") {
		t.Errorf("old engine: agent compose file not privileged:\n%s\n%s%s", data, out.String(), warn.String())
	}
	if again, err := Load(dir); err != nil || !again.AgentPrivileged {
		t.Errorf("the manifest does not record agent.privileged: %v", err)
	}
}

// rerender is what the command layer hands up.
func rerender(ctx context.Context, dir, set string) error {
	_, _, err := render.Rerender(ctx, dir, set)
	return err
}

func TestPortHint(t *testing.T) {
	s := &Stack{Dir: "/srv/deploy", Topology: topology.Resolve(topology.Spec{Network: settings.Bridge})}
	for _, tc := range []struct {
		hp   topology.HostPort
		want string
	}{
		{topology.HostPort{Port: 3306, Component: "mysql", Listener: topology.SQL}, "stop it, or render /srv/deploy again with --set mysql.port=PORT to use another port"},
		{topology.HostPort{Port: 3000, Component: "grafana", Listener: topology.Web}, "stop it, or render /srv/deploy again with --set grafana.port=PORT to use another port"},
		{topology.HostPort{Port: 30417, Component: "server", Listener: topology.Controller}, "stop it: deepflow-server's controller port is fixed by DeepFlow's image and the agents' files, not a setting"},
	} {
		if got := portHint(s, tc.hp); got != tc.want {
			t.Errorf("%d: %q, want %q", tc.hp.Port, got, tc.want)
		}
	}
}
