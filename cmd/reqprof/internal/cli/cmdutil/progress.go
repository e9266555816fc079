package cmdutil

import (
	"fmt"
	"sync"
	"time"
)

// Meter shows the progress of long work on one line of stderr, rewritten
// at most ten times a second, and only when stderr is a terminal: quiet
// in pipes, logs and tests.
type Meter struct {
	ios          *IOStreams
	label, unit  string
	total        int64
	mu           sync.Mutex
	last         time.Time
	shown, bytes bool
}

// Progress returns a meter of work counted in unit ("files"; "bytes"
// shows MiB) out of total (0 when unknown).
func (s *IOStreams) Progress(label string, total int64, unit string) *Meter {
	return &Meter{ios: s, label: label, unit: unit, total: total, bytes: unit == "bytes"}
}

// Set says how much is done.
func (m *Meter) Set(n int64) {
	if m == nil || !m.ios.ErrTTY {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if now := time.Now(); now.Sub(m.last) >= 100*time.Millisecond || n == m.total {
		m.last = now
		m.shown = true
		fmt.Fprintf(m.ios.ErrOut, "\r\x1b[K%s %s", m.label, m.amount(n))
	}
}

func (m *Meter) amount(n int64) string {
	if m.bytes {
		if m.total > 0 {
			return fmt.Sprintf("%.1f of %.1f MiB (%.0f%%)", mib(n), mib(m.total), 100*float64(n)/float64(m.total))
		}
		return fmt.Sprintf("%.1f MiB", mib(n))
	}
	if m.total > 0 {
		return fmt.Sprintf("%d of %d %s", n, m.total, m.unit)
	}
	return fmt.Sprintf("%d %s", n, m.unit)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// Done clears the line.
func (m *Meter) Done() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shown {
		fmt.Fprint(m.ios.ErrOut, "\r\x1b[K")
		m.shown = false
	}
}
