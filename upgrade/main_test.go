package upgrade_test

// The engine tests here run a whole rendered stack on STAND-INS: busybox
// images (engine/standin, labelled io.deepflow-compose.standin=true) for
// deepflow-server, deepflow-app, ClickHouse and Grafana, and the MariaDB
// STAND-IN OF THE DATABASE ENGINE (Debian's mariadb-server, labelled
// io.deepflow-compose.standin.kind=database-engine) tagged as the rendered
// MySQL image. They prove the upgrade's orchestration, backup, restore and
// version checks, not DeepFlow's migration: the server stand-in migrates
// nothing, so the test plays the migration itself (see playMigration).

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/internal/enginetest"
)

// testRegistry keeps every image name on loopback: a missing stand-in makes
// the engine pull from a closed local port, never from the network.
const testRegistry = "127.0.0.1:5999/deepflow-ce"

// A private engine: the rendered container names are fixed, so sharing an
// engine with other packages' tests would make them clash.
var dockerd = enginetest.Setup{Name: "upgrade",
	Env: []string{"DFC_DOCKER_BRIDGE=dfcupgrade", "DFC_DOCKER_BIP=172.26.254.1/24", "DFC_DOCKER_POOL=172.26.0.0/17"}}

func TestMain(m *testing.M) {
	os.Unsetenv("DOCKER_HOST")
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

var _ = context.Background
