package bundle

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// A bundle's tar stream is cut into independent zstd frames of frameSize
// bytes each: save compresses several at once and load decodes several at
// once, where one frame would keep each to one core. Against a single
// frame this costs under 0.5% of the size (twice the size, half that, and
// twice the memory). A decoder reads the frames as one stream, so bundles
// stay readable by every version.
const frameSize = 8 << 20

// maxStreamFrame bounds a frame load decodes whole, in memory: larger
// frames (or frames that do not state their size) are decoded as a stream.
const maxStreamFrame = 2 * frameSize

// workers is how many frames are compressed or decoded at once.
func workers() int { return max(1, min(runtime.GOMAXPROCS(0), 4)) }

// frameWriter compresses what is written to it in frames of frameSize
// bytes, several at a time, and writes them to w in order. Memory stays
// bounded: at most workers+1 frames are in flight.
type frameWriter struct {
	w   io.Writer
	enc frameEncoder
	cur []byte
	// bufs holds the frame buffers not in use, made as needed up to its
	// capacity; outs the compressed ones.
	bufs, outs chan []byte
	made       int
	queue      chan *frameJob
	done       chan struct{}
	closed     bool

	mu  sync.Mutex
	err error
}

type frameJob struct {
	in, out []byte
	ready   chan struct{}
}

// frameEncoder compresses one frame into dst's space, whole, stating its
// content size; it is safe for concurrent use. encode_cgo.go and
// encode_purego.go each give one.
type frameEncoder interface {
	encode(dst, src []byte) ([]byte, error)
}

// DefaultLevel is zstd's level for bundles: zstd's own default.
const DefaultLevel = 3

// newFrameWriter compresses at the zstd level given (as zstd -N).
func newFrameWriter(w io.Writer, level int) (*frameWriter, error) {
	n := workers()
	enc, err := newEncoder(level, n)
	if err != nil {
		return nil, err
	}
	fw := &frameWriter{w: w, enc: enc, bufs: make(chan []byte, n+1), outs: make(chan []byte, n+1),
		queue: make(chan *frameJob, n), done: make(chan struct{})}
	go fw.drain()
	return fw, nil
}

// drain writes the compressed frames in order, and keeps taking them after
// a failed write so that Write and Close never wait on it forever.
func (fw *frameWriter) drain() {
	defer close(fw.done)
	for j := range fw.queue {
		<-j.ready
		if err := fw.failed(); err == nil {
			if _, err := fw.w.Write(j.out); err != nil {
				fw.fail(err)
			}
		}
		// The output buffer goes back before the input one, which the
		// writer waits for: so Flush mostly finds it free. Flush makes a
		// new one when none is (the OS can pause this goroutine between
		// the two), so one can come back to a full pool: it goes.
		select {
		case fw.outs <- j.out[:0]:
		default:
		}
		fw.bufs <- j.in[:0]
	}
}

func (fw *frameWriter) failed() error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.err
}

func (fw *frameWriter) fail(err error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.err == nil {
		fw.err = err
	}
}

func (fw *frameWriter) Write(p []byte) (int, error) {
	if err := fw.failed(); err != nil {
		return 0, err
	}
	if fw.closed {
		return 0, errors.New("bundle: write after close")
	}
	n := len(p)
	for len(p) > 0 {
		if fw.cur == nil {
			if fw.made < cap(fw.bufs) && len(fw.bufs) == 0 {
				fw.made++
				fw.cur = make([]byte, 0, frameSize)
			} else {
				fw.cur = <-fw.bufs
			}
		}
		k := copy(fw.cur[len(fw.cur):frameSize], p)
		fw.cur = fw.cur[:len(fw.cur)+k]
		p = p[k:]
		if len(fw.cur) == frameSize {
			fw.Flush()
		}
	}
	return n, nil
}

// Flush ends the current frame, so that what is written next starts a new
// one. It does not wait for the frame to be written.
func (fw *frameWriter) Flush() {
	if len(fw.cur) == 0 {
		return
	}
	j := &frameJob{in: fw.cur, ready: make(chan struct{})}
	fw.cur = nil
	var out []byte
	select {
	case out = <-fw.outs:
	default:
	}
	go func() {
		var err error
		if j.out, err = fw.enc.encode(out, j.in); err != nil {
			fw.fail(fmt.Errorf("bundle: compressing: %w", err))
		}
		close(j.ready)
	}()
	fw.queue <- j
}

// Close writes what is left and waits for every frame to be written.
func (fw *frameWriter) Close() error {
	if !fw.closed {
		fw.Flush()
		fw.closed = true
		close(fw.queue)
	}
	<-fw.done
	return fw.failed()
}

// frameInfo locates one zstd frame in a file: its offset, and the size its
// header states for its content (-1 when it states none).
type frameInfo struct {
	off, content int64
}

// frameReader decodes a file's frames several at once and reads back
// their content in order. Every frame must state a content size of at
// most maxStreamFrame.
type frameReader struct {
	queue chan *decodeJob
	stop  chan struct{}
	cur   *decodeJob
	pos   int
	err   error
	outs  chan []byte
}

type decodeJob struct {
	out   []byte
	err   error
	ready chan struct{}
}

// newFrameReader decodes the frames of f; end is where the last one ends.
func newFrameReader(f io.ReaderAt, frames []frameInfo, end int64) (*frameReader, error) {
	n := workers()
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(n), zstd.WithDecoderMaxWindow(64<<20),
		zstd.WithDecoderMaxMemory(maxStreamFrame))
	if err != nil {
		return nil, err
	}
	fr := &frameReader{queue: make(chan *decodeJob, n), stop: make(chan struct{}), outs: make(chan []byte, n+2)}
	go fr.feed(f, frames, end, dec)
	return fr, nil
}

// feed reads the frames in order and starts their decoding; the queue's
// capacity bounds how many are in flight.
func (fr *frameReader) feed(f io.ReaderAt, frames []frameInfo, end int64, dec *zstd.Decoder) {
	defer close(fr.queue)
	// Buffers go round: a frame's input until it is decoded, its output
	// until Read has passed it on. Fresh ones would cost page faults.
	inputs := make(chan []byte, cap(fr.queue)+1)
	for range cap(inputs) {
		inputs <- nil
	}
	for range cap(fr.outs) {
		fr.outs <- nil
	}
	for i, fi := range frames {
		next := end
		if i+1 < len(frames) {
			next = frames[i+1].off
		}
		var in, out []byte
		select {
		case in = <-inputs:
		case <-fr.stop:
			return
		}
		select {
		case out = <-fr.outs:
		case <-fr.stop:
			return
		}
		if int64(cap(in)) < next-fi.off {
			in = make([]byte, next-fi.off)
		}
		in = in[:next-fi.off]
		if int64(cap(out)) < fi.content {
			out = make([]byte, 0, fi.content)
		}
		j := &decodeJob{ready: make(chan struct{})}
		if _, err := f.ReadAt(in, fi.off); err != nil {
			j.err = err
			close(j.ready)
			select {
			case fr.queue <- j:
			case <-fr.stop:
			}
			return
		}
		go func(fi frameInfo) {
			j.out, j.err = dec.DecodeAll(in, out[:0])
			if j.err == nil && int64(len(j.out)) != fi.content {
				j.err = fmt.Errorf("a frame holds %d bytes where its header states %d", len(j.out), fi.content)
			}
			inputs <- in
			close(j.ready)
		}(fi)
		select {
		case fr.queue <- j:
		case <-fr.stop:
			return
		}
	}
}

func (fr *frameReader) Read(p []byte) (int, error) {
	if fr.err != nil {
		return 0, fr.err
	}
	for fr.cur == nil {
		j, ok := <-fr.queue
		if !ok {
			fr.err = io.EOF
			return 0, io.EOF
		}
		<-j.ready
		if j.err != nil {
			fr.err = j.err
			return 0, j.err
		}
		if len(j.out) > 0 {
			fr.cur, fr.pos = j, 0
		} else {
			fr.outs <- j.out
		}
	}
	n := copy(p, fr.cur.out[fr.pos:])
	fr.pos += n
	if fr.pos == len(fr.cur.out) {
		fr.outs <- fr.cur.out
		fr.cur = nil
	}
	return n, nil
}

// Close stops the decoding; frames in flight finish on their own.
func (fr *frameReader) Close() {
	select {
	case <-fr.stop:
	default:
		close(fr.stop)
	}
}
