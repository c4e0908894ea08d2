package render

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/settings"
)

// BenchmarkRender renders the default bridge deployment into a new
// directory each time, as `deepflow-compose render -o DIR` does, without
// the process start-up (scripts/bench.sh measures the whole process). For
// a profile:
//
//	go test ./render -run '^$' -bench Render -benchtime 200x -cpuprofile cpu.out
//	go tool pprof -top -cum render.test cpu.out
func BenchmarkRender(b *testing.B) {
	var seed [32]byte
	copy(seed[:], "deepflow-compose render bench")
	base := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		dir := filepath.Join(base, strconv.Itoa(i))
		p, err := Prepare(context.Background(), Options{
			Inputs: settings.Inputs{Profile: "bridge", NodeIP: "192.0.2.10", Sets: []string{"registry=127.0.0.1:5999/deepflow-ce"}},
			OutDir: dir, Rand: rand.NewChaCha8(seed)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Write(false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepare is the render without writing files: templates,
// settings and the read-back validation (compose-go among them).
func BenchmarkPrepare(b *testing.B) {
	var seed [32]byte
	copy(seed[:], "deepflow-compose render bench")
	dir := filepath.Join(b.TempDir(), "d")
	for b.Loop() {
		if _, err := Prepare(context.Background(), Options{
			Inputs: settings.Inputs{Profile: "bridge", NodeIP: "192.0.2.10"},
			OutDir: dir, Rand: rand.NewChaCha8(seed)}); err != nil {
			b.Fatal(err)
		}
	}
}
