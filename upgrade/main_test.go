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
	"net"
	"os"
	"os/exec"
	"strings"
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

// netnsSetup prepares the namespace and runs the test binary in it. The
// host's name servers become addresses of its loopback, where the test
// binary answers every query "no such name" (answerDNS): the MariaDB
// stand-in looks up each client's name before its greeting, and a lookup
// that times out would make the MySQL readiness probe miss the greeting.
const netnsSetup = `ip link set lo up &&
for ns in $(awk '$1 == "nameserver" { print $2 }' /etc/resolv.conf); do
	case "$ns" in *:*) ip -6 addr add "$ns/128" dev lo ;; *) ip addr add "$ns/32" dev lo ;; esac 2>/dev/null
done
exec "$0" "$@"`

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
			args := append([]string{"--net", "--", "sh", "-c", netnsSetup, os.Args[0]}, os.Args[1:]...)
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
	if os.Getenv(netnsEnv) != "" {
		answerDNS()
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

// answerDNS answers every DNS query to the name servers of resolv.conf
// (loopback addresses in the test's namespace) with "no such name".
func answerDNS() {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		c, err := net.ListenPacket("udp", net.JoinHostPort(f[1], "53"))
		if err != nil {
			continue
		}
		go func() {
			buf := make([]byte, 1500)
			for {
				n, addr, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				if n < 12 {
					continue
				}
				// The question echoed back, flagged a response (QR),
				// recursion available, RCODE 3 (NXDOMAIN), no answers.
				msg := append([]byte(nil), buf[:n]...)
				msg[2] |= 0x80
				msg[3] = 0x80 | 0x03
				for i := 6; i < 12; i++ {
					msg[i] = 0
				}
				_, _ = c.WriteTo(msg, addr)
			}
		}()
	}
}
