package render

import "testing"

// BenchmarkSecretsExec is one FuzzSecrets execution; `make fuzz` needs it
// well under 3 ms to reach 10,000 executions in its 30 s on two cores.
func BenchmarkSecretsExec(b *testing.B) {
	for i := 0; i < b.N; i++ {
		p := prepareSecrets(b, `a"b$c`, "x'y\\z", "admin", false)
		checkSecrets(b, p, interpolatedEnv(b, p))
	}
}
