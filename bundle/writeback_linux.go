package bundle

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing [off, off+n) of f to
// disk now, without waiting: the fsync that ends a save then has less
// left to wait for.
func startWriteback(f *os.File, off, n int64) {
	// Advisory only: on failure the fsync does the work.
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
