package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"

	"github.com/klauspost/compress/zstd"
)

// VerifyOptions say which bundle to check.
type VerifyOptions struct {
	File string
	Progress
}

// Verify checks every member of a bundle against its manifest without
// loading anything, and returns the manifest.
func Verify(ctx context.Context, o VerifyOptions) (*Manifest, error) {
	f, size, err := open(o.File)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := newMeter(o.Progress, "verify", size)
	man, err := read(ctx, &countReader{r: f, m: m}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.File, err)
	}
	m.done()
	return man, nil
}

func open(file string) (*os.File, int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s: not a regular file", file)
	}
	return f, st.Size(), nil
}

// visitFunc sees each member other than the manifest, with its header and
// body. What it leaves unread is read and hashed after it.
type visitFunc func(hdr *tar.Header, body io.Reader) error

// memberBody is a member's body as visit gets it: it hashes what is read
// through it. A reader that reads it whole may take the hashing over, to
// run it on another core (bufPipe.ReadFrom does): readTar then asks for
// the sum only when it compares, at the end.
type memberBody struct {
	r io.Reader
	h hash.Hash
	// taken is closed once the reader that took the hashing over has
	// hashed every byte; nil while readTar hashes.
	taken chan struct{}
}

func (b *memberBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	return n, err
}

// takeOver hands the hashing to the caller, which reads the member to its
// end from the returned reader, hashes it, and calls done.
func (b *memberBody) takeOver() (src io.Reader, h hash.Hash, done func()) {
	b.taken = make(chan struct{})
	return b.r, b.h, func() { close(b.taken) }
}

func (b *memberBody) sum() string {
	if b.taken != nil {
		<-b.taken
	}
	return hex.EncodeToString(b.h.Sum(nil))
}

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, a...)...)
}

// read walks a bundle stream once, hashing every member, and compares the
// result with the manifest at its end. visit may be nil.
//
// Whatever else it finds wrong, a file whose own checksum fails is
// reported as changed: a flipped byte can turn a manifest's format or a
// member's name into something else, and the damage, not that, is the news.
func read(ctx context.Context, r io.Reader, visit visitFunc) (*Manifest, error) {
	fc := &frameCheck{r: r}
	// A forged frame must not make the decoder reserve a huge window; ours
	// are written with zstd's default levels, whose windows are far below.
	// One goroutine decodes fastest here: frames are decoded several at
	// once only by a load that knows where they start (stream.go).
	zr, err := zstd.NewReader(fc, zstd.WithDecoderMaxWindow(64<<20), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, corrupt("%v", err)
	}
	defer zr.Close()
	man, err := readTar(ctx, zr, visit)
	if err != nil && !errors.Is(err, ErrCorrupt) && ctx.Err() == nil {
		if _, cerr := io.Copy(io.Discard, fc); cerr == nil && fc.bad != nil {
			return nil, fc.bad
		}
	}
	if err == nil && fc.bad != nil {
		return nil, fc.bad
	}
	return man, err
}

// readTar walks a bundle's decoded tar stream, hashing every member, and
// compares the result with the manifest at its end.
func readTar(ctx context.Context, zr io.Reader, visit visitFunc) (*Manifest, error) {
	tr := tar.NewReader(zr)
	var (
		man    *Manifest
		got    = map[string]Member{}
		bodies = map[string]*memberBody{}
		order  []string
		chunk  int
		last   = ""
	)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, truncated(where(last), err)
		}
		if err := checkName(hdr.Name); err != nil {
			return nil, err
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: %q is not a regular file (tar type %q)", ErrUnsafe, hdr.Name, string(hdr.Typeflag))
		}
		if man != nil {
			return nil, corrupt("member %q comes after the manifest", hdr.Name)
		}
		if _, dup := got[hdr.Name]; dup {
			return nil, corrupt("member %q appears twice", hdr.Name)
		}
		if hdr.Name == ManifestName {
			if man, err = readManifest(tr, hdr.Size); err != nil {
				return nil, err
			}
			last = ManifestName
			continue
		}
		if mm := chunkRE.FindStringSubmatch(hdr.Name); mm != nil {
			if i, _ := strconv.Atoi(mm[1]); i != chunk {
				return nil, corrupt("member %q where %q belongs", hdr.Name, chunkName(chunk))
			}
			if hdr.Size > maxChunkSize {
				return nil, corrupt("member %q is %d bytes, over the %d a chunk may have", hdr.Name, hdr.Size, maxChunkSize)
			}
			chunk++
		} else if chunk == 0 {
			return nil, corrupt("member %q comes before any image", hdr.Name)
		}
		body := &memberBody{r: tr, h: sha256.New()}
		if visit != nil {
			if err := visit(hdr, body); err != nil {
				return nil, err
			}
		}
		// A reader that took the hashing over read the member whole.
		if body.taken == nil {
			if _, err := io.Copy(io.Discard, body); err != nil {
				return nil, truncated(in(hdr.Name), err)
			}
		}
		got[hdr.Name] = Member{Name: hdr.Name, Size: hdr.Size}
		bodies[hdr.Name] = body
		order = append(order, hdr.Name)
		last = hdr.Name
	}
	// zstd checks a frame's checksum, when it has one, where the frame
	// ends, which may be after the tar's end-of-archive blocks: read to
	// the end. A damaged block can decode to wrong bytes that only such a
	// checksum (or the file's own) catches; the members' own checksums
	// then name what is wrong.
	extra, err := io.Copy(io.Discard, zr)
	for name, b := range bodies {
		m := got[name]
		m.SHA256 = b.sum()
		got[name] = m
	}
	if err != nil {
		if man != nil {
			if cerr := compare(man, got, order); cerr != nil {
				return nil, cerr
			}
		}
		return nil, truncated(where(last), err)
	}
	if man == nil {
		return nil, corrupt("it ends %s, before its manifest: the file is truncated or not a bundle", where(last))
	}
	if err := compare(man, got, order); err != nil {
		return nil, err
	}
	// What the decoder accepts but no save writes: data after the tar's
	// end, a skippable frame. Load would carry it along unread.
	if extra > 0 {
		return nil, corrupt("data was appended after the end of its archive: %d bytes", extra)
	}
	return man, nil
}

func where(last string) string {
	if last == "" {
		return "at its start"
	}
	return fmt.Sprintf("after member %q", last)
}

// truncated words a read error at loc ("after member X", "in member X"):
// a file cut short, or damaged data.
func truncated(loc string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return corrupt("the file is truncated: it ends %s", loc)
	}
	return corrupt("the compressed data is damaged %s: %v", loc, err)
}

func in(name string) string { return fmt.Sprintf("in member %q", name) }

func readManifest(r io.Reader, size int64) (*Manifest, error) {
	if size > maxManifest {
		return nil, corrupt("the manifest is %d bytes, over the %d allowed", size, maxManifest)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, truncated(in(ManifestName), err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, corrupt("the manifest does not parse: %v", err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%w %q (this deepflow-compose reads %s)", ErrFormat, m.Format, Format)
	}
	return &m, nil
}

// compare checks what was read against the manifest, both ways.
func compare(man *Manifest, got map[string]Member, order []string) error {
	if err := checkManifest(man); err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, want := range man.Members {
		listed[want.Name] = true
		g, ok := got[want.Name]
		switch {
		case !ok:
			return corrupt("member %q, listed in the manifest, is missing", want.Name)
		case g.Size != want.Size:
			return corrupt("member %q has %d bytes; the manifest says %d", want.Name, g.Size, want.Size)
		case g.SHA256 != want.SHA256:
			return corrupt("member %q has sha256 %s; the manifest says %s", want.Name, g.SHA256, want.SHA256)
		}
	}
	for _, name := range order {
		if !listed[name] {
			return corrupt("member %q is not in the manifest", name)
		}
	}
	if _, ok := got[chunkName(0)]; !ok {
		return corrupt("it holds no image data")
	}
	return nil
}

// checkManifest checks what the manifest says on its own, before any
// member is compared with it.
func checkManifest(man *Manifest) error {
	if len(man.Images) == 0 {
		return corrupt("the manifest lists no image")
	}
	if err := checkDir(man.Dir); err != nil {
		return err
	}
	for _, im := range man.Images {
		if im.Ref == "" || im.ID == "" {
			return corrupt("the manifest lists an image without a reference or ID: %+v", im)
		}
	}
	listed := map[string]bool{}
	for _, want := range man.Members {
		if listed[want.Name] {
			return corrupt("the manifest lists %q twice", want.Name)
		}
		listed[want.Name] = true
	}
	return nil
}
