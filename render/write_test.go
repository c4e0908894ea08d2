package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

func write(t *testing.T, in settings.Inputs, out string, force bool) []Change {
	t.Helper()
	if in.NodeIP == "" {
		in.NodeIP = "192.0.2.10"
	}
	p, err := Prepare(context.Background(), Options{Inputs: in, OutDir: out, Force: force})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := p.Write(force)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func readEnv(t *testing.T, dir string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, topology.Env))
	if err != nil {
		t.Fatal(err)
	}
	env, err := layout.ReadEnv(data)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestRerenderKeepsSecretsAndMtimes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "deepflow")
	write(t, settings.Inputs{}, out, false)
	first := readEnv(t, out)
	for _, k := range []string{topology.Vars.MySQLPassword, topology.Vars.ClickHousePassword, topology.Vars.GrafanaPass} {
		if len(first[k]) != 24 {
			t.Errorf("%s = %q, want a generated 24-character secret", k, first[k])
		}
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	compose := filepath.Join(out, topology.Compose)
	if err := os.Chtimes(compose, old, old); err != nil {
		t.Fatal(err)
	}
	// A second render of the same inputs changes nothing at all.
	for _, c := range write(t, settings.Inputs{}, out, false) {
		if c.Kind != Unchanged {
			t.Errorf("%s: %s on an identical re-render", c.Path, c.Kind)
		}
	}
	if got := readEnv(t, out); fmt.Sprint(got) != fmt.Sprint(first) {
		t.Errorf("secrets changed on re-render:\n%v\n%v", first, got)
	}
	st, err := os.Stat(compose)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime().Equal(old) {
		t.Errorf("unchanged docker-compose.yaml got a new mtime %v, want %v", st.ModTime(), old)
	}
	// An explicit password replaces the kept one, in every place, taken
	// as the exact text even when it looks like YAML.
	write(t, settings.Inputs{Sets: []string{"mysql.password=[n3w$ecret"}}, out, false)
	if got := readEnv(t, out)[topology.Vars.MySQLPassword]; got != "[n3w$ecret" {
		t.Errorf("MYSQL_ROOT_PASSWORD = %q after --set", got)
	}
	if got := readEnv(t, out)[topology.Vars.ClickHousePassword]; got != first[topology.Vars.ClickHousePassword] {
		t.Errorf("ClickHouse password changed when only MySQL's was set")
	}
}

func TestModes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "deepflow")
	write(t, settings.Inputs{}, out, false)
	for path, want := range map[string]os.FileMode{
		topology.Env: 0o600, topology.ServerYAML: 0o600, topology.Compose: 0o644,
		topology.GrafanaINI: 0o644, topology.ClickHouseUser: 0o644, topology.InitSQL: 0o644, topology.MyCnf: 0o644,
	} {
		st, err := os.Stat(filepath.Join(out, path))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s has mode %o, want %o", path, st.Mode().Perm(), want)
		}
	}
}

func TestHandEditsAreKept(t *testing.T) {
	out := filepath.Join(t.TempDir(), "deepflow")
	write(t, settings.Inputs{}, out, false)
	edited := filepath.Join(out, topology.AppYAML)
	if err := os.WriteFile(edited, []byte("app: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(out, "notes.txt")
	if err := os.WriteFile(mine, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := prepare(t, settings.Inputs{}, out)
	_, err := p.Write(false)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("got %v, want ErrConflict", err)
	}
	want := "refusing to overwrite files in " + out + ": common/config/deepflow-app/app.yaml (changed by hand since the last render); use --force to overwrite, or `deepflow-compose diff` to see the differences"
	if err.Error() != want {
		t.Errorf("error\n got: %s\nwant: %s", err, want)
	}
	if b, _ := os.ReadFile(edited); string(b) != "app: {}\n" {
		t.Error("the hand edit was overwritten without --force")
	}
	if _, err := p.Write(true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(edited); string(b) == "app: {}\n" {
		t.Error("--force did not overwrite the hand edit")
	}
	if b, err := os.ReadFile(mine); err != nil || string(b) != "mine" {
		t.Errorf("a file render never wrote was not carried over: %v", err)
	}
}

func TestForeignFilesAreNotOverwritten(t *testing.T) {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, topology.Compose), []byte("services: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := prepare(t, settings.Inputs{}, out).Write(false)
	if err == nil || !strings.Contains(err.Error(), "docker-compose.yaml (not written by deepflow-compose)") {
		t.Errorf("got %v, want a refusal naming docker-compose.yaml", err)
	}
}

func TestLostEnvIsNotSilentlyRegenerated(t *testing.T) {
	out := filepath.Join(t.TempDir(), "deepflow")
	write(t, settings.Inputs{}, out, false)
	if err := os.Remove(filepath.Join(out, topology.Env)); err != nil {
		t.Fatal(err)
	}
	_, err := Prepare(context.Background(), Options{Inputs: settings.Inputs{NodeIP: "192.0.2.10"}, OutDir: out})
	if !errors.Is(err, ErrSecrets) {
		t.Fatalf("got %v, want ErrSecrets", err)
	}
	// Given explicitly, or with --force, the render goes ahead.
	write(t, settings.Inputs{Sets: []string{"mysql.password=a", "clickhouse.password=b", "grafana.adminPassword=c"}}, out, false)
}

func TestDryRunWritesNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "deepflow")
	p := prepare(t, settings.Inputs{}, out)
	changes, err := p.Changes()
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != len(p.Files) || changes[0].Kind != Create {
		t.Errorf("changes %v, want every file created", changes)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("Changes created the output directory")
	}
}

// TestKillLeavesOldOrNew kills a render process at the swap and after it:
// the directory is then entirely the old render or entirely the new one.
func TestKillLeavesOldOrNew(t *testing.T) {
	if os.Getenv("DFC_KILL_AT") != "" {
		out := os.Getenv("DFC_OUT")
		p, err := Prepare(context.Background(), Options{Inputs: settings.Inputs{NodeIP: "192.0.2.10", Sets: []string{"mysql.port=31000"}}, OutDir: out})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		at := os.Getenv("DFC_KILL_AT")
		swapHook = func(stage string) {
			if stage == at {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
		_, _ = p.Write(false)
		os.Exit(0)
	}
	for _, stage := range []string{"before-swap", "after-swap"} {
		out := filepath.Join(t.TempDir(), "deepflow")
		write(t, settings.Inputs{}, out, false)
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillLeavesOldOrNew$")
		cmd.Env = append(os.Environ(), "DFC_KILL_AT="+stage, "DFC_OUT="+out)
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("%s: the render process was not killed: %v", stage, err)
		}
		m, err := deployment.ReadManifest(out)
		if err != nil || m == nil {
			t.Fatalf("%s: no manifest after the kill: %v", stage, err)
		}
		for path, f := range m.Files {
			data, err := os.ReadFile(filepath.Join(out, path))
			if err != nil || deployment.Sum(data) != f.SHA256 {
				t.Errorf("%s: %s does not match the manifest beside it: a mix of renders", stage, path)
			}
		}
		wantPort := map[string]int{"before-swap": 30130, "after-swap": 31000}[stage]
		if m.Settings.MySQL.Port != wantPort {
			t.Errorf("%s: directory holds the render with MySQL port %d, want %d", stage, m.Settings.MySQL.Port, wantPort)
		}
	}
}

func TestRefusesTheCurrentDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	_, err := prepare(t, settings.Inputs{}, ".").Write(false)
	if !errors.Is(err, ErrWrite) || !strings.Contains(err.Error(), "is the current directory or holds it") {
		t.Errorf("got %v, want a refusal to swap the current directory", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the current directory was written: %v", entries)
	}
}

func TestRerender(t *testing.T) {
	out := filepath.Join(t.TempDir(), "deepflow")
	write(t, settings.Inputs{Profile: "host-network", Sets: []string{"mysql.port=30131", "agent.subnets=[10.9.0.0/16]"}}, out, false)
	env := readEnv(t, out)
	// From the manifest alone, the same render comes back.
	_, changes, err := Rerender(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if c.Kind != Unchanged {
			t.Errorf("%s: %s when rendering again from the manifest", c.Path, c.Kind)
		}
	}
	_, changes, err = Rerender(context.Background(), out, "agent.privileged=true")
	if err != nil {
		t.Fatal(err)
	}
	var updated []string
	for _, c := range changes {
		if c.Kind != Unchanged {
			updated = append(updated, c.Path)
		}
	}
	// The stack's own agent (agent.onServer) runs privileged too.
	if want := topology.AgentCompose + " " + topology.Compose; strings.Join(updated, " ") != want {
		t.Errorf("agent.privileged=true changed %v, want only %s", updated, want)
	}
	if fmt.Sprint(readEnv(t, out)) != fmt.Sprint(env) {
		t.Error("secrets changed on Rerender")
	}
}

// TestReRenderKeepsSettings: a directory rendered before is rendered again
// from its recorded settings; one --set changes that setting alone, and
// the change is reported. Without reuse the node IP (given only the first
// time) would be missing and Prepare would fail.
func TestReRenderKeepsSettings(t *testing.T) {
	for _, profile := range []string{"bridge", "host-network", "process-agent"} {
		t.Run(profile, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "d")
			first := prepare(t, settings.Inputs{Profile: profile, Version: "v7.0", Sets: []string{"mysql.port=30131", "agent.subnets=[10.9.0.0/16]"}}, out)
			if _, err := first.Write(false); err != nil {
				t.Fatal(err)
			}
			again, err := Prepare(context.Background(), Options{Inputs: settings.Inputs{Sets: []string{"grafana.port=3001"}}, OutDir: out})
			if err != nil {
				t.Fatal(err)
			}
			want := *first.Settings
			want.Grafana.Port = 3001
			if fmt.Sprint(*again.Settings) != fmt.Sprint(want) || again.Profile.Name != profile {
				t.Errorf("re-render settings\n%+v (%s)\nwant\n%+v (%s)", *again.Settings, again.Profile.Name, want, profile)
			}
			if got := fmt.Sprint(again.Changed); got != "[grafana.port: 3000 → 3001]" {
				t.Errorf("changed settings %s", got)
			}
			// --reset starts from the defaults: the recorded version and
			// port go, the group ID stays.
			reset, err := Prepare(context.Background(), Options{Inputs: settings.Inputs{Profile: profile, NodeIP: "192.0.2.10"}, OutDir: out, Reset: true})
			if err != nil {
				t.Fatal(err)
			}
			if reset.Settings.Version != "v7.1" || reset.Settings.MySQL.Port != 30130 || reset.Settings.Agent.GroupID != first.Settings.Agent.GroupID {
				t.Errorf("--reset: version %s, mysql.port %d, group %s", reset.Settings.Version, reset.Settings.MySQL.Port, reset.Settings.Agent.GroupID)
			}
		})
	}
}

func TestReRenderRefusesAnotherProfile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "d")
	if _, err := prepare(t, settings.Inputs{Profile: "bridge"}, out).Write(false); err != nil {
		t.Fatal(err)
	}
	_, err := Prepare(context.Background(), Options{Inputs: settings.Inputs{Profile: "hostNetwork"}, OutDir: out})
	want := out + " was rendered with profile bridge, not host-network; render it with --reset to start from the host-network profile's defaults (secrets and the agent group ID are kept)"
	if !errors.Is(err, ErrProfileChange) || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want ErrProfileChange: %s", err, want)
	}
}

func TestChangedSettingsShowSwitchesBothWays(t *testing.T) {
	a, b := settings.Settings{}, settings.Settings{}
	a.Agent.OnServer = true
	a.MySQL.Port, b.MySQL.Port = 30130, 0
	a.MySQL.Password = "never shown"
	got := fmt.Sprint(changedSettings(&a, &b))
	if got != "[agent.onServer: true → false mysql.port: 30130 → (none)]" {
		t.Errorf("changes %s", got)
	}
}
