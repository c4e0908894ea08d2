package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
)

// BenchmarkUp measures, on stand-in images, the wall time from the start of
// up to every service ready, minus the time compose took to create and start
// the containers: what preflight, project loading and the readiness wait
// add. It reports a figure; nothing is asserted about it.
//
//	go test ./engine -run '^$' -bench Up -benchtime 3x
func BenchmarkUp(b *testing.B) {
	needEngine(b)
	ctx := context.Background()
	var out syncBuffer
	e := newEngine(b, &out, "")
	s := renderStack(b, "bridge", "projectName=dfc-bench")
	buildStandins(b, e, s, standin.Options{})
	downAtEnd(b, e, s)
	var overhead, total, compose time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := e.Down(ctx, s, engine.DownOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := e.Up(ctx, s, engine.UpOptions{Timeout: 2 * time.Minute})
		if err != nil {
			b.Fatalf("up: %v\n%s", err, out.String())
		}
		total += res.Total
		compose += res.Compose
		overhead += res.Total - res.Compose
	}
	n := time.Duration(b.N)
	b.ReportMetric(float64((overhead / n).Milliseconds()), "ms-up-minus-start/op")
	b.ReportMetric(float64((compose / n).Milliseconds()), "ms-container-start/op")
	b.Logf("up to all-ready %s, containers starting %s, the rest %s (mean of %d)", total/n, compose/n, overhead/n, b.N)
}
