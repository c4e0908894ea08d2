package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
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
)

// Frames: what the writer cuts, frameCheck lists with their sizes and the
// reader puts back together, byte for byte, the same way every time.
func TestFramesRoundTrip(t *testing.T) {
	in := frameInput(2*frameSize + frameSize/3)
	write := func() []byte {
		var buf bytes.Buffer
		fw, err := newFrameWriter(&buf, DefaultLevel)
		if err != nil {
			t.Fatal(err)
		}
		// Odd-sized writes, and a frame ended early by Flush.
		fw.Write(in[:1000])
		fw.Flush()
		for p := in[1000:]; len(p) > 0; {
			k := min(len(p), 777_777)
			if _, err := fw.Write(p[:k]); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	out := write()
	if !bytes.Equal(out, write()) {
		t.Fatal("the same input gave two different outputs")
	}
	sum := sha256.Sum256(out)
	sealedOut := append(bytes.Clone(out), sumTrailer(sum[:])...)
	fc := &frameCheck{r: bytes.NewReader(sealedOut)}
	if _, err := io.Copy(io.Discard, fc); err != nil || fc.bad != nil {
		t.Fatalf("frame check: %v %v", err, fc.bad)
	}
	want := []int64{1000, frameSize, frameSize, int64(len(in)) - 1000 - 2*frameSize}
	var got []int64
	for _, f := range fc.list {
		got = append(got, f.content)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || fc.list[0].off != 0 || fc.trailerAt != int64(len(out)) {
		t.Fatalf("frames %v (first at %d, trailer at %d), want sizes %v, first at 0, trailer at %d", got, fc.list[0].off, fc.trailerAt, want, len(out))
	}
	fr, err := newFrameReader(bytes.NewReader(out), fc.list, fc.trailerAt)
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	dec, err := io.ReadAll(fr)
	if err != nil || !bytes.Equal(dec, in) {
		t.Fatalf("decoded %d bytes (%v), want the %d written", len(dec), err, len(in))
	}
	// Any zstd decoder reads the frames as one stream.
	zr, _ := zstd.NewReader(bytes.NewReader(out))
	defer zr.Close()
	if all, err := io.ReadAll(zr); err != nil || !bytes.Equal(all, in) {
		t.Fatalf("stream decoder: %d bytes, %v", len(all), err)
	}
}

// A frame whose content is not the size its header states is refused.
// gatedEncoder compresses once open is closed.
type gatedEncoder struct {
	frameEncoder
	open chan struct{}
}

func (g gatedEncoder) encode(dst, src []byte) ([]byte, error) {
	<-g.open
	return g.frameEncoder.encode(dst, src)
}

// Flush takes a free output buffer or makes one, so a frame can come back
// to a full pool: the writer made one while the frame's buffer was on its
// way back. Close must still finish; it used to wait forever.
func TestFrameWriterFullPool(t *testing.T) {
	var buf bytes.Buffer
	fw, err := newFrameWriter(&buf, DefaultLevel)
	if err != nil {
		t.Fatal(err)
	}
	g := gatedEncoder{fw.enc, make(chan struct{})}
	fw.enc = g
	in := frameInput(frameSize)
	if _, err := fw.Write(in); err != nil {
		t.Fatal(err)
	}
	// The frame is in flight with a buffer of its own; the pool fills up.
	for len(fw.outs) < cap(fw.outs) {
		fw.outs <- nil
	}
	close(g.open)
	done := make(chan error, 1)
	go func() { done <- fw.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Close did not return with the frame written")
	}
	zr, _ := zstd.NewReader(bytes.NewReader(buf.Bytes()))
	defer zr.Close()
	if all, err := io.ReadAll(zr); err != nil || !bytes.Equal(all, in) {
		t.Fatalf("decoded %d bytes (%v), want the %d written", len(all), err, len(in))
	}
}

func TestFrameReaderChecksSizes(t *testing.T) {
	enc, _ := zstd.NewWriter(nil)
	a := enc.EncodeAll([]byte("hello"), nil)
	fr, _ := newFrameReader(bytes.NewReader(a), []frameInfo{{off: 0, content: 6}}, int64(len(a)))
	defer fr.Close()
	if _, err := io.ReadAll(fr); err == nil || err.Error() != "a frame holds 5 bytes where its header states 6" {
		t.Fatalf("err = %v", err)
	}
}

// tarEngine reads what it is given as the engine does: as a tar, which it
// takes only once it reaches the tar's end.
type tarEngine struct {
	*fakeEngine
	members []string
	ended   bool  // it read the end of the archive
	err     error // how its upload ended otherwise
}

func (e *tarEngine) LoadImages(_ context.Context, r io.Reader) ([]string, error) {
	e.loads++
	e.members, e.ended, e.err = nil, false, nil
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			e.ended = true
			break
		}
		if err != nil {
			e.err = err
			return nil, err
		}
		e.members = append(e.members, hdr.Name)
	}
	// What follows the end, the engine leaves unread.
	return nil, nil
}

// imagesTar is a tar of n members of random bytes, as `docker save`
// writes one.
func imagesTar(t *testing.T, n int, seed uint64) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	r := rand.New(rand.NewPCG(seed, 9))
	for i := range n {
		b := make([]byte, 20_000+i*3_001)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("blobs/sha256/%064x", i), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A bundle save writes streams into the engine: the engine has the images
// before the bundle's last member is read. It takes them only when the
// whole bundle matched its manifest: otherwise the upload breaks off before
// the end of the images' tar, wherever in the bundle the fault is — also
// when the images' tar ends early and a later chunk is what is wrong.
func TestStreamHoldsBackTheEnd(t *testing.T) {
	dir, d := renderDir(t)
	whole := imagesTar(t, 4, 1)
	early := append(imagesTar(t, 2, 2), imagesTar(t, 2, 3)...) // an end in the middle
	wrongSHA := strings.Repeat("0", 64)
	for _, c := range []struct {
		name  string
		save  []byte
		edit  func([]TarMember, *Manifest) []TarMember
		want  string // the error, after the file's name; "" for none
		ended bool
	}{
		{"sound", whole, nil, "", true},
		{"sound, tar ends early", early, nil, "", true},
		{"file member differs", whole, func(ms []TarMember, m *Manifest) []TarMember {
			for i := range m.Members {
				if m.Members[i].Name == "deploy/.env" {
					m.Members[i].SHA256 = wrongSHA
				}
			}
			return ms
		}, `bundle is corrupt: member "deploy/.env" has sha256 `, false},
		{"last chunk differs, tar ends early", early, func(ms []TarMember, m *Manifest) []TarMember {
			last := ""
			for _, x := range ms {
				if chunkRE.MatchString(x.Name) {
					last = x.Name
				}
			}
			for i := range m.Members {
				if m.Members[i].Name == last {
					m.Members[i].SHA256 = wrongSHA
				}
			}
			return ms
		}, `bundle is corrupt: member "images/images.tar.`, false},
		{"member not listed", whole, func(ms []TarMember, m *Manifest) []TarMember {
			return append(ms, TarMember{Name: "deploy/extra", Data: []byte("x")})
		}, `bundle is corrupt: member "deploy/extra" is not in the manifest`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(d, 0)
			f.save = c.save
			e := &tarEngine{fakeEngine: f}
			file := saveFake(t, dir, f, 7_000)
			if c.edit != nil {
				Reseal(t, file, c.edit)
			}
			target := filepath.Join(t.TempDir(), "out")
			_, err := Load(context.Background(), LoadOptions{File: file, OutDir: target, Engine: e})
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if !errors.Is(err, ErrCorrupt) || !strings.HasPrefix(err.Error(), file+": "+c.want) {
				t.Fatalf("err = %v\nwant  %s: %s…", err, file, c.want)
			}
			if e.loads != 1 {
				t.Fatalf("the engine was called %d times; a saved bundle streams into it once", e.loads)
			}
			if e.ended != c.ended {
				t.Errorf("the engine read the end of the images' tar: %v, want %v (members %v, error %v)", e.ended, c.ended, e.members, e.err)
			}
			if c.ended {
				if len(e.members) == 0 {
					t.Error("the engine got no member")
				}
				return
			}
			if e.err == nil {
				t.Error("the engine's upload ended cleanly; it must break off")
			}
			if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused bundle created %s", target)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), ".*")); len(left) > 0 {
				t.Errorf("load left %v", left)
			}
		})
	}
}

// The engine gets exactly the bytes saved, the held end included.
func TestStreamPassesEveryByte(t *testing.T) {
	dir, d := renderDir(t)
	f := newFake(d, 0)
	f.save = append(imagesTar(t, 3, 4), make([]byte, 10_000)...) // zero padding after the end
	file := saveFake(t, dir, f, 5_000)
	if _, err := Load(context.Background(), LoadOptions{File: file, OutDir: filepath.Join(t.TempDir(), "out"), Engine: f}); err != nil {
		t.Fatal(err)
	}
	if f.loads != 1 || !bytes.Equal(f.loaded, f.save) {
		t.Fatalf("engine got %d loads of %d bytes; want 1 of exactly the %d saved", f.loads, len(f.loaded), len(f.save))
	}
}

// A bundle whose manifest is not alone in its last frame (an earlier
// save's, in one frame) loads the spooled way: the engine is called only
// after the whole bundle matched.
func TestOneFrameBundleSpools(t *testing.T) {
	dir, d := renderDir(t)
	f := newFake(d, 0)
	f.save = imagesTar(t, 2, 5)
	file := saveFake(t, dir, f, 8_000)
	// Rewrite it as one zstd stream, as version 1 of save did.
	raw, _ := os.ReadFile(file)
	zr, _ := zstd.NewReader(bytes.NewReader(raw))
	plain, err := io.ReadAll(zr)
	zr.Close()
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := zstd.NewWriter(nil)
	one := enc.EncodeAll(plain, nil)
	sum := sha256.Sum256(one)
	if err := os.WriteFile(file, append(one, sumTrailer(sum[:])...), 0o600); err != nil {
		t.Fatal(err)
	}
	ff, size, _ := open(file)
	defer ff.Close()
	if c, damaged, err := precheck(context.Background(), ff, size, Progress{}); c != nil || damaged || err != nil {
		t.Fatalf("precheck of a one-frame bundle: %v, %v, %v; want the spooled way", c, damaged, err)
	}
	e := &tarEngine{fakeEngine: f}
	if _, err := Load(context.Background(), LoadOptions{File: file, OutDir: filepath.Join(t.TempDir(), "out"), Engine: e}); err != nil {
		t.Fatal(err)
	}
	if !e.ended || len(e.members) != 2 {
		t.Fatalf("engine: ended %v, members %v", e.ended, e.members)
	}
}

// failingEngine refuses an upload after reading part of it, or none.
type failingEngine struct {
	*fakeEngine
	read int
}

func (e *failingEngine) LoadImages(_ context.Context, r io.Reader) ([]string, error) {
	e.loads++
	if _, err := io.CopyN(io.Discard, r, int64(e.read)); err != nil {
		return nil, err
	}
	return nil, errors.New("engine: no space left on device")
}

// An engine that gives up mid-stream, or before reading, is what load
// reports; the reading of the bundle stops and leaves nothing behind.
func TestStreamEngineFails(t *testing.T) {
	dir, d := renderDir(t)
	for _, read := range []int{0, 30_000} {
		t.Run(fmt.Sprint(read), func(t *testing.T) {
			f := newFake(d, 0)
			f.save = imagesTar(t, 6, 6)
			file := saveFake(t, dir, f, 8_000)
			target := filepath.Join(t.TempDir(), "out")
			_, err := Load(context.Background(), LoadOptions{File: file, OutDir: target, Engine: &failingEngine{fakeEngine: f, read: read}})
			if err == nil || err.Error() != "engine: no space left on device" {
				t.Fatalf("err = %v, want the engine's", err)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), "*")); len(left) > 0 {
				t.Errorf("load left %v", left)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), ".*")); len(left) > 0 {
				t.Errorf("load left %v", left)
			}
		})
	}
}

// FuzzFeed: whatever bytes the images' tar holds, a reader that parses
// them as the engine does never reaches the tar's end unless the bundle is
// sound, and then it gets every byte, in order.
func FuzzFeed(f *testing.F) {
	tarOf := func(seed uint64, n int) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		r := rand.New(rand.NewPCG(seed, 1))
		for i := range n {
			b := make([]byte, 100+int(r.Uint32()%3000))
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("m%d", i), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
			tw.Write(b)
		}
		tw.Close()
		return buf.Bytes()
	}
	f.Add(tarOf(1, 3), false)
	f.Add(tarOf(1, 3), true)
	f.Add(append(tarOf(2, 1), tarOf(3, 2)...), false)
	f.Add(append(tarOf(4, 2), make([]byte, 4096)...), false)
	f.Add([]byte("not a tar at all"), false)
	f.Add(sparseTar(), true)
	f.Add(make([]byte, 2048), false)
	f.Fuzz(func(t *testing.T, data []byte, ok bool) {
		fd, err := newFeed(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			got   []byte
			ended bool
		}
		done := make(chan result)
		go func() {
			var got bytes.Buffer
			tee := io.TeeReader(fd, &got)
			tr := tar.NewReader(tee)
			ended := false
			for {
				_, err := tr.Next()
				if errors.Is(err, io.EOF) {
					ended = true
				}
				if err != nil {
					break
				}
			}
			io.Copy(io.Discard, tee)
			done <- result{got.Bytes(), ended}
		}()
		// In pieces, as the bundle's chunks come.
		for p := data; len(p) > 0; {
			k := min(len(p), 700)
			if _, err := fd.in.ReadFrom(bytes.NewReader(p[:k])); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
		fd.finish(ok)
		r := <-done
		if !ok && r.ended {
			t.Fatalf("a refused bundle's tar reached its end (%d of %d bytes passed)", len(r.got), len(data))
		}
		if ok && !bytes.Equal(r.got, data) {
			t.Fatalf("a sound bundle passed %d bytes, not the %d it holds", len(r.got), len(data))
		}
	})
}

// sparseTar is an old-GNU sparse member stating 8 GiB of holes and no
// data, then the end: as a stream it reads as 8 GiB of zeros.
func sparseTar() []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "holes", Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatGNU})
	tw.Close()
	b := buf.Bytes()
	b[156] = tar.TypeGNUSparse
	copy(b[483:495], fmt.Sprintf("%011o\x00", int64(8)<<30))
	sum := 0
	copy(b[148:156], "        ")
	for _, c := range b[:512] {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// cancelEngine cancels the load once it has read part of the images.
type cancelEngine struct {
	*tarEngine
	cancel func()
}

func (e *cancelEngine) LoadImages(ctx context.Context, r io.Reader) ([]string, error) {
	return e.tarEngine.LoadImages(ctx, &cancelAfter{r: r, n: 20_000, cancel: e.cancel})
}

type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n < 0 && c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
	return n, err
}

// Interrupted mid-stream (Ctrl-C): the engine never reads the end, and the
// message says nothing was loaded.
func TestStreamInterrupted(t *testing.T) {
	dir, d := renderDir(t)
	f := newFake(d, 0)
	f.save = imagesTar(t, 8, 7)
	file := saveFake(t, dir, f, 8_000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := &cancelEngine{tarEngine: &tarEngine{fakeEngine: f}, cancel: cancel}
	target := filepath.Join(t.TempDir(), "out")
	_, err := Load(ctx, LoadOptions{File: file, OutDir: target, Engine: e})
	want := "bundle load: interrupted before the bundle was verified, nothing loaded: context canceled"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	if e.ended {
		t.Error("the engine read the end of the images' tar")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), "*")); len(left) > 0 {
		t.Errorf("load left %v", left)
	}
}
