package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

func markerStack(t *testing.T) (*Stack, []string) {
	dd := filepath.Join(t.TempDir(), "data")
	s := &Stack{DataDir: dd, Project: "dfc-m", Dir: "/srv/deploy", Version: "v7.1", EnvFile: "/srv/deploy/.env",
		Topology: topology.Resolve(topology.Spec{Network: settings.Bridge}),
		secrets:  deployment.Secrets{MySQL: "my-secret-1", ClickHouse: "ch", Grafana: "gf-secret-1"}}
	return s, []string{filepath.Join(dd, "mysql"), filepath.Join(dd, "clickhouse"), filepath.Join(dd, "grafana/plugins")}
}

func fill(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPurgeOnlyWhatWasCreated: purge deletes the directories the first up
// created, keeps those that held data before, and refuses outright without
// a marker of this stack's.
func TestPurgeOnlyWhatWasCreated(t *testing.T) {
	s, dirs := markerStack(t)
	fill(t, dirs[1]) // clickhouse held data before the first up
	_, _, err := purgeable(s, dirs)
	if !errors.Is(err, ErrPurge) || !strings.Contains(err.Error(), "holds data but no record (.deepflow-compose-data) that this stack created it") {
		t.Fatalf("no marker: %v", err)
	}
	if err := claimData(s, dirs, false); err != nil {
		t.Fatal(err)
	}
	fill(t, dirs[0])
	fill(t, dirs[2])
	ours, foreign, err := purgeable(s, dirs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ours, ",") != dirs[0]+","+dirs[2] || strings.Join(foreign, ",") != dirs[1] {
		t.Errorf("ours %v, foreign %v", ours, foreign)
	}
	// A second up claims nothing more: clickhouse stays foreign.
	if err := claimData(s, dirs, false); err != nil {
		t.Fatal(err)
	}
	if _, foreign, _ := purgeable(s, dirs); len(foreign) != 1 {
		t.Errorf("after a second up, foreign %v", foreign)
	}
	other := *s
	other.Project = "someone-else"
	if _, _, err := purgeable(&other, dirs); !errors.Is(err, ErrPurge) || !strings.Contains(err.Error(), "created by project dfc-m (from /srv/deploy), not someone-else") {
		t.Errorf("another project's data: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(s.DataDir, markerName))
	for _, secret := range []string{"my-secret-1", "gf-secret-1"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the marker holds a password: %s", b)
		}
	}
	if st, _ := os.Stat(filepath.Join(s.DataDir, markerName)); st.Mode().Perm() != 0o600 {
		t.Errorf("marker mode %v", st.Mode())
	}
}

func TestPurgeRefusesSystemDirs(t *testing.T) {
	home, _ := os.UserHomeDir()
	for _, d := range []string{"/", "/etc", "/usr", "/var/lib", "/var/lib/", home} {
		s := &Stack{DataDir: d, Project: "p"}
		if _, _, err := purgeable(s, nil); !errors.Is(err, ErrPurge) || !strings.Contains(err.Error(), "is a system directory") {
			t.Errorf("%s: %v", d, err)
		}
		if c := checkDataDir(s); c.Level != Fail || !strings.Contains(c.Msg, "--set dataDir=") {
			t.Errorf("preflight %s: %+v", d, c)
		}
	}
	if systemDir("/var/lib/deepflow") || systemDir("/opt/deepflow/data") {
		t.Error("a directory of its own counted as a system directory")
	}
}

// TestPasswordChangedOverData: a MySQL or Grafana password changed after
// the data was created fails preflight with the fix, never the password,
// unless accepted; accepting records the new one.
func TestPasswordChangedOverData(t *testing.T) {
	s, dirs := markerStack(t)
	if c := checkPasswords(s, false); c.Level != OK {
		t.Errorf("fresh: %+v", c)
	}
	if err := claimData(s, dirs, false); err != nil {
		t.Fatal(err)
	}
	fill(t, dirs[0])
	if c := checkPasswords(s, false); c.Level != OK {
		t.Errorf("same passwords: %+v", c)
	}
	s.secrets.ClickHouse = "other" // read from the environment at every start
	if c := checkPasswords(s, false); c.Level != OK {
		t.Errorf("ClickHouse password changed: %+v", c)
	}
	s.secrets.MySQL = "my-secret-2"
	c := checkPasswords(s, false)
	if c.Level != Fail {
		t.Fatalf("MySQL password changed: %+v", c)
	}
	for _, want := range []string{"MYSQL_ROOT_PASSWORD in /srv/deploy/.env changed", "ALTER USER 'root'@'%' IDENTIFIED BY 'NEW'", "docker exec -it deepflow-mysql", "--accept-password-change"} {
		if !strings.Contains(c.Msg, want) {
			t.Errorf("message lacks %q: %s", want, c.Msg)
		}
	}
	s.secrets.Grafana = "gf-secret-2"
	c = checkPasswords(s, false)
	if !strings.Contains(c.Msg, "reset-admin-password") {
		t.Errorf("Grafana: %s", c.Msg)
	}
	for _, secret := range []string{"my-secret", "gf-secret"} {
		if strings.Contains(c.Msg, secret) {
			t.Errorf("message shows a password: %s", c.Msg)
		}
	}
	if c := checkPasswords(s, true); c.Level != Warn {
		t.Errorf("accepted: %+v", c)
	}
	if err := claimData(s, dirs, true); err != nil {
		t.Fatal(err)
	}
	if c := checkPasswords(s, false); c.Level != OK {
		t.Errorf("after accepting: %+v", c)
	}
}
