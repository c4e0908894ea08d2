package bundle

import (
	"encoding/binary"
	"errors"
	"io"
	"runtime"

	"github.com/klauspost/compress/zstd"
)

// frameSize is how much of the tar stream save puts in one zstd frame.
// Frames are independent, so several compress at once: one zstd stream
// keeps a single core busy, and save would wait on it while the engine's
// export has to wait on save. 4 MiB costs well under 1% of the size (a
// frame starts with no history) and bounds the memory in flight.
const frameSize = 4 << 20

// frameWriter compresses what is written to it in independent zstd frames
// of frameSize bytes (each with its checksum), encoding up to workers of
// them at once, and writes them to w in order. A zstd decoder reads the
// frames back as one stream.
type frameWriter struct {
	w       io.Writer
	enc     *zstd.Encoder
	buf     []byte
	free    chan []byte
	queue   chan *frameJob
	written chan error
	err     error
	closed  bool
}

type frameJob struct {
	in  []byte
	out chan []byte
}

func newFrameWriter(w io.Writer, level zstd.EncoderLevel, workers int) (*frameWriter, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(workers))
	if err != nil {
		return nil, err
	}
	fw := &frameWriter{w: w, enc: enc,
		// One frame filling, workers encoding, one being written: the
		// memory stays at a few frames whatever the bundle's size.
		free:    make(chan []byte, workers+2),
		queue:   make(chan *frameJob, workers),
		written: make(chan error, 1)}
	for i := 0; i < workers+2; i++ {
		fw.free <- make([]byte, 0, frameSize)
	}
	fw.buf = <-fw.free
	go fw.writeLoop()
	return fw, nil
}

// writeLoop writes the encoded frames in the order they were queued. After
// an error it keeps draining so that no encoder blocks.
func (fw *frameWriter) writeLoop() {
	var err error
	for job := range fw.queue {
		out := <-job.out
		if err == nil {
			_, err = fw.w.Write(out)
		}
		fw.free <- job.in[:0]
	}
	fw.written <- err
}

func (fw *frameWriter) Write(p []byte) (int, error) {
	if fw.closed {
		return 0, errors.New("bundle: write after close")
	}
	n := 0
	for len(p) > 0 {
		k := copy(fw.buf[len(fw.buf):cap(fw.buf)], p)
		fw.buf = fw.buf[:len(fw.buf)+k]
		p, n = p[k:], n+k
		if len(fw.buf) == cap(fw.buf) {
			fw.flush()
		}
	}
	return n, nil
}

// flush hands the filled buffer to an encoder and takes a free one; it
// waits when every buffer is in flight.
func (fw *frameWriter) flush() {
	if len(fw.buf) == 0 {
		return
	}
	job := &frameJob{in: fw.buf, out: make(chan []byte, 1)}
	go func() { job.out <- fw.enc.EncodeAll(job.in, make([]byte, 0, len(job.in)/2)) }()
	fw.queue <- job
	fw.buf = <-fw.free
}

// Close encodes what is left, waits until every frame is written and
// returns the first write error.
func (fw *frameWriter) Close() error {
	if fw.closed {
		return fw.err
	}
	fw.closed = true
	fw.flush()
	close(fw.queue)
	fw.err = <-fw.written
	fw.enc.Close()
	return fw.err
}

// Framing of the zstd format (RFC 8878, section 3.1).
const (
	zstdMagic         = 0xFD2FB528
	skippableMagic    = 0x184D2A50
	skippableMagicMsk = 0xFFFFFFF0
)

// frameCheck passes a zstd stream through unchanged while following its
// framing, block header by block header, without decoding. A decoder
// passes over a skippable frame in silence, and over data appended after
// the last frame when that data is a skippable frame too; frameCheck
// notes the first such thing in bad. It never fails the stream itself:
// damage the decoder sees is better worded by the decoder and the members'
// checksums, so bad counts only once they found nothing.
type frameCheck struct {
	r   io.Reader
	off int64
	bad error

	state, then int
	hdr         [4]byte
	have        int
	skip        int64
	sum         bool
	frames      int
}

// frameCheck states. fcSkip passes c.skip bytes, then goes to c.then.
const (
	fcMagic = iota
	fcDescriptor
	fcBlockHeader
	fcSkip
	fcEndFrame // after the last block: its checksum, if any, then a magic
)

func (c *frameCheck) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.bad == nil {
		c.bad = c.follow(p[:n])
		if c.bad == nil && errors.Is(err, io.EOF) && (c.state != fcMagic || c.have != 0) {
			c.bad = corrupt("the file is truncated: it ends inside a zstd frame, at byte %d", c.off)
		}
	}
	return n, err
}

func (c *frameCheck) skipThen(n int64, next int) {
	c.state, c.skip, c.then = fcSkip, n, next
	c.settle()
}

// settle leaves states that need no input: an empty skip, a frame's end.
func (c *frameCheck) settle() {
	for {
		switch {
		case c.state == fcSkip && c.skip == 0:
			c.state = c.then
		case c.state == fcEndFrame && c.sum:
			c.sum = false
			c.state, c.skip, c.then = fcSkip, 4, fcMagic
		case c.state == fcEndFrame:
			c.state = fcMagic
		default:
			c.have = 0
			return
		}
	}
}

func (c *frameCheck) follow(b []byte) error {
	for len(b) > 0 {
		switch c.state {
		case fcSkip:
			k := min(int64(len(b)), c.skip)
			b, c.skip, c.off = b[k:], c.skip-k, c.off+k
			c.settle()
			continue
		case fcDescriptor:
			d := b[0]
			b, c.off = b[1:], c.off+1
			single := d&0x20 != 0
			rest := int64([4]int{0, 1, 2, 4}[d&3]) // dictionary ID
			if !single {
				rest++ // window descriptor
			}
			rest += [4]int64{0, 2, 4, 8}[d>>6] // content size
			if d>>6 == 0 && single {
				rest++
			}
			c.sum = d&0x04 != 0
			c.skipThen(rest, fcBlockHeader)
			continue
		}
		// fcMagic and fcBlockHeader collect their bytes first.
		want := 4
		if c.state == fcBlockHeader {
			want = 3
		}
		k := copy(c.hdr[c.have:want], b)
		b, c.have, c.off = b[k:], c.have+k, c.off+int64(k)
		if c.have < want {
			continue
		}
		c.have = 0
		if c.state == fcMagic {
			m := binary.LittleEndian.Uint32(c.hdr[:])
			switch {
			case m == zstdMagic:
				c.frames++
				c.state = fcDescriptor
			case m&skippableMagicMsk == skippableMagic:
				return corrupt("it holds data that is not part of the bundle: a skippable zstd frame at byte %d", c.off-4)
			case c.frames > 0:
				return corrupt("data was appended after its last zstd frame, at byte %d", c.off-4)
			default:
				return corrupt("it is not zstd-compressed")
			}
			continue
		}
		h := uint32(c.hdr[0]) | uint32(c.hdr[1])<<8 | uint32(c.hdr[2])<<16
		size := int64(h >> 3)
		switch (h >> 1) & 3 {
		case 1: // RLE: one byte, repeated
			size = 1
		case 3:
			return corrupt("the compressed data is damaged at byte %d: a reserved block type", c.off-3)
		}
		next := fcBlockHeader
		if h&1 != 0 {
			next = fcEndFrame
		}
		c.skipThen(size, next)
	}
	return nil
}
