package bundle

// Unit tests: no Docker engine. fakeEngine stands in for it and records
// what reached it, so "nothing was loaded" can be asserted.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
)

type fakeEngine struct {
	images map[string]engine.LocalImage
	// prepare is how long SaveImages takes before it streams.
	prepare time.Duration
	// save is what SaveImages streams.
	save   []byte
	loads  int
	loaded []byte
	tags   map[string]string
	pushed []string
}

func (f *fakeEngine) Inspect(_ context.Context, ref string) (engine.LocalImage, error) {
	li, ok := f.images[ref]
	if !ok {
		return li, fmt.Errorf("%w: %s is not on this engine", engine.ErrImage, ref)
	}
	return li, nil
}

func (f *fakeEngine) SaveImages(context.Context, []string) (io.ReadCloser, error) {
	time.Sleep(f.prepare)
	return io.NopCloser(bytes.NewReader(f.save)), nil
}

func (f *fakeEngine) LoadImages(_ context.Context, r io.Reader) ([]string, error) {
	f.loads++
	b, err := io.ReadAll(r)
	f.loaded = b
	return nil, err
}

func (f *fakeEngine) TagImage(_ context.Context, src, dst string) error {
	if f.tags == nil {
		f.tags = map[string]string{}
	}
	f.tags[dst] = src
	return nil
}

func (f *fakeEngine) PushImage(_ context.Context, ref string, _ io.Writer) error {
	f.pushed = append(f.pushed, ref)
	return nil
}

// renderDir renders a deployment with reproducible secrets.
func renderDir(t testing.TB, sets ...string) (string, *deployment.Deployment) {
	t.Helper()
	var seed [32]byte
	copy(seed[:], "deepflow-compose bundle tests")
	dir := filepath.Join(t.TempDir(), "deepflow")
	p, err := render.Prepare(context.Background(), render.Options{
		Inputs: settings.Inputs{Profile: "bridge", NodeIP: "192.0.2.10", Sets: append([]string{"registry=127.0.0.1:5999/deepflow-ce"}, sets...)},
		OutDir: dir, Rand: rand.NewChaCha8(seed)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write(false); err != nil {
		t.Fatal(err)
	}
	d, err := deployment.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, d
}

// newFake has every image of d, two of them sharing an ID, and a save
// stream of random bytes.
func newFake(d *deployment.Deployment, saveSize int) *fakeEngine {
	f := &fakeEngine{images: map[string]engine.LocalImage{}}
	for i, ref := range d.Images.List() {
		f.images[ref] = engine.LocalImage{ID: fmt.Sprintf("sha256:%064x", i%7), Size: 1000}
	}
	r := rand.New(rand.NewPCG(1, 2))
	f.save = make([]byte, saveSize)
	for i := range f.save {
		f.save[i] = byte(r.Uint32())
	}
	return f
}

func saveFake(t testing.TB, dir string, f *fakeEngine, chunk int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "b.tar.zst")
	if _, err := Save(context.Background(), SaveOptions{Dir: dir, Out: out, Engine: f, ChunkSize: chunk, Tool: "test"}); err != nil {
		t.Fatal(err)
	}
	return out
}

// An engine slow to start its export gets a line that says so, before the
// bar; a quick one does not.
func TestSaveSaysTheEngineIsPreparing(t *testing.T) {
	defer func(d time.Duration) { exportNote = d }(exportNote)
	exportNote = 20 * time.Millisecond
	dir, d := renderDir(t)
	for _, c := range []struct {
		prepare time.Duration
		note    bool
	}{{0, false}, {200 * time.Millisecond, true}} {
		f := newFake(d, 10_000)
		f.prepare = c.prepare
		var log bytes.Buffer
		out := filepath.Join(t.TempDir(), "b.tar.zst")
		if _, err := Save(context.Background(), SaveOptions{Dir: dir, Out: out, Engine: f, Progress: Progress{W: &log}}); err != nil {
			t.Fatal(err)
		}
		const note = "save: the engine is preparing the images' export…\n"
		if got := strings.HasPrefix(log.String(), note); got != c.note || strings.Count(log.String(), note) > 1 {
			t.Errorf("engine preparing %v: log %q, want the note %v", c.prepare, log.String(), c.note)
		}
	}
}

func TestSaveVerifyLoad(t *testing.T) {
	dir, d := renderDir(t)
	f := newFake(d, 10_000)
	var log bytes.Buffer
	out := filepath.Join(t.TempDir(), "b.tar.zst")
	res, err := Save(context.Background(), SaveOptions{Dir: dir, Out: out, Engine: f, ChunkSize: 3000, Tool: "test", Progress: Progress{W: &log}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(log.String(), "save: ") {
		t.Errorf("progress log %q, want a closing save: line", log.String())
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != res.Size || st.Mode().Perm() != 0o600 {
		t.Errorf("file %d bytes mode %v; result says %d, want mode 0600 (it holds .env)", st.Size(), st.Mode().Perm(), res.Size)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*partial*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	man, err := Verify(context.Background(), VerifyOptions{File: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(man.Images) != len(d.Images.List()) || man.Dir != "deepflow" || man.DeepFlow != "v7.1" || man.Registry != "127.0.0.1:5999/deepflow-ce" {
		t.Errorf("manifest %+v", man)
	}
	for _, im := range man.Images {
		if im.ID != f.images[im.Ref].ID || len(im.Components) == 0 {
			t.Errorf("image %+v: want ID %s and its components", im, f.images[im.Ref].ID)
		}
	}
	chunks := 0
	for _, mb := range man.Members {
		if strings.HasPrefix(mb.Name, imagesPrefix) {
			chunks++
		}
	}
	if chunks != 4 { // 10000 bytes in chunks of 3000
		t.Errorf("%d chunks, want 4", chunks)
	}
	files := map[string]bool{}
	for _, mb := range man.Files() {
		files[mb.Name] = true
	}
	for _, want := range []string{".env", ".deepflow-compose.json", "docker-compose.yaml", "NEXT-STEPS.md", "agent/docker-compose.yaml", "common/config/deepflow-server/server.yaml"} {
		if !files[want] {
			t.Errorf("bundle lacks %s; has %v", want, files)
		}
	}

	target := filepath.Join(t.TempDir(), "restored")
	lr, err := Load(context.Background(), LoadOptions{File: out, OutDir: target, Engine: f, Registry: "harbor.local/deepflow", Push: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.loads != 1 || !bytes.Equal(f.loaded, f.save) {
		t.Errorf("engine got %d loads of %d bytes; want 1 of exactly the %d saved", f.loads, len(f.loaded), len(f.save))
	}
	if lr.Dir != target {
		t.Errorf("unpacked into %s, want %s", lr.Dir, target)
	}
	if got := f.tags["harbor.local/deepflow/mysql:8.0.39"]; got != "127.0.0.1:5999/deepflow-ce/mysql:8.0.39" {
		t.Errorf("mirror tag of mysql is from %q; tags %v", got, f.tags)
	}
	if len(f.pushed) != len(man.Images) {
		t.Errorf("pushed %v, want one per image", f.pushed)
	}
	sameTree(t, dir, target)
	leftovers, _ = filepath.Glob(filepath.Join(filepath.Dir(target), ".*load*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary dirs left: %v", leftovers)
	}
}

// sameTree compares two directories' files, bytes and modes.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(a, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		wa, _ := os.ReadFile(p)
		wb, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		sa, _ := os.Stat(p)
		sb, _ := os.Stat(filepath.Join(b, rel))
		if !bytes.Equal(wa, wb) || sa.Mode() != sb.Mode() {
			t.Errorf("%s differs (mode %v vs %v)", rel, sa.Mode(), sb.Mode())
		}
		n++
		return nil
	})
	if err != nil || n < 10 {
		t.Errorf("compared %d files: %v", n, err)
	}
}

func TestSaveNamesEveryMissingImage(t *testing.T) {
	dir, d := renderDir(t)
	f := newFake(d, 100)
	delete(f.images, "127.0.0.1:5999/deepflow-ce/mysql:8.0.39")
	delete(f.images, "127.0.0.1:5999/deepflow-ce/grafana:10.1.5")
	out := filepath.Join(t.TempDir(), "b.tar.zst")
	_, err := Save(context.Background(), SaveOptions{Dir: dir, Out: out, Engine: f})
	want := "images missing: pull them on a host with network access first:\n" +
		"  image not available: 127.0.0.1:5999/deepflow-ce/grafana:10.1.5 is not on this engine\n" +
		"  image not available: 127.0.0.1:5999/deepflow-ce/mysql:8.0.39 is not on this engine"
	if !errors.Is(err, ErrMissingImages) || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed save left %s", out)
	}
}

// Every flipped byte and every truncation is refused, and nothing reaches
// the engine or the target directory.
func TestDamagedBundlesLoadNothing(t *testing.T) {
	dir, d := renderDir(t)
	f := newFake(d, 50_000)
	good := saveFake(t, dir, f, 8000)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	type variant struct {
		name string
		data []byte
	}
	var vs []variant
	for i := 0; i < 40; i++ {
		off := i * len(data) / 40
		b := bytes.Clone(data)
		b[off] ^= 0x01
		vs = append(vs, variant{fmt.Sprintf("flip@%d", off), b})
	}
	vs = append(vs, variant{"last byte", append(bytes.Clone(data[:len(data)-1]), data[len(data)-1]^0x80)})
	for _, n := range []int{0, 10, len(data) / 3, len(data) / 2, len(data) - 40, len(data) - 1} {
		vs = append(vs, variant{fmt.Sprintf("truncated@%d", n), data[:n]})
	}
	vs = append(vs, variant{"not zstd", []byte("hello, this is not a bundle\n")})
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.tar.zst")
			if err := os.WriteFile(p, v.data, 0o600); err != nil {
				t.Fatal(err)
			}
			f.loads, f.tags = 0, nil
			target := filepath.Join(t.TempDir(), "out")
			_, err := Load(context.Background(), LoadOptions{File: p, OutDir: target, Engine: f, Registry: "harbor.local/x"})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			if !strings.HasPrefix(err.Error(), p+": bundle is corrupt: ") {
				t.Errorf("message %q does not start with the file and the reason", err)
			}
			if f.loads != 0 || f.tags != nil {
				t.Errorf("a damaged bundle reached the engine: %d loads, tags %v", f.loads, f.tags)
			}
			if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a damaged bundle created %s", target)
			}
		})
	}
}

type member struct {
	name string
	typ  byte
	data string
	// link is a symlink's or hard link's target.
	link string
}

// craft writes a bundle with exactly these members; the manifest (the
// last member unless it is among them) lists the regular ones as they
// are, then edit may change it.
func craft(t *testing.T, members []member, edit func(*Manifest)) string {
	t.Helper()
	man := &Manifest{Format: Format, Dir: "deepflow", Images: []Image{{Ref: "r/x:1", ID: "sha256:" + strings.Repeat("a", 64)}}}
	for _, m := range members {
		if m.typ == 0 || m.typ == tar.TypeReg {
			sum := sha256.Sum256([]byte(m.data))
			man.Members = append(man.Members, Member{Name: m.name, Size: int64(len(m.data)), SHA256: hex.EncodeToString(sum[:])})
		}
	}
	if edit != nil {
		edit(man)
	}
	var buf bytes.Buffer
	zw, _ := zstd.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	put := func(m member) {
		typ := m.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: m.name, Typeflag: typ, Mode: 0o644, Linkname: m.link, ModTime: time.Unix(0, 0)}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(m.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(m.data)); err != nil {
			t.Fatal(err)
		}
	}
	hasManifest := false
	for _, m := range members {
		if m.name == ManifestName {
			hasManifest = true
			mb, _ := json.Marshal(man)
			m.data = string(mb)
		}
		put(m)
	}
	if !hasManifest {
		mb, _ := json.Marshal(man)
		put(member{name: ManifestName, data: string(mb)})
	}
	tw.Close()
	zw.Close()
	// An attacker seals a crafted bundle as a save does.
	sum := sha256.Sum256(buf.Bytes())
	buf.Write(sumTrailer(sum[:]))
	p := filepath.Join(t.TempDir(), "crafted.tar.zst")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCraftedBundles(t *testing.T) {
	c0 := member{name: "images/images.tar.000000", data: "image bytes"}
	c1 := member{name: "images/images.tar.000001", data: "more image bytes"}
	env := member{name: "deploy/.env", data: "A=1\n"}
	for _, c := range []struct {
		name    string
		members []member
		edit    func(*Manifest)
		is      error
		want    string
	}{
		{"traversal in deploy", []member{c0, {name: "deploy/../../etc/cron.d/x", data: "x"}}, nil, ErrUnsafe,
			`bundle has an unsafe member: "deploy/../../etc/cron.d/x" would be written outside the deployment directory`},
		{"traversal at top", []member{c0, {name: "../x", data: "x"}}, nil, ErrUnsafe,
			`bundle has an unsafe member: "../x" would be written outside the deployment directory`},
		{"absolute", []member{c0, {name: "/etc/passwd", data: "x"}}, nil, ErrUnsafe,
			`bundle has an unsafe member: "/etc/passwd" would be written outside the deployment directory`},
		{"dot element", []member{c0, {name: "deploy/./a", data: "x"}}, nil, ErrUnsafe,
			`bundle has an unsafe member: "deploy/./a" would be written outside the deployment directory`},
		{"backslash", []member{c0, {name: `deploy/..\..\x`, data: "x"}}, nil, ErrUnsafe,
			`bundle has an unsafe member: "deploy/..\\..\\x" would be written outside the deployment directory`},
		{"symlink", []member{c0, {name: "deploy/link", typ: tar.TypeSymlink, link: "/etc/passwd"}}, nil, ErrUnsafe,
			`bundle has an unsafe member: "deploy/link" is not a regular file (tar type "2")`},
		{"hard link", []member{c0, {name: "deploy/link", typ: tar.TypeLink, link: "/etc/shadow"}}, nil, ErrUnsafe,
			`bundle has an unsafe member: "deploy/link" is not a regular file (tar type "1")`},
		{"unexpected", []member{c0, {name: "other/file", data: "x"}}, nil, ErrCorrupt,
			`bundle is corrupt: unexpected member "other/file"`},
		{"sha mismatch", []member{c0, env}, func(m *Manifest) { m.Members[1].SHA256 = strings.Repeat("0", 64) }, ErrCorrupt,
			`bundle is corrupt: member "deploy/.env" has sha256 ` + sha("A=1\n") + `; the manifest says ` + strings.Repeat("0", 64)},
		{"size mismatch", []member{c0, env}, func(m *Manifest) { m.Members[1].Size = 3 }, ErrCorrupt,
			`bundle is corrupt: member "deploy/.env" has 4 bytes; the manifest says 3`},
		{"not listed", []member{c0, env}, func(m *Manifest) { m.Members = m.Members[:1] }, ErrCorrupt,
			`bundle is corrupt: member "deploy/.env" is not in the manifest`},
		{"missing", []member{c0}, func(m *Manifest) { m.Members = append(m.Members, Member{Name: "deploy/x", Size: 1, SHA256: sha("x")}) }, ErrCorrupt,
			`bundle is corrupt: member "deploy/x", listed in the manifest, is missing`},
		{"chunk order", []member{c1, c0}, nil, ErrCorrupt,
			`bundle is corrupt: member "images/images.tar.000001" where "images/images.tar.000000" belongs`},
		{"file before images", []member{env, c0}, nil, ErrCorrupt,
			`bundle is corrupt: member "deploy/.env" comes before any image`},
		{"after manifest", []member{c0, {name: ManifestName}, env}, nil, ErrCorrupt,
			`bundle is corrupt: member "deploy/.env" comes after the manifest`},
		{"twice", []member{c0, env, env}, func(m *Manifest) { m.Members = m.Members[:2] }, ErrCorrupt,
			`bundle is corrupt: member "deploy/.env" appears twice`},
		{"no images", []member{c0}, func(m *Manifest) { m.Images = nil }, ErrCorrupt,
			`bundle is corrupt: the manifest lists no image`},
		{"format", []member{c0}, func(m *Manifest) { m.Format = "deepflow-compose-bundle/9" }, ErrFormat,
			`unknown bundle format "deepflow-compose-bundle/9" (this deepflow-compose reads deepflow-compose-bundle/2)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := craft(t, c.members, c.edit)
			_, err := Verify(context.Background(), VerifyOptions{File: p})
			if !errors.Is(err, c.is) || err.Error() != p+": "+c.want {
				t.Errorf("err = %v\nwant  %s: %s", err, p, c.want)
			}
		})
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestCraftedNoManifest(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := zstd.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "images/images.tar.000000", Typeflag: tar.TypeReg, Size: 2, Mode: 0o644})
	tw.Write([]byte("ab"))
	tw.Close()
	zw.Close()
	p := filepath.Join(t.TempDir(), "b.tar.zst")
	os.WriteFile(p, buf.Bytes(), 0o600)
	_, err := Verify(context.Background(), VerifyOptions{File: p})
	want := p + `: bundle is corrupt: it ends after member "images/images.tar.000000", before its manifest: the file is truncated or not a bundle`
	if !errors.Is(err, ErrCorrupt) || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}

// The directory name in the manifest is used only when -o is not given;
// one that would leave the current directory is refused.
func TestLoadRefusesManifestDir(t *testing.T) {
	for _, dir := range []string{"..", "../x", "/tmp/x", ""} {
		p := craft(t, []member{{name: "images/images.tar.000000", data: "x"}}, func(m *Manifest) { m.Dir = dir })
		f := &fakeEngine{}
		_, err := Load(context.Background(), LoadOptions{File: p, Engine: f})
		if !errors.Is(err, ErrUnsafe) || f.loads != 0 {
			t.Errorf("dir %q: err = %v, loads %d; want ErrUnsafe and none", dir, err, f.loads)
		}
	}
}

func TestLoadRefusesNonEmptyTarget(t *testing.T) {
	dir, d := renderDir(t)
	f := newFake(d, 1000)
	b := saveFake(t, dir, f, 0)
	target := t.TempDir()
	os.WriteFile(filepath.Join(target, "keep"), []byte("mine"), 0o644)
	_, err := Load(context.Background(), LoadOptions{File: b, OutDir: target, Engine: f})
	want := "target directory is not empty: " + target + "; choose another with -o, or move it away"
	if !errors.Is(err, ErrExists) || err.Error() != want || f.loads != 0 {
		t.Errorf("err = %v (loads %d)\nwant  %s and no load", err, f.loads, want)
	}
	// An empty directory is fine.
	empty := t.TempDir()
	if _, err := Load(context.Background(), LoadOptions{File: b, OutDir: empty, Engine: f}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(empty, "docker-compose.yaml")); err != nil {
		t.Error(err)
	}
}

// Without -o the target is the manifest's directory, here: one that is
// not empty is refused before any image reaches the engine.
func TestLoadRefusesNonEmptyDefaultTarget(t *testing.T) {
	dir, d := renderDir(t)
	f := newFake(d, 1000)
	b := saveFake(t, dir, f, 0)
	here := t.TempDir()
	t.Chdir(here)
	target := filepath.Join(here, filepath.Base(dir))
	os.Mkdir(target, 0o755)
	os.WriteFile(filepath.Join(target, "keep"), []byte("mine"), 0o644)
	_, err := Load(context.Background(), LoadOptions{File: b, Engine: f})
	want := "target directory is not empty: " + target + "; choose another with -o, or move it away"
	if !errors.Is(err, ErrExists) || err.Error() != want || f.loads != 0 {
		t.Errorf("err = %v (loads %d)\nwant  %s and no load", err, f.loads, want)
	}
}

func TestLoadChecksIDs(t *testing.T) {
	dir, d := renderDir(t)
	f := newFake(d, 1000)
	b := saveFake(t, dir, f, 0)
	// The engine now has another image under one name.
	f.images["127.0.0.1:5999/deepflow-ce/mysql:8.0.39"] = engine.LocalImage{ID: "sha256:other"}
	_, err := Load(context.Background(), LoadOptions{File: b, OutDir: filepath.Join(t.TempDir(), "d"), Engine: f})
	if !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), "127.0.0.1:5999/deepflow-ce/mysql:8.0.39 is sha256:other on the engine") {
		t.Errorf("err = %v, want ErrLoad naming mysql", err)
	}
}

func TestPushNeedsRegistry(t *testing.T) {
	_, err := Load(context.Background(), LoadOptions{File: "x", Engine: &fakeEngine{}, Push: true})
	if err == nil || err.Error() != "bundle load: --push needs --registry: the registry to push to" {
		t.Errorf("err = %v", err)
	}
}

func TestMirrorRef(t *testing.T) {
	for _, c := range [][3]string{
		{"harbor.local/deepflow", "registry.cn-hongkong.aliyuncs.com/deepflow-ce/mysql:8.0.39", "harbor.local/deepflow/mysql:8.0.39"},
		{"harbor.local/deepflow/", "a/b/deepflow-agent:v7.1", "harbor.local/deepflow/deepflow-agent:v7.1"},
		{"127.0.0.1:5000", "grafana:10.1.5", "127.0.0.1:5000/grafana:10.1.5"},
		{"m", "r/x@sha256:" + strings.Repeat("a", 64), "m/x@sha256:" + strings.Repeat("a", 64)},
	} {
		if got := MirrorRef(c[0], c[1]); got != c[2] {
			t.Errorf("MirrorRef(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

// Save leaves out a data dir placed inside the deployment directory.
func TestSaveSkipsDataDirInside(t *testing.T) {
	root := t.TempDir()
	dir, d := renderDir(t, "dataDir="+filepath.Join(root, "ignored"))
	data := filepath.Join(dir, "data")
	d.Settings.DataDir = data
	os.MkdirAll(filepath.Join(data, "mysql"), 0o755)
	os.WriteFile(filepath.Join(data, "mysql", "ibdata1"), []byte("big"), 0o644)
	files, err := deployFiles(d, filepath.Join(root, "b.tar.zst"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasPrefix(f.rel, "data/") {
			t.Errorf("data dir file %s in the bundle", f.rel)
		}
	}
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(1000, 0)
	m := newMeter(Progress{W: &buf, TTY: true}, "save", 100<<20)
	m.now = func() time.Time { return clock }
	m.start, m.drawn = clock, clock
	clock = clock.Add(2 * time.Second)
	m.add(25 << 20)
	want := "\rsave [======                  ]  25% 25.0 MiB / 100.0 MiB  12.5 MiB/s  ETA 6s\x1b[K"
	if buf.String() != want {
		t.Errorf("bar %q\nwant %q", buf.String(), want)
	}
	buf.Reset()
	m.p.TTY = false
	clock = clock.Add(2 * time.Second)
	m.add(25 << 20)
	clock = clock.Add(4 * time.Second)
	m.done()
	want = "save: 50% (50.0 MiB of 100.0 MiB, 12.5 MiB/s)\nsave: 50.0 MiB in 8s (6.2 MiB/s)\n"
	if buf.String() != want {
		t.Errorf("plain %q\nwant %q", buf.String(), want)
	}
}
