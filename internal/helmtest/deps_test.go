package helmtest

import (
	"os/exec"
	"strings"
	"testing"
)

// The shipped binary links neither Helm nor Kubernetes' client libraries:
// only tests import this package.
func TestBinaryStaysFreeOfHelm(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/deepflow-compose/deepflow-compose/cmd/deepflow-compose").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(p, "k8s.io/") || strings.HasPrefix(p, "helm.sh/") || strings.HasPrefix(p, "sigs.k8s.io/") ||
			strings.HasSuffix(p, "/internal/helmtest") {
			t.Errorf("the binary links %s", p)
		}
	}
}
