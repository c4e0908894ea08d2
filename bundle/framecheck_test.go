package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// frameInput is half random, half repetitive, so that frames hold both
// raw and compressed blocks.
func frameInput(n int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, n)
	for i := range b {
		if (i/100_000)%2 == 0 {
			b[i] = byte(r.Uint32())
		} else {
			b[i] = "deepflow"[i%8]
		}
	}
	return b
}

// frameCheck notes what a decoder skips in silence, and says nothing
// about whole frames.
func TestFrameCheck(t *testing.T) {
	enc, _ := zstd.NewWriter(nil)
	a := enc.EncodeAll([]byte(strings.Repeat("a", 1000)), nil)
	b := enc.EncodeAll(frameInput(300_000), nil)
	nosum, _ := zstd.NewWriter(nil, zstd.WithEncoderCRC(false))
	c := nosum.EncodeAll([]byte("no checksum"), nil)
	skip := binary.LittleEndian.AppendUint32(nil, 0x184D2A57)
	skip = binary.LittleEndian.AppendUint32(skip, 3)
	skip = append(skip, 1, 2, 3)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	sealed := func(parts ...[]byte) []byte {
		body := cat(parts...)
		sum := sha256.Sum256(body)
		return cat(body, sumTrailer(sum[:]))
	}
	flipped := sealed(a, b)
	flipped[len(a)+100] ^= 1
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"frames", sealed(a, b, c, a), ""},
		{"no checksum frame", cat(a, b), `bundle is corrupt: it ends without its checksum frame: it is truncated, or was written by another tool or an older deepflow-compose (save it again)`},
		{"changed", flipped, `bundle is corrupt: its checksum does not match its content: the file was changed after it was written`},
		{"after the checksum", cat(sealed(a), a), `bundle is corrupt: data was appended after its checksum frame, at byte ` + strconv.Itoa(len(sealed(a)))},
		{"checksum alone", sumTrailer(make([]byte, 32)), `bundle is corrupt: it holds data that is not part of the bundle: a skippable zstd frame at byte 0`},
		{"skippable between", cat(a, skip, b), `bundle is corrupt: it holds data that is not part of the bundle: a skippable zstd frame at byte ` + strconv.Itoa(len(a))},
		{"skippable after", cat(a, b, skip), `bundle is corrupt: it holds data that is not part of the bundle: a skippable zstd frame at byte ` + strconv.Itoa(len(a)+len(b))},
		{"skippable first", cat(skip, a), `bundle is corrupt: it holds data that is not part of the bundle: a skippable zstd frame at byte 0`},
		{"garbage after", cat(a, []byte("garbage")), `bundle is corrupt: data was appended after its last zstd frame, at byte ` + strconv.Itoa(len(a))},
		{"not zstd", []byte("hello, world"), `bundle is corrupt: it is not zstd-compressed`},
		{"cut", cat(a, b[:len(b)-1]), `bundle is corrupt: the file is truncated: it ends inside a zstd frame, at byte ` + strconv.Itoa(len(a)+len(b)-1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			fc := &frameCheck{r: bytes.NewReader(c.data)}
			// Small reads: the state must carry across them.
			buf := make([]byte, 7)
			for {
				if _, err := fc.Read(buf); err != nil {
					break
				}
			}
			got := ""
			if fc.bad != nil {
				got = fc.bad.Error()
			}
			if got != c.want {
				t.Errorf("bad = %q\nwant  %q", got, c.want)
			}
		})
	}
}

// Issue 11 item 15: what load refuses, verify refuses too, and the other
// way round; neither loads anything.
func TestVerifyRefusesWhatLoadRefuses(t *testing.T) {
	c0 := member{name: "images/images.tar.000000", data: "image bytes"}
	enc, _ := zstd.NewWriter(nil)
	skip := binary.LittleEndian.AppendUint32(nil, 0x184D2A50)
	skip = binary.LittleEndian.AppendUint32(skip, 4)
	skip = append(skip, "evil"...)
	for _, c := range []struct {
		name   string
		dir    string
		append []byte
		is     error
		want   string
	}{
		{"absolute dir", "/etc/cron.d", nil, ErrUnsafe, `bundle has an unsafe member: the manifest names the directory "/etc/cron.d"; a bundle names a directory by its plain name`},
		{"parent dir", "../x", nil, ErrUnsafe, `bundle has an unsafe member: the manifest names the directory "../x"; a bundle names a directory by its plain name`},
		{"dot-dot", "..", nil, ErrUnsafe, `bundle has an unsafe member: the manifest names the directory ".."; a bundle names a directory by its plain name`},
		{"no dir", "", nil, ErrUnsafe, `bundle has an unsafe member: the manifest names the directory ""; a bundle names a directory by its plain name`},
		{"frame appended", "deepflow", enc.EncodeAll([]byte("appended"), nil), ErrCorrupt, `bundle is corrupt: data was appended after the end of its archive: 8 bytes`},
		{"skippable appended", "deepflow", skip, ErrCorrupt, `bundle is corrupt: it holds data that is not part of the bundle: a skippable zstd frame at byte `},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := craft(t, []member{c0}, func(m *Manifest) { m.Dir = c.dir })
			if c.append != nil {
				data, _ := os.ReadFile(p)
				if err := os.WriteFile(p, append(data, c.append...), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, verr := Verify(context.Background(), VerifyOptions{File: p})
			f := &fakeEngine{}
			target := filepath.Join(t.TempDir(), "out")
			_, lerr := Load(context.Background(), LoadOptions{File: p, OutDir: target, Engine: f})
			for what, err := range map[string]error{"verify": verr, "load": lerr} {
				if !errors.Is(err, c.is) || !strings.HasPrefix(err.Error(), p+": "+c.want) {
					t.Errorf("%s: err = %v\nwant      %s: %s…", what, err, p, c.want)
				}
			}
			if f.loads != 0 {
				t.Errorf("load reached the engine %d times", f.loads)
			}
			if _, err := os.Stat(target); err == nil {
				t.Errorf("load created %s", target)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), ".*")); len(left) > 0 {
				t.Errorf("load left %v", left)
			}
		})
	}
}

// Issue 11 item 13: -o naming a directory is refused at once, in plain
// words, and the directory is left as it was.
func TestSaveToDirectory(t *testing.T) {
	dir, d := renderDir(t)
	f := newFake(d, 100)
	out := t.TempDir()
	_, err := Save(context.Background(), SaveOptions{Dir: dir, Out: out, Engine: f})
	want := "bundle save: " + out + " is a directory; give -o the bundle file to write, such as " + filepath.Join(out, "deepflow-bundle.tar.zst")
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("save left %v in the directory", ents)
	}
}

// TestEveryFlipIsCaught: zstd has bits no decoder reads, so a flipped bit
// can leave every member checksum intact (seen at one offset of the
// corruption test once the rendered files moved it there); the checksum
// frame catches each one. Offsets are spread over the whole file.
func TestEveryFlipIsCaught(t *testing.T) {
	dir, d := renderDir(t)
	f := newFake(d, 50_000)
	data, err := os.ReadFile(saveFake(t, dir, f, 8000))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "b.tar.zst")
	n := min(len(data), 1500)
	for i := range n {
		off := i * len(data) / n
		b := bytes.Clone(data)
		b[off] ^= 1 << (i % 8)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(context.Background(), VerifyOptions{File: p}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("bit %d of byte %d flipped: verify says %v", i%8, off, err)
		}
	}
}
