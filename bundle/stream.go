package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
)

// A bundle that save wrote is loaded in one pass, with nothing spooled:
//
//  1. The whole file is checked without decoding (frameCheck): its
//     framing and its checksum frame. That is cheap, and any damage to the
//     file stops the load here.
//  2. The manifest, alone in the last frame, is read and checked.
//  3. The frames are decoded several at once and the images' tar streams
//     into the engine while every member is checked against the manifest.
//     The engine takes images only once it has read the end of their tar,
//     so that end is held back (feed) until the whole bundle has matched
//     its manifest; on any difference the engine's request is broken off
//     and it loads nothing.
//
// A file that fails step 1 is refused there, worded as Verify words it.
// Any other bundle that does not fit — one from an earlier save, in one
// frame; a manifest that does not read from the last frame — goes the way
// of unpack: verified whole first, the images spooled meanwhile.

// checked is what step 1 and 2 found.
type checked struct {
	fc  *frameCheck
	man *Manifest
}

// precheck runs steps 1 and 2. It returns nil when the bundle must go the
// spooled way, and says so when that is because the file is damaged; only
// a failure to read the file is an error.
func precheck(ctx context.Context, f *os.File, size int64, p Progress) (c *checked, damaged bool, err error) {
	m := newMeter(p, "check", size)
	fc := &frameCheck{r: &countReader{r: f, m: m}}
	if _, err := io.CopyBuffer(onlyWriter{io.Discard}, fc, make([]byte, spoolBuf)); err != nil {
		return nil, false, err
	}
	m.done()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, false, err
	}
	if fc.bad != nil || !fc.sealed {
		return nil, true, nil
	}
	c, err = prefetch(ctx, f, fc)
	return c, false, err
}

// prefetch runs step 2 on a file step 1 found sound.
func prefetch(ctx context.Context, f *os.File, fc *frameCheck) (*checked, error) {
	if fc.tooMany || len(fc.list) < 2 || ctx.Err() != nil {
		return nil, ctx.Err()
	}
	for _, fi := range fc.list {
		if fi.content < 0 || fi.content > maxStreamFrame {
			return nil, nil
		}
	}
	last := fc.list[len(fc.list)-1]
	in := make([]byte, fc.trailerAt-last.off)
	if _, err := f.ReadAt(in, last.off); err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxStreamFrame))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	out, err := dec.DecodeAll(in, nil)
	if err != nil {
		return nil, nil
	}
	tr := tar.NewReader(bytes.NewReader(out))
	hdr, err := tr.Next()
	if err != nil || hdr.Name != ManifestName || hdr.Typeflag != tar.TypeReg {
		return nil, nil
	}
	man, err := readManifest(tr, hdr.Size)
	if err != nil || checkManifest(man) != nil {
		return nil, nil
	}
	if _, err := tr.Next(); !errors.Is(err, io.EOF) {
		return nil, nil
	}
	return &checked{fc: fc, man: man}, nil
}

// stream runs step 3: it unpacks the directory into a temporary one in
// parent and hands the images to the engine as they are read.
func stream(ctx context.Context, o LoadOptions, f *os.File, c *checked, parent, target string) (*staged, error) {
	st, root, err := stage(o, parent, target, false)
	if err != nil {
		return nil, err
	}
	defer root.Close()

	fr, err := newFrameReader(f, c.fc.list, c.fc.trailerAt)
	if err != nil {
		return st.fail(err)
	}
	defer fr.Close()

	fd, err := newFeed(parent)
	if err != nil {
		return st.fail(err)
	}
	loaded := make(chan error, 1)
	go func() {
		_, err := o.Engine.LoadImages(ctx, fd)
		// Whatever the engine left unread, the bundle's reader must not
		// wait on.
		fd.in.CloseRead(errFeed)
		loaded <- err
	}()

	m := newMeter(o.Progress, "load", c.man.Size())
	visit := func(hdr *tar.Header, body io.Reader) error {
		// The bar counts the members' bytes, as the manifest's total
		// does: a chunk at its end (the pipe takes its body whole).
		if chunkRE.MatchString(hdr.Name) {
			n, err := fd.in.ReadFrom(body)
			m.add(int(n))
			if err != nil {
				if errors.Is(err, errFeed) {
					return err
				}
				return truncated(in(hdr.Name), err)
			}
			return nil
		}
		return writeMember(root, strings.TrimPrefix(hdr.Name, deployPrefix), os.FileMode(hdr.Mode)&0o777, &countReader{r: body, m: m})
	}
	// The file is not hashed again: a change since step 1 that alters
	// its content fails a frame's or a member's checksum, and one that
	// does not is harmless.
	man, err := readTar(ctx, fr, visit)
	// Only now may the engine see the end of the images' tar. Its
	// answer, and the image IDs Load checks next, tell whether it took
	// them.
	fd.finish(err == nil)
	if err == nil {
		// The engine unpacks what it was sent only now, which can take
		// longer than the sending: say so rather than leave a full bar.
		m.done()
		if o.Progress.W != nil {
			fmt.Fprintln(o.Progress.W, "load: verified; the engine is importing the images…")
		}
	}
	lerr := <-loaded
	// An engine that failed before reading never started the walk, which
	// closes the held bytes' file.
	fd.once.Do(func() { fd.hold.Close() })
	switch {
	case ctx.Err() != nil && err != nil:
		return st.fail(fmt.Errorf("bundle load: interrupted before the bundle was verified, nothing loaded: %w", ctx.Err()))
	case ctx.Err() != nil:
		return st.fail(fmt.Errorf("bundle load: interrupted while the engine imported the images (it may finish them on its own): %w", ctx.Err()))
	case err != nil && errors.Is(err, errFeed) && lerr != nil:
		return st.fail(lerr)
	case err != nil:
		return st.fail(fmt.Errorf("%s: %w", o.File, err))
	case lerr != nil:
		return st.fail(lerr)
	}
	st.man = man
	return st, nil
}

// errFeed is what the bundle's reader sees once the engine's side of the
// feed has stopped; errRefused ends an upload the bundle failed.
var (
	errFeed    = errors.New("the engine stopped reading the images")
	errRefused = errors.New("bundle load: the bundle failed verification")
)

// feed carries the images' tar from the bundle to the engine. It follows
// the tar as the engine's own reader will, and passes on every byte that
// cannot end it: a member's header once it is whole, a member's content as
// it comes. The end-of-archive blocks, and anything it cannot follow as a
// tar, it holds in an unnamed file, which goes to the engine only once
// finish says the bundle is sound; otherwise the upload is broken off,
// which the engine takes as a failed one.
//
// One goroutine walks the tar into a pipe; Read and WriteTo read that
// pipe. (The engine's HTTP upload reads a byte first, then copies with
// WriteTo: it gets large blocks, not 32 KiB ones.)
type feed struct {
	in      *bufPipe // the images' tar, as the bundle is read
	hold    *os.File
	verdict chan bool

	once sync.Once
	pr   *io.PipeReader
}

func newFeed(dir string) (*feed, error) {
	hold, err := os.CreateTemp(dir, ".images-held-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(hold.Name()); err != nil {
		hold.Close()
		return nil, err
	}
	return &feed{in: newBufPipe(), hold: hold, verdict: make(chan bool, 1)}, nil
}

// finish closes the images' tar and gives the verdict the walk waits for.
func (fd *feed) finish(ok bool) {
	fd.in.CloseWrite(nil)
	fd.verdict <- ok
}

func (fd *feed) start() {
	fd.once.Do(func() {
		pr, pw := io.Pipe()
		fd.pr = pr
		go func() { pw.CloseWithError(fd.walkTo(pw)) }()
	})
}

func (fd *feed) Read(p []byte) (int, error) {
	fd.start()
	return fd.pr.Read(p)
}

func (fd *feed) WriteTo(w io.Writer) (int64, error) {
	fd.start()
	return io.CopyBuffer(onlyWriter{w}, fd.pr, make([]byte, spoolBuf))
}

// walkTo walks the images' tar, writing to w what passes; once finish has
// given its verdict, it writes the held bytes, or fails.
func (fd *feed) walkTo(w io.Writer) error {
	defer fd.hold.Close()
	rec := &recorder{r: fd.in, out: w}
	if err := fd.walk(rec); err != nil {
		// The engine's side failed: the bundle's reader stops too.
		fd.in.CloseRead(fmt.Errorf("%w: %w", errFeed, err))
		return err
	}
	if !<-fd.verdict {
		return errRefused
	}
	if _, err := fd.hold.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.CopyBuffer(onlyWriter{w}, fd.hold, make([]byte, spoolBuf))
	return err
}

// walk passes the tar on until its end, or until it stops reading as one,
// and holds the rest. Its error is a failure to write.
func (fd *feed) walk(rec *recorder) error {
	tr := tar.NewReader(rec)
	buf := make([]byte, spoolBuf)
	for {
		rec.holding = true
		hdr, err := tr.Next()
		rec.holding = false
		if err == nil && !plain(hdr) {
			err = errNotPlain
		}
		if err == nil {
			err = rec.pass()
		}
		if err == nil {
			_, err = io.CopyBuffer(onlyWriter{io.Discard}, tr, buf)
		}
		if rec.err != nil {
			return rec.err
		}
		if err != nil {
			if _, err := fd.hold.Write(rec.pending); err != nil {
				return err
			}
			_, err := io.CopyBuffer(onlyWriter{fd.hold}, fd.in, buf)
			return err
		}
	}
}

// errNotPlain stops the walk at a member it does not pass on.
var errNotPlain = errors.New("not a plain member")

// plain says whether the walk follows a member as it comes. A sparse
// file's stated size is not the bytes it holds, and `docker save` writes
// none: from one on, the rest is held rather than followed.
func plain(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return false
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return false
		}
	}
	return true
}

// recorder reads the images' tar for the walk, passing each byte on to
// the engine as it is read, except while holding: then it keeps them in
// pending for pass.
type recorder struct {
	r       io.Reader
	out     io.Writer
	holding bool
	pending []byte
	err     error // a write to the engine failed
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if r.holding {
		r.pending = append(r.pending, p[:n]...)
	} else if n > 0 {
		if werr := r.write(p[:n]); werr != nil {
			return n, werr
		}
	}
	return n, err
}

func (r *recorder) write(b []byte) error {
	if r.err != nil {
		return r.err
	}
	_, r.err = r.out.Write(b)
	return r.err
}

func (r *recorder) pass() error {
	if len(r.pending) == 0 {
		return nil
	}
	if err := r.write(r.pending); err != nil {
		return err
	}
	r.pending = r.pending[:0]
	return nil
}

// bufPipe is io.Pipe with room for a few blocks: its writer goes on (to
// decode the next bytes) while its reader passes on the last ones.
type bufPipe struct {
	ch, free chan *pipeBlock
	cur      []byte
	blk      *pipeBlock // the block cur is in

	done     chan struct{} // closed by CloseRead
	doneOnce sync.Once
	mu       sync.Mutex
	rerr     error // what writes fail with once the reader closed
	werr     error // what reads end with once the writer closed
}

// pipeBlock is one block of a bufPipe. It is free again once its reader
// and, when a member's hashing was taken over, its hasher are done.
type pipeBlock struct {
	b    []byte
	n    int
	refs atomic.Int32
}

const pipeBlocks = 4

// pipeAll is how many blocks a pipe makes at most: the queue's, the one
// read from, the one filled, and two for the hasher to lag by.
const pipeAll = pipeBlocks + 4

func newBufPipe() *bufPipe {
	p := &bufPipe{ch: make(chan *pipeBlock, pipeBlocks), free: make(chan *pipeBlock, pipeAll), done: make(chan struct{})}
	for range pipeAll {
		p.free <- nil
	}
	return p
}

func (p *bufPipe) release(b *pipeBlock) {
	if b.refs.Add(-1) == 0 {
		p.free <- b
	}
}

// ReadFrom reads r straight into the pipe's blocks. Given a member's body,
// it takes its hashing over: a goroutine hashes each block as it is
// queued, on another core than the one that decodes and reads the bundle.
func (p *bufPipe) ReadFrom(r io.Reader) (int64, error) {
	var hq chan *pipeBlock
	if mb, ok := r.(*memberBody); ok {
		src, h, done := mb.takeOver()
		r = src
		// Never full: it holds no more than the blocks there are.
		hq = make(chan *pipeBlock, pipeAll)
		defer close(hq)
		go func() {
			defer done()
			for b := range hq {
				h.Write(b.b[:b.n])
				p.release(b)
			}
		}()
	}
	var n int64
	for {
		var blk *pipeBlock
		select {
		case blk = <-p.free:
		case <-p.done:
			return n, p.readErr()
		}
		if blk == nil {
			blk = &pipeBlock{b: make([]byte, spoolBuf)}
		}
		k, err := r.Read(blk.b)
		if k > 0 {
			blk.n = k
			blk.refs.Store(1)
			if hq != nil {
				blk.refs.Add(1)
				hq <- blk
			}
			select {
			case p.ch <- blk:
			case <-p.done:
				p.release(blk)
				return n, p.readErr()
			}
			n += int64(k)
		} else {
			p.free <- blk
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func (p *bufPipe) readErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rerr
}

// CloseWrite ends the stream: reads end with err, or io.EOF when nil.
func (p *bufPipe) CloseWrite(err error) {
	if err == nil {
		err = io.EOF
	}
	p.werr = err
	close(p.ch)
}

// CloseRead makes every write, waiting or to come, fail with err.
func (p *bufPipe) CloseRead(err error) {
	p.doneOnce.Do(func() {
		p.mu.Lock()
		p.rerr = err
		p.mu.Unlock()
		close(p.done)
	})
}

// next waits for a block; false at the stream's end.
func (p *bufPipe) next() bool {
	if p.blk != nil {
		p.release(p.blk)
		p.blk = nil
	}
	b, ok := <-p.ch
	if !ok {
		return false
	}
	p.blk, p.cur = b, b.b[:b.n]
	return true
}

func (p *bufPipe) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if !p.next() {
			return 0, p.werr
		}
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}
