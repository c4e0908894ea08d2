package bundle_test

// Tests that need a real Docker engine get it from internal/enginetest.
// The images are STAND-INS (engine/standin): busybox images under the
// names the render asks for. They prove that bundles carry images, IDs and
// files faithfully, not anything about DeepFlow's own images.

import (
	"os"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/internal/enginetest"
)

// Its own bridge and pool: engine's tests may start their dockerd at the
// same time when `go test ./...` runs packages in parallel.
var dockerd = enginetest.Setup{Name: "bundle",
	Env: []string{"DFC_DOCKER_BRIDGE=dfcb0", "DFC_DOCKER_BIP=172.29.254.1/24", "DFC_DOCKER_POOL=172.29.0.0/17"}}

func TestMain(m *testing.M) {
	code := m.Run()
	dockerd.Stop()
	os.Exit(code)
}

func needEngine(t testing.TB) {
	t.Helper()
	dockerd.Need(t)
}
