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
const frameSize = 2 << 20

// frameWriter compresses what is written to it in independent zstd frames
// of frameSize bytes (each with its checksum), encoding up to workers of
// them at once, and writes them to w in order. A zstd decoder reads the
// frames back as one stream. Its buffers are allocated once: the memory
// is the same for any size of bundle.
type frameWriter struct {
	w       io.Writer
	enc     *zstd.Encoder
	cur     *frameSlot
	free    chan *frameSlot
	queue   chan *frameSlot
	written chan error
	err     error
	closed  bool
}

// frameSlot is one frame's input and output buffers.
type frameSlot struct {
	in, out []byte
	done    chan struct{}
}

// frameBound is zstd's worst case for a frame of frameSize bytes: input
// that does not compress is stored, plus block and frame headers.
const frameBound = frameSize + frameSize/128 + 1<<10

func newFrameWriter(w io.Writer, level zstd.EncoderLevel, workers int) (*frameWriter, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// A frame holds frameSize bytes: a longer window only costs memory.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(workers), zstd.WithWindowSize(frameSize))
	if err != nil {
		return nil, err
	}
	// One frame filling, workers encoding, one being written.
	n := workers + 2
	fw := &frameWriter{w: w, enc: enc,
		free:    make(chan *frameSlot, n),
		queue:   make(chan *frameSlot, n),
		written: make(chan error, 1)}
	for i := 0; i < n; i++ {
		fw.free <- &frameSlot{in: make([]byte, 0, frameSize), out: make([]byte, 0, frameBound), done: make(chan struct{}, 1)}
	}
	fw.cur = <-fw.free
	go fw.writeLoop()
	return fw, nil
}

// writeLoop writes the encoded frames in the order they were queued. After
// an error it keeps draining so that no encoder blocks.
func (fw *frameWriter) writeLoop() {
	var err error
	for sl := range fw.queue {
		<-sl.done
		if err == nil {
			_, err = fw.w.Write(sl.out)
		}
		sl.in, sl.out = sl.in[:0], sl.out[:0]
		fw.free <- sl
	}
	fw.written <- err
}

func (fw *frameWriter) Write(p []byte) (int, error) {
	if fw.closed {
		return 0, errors.New("bundle: write after close")
	}
	n := 0
	for len(p) > 0 {
		in := fw.cur.in
		k := copy(in[len(in):cap(in)], p)
		fw.cur.in = in[:len(in)+k]
		p, n = p[k:], n+k
		if len(fw.cur.in) == cap(fw.cur.in) {
			fw.flush()
		}
	}
	return n, nil
}

// flush hands the filled slot to an encoder and takes a free one; it
// waits when every slot is in flight.
func (fw *frameWriter) flush() {
	if len(fw.cur.in) == 0 {
		return
	}
	sl := fw.cur
	go func() {
		sl.out = fw.enc.EncodeAll(sl.in, sl.out[:0])
		sl.done <- struct{}{}
	}()
	fw.queue <- sl
	fw.cur = <-fw.free
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
