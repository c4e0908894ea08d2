package bundle_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/deepflow-compose/deepflow-compose/bundle"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
)

// testRegistry keeps every image name on loopback: nothing here may pull.
const testRegistry = "127.0.0.1:5999/dfc-bundle-test"

func newEngine(t testing.TB) *engine.Engine {
	t.Helper()
	var out bytes.Buffer
	e, err := engine.New(engine.Options{Out: &out, Err: &out, Progress: engine.ProgressQuiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// renderDeployment renders into a temporary directory and loads it.
func renderDeployment(t testing.TB, sets ...string) *deployment.Deployment {
	t.Helper()
	var seed [32]byte
	copy(seed[:], "deepflow-compose bundle engine")
	dir := filepath.Join(t.TempDir(), "deepflow")
	plan, err := render.Prepare(context.Background(), render.Options{
		Inputs: settings.Inputs{Profile: "bridge", NodeIP: "127.0.0.1", Sets: append([]string{"registry=" + testRegistry}, sets...)},
		OutDir: dir, Rand: rand.NewChaCha8(seed)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Write(false); err != nil {
		t.Fatal(err)
	}
	d, err := deployment.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// buildStandins builds two distinct stand-in images (so that IDs can be
// told apart): the agent's and Grafana's names on one, the rest on the
// other. It removes every name at the end of the test.
func buildStandins(t testing.TB, e *engine.Engine, d *deployment.Deployment, extra ...string) {
	t.Helper()
	var a, b []string
	for _, kv := range d.Images.Named() {
		if kv[0] == "agent" || kv[0] == "grafana" {
			b = append(b, kv[1])
		} else {
			a = append(a, kv[1])
		}
	}
	ctx := context.Background()
	if _, err := standin.Build(ctx, e.API(), dedupe(a), standin.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := standin.Build(ctx, e.API(), dedupe(b), standin.Options{Health503: 7}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeImages(t, e, append(d.Images.List(), extra...)) })
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func removeImages(t testing.TB, e *engine.Engine, refs []string) {
	t.Helper()
	for _, r := range refs {
		_, err := e.API().ImageRemove(context.Background(), r, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !isNotFound(err) {
			t.Logf("remove %s: %v", r, err)
		}
	}
}

func isNotFound(err error) bool {
	var nf interface{ NotFound() }
	return errors.As(err, &nf) || errors.Is(err, engine.ErrImage)
}

func ids(t testing.TB, e *engine.Engine, refs []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range refs {
		li, err := e.Inspect(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		out[r] = li.ID
	}
	return out
}

// Save, remove the images, refuse a bundle with one flipped byte (loading
// nothing), load the good one: every image is back with the ID it had,
// under its own name and the mirror's, and the directory is identical.
func TestEngineSaveRemoveLoad(t *testing.T) {
	needEngine(t)
	ctx := context.Background()
	e := newEngine(t)
	d := renderDeployment(t, "projectName=dfc-bundle")
	const mirror = "127.0.0.1:5998/mirror"
	var mirrored []string
	for _, r := range d.Images.List() {
		mirrored = append(mirrored, bundle.MirrorRef(mirror, r))
	}
	buildStandins(t, e, d, mirrored...)
	refs := d.Images.List()
	before := ids(t, e, refs)
	distinct := map[string]bool{}
	for _, id := range before {
		distinct[id] = true
	}
	if len(distinct) != 2 {
		t.Fatalf("want two distinct stand-in IDs, got %v", before)
	}

	file := filepath.Join(t.TempDir(), "deepflow-bundle.tar.zst")
	res, err := bundle.Save(ctx, bundle.SaveOptions{Dir: d.Dir, Out: file, Engine: e, ChunkSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Manifest.Images) != len(refs) {
		t.Fatalf("bundle has %d images, want %d", len(res.Manifest.Images), len(refs))
	}
	for _, im := range res.Manifest.Images {
		if im.ID != before[im.Ref] {
			t.Errorf("manifest: %s has ID %s, the engine %s", im.Ref, im.ID, before[im.Ref])
		}
	}

	removeImages(t, e, refs)
	for _, r := range refs {
		if _, err := e.Inspect(ctx, r); !errors.Is(err, engine.ErrImage) {
			t.Fatalf("%s still there after removal: %v", r, err)
		}
	}

	// One flipped byte: refused, nothing on the engine, no directory.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 0x20
	badFile := filepath.Join(t.TempDir(), "flipped.tar.zst")
	if err := os.WriteFile(badFile, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	badDir := filepath.Join(t.TempDir(), "from-bad")
	if _, err := bundle.Load(ctx, bundle.LoadOptions{File: badFile, OutDir: badDir, Engine: e}); !errors.Is(err, bundle.ErrCorrupt) {
		t.Fatalf("flipped byte: err = %v, want ErrCorrupt", err)
	}
	for _, r := range refs {
		if _, err := e.Inspect(ctx, r); !errors.Is(err, engine.ErrImage) {
			t.Errorf("a refused bundle loaded %s (%v)", r, err)
		}
	}
	if _, err := os.Stat(badDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused bundle created %s", badDir)
	}
	if _, err := bundle.Verify(ctx, bundle.VerifyOptions{File: badFile}); !errors.Is(err, bundle.ErrCorrupt) {
		t.Errorf("verify of the flipped bundle: %v, want ErrCorrupt", err)
	}

	out := filepath.Join(t.TempDir(), "restored")
	lr, err := bundle.Load(ctx, bundle.LoadOptions{File: file, OutDir: out, Engine: e, Registry: mirror})
	if err != nil {
		t.Fatal(err)
	}
	after := ids(t, e, refs)
	for _, r := range refs {
		if after[r] != before[r] {
			t.Errorf("%s came back as %s, was %s", r, after[r], before[r])
		}
		m := lr.Mirrored[r]
		if m != bundle.MirrorRef(mirror, r) {
			t.Errorf("%s mirrored as %q", r, m)
			continue
		}
		if got := ids(t, e, []string{m})[m]; got != before[r] {
			t.Errorf("mirror name %s is %s, want %s", m, got, before[r])
		}
	}
	for _, f := range res.Manifest.Files() {
		a, err1 := os.ReadFile(filepath.Join(d.Dir, f.Name))
		b, err2 := os.ReadFile(filepath.Join(out, f.Name))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs after load (%v, %v)", f.Name, err1, err2)
		}
	}
	if _, err := deployment.Load(out); err != nil {
		t.Errorf("the unpacked directory does not load as a render: %v", err)
	}
}

// A bundle that checks as sound up front (its framing and its checksum
// frame were made anew) but whose last file differs from its manifest
// streams its images into the real engine and is refused only at its end:
// the engine must have taken none of them. (This engine reads an upload to
// its end before it loads, so the broken-off upload alone stops it here;
// TestStreamHoldsBackTheEnd covers a reader that stops at the tar's end.)
func TestEngineRefusedStreamLoadsNothing(t *testing.T) {
	needEngine(t)
	ctx := context.Background()
	e := newEngine(t)
	d := renderDeployment(t, "projectName=dfc-bundle-stream")
	buildStandins(t, e, d)
	refs := d.Images.List()
	file := filepath.Join(t.TempDir(), "deepflow-bundle.tar.zst")
	if _, err := bundle.Save(ctx, bundle.SaveOptions{Dir: d.Dir, Out: file, Engine: e, ChunkSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	bundle.Reseal(t, file, func(ms []bundle.TarMember, m *bundle.Manifest) []bundle.TarMember {
		ms[len(ms)-1].Data = append(ms[len(ms)-1].Data, '\n')
		return ms
	})
	removeImages(t, e, refs)
	_, err := bundle.Load(ctx, bundle.LoadOptions{File: file, OutDir: filepath.Join(t.TempDir(), "out"), Engine: e})
	if !errors.Is(err, bundle.ErrCorrupt) || !strings.Contains(err.Error(), "; the manifest says ") {
		t.Fatalf("err = %v, want the member that differs", err)
	}
	for _, r := range refs {
		if _, err := e.Inspect(ctx, r); !errors.Is(err, engine.ErrImage) {
			t.Errorf("a refused bundle loaded %s (%v)", r, err)
		}
	}
}
