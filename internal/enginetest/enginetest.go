// Package enginetest gives test binaries a real Docker engine: the one
// DOCKER_HOST names when it answers (scripts/test.sh starts one), else a
// private dockerd from scripts/dockerd.sh, started on first use and
// stopped by Stop. Tests skip only when no engine can be started, and fail
// instead under DFC_REQUIRE_ENGINE=1 (CI sets it).
package enginetest

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

	"github.com/moby/moby/client"

	"github.com/deepflow-compose/deepflow-compose/internal/findup"
)

// Setup is one test binary's engine.
type Setup struct {
	// Name prefixes the private dockerd's directory.
	Name string
	// Env is added to scripts/dockerd.sh's environment, e.g. its own bridge
	// and address pool, so that packages tested in parallel do not clash.
	Env []string

	once sync.Once
	stop func()
	skip string
}

// Need makes sure an engine answers, starting one on first use; it skips
// the test when none can be started, unless DFC_REQUIRE_ENGINE=1.
func (s *Setup) Need(t testing.TB) {
	t.Helper()
	s.once.Do(func() {
		stop, err := s.ensure()
		s.stop = stop
		if err != nil {
			s.skip = "no Docker engine: " + err.Error()
			fmt.Fprintln(os.Stderr, s.skip)
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
	})
	if s.skip == "" {
		return
	}
	if os.Getenv("DFC_REQUIRE_ENGINE") == "1" {
		t.Fatal(s.skip + " (DFC_REQUIRE_ENGINE=1)")
	}
	t.Skip(s.skip)
}

// Stop stops the dockerd Need started, if any. Call it from TestMain.
func (s *Setup) Stop() {
	if s.stop != nil {
		s.stop()
	}
}

// Answers reports whether the engine DOCKER_HOST names answers a ping.
func Answers() bool {
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

func (s *Setup) ensure() (func(), error) {
	if os.Getenv("DOCKER_HOST") != "" && Answers() {
		return nil, nil
	}
	script, err := findup.Path("scripts/dockerd.sh")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dfc-"+s.Name+"-test-")
	if err != nil {
		return nil, err
	}
	env := append(append(os.Environ(), "DFC_DOCKER_DIR="+filepath.Join(dir, "d")), s.Env...)
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
	if !Answers() {
		stop()
		return nil, fmt.Errorf("dockerd at %s does not answer", host)
	}
	return stop, nil
}

// Buffer collects what an engine prints from several goroutines (compose's
// progress, readiness) for a test to read.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
