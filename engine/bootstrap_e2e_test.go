package engine_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/engine/standin"
)

// cliBinary builds deepflow-compose, so the end-to-end test runs the
// commands as a user does: up, bootstrap inside it, doctor.
func cliBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "deepflow-compose")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/deepflow-compose").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runCLI(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ() // DOCKER_HOST names the test engine
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestUpBootstrapDoctor runs the whole story on stand-ins: up brings the
// stack up and bootstraps the server (the controller API stand-in: domain,
// group with the rendered ID, its config); a second up sends no write; the
// stand-in agent on the server registers, and doctor finds nothing wrong.
// Stand-ins prove the wiring, not DeepFlow.
func TestUpBootstrapDoctor(t *testing.T) {
	needEngine(t)
	bin := cliBinary(t)
	for _, profile := range []string{"bridge", "host-network"} {
		t.Run(profile, func(t *testing.T) { upBootstrapDoctor(t, bin, profile) })
	}
}

func upBootstrapDoctor(t *testing.T, bin, profile string) {
	var out syncBuffer
	e := newEngine(t, &out, "")
	// The agent on the server reports from the node IP (loopback here),
	// which must be inside local_ip_ranges.
	s := renderStack(t, profile, "projectName=dfc-boot"+strings.ReplaceAll(profile, "-", ""), "agent.subnets=[127.0.0.0/8]", "agent.onServer=true")
	buildStandins(t, e, s, standin.Options{Health503: 2})
	downAtEnd(t, e, s)
	dropMissingCaps(t, s.ComposeFile)

	o, code := runCLI(t, bin, "up", s.Dir, "--progress", "plain", "--timeout", "2m", "--bootstrap-timeout", "1m")
	t.Log(o)
	if code != 0 {
		t.Fatalf("up exited %d", code)
	}
	for _, want := range []string{
		`domain        created        agent_sync domain "legacy-host"`,
		`group         created        agent group "deepflow-agents" with ID ` + groupID(t, s.Dir),
		`group config  created        for group ` + groupID(t, s.Dir) + ` through the v6.6.9+ API`,
	} {
		if !strings.Contains(o, want) {
			t.Errorf("first up lacks %q", want)
		}
	}

	o, code = runCLI(t, bin, "up", s.Dir, "--progress", "plain", "--timeout", "2m")
	if code != 0 || !strings.Contains(o, "nothing to change: the server already has everything, no write request was sent") {
		t.Errorf("second up: exit %d\n%s", code, o)
	}

	// The stand-in agent registers every 5 s; give it a few rounds.
	deadline := time.Now().Add(30 * time.Second)
	registered := regexp.MustCompile(`(?m)^ok +agent 127\.0\.0\.1 \(.*registered, NORMAL`)
	for {
		o, code = runCLI(t, bin, "doctor", s.Dir)
		if (code == 0 && registered.MatchString(o)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	t.Log(o)
	if code != 0 {
		t.Errorf("doctor exited %d", code)
	}
	// The own agent is the stand-in agent, named after the host.
	first := regexp.MustCompile(`(?m)^\S+ +agent .*$`).FindString(o)
	if !strings.HasPrefix(first, "ok      agent 127.0.0.1 (") || !strings.Contains(first, `registered, NORMAL, CHOST_BM (5), in group "deepflow-agents"`) {
		t.Errorf("doctor does not list the server's own agent first, registered in the rendered group")
	}
}

func groupID(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "agent", "deepflow-agent.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "vtap-group-id-request:"); ok {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	t.Fatal("no vtap-group-id-request in the agent YAML")
	return ""
}

// dropMissingCaps removes from the compose file the agent capabilities this
// process cannot grant (some sandboxes lack CAP_SYS_RESOURCE in their
// bounding set, and runc then refuses to start the container). The test is
// about bootstrap and doctor, not capabilities; render's tests check those.
func dropMissingCaps(t *testing.T, compose string) {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	var bnd uint64
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			bnd, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	bits := map[string]uint{"SYS_ADMIN": 21, "SYS_RESOURCE": 24, "SYS_PTRACE": 19, "NET_ADMIN": 12, "NET_RAW": 13, "IPC_LOCK": 14, "SYSLOG": 34}
	b, err := os.ReadFile(compose)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(l), "- "); ok {
			if bit, known := bits[c]; known && bnd&(1<<bit) == 0 {
				t.Logf("this sandbox cannot grant %s: dropped from the agent service", c)
				continue
			}
		}
		keep = append(keep, l)
	}
	if err := os.WriteFile(compose, []byte(strings.Join(keep, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}
