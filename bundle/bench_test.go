package bundle_test

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/deepflow-compose/deepflow-compose/bundle"
	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
	"github.com/deepflow-compose/deepflow-compose/internal/humanize"
)

// BenchmarkBundle compares, on the same images, `bundle save` with
// `docker save | gzip` and `bundle load` with `docker load`, and prints
// the times, sizes and the Go heap's peak during save and load. It asserts
// nothing about them. The images are stand-ins: three with a 200 MB layer
// of random bytes each (so compression gains nothing and the figures are
// about streaming), the rest tiny. It needs about 3 GB of disk under vfs
// and removes its images at the end.
//
//	go test ./bundle -run '^$' -bench Bundle -benchtime 1x
func BenchmarkBundle(b *testing.B) {
	needEngine(b)
	for _, tool := range []string{"docker", "gzip", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s is not installed; the comparison needs it", tool)
		}
	}
	ctx := context.Background()
	e := newEngine(b)
	d := renderDeployment(b, "projectName=dfc-bench")
	big := []string{d.Images.MySQL, d.Images.ClickHouse, d.Images.Server}
	var small []string
	for _, r := range d.Images.List() {
		if r != big[0] && r != big[1] && r != big[2] {
			small = append(small, r)
		}
	}
	refs := d.Images.List()
	b.Cleanup(func() { removeImages(b, e, refs) })
	build := func() {
		for i, ref := range big {
			importRandom(b, e, ref, 200<<20, uint64(i))
		}
		if _, err := standin.Build(ctx, e.API(), small, standin.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	build()

	work := b.TempDir()
	bundleFile := filepath.Join(work, "deepflow-bundle.tar.zst")
	gzFile := filepath.Join(work, "images.tar.gz")
	docker := func(script string) time.Duration {
		start := time.Now()
		cmd := exec.Command("sh", "-c", script)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", script, err, out)
		}
		return time.Since(start)
	}
	var saveT, gzT, loadT, dloadT time.Duration
	var saveHeap, loadHeap uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var res *bundle.SaveResult
		saveHeap = max(saveHeap, heapPeak(func() {
			start := time.Now()
			var err error
			res, err = bundle.Save(ctx, bundle.SaveOptions{Dir: d.Dir, Out: bundleFile, Engine: e})
			if err != nil {
				b.Fatal(err)
			}
			saveT += time.Since(start)
		}))
		_ = res
		gzT += docker("docker save " + strings.Join(refs, " ") + " | gzip > " + gzFile)

		removeImages(b, e, refs)
		loadHeap = max(loadHeap, heapPeak(func() {
			start := time.Now()
			if _, err := bundle.Load(ctx, bundle.LoadOptions{File: bundleFile, OutDir: filepath.Join(work, fmt.Sprintf("restored-%d", i)), Engine: e}); err != nil {
				b.Fatal(err)
			}
			loadT += time.Since(start)
		}))
		removeImages(b, e, refs)
		dloadT += docker("docker load -q -i " + gzFile)
	}
	b.StopTimer()
	n := time.Duration(b.N)
	size := func(p string) int64 {
		st, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		return st.Size()
	}
	bs, gs := size(bundleFile), size(gzFile)
	b.ReportMetric(float64((saveT / n).Milliseconds()), "ms-bundle-save")
	b.ReportMetric(float64((gzT / n).Milliseconds()), "ms-docker-save-gzip")
	b.ReportMetric(float64((loadT / n).Milliseconds()), "ms-bundle-load")
	b.ReportMetric(float64((dloadT / n).Milliseconds()), "ms-docker-load")
	b.Logf("3 × 200 MiB random layers + %d small stand-ins, mean of %d:\n"+
		"  bundle save          %8s  %s  (Go heap peak %s)\n"+
		"  docker save | gzip   %8s  %s\n"+
		"  bundle load          %8s  (checksum pass, then streamed into the engine; Go heap peak %s)\n"+
		"  docker load          %8s",
		len(small), b.N,
		(saveT / n).Round(time.Millisecond), humanize.Bytes(bs), humanize.Bytes(int64(saveHeap)),
		(gzT / n).Round(time.Millisecond), humanize.Bytes(gs),
		(loadT / n).Round(time.Millisecond), humanize.Bytes(int64(loadHeap)),
		(dloadT / n).Round(time.Millisecond))
}

// importRandom imports a one-layer image holding size random bytes, streamed
// (never all in memory), labelled as a stand-in.
func importRandom(b *testing.B, e *engine.Engine, ref string, size int64, seed uint64) {
	b.Helper()
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "random.bin", Mode: 0o644, Size: size, ModTime: time.Unix(0, 0)})
		if err == nil {
			var key [32]byte
			key[0] = byte(seed)
			_, err = io.CopyN(tw, rand.NewChaCha8(key), size)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	res, err := e.API().ImageImport(context.Background(), client.ImageImportSource{Source: pr, SourceName: "-"}, ref,
		client.ImageImportOptions{Changes: []string{"LABEL " + standin.Label + "=true"}, Message: "deepflow-compose benchmark stand-in (random bytes)"})
	if err != nil {
		b.Fatal(err)
	}
	out, err := io.ReadAll(res)
	res.Close()
	if err != nil || strings.Contains(string(out), `"error"`) {
		b.Fatalf("import %s: %v %s", ref, err, out)
	}
}

// heapPeak runs fn and samples the Go heap in use meanwhile.
func heapPeak(fn func()) uint64 {
	// What an earlier step left for the collector is not this step's.
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return peak.Load()
}
