package upgrade_test

// The engine tests here run a whole rendered stack on STAND-INS: busybox
// images (engine/standin, labelled io.deepflow-compose.standin=true) for
// deepflow-server, deepflow-app, ClickHouse and Grafana, and the MariaDB
// STAND-IN OF THE DATABASE ENGINE (Debian's mariadb-server, labelled
// io.deepflow-compose.standin.kind=database-engine) tagged as the rendered
// MySQL image. They prove the upgrade's orchestration, backup, restore and
// version checks, not DeepFlow's migration: the server stand-in migrates
// nothing, so the test plays the migration itself (see the upgrade test's
// ServerStarted hook).

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/engine/standin"
	"github.com/deepflow-compose/deepflow-compose/internal/enginetest"
)

// testRegistry keeps every image name on loopback: a missing stand-in makes
// the engine pull from a closed local port, never from the network.
const testRegistry = "127.0.0.1:5999/deepflow-ce"

// A private engine: the rendered container names are fixed, so sharing an
// engine with other packages' tests would make them clash.
var dockerd = enginetest.Setup{Name: "upgrade",
	Env: []string{"DFC_DOCKER_BRIDGE=dfcupgrade", "DFC_DOCKER_BIP=172.26.254.1/24", "DFC_DOCKER_POOL=172.26.0.0/17"}}

// netnsEnv marks the test binary running in its own network namespace.
const netnsEnv = "DFC_UPGRADE_NETNS"

// TestMain runs the tests, as root, in a network namespace of their own
// (only its loopback up), so the stack's node ports (3000, 20416, 30417, …)
// never meet another stack on this machine: the private dockerd the tests
// start, its bridge and every published port live in that namespace.
func TestMain(m *testing.M) {
	os.Unsetenv("DOCKER_HOST")
	if os.Getenv(netnsEnv) == "" && os.Geteuid() == 0 {
		if _, err := exec.LookPath("unshare"); err == nil {
			// Found out here, where the package sources are reachable.
			if os.Getenv(standin.RootfsEnv) == "" {
				if p, err := standin.MariaDBRootfs(context.Background()); err == nil {
					os.Setenv(standin.RootfsEnv, p)
				}
			}
			args := append([]string{"--net", "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`, os.Args[0]}, os.Args[1:]...)
			cmd := exec.Command("unshare", args...)
			cmd.Env = append(os.Environ(), netnsEnv+"=1")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				if ee, ok := err.(*exec.ExitError); ok {
					os.Exit(ee.ExitCode())
				}
				fmt.Fprintln(os.Stderr, "upgrade tests: unshare:", err)
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	code := m.Run()
	dockerd.Stop()
	os.Exit(code)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
