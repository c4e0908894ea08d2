package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"io"
)

// Framing of the zstd format (RFC 8878, section 3.1).
const (
	zstdMagic         = 0xFD2FB528
	skippableMagic    = 0x184D2A50
	skippableMagicMsk = 0xFFFFFFF0
	// sumMagic opens the one skippable frame a bundle ends with: the
	// SHA-256 of every byte before it. A flipped bit can leave the decoded
	// content, and so every member checksum, unchanged (zstd has bits no
	// decoder reads); this sum catches it.
	sumMagic = skippableMagic | 0xD
	sumTag   = "dfc-sha256"
	sumSize  = len(sumTag) + sha256.Size
)

// sumTrailer is the frame a save appends, given the hash of the bytes
// before it.
func sumTrailer(sum []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, sumMagic)
	b = binary.LittleEndian.AppendUint32(b, uint32(sumSize))
	b = append(b, sumTag...)
	return append(b, sum...)
}

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
	// h hashes every byte before the trailer; trailer collects it.
	h       hash.Hash
	trailer []byte
	// sealed: the checksum frame has passed; nothing may follow it.
	sealed bool

	state, then int
	hdr         [4]byte
	have        int
	skip        int64
	sum         bool
	frames      int

	// list locates every data frame, for a load that decodes several at
	// once; tooMany says it stopped counting. trailerAt is where the
	// checksum frame starts.
	list      []frameInfo
	tooMany   bool
	trailerAt int64
	// The frame header's fields after its descriptor: hdrWant bytes, the
	// last fcsLen of them its content size.
	head    [14]byte
	hdrWant int
	fcsLen  int
}

// maxFrames bounds the frames a check lists: far more than a save writes.
const maxFrames = 1 << 16

// frameCheck states. fcSkip passes c.skip bytes, then goes to c.then.
const (
	fcMagic = iota
	fcDescriptor
	fcHeader // the frame header's fields after its descriptor
	fcBlockHeader
	fcSkip
	fcEndFrame // after the last block: its checksum, if any, then a magic
	fcTrailer  // the checksum frame's size and content
)

func (c *frameCheck) Read(p []byte) (int, error) {
	if c.h == nil {
		c.h = sha256.New()
	}
	n, err := c.r.Read(p)
	if c.bad == nil {
		c.bad = c.follow(p[:n])
		if c.bad == nil && errors.Is(err, io.EOF) {
			switch {
			case c.sealed && c.state == fcMagic && c.have == 0:
			case c.state == fcMagic && c.have == 0 && c.frames > 0:
				c.bad = corrupt("it ends without its checksum frame: it is truncated, or was written by another tool or an older deepflow-compose (save it again)")
			case c.state == fcMagic && c.have == 0:
				c.bad = corrupt("it is not zstd-compressed")
			default:
				c.bad = corrupt("the file is truncated: it ends inside a zstd frame, at byte %d", c.off)
			}
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

// endHeader notes the frame's content size and goes on to its blocks.
func (c *frameCheck) endHeader() {
	f := c.head[c.hdrWant-c.fcsLen : c.hdrWant]
	var v uint64
	for i := len(f) - 1; i >= 0; i-- {
		v = v<<8 | uint64(f[i])
	}
	if c.fcsLen == 2 {
		v += 256
	}
	if n := len(c.list); n > 0 && !c.tooMany && c.fcsLen > 0 && v <= 1<<62 {
		c.list[n-1].content = int64(v)
	}
	c.state = fcBlockHeader
	c.settle()
}

func (c *frameCheck) follow(b []byte) error {
	for len(b) > 0 {
		switch c.state {
		case fcTrailer:
			k := min(len(b), 4+sumSize-len(c.trailer))
			c.trailer = append(c.trailer, b[:k]...)
			b, c.off = b[k:], c.off+int64(k)
			if len(c.trailer) < 4+sumSize {
				continue
			}
			want := sumTrailer(c.h.Sum(nil))[4:]
			if !bytes.Equal(c.trailer, want) {
				return corrupt("its checksum does not match its content: the file was changed after it was written")
			}
			c.state, c.sealed = fcMagic, true
			continue
		case fcSkip:
			k := min(int64(len(b)), c.skip)
			c.h.Write(b[:k])
			b, c.skip, c.off = b[k:], c.skip-k, c.off+k
			c.settle()
			continue
		case fcHeader:
			k := copy(c.head[c.have:c.hdrWant], b)
			c.h.Write(b[:k])
			b, c.have, c.off = b[k:], c.have+k, c.off+int64(k)
			if c.have == c.hdrWant {
				c.endHeader()
			}
			continue
		case fcDescriptor:
			d := b[0]
			c.h.Write(b[:1])
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
			c.fcsLen = [4]int{0, 2, 4, 8}[d>>6]
			if d>>6 == 0 && single {
				c.fcsLen = 1
			}
			c.state, c.hdrWant, c.have = fcHeader, int(rest), 0
			if rest == 0 {
				c.endHeader()
			}
			continue
		}
		// fcMagic and fcBlockHeader collect their bytes first.
		want := 4
		if c.state == fcBlockHeader {
			want = 3
		}
		k := copy(c.hdr[c.have:want], b)
		if c.state == fcBlockHeader {
			c.h.Write(b[:k])
		}
		b, c.have, c.off = b[k:], c.have+k, c.off+int64(k)
		if c.have < want {
			continue
		}
		c.have = 0
		if c.state == fcMagic {
			m := binary.LittleEndian.Uint32(c.hdr[:])
			switch {
			case c.sealed && m&skippableMagicMsk != skippableMagic:
				return corrupt("data was appended after its checksum frame, at byte %d", c.off-4)
			case m == zstdMagic:
				// A frame's magic counts once it is known not to be the
				// checksum frame's.
				c.h.Write(c.hdr[:4])
				c.frames++
				if len(c.list) < maxFrames {
					c.list = append(c.list, frameInfo{off: c.off - 4, content: -1})
				} else {
					c.tooMany = true
				}
				c.state = fcDescriptor
			case m == sumMagic && c.frames > 0 && !c.sealed:
				c.state, c.trailerAt = fcTrailer, c.off-4
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
