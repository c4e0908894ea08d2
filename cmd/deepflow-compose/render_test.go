package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds deepflow-compose once, so these tests run it as a user
// would: a separate process, real exit codes, real stdout and stderr.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dfc-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "deepflow-compose")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func runBinary(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return o.String(), e.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

func TestRenderCLI(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := runBinary(t, dir, "render", "--profile", "hostNetwork", "--node-ip", "192.0.2.10", "-o", "deepflow")
	if code != 0 {
		t.Fatalf("render exited %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Rendered DeepFlow v7.1 (host-network profile, host network, node IP 192.0.2.10) into deepflow") ||
		!strings.Contains(errOut, "Generated mysql.password; it is kept in deepflow/.env.") {
		t.Errorf("unexpected output:\n%s\n%s", out, errOut)
	}
	// Nothing to change: diff exits 0 and prints nothing.
	if out, _, code := runBinary(t, dir, "diff", "--profile", "host-network", "--node-ip", "192.0.2.10", "-o", "deepflow"); code != 0 || out != "" {
		t.Errorf("diff after render: exit %d, output %q", code, out)
	}
	// A port change: diff exits 1 and shows it; nothing is written.
	out, _, code = runBinary(t, dir, "diff", "--profile", "host-network", "--node-ip", "192.0.2.10", "--set", "mysql.port=30131", "-o", "deepflow")
	if code != 1 || !strings.Contains(out, "-port=30130\n+port=30131") {
		t.Errorf("diff with a new port: exit %d, output:\n%s", code, out)
	}
	// --dry-run lists and writes nothing.
	out, _, code = runBinary(t, dir, "render", "--node-ip", "192.0.2.10", "--dry-run", "-o", "other")
	if code != 0 || !strings.Contains(out, "create    docker-compose.yaml") {
		t.Errorf("dry run: exit %d, output:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "other")); !os.IsNotExist(err) {
		t.Error("--dry-run wrote the directory")
	}
}

func TestRenderCLIBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--node-ip", "10.0.0.300"}, `Error: invalid settings: --node-ip: "10.0.0.300" is not an IP address`},
		{[]string{"--node-ip", "10.0.0.3", "--profile", "k8s"}, `Error: unknown profile "k8s" (available: bridge, host-network, process-agent)`},
		{[]string{"--node-ip", "10.0.0.3", "--set", "mysql.prot=1"}, `Error: --set mysql.prot=1: invalid settings: unknown key "mysql.prot"`},
		{[]string{"--node-ip", "10.0.0.3", "--set", "grafana.port=65536"}, `Error: invalid settings: grafana.port: 65536 is out of range 1-65535`},
		{[]string{"--node-ip", "10.0.0.3", "-o", "/dev/null/deepflow"}, `Error: cannot write the output directory`},
	} {
		_, errOut, code := runBinary(t, dir, append([]string{"render", "-o", "out"}, c.args...)...)
		if code != 1 || !strings.HasPrefix(errOut, c.want) {
			t.Errorf("render %v: exit %d, stderr %q; want exit 1 and %q", c.args, code, errOut, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed renders left %v behind", entries)
	}
}

func TestAgentCLI(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := runBinary(t, dir, "agent", "--server", "10.1.2.3", "--network", "host", "--group-id", "g-TE8la86jlZ", "--mode", "process", "-o", "web01")
	if code != 0 {
		t.Fatalf("agent exited %d: %s", code, errOut)
	}
	if !strings.Contains(out, "controller port 20035") {
		t.Errorf("output does not name the controller port:\n%s", out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "web01", "deepflow-agent.yaml"))
	if err != nil || !strings.Contains(string(data), "controller-port: 20035") || !strings.Contains(string(data), `vtap-group-id-request: "g-TE8la86jlZ"`) {
		t.Errorf("web01/deepflow-agent.yaml: %v\n%s", err, data)
	}
	if _, errOut, code := runBinary(t, dir, "agent", "-o", "x"); code != 1 || !strings.Contains(errOut, "--server is required") {
		t.Errorf("agent without --server: exit %d, %q", code, errOut)
	}
}

// TestAgentCLIBadInput: agent's flags are typed settings; an error names
// the flag the user typed, and a port of 0 is refused, not ignored.
func TestAgentCLIBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--server", "999.1.1.1"}, `Error: invalid settings: --server: "999.1.1.1" is not an IP address`},
		{[]string{"--server", "10.1.2.3", "--controller-port", "0"}, `Error: --controller-port: invalid settings: 0 is out of range 1-65535; leave it out to use the network mode's port`},
		{[]string{"--server", "10.1.2.3", "--network", "overlay"}, `Error: invalid settings: --network: "overlay" must be bridge or host`},
		{[]string{"--server", "10.1.2.3", "--group-id", "g_1"}, `Error: invalid settings: --group-id: "g_1" is not an agent group ID like g-TE8la86jlZ`},
		{[]string{"--server", "10.1.2.3", "--set", "agent.controllerPort=70000"}, `Error: invalid settings: agent.controllerPort: 70000 is out of range 1-65535`},
	} {
		_, errOut, code := runBinary(t, dir, append([]string{"agent", "-o", "out"}, c.args...)...)
		if code != 1 || !strings.HasPrefix(errOut, c.want) {
			t.Errorf("agent %v: exit %d, stderr %q; want exit 1 and %q", c.args, code, errOut, c.want)
		}
	}
}
