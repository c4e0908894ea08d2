package bundle

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/deepflow-compose/deepflow-compose/internal/humanize"
)

// Progress says where and how to report progress.
type Progress struct {
	// W receives the reports; nil means none.
	W io.Writer
	// TTY redraws one bar (bytes, rate, ETA) in place; otherwise a plain
	// line is written at every tenth of the way.
	TTY bool
}

// meter counts bytes against an expected total. The total of a save is an
// estimate (the images' unpacked sizes), so the bar holds at 99% until
// done when the estimate was short.
type meter struct {
	p     Progress
	label string
	total int64

	mu    sync.Mutex
	n     int64
	start time.Time
	drawn time.Time
	tenth int64
	now   func() time.Time
}

func newMeter(p Progress, label string, total int64) *meter {
	m := &meter{p: p, label: label, total: total, now: time.Now}
	m.start = m.now()
	m.drawn = m.start
	return m
}

func (m *meter) add(n int) {
	if m == nil || m.p.W == nil || n <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n += int64(n)
	now := m.now()
	if m.p.TTY {
		if now.Sub(m.drawn) >= 100*time.Millisecond {
			m.drawn = now
			fmt.Fprint(m.p.W, "\r"+m.bar(now)+"\x1b[K")
		}
		return
	}
	if m.total > 0 {
		// A line per tenth, but not more often than every two seconds: a
		// log of a small bundle needs only the closing line.
		if t := m.n * 10 / m.total; t > m.tenth && t < 10 && now.Sub(m.drawn) >= 2*time.Second {
			m.tenth, m.drawn = t, now
			fmt.Fprintf(m.p.W, "%s: %d%% (%s of %s, %s)\n", m.label, t*10, humanize.Bytes(m.n), humanize.Bytes(m.total), m.rate(now))
		}
	}
}

// note prints a line of its own, before any bar is drawn.
func (m *meter) note(line string) {
	if m == nil || m.p.W == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(m.p.W, m.label+": "+line)
}

// done ends the report with the total and the mean rate.
func (m *meter) done() {
	if m == nil || m.p.W == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	el := now.Sub(m.start).Round(10 * time.Millisecond)
	line := fmt.Sprintf("%s: %s in %s (%s)", m.label, humanize.Bytes(m.n), el, m.rate(now))
	if m.p.TTY {
		fmt.Fprint(m.p.W, "\r"+line+"\x1b[K\n")
		return
	}
	fmt.Fprintln(m.p.W, line)
}

func (m *meter) rate(now time.Time) string {
	s := now.Sub(m.start).Seconds()
	if s <= 0 {
		return "-"
	}
	return humanize.Bytes(int64(float64(m.n)/s)) + "/s"
}

func (m *meter) bar(now time.Time) string {
	const width = 24
	frac := 0.0
	if m.total > 0 {
		frac = float64(m.n) / float64(m.total)
	}
	if frac > 0.99 {
		frac = 0.99
	}
	fill := int(frac * width)
	eta := "ETA -"
	if s := now.Sub(m.start).Seconds(); m.n > 0 && s > 0 && m.total > m.n {
		left := time.Duration(float64(m.total-m.n) / (float64(m.n) / s) * float64(time.Second))
		eta = "ETA " + left.Round(time.Second).String()
	}
	return fmt.Sprintf("%s [%s%s] %3d%% %s / %s  %s  %s", m.label,
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), int(frac*100),
		humanize.Bytes(m.n), humanize.Bytes(m.total), m.rate(now), eta)
}

// countReader reports what passes through it to a meter.
type countReader struct {
	r io.Reader
	m *meter
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.m.add(n)
	return n, err
}
