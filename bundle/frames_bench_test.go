package bundle

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// hostBytes reads about n bytes of this host's binaries: they compress
// like image layers do.
func hostBytes(b *testing.B, n int) []byte {
	var out []byte
	filepath.WalkDir("/usr/lib/x86_64-linux-gnu", func(p string, de os.DirEntry, err error) error {
		if err != nil || len(out) >= n || !de.Type().IsRegular() {
			return nil
		}
		d, _ := os.ReadFile(p)
		out = append(out, d...)
		return nil
	})
	if len(out) < n {
		b.Skip("not enough host files")
	}
	return out[:n]
}

// BenchmarkCompress compares the frame writer save uses with one zstd
// stream.
func BenchmarkCompress(b *testing.B) {
	in := hostBytes(b, 64<<20)
	b.Run("frames", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			fw, _ := newFrameWriter(io.Discard, zstd.SpeedDefault, 0)
			fw.Write(in)
			fw.Close()
		}
	})
	b.Run("stream", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			zw, _ := zstd.NewWriter(io.Discard, zstd.WithEncoderLevel(zstd.SpeedDefault))
			zw.Write(in)
			zw.Close()
		}
	})
}
