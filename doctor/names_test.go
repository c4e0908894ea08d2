package doctor

import "testing"

func TestAgentTypeNames(t *testing.T) {
	for in, want := range map[int]string{1: "KVM (1)", 3: "CHOST_VM (3)", 5: "CHOST_BM (5)", 7: "K8S_BM (7)", 8: "K8S_VM (8)", 12: "K8S_SIDECAR (12)", 4: "4", 0: "0"} {
		if got := agentType(in); got != want {
			t.Errorf("agentType(%d) = %q, want %q", in, got, want)
		}
	}
}
