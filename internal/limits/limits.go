// Package limits bounds every file the tool reads, so /dev/zero, a FIFO
// fed forever or a runaway generator fails at once with the file and the
// limit instead of eating the machine's memory.
package limits

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Sizes far above any real file of each kind.
const (
	// Values is a -f values file.
	Values = 1 << 20
	// Env is a deployment's .env.
	Env = 1 << 20
	// Config is one config file of a deployment: compose file, server.yaml,
	// ClickHouse XML, grafana.ini, my.cnf, agent files.
	Config = 4 << 20
	// Manifest is a deployment's manifest or a bundle's.
	Manifest = 4 << 20
)

// ErrTooLarge marks an input beyond its limit.
var ErrTooLarge = errors.New("file too large")

// ReadFile reads path, failing once it passes limit bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(path, f, limit)
}

// Read reads r, named name in the error, failing past limit bytes.
func Read(name string, r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s is larger than %s, the limit for this kind of file; a real one is far smaller", ErrTooLarge, name, Human(limit))
	}
	return b, nil
}

// Human spells a limit in MiB or KiB.
func Human(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
