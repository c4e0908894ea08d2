package bundle_test

// Tests here use a real Docker engine, set up as engine's tests do: the
// one DOCKER_HOST names when it answers (scripts/test.sh starts one), else
// a private dockerd from scripts/dockerd.sh, started on first use and
// stopped at the end. They skip only when no engine can be started, and
// fail instead under DFC_REQUIRE_ENGINE=1 (CI).
//
// The images are STAND-INS (engine/standin): busybox images under the
// names the render asks for. They prove that bundles carry images, IDs and
// files faithfully, not anything about DeepFlow's own images.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

var (
	engineOnce sync.Once
	skipReason string
	stopEngine func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	if stopEngine != nil {
		stopEngine()
	}
	os.Exit(code)
}

// needEngine starts the engine on first use; it skips when none can be
// started, unless DFC_REQUIRE_ENGINE=1.
func needEngine(t testing.TB) {
	t.Helper()
	engineOnce.Do(func() {
		stop, err := ensureEngine()
		stopEngine = stop
		if err != nil {
			skipReason = "no Docker engine: " + err.Error()
		}
	})
	if skipReason == "" {
		return
	}
	if os.Getenv("DFC_REQUIRE_ENGINE") == "1" {
		t.Fatal(skipReason + " (DFC_REQUIRE_ENGINE=1)")
	}
	t.Skip(skipReason)
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

func ensureEngine() (func(), error) {
	if os.Getenv("DOCKER_HOST") != "" && engineAnswers() {
		return nil, nil
	}
	script, err := findScript()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dfc-bundle-test-")
	if err != nil {
		return nil, err
	}
	// Its own bridge and pool: engine's tests may start their dockerd at
	// the same time when `go test ./...` runs packages in parallel.
	env := append(os.Environ(), "DFC_DOCKER_DIR="+filepath.Join(dir, "d"),
		"DFC_DOCKER_BRIDGE=dfcb0", "DFC_DOCKER_BIP=172.29.254.1/24", "DFC_DOCKER_POOL=172.29.0.0/17")
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
