package view

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reqprof/reqprof/profile"
)

// Summary is how a profile's time divides between states, on its critical
// path: the one classification that every header, listing and report
// shows. Times are nanoseconds.
//
// Each nanosecond of the critical path is classified once, by the state of
// the goroutine that spent it (the root, or a goroutine whose work
// explained one of its waits): running (CPU), runnable (waiting for a CPU:
// scheduler latency), in a system call, or waiting, by the runtime's
// reason ("network", "sync", "preempted", ...). These are exactly the
// leaves of the critical-path tree: its "[wait: R]", "[runnable]" and
// "[syscall]" pseudo-frames that have nothing under them, and its
// function frames. A wait the critical path explains by another
// goroutine's work is not waiting time: the work is, under "[via goroutine
// N]"; Followed says how much of the path went so.
type Summary struct {
	// Duration is the wall time of the work.
	Duration int64 `json:"duration"`
	// CPU is the running time, and CPUInferred the part of it whose stack
	// no CPU sample observed (attributed from the stacks around it).
	CPU         int64 `json:"cpu"`
	CPUInferred int64 `json:"cpu_inferred,omitempty"`
	Runnable    int64 `json:"runnable,omitempty"`
	Syscall     int64 `json:"syscall,omitempty"`
	// Waiting is the time in waits, Waits the same by reason.
	Waiting int64      `json:"waiting"`
	Waits   []WaitTime `json:"waits,omitempty"`
	// Followed is the time spent under "[via goroutine N]": in waits the
	// critical path explains by what the goroutine that ended them did.
	Followed int64 `json:"followed,omitempty"`
	// Goroutines is the number of the work's goroutines; Samples the
	// number of CPU samples taken on them.
	Goroutines int `json:"goroutines"`
	Samples    int `json:"samples,omitempty"`
}

// WaitTime is the time of the waits of one reason, and their number.
type WaitTime struct {
	Reason string `json:"reason"` // "unknown" when the runtime gave none
	Time   int64  `json:"time"`
	Count  int    `json:"count"`
}

// String returns the summary on one line, times as time.Duration prints
// them: "10ms: CPU 5.8ms (2ms inferred), runnable 200µs, syscall 0s,
// waiting 4ms (network 4ms ×1), via other goroutines 5ms, 2 goroutines".
func (s Summary) String() string {
	d := func(ns int64) string { return time.Duration(ns).String() }
	var b strings.Builder
	fmt.Fprintf(&b, "%s: CPU %s", d(s.Duration), d(s.CPU))
	if s.CPUInferred > 0 {
		fmt.Fprintf(&b, " (%s inferred)", d(s.CPUInferred))
	}
	fmt.Fprintf(&b, ", runnable %s, syscall %s, waiting %s", d(s.Runnable), d(s.Syscall), d(s.Waiting))
	for i, w := range s.Waits {
		sep := ", "
		if i == 0 {
			sep = " ("
		}
		fmt.Fprintf(&b, "%s%s %s ×%d", sep, w.Reason, d(w.Time), w.Count)
		if i == len(s.Waits)-1 {
			b.WriteByte(')')
		}
	}
	fmt.Fprintf(&b, ", via other goroutines %s, %d goroutines", d(s.Followed), s.Goroutines)
	return b.String()
}

// CPUSampled returns the running time whose stack CPU samples or events
// observed.
func (s Summary) CPUSampled() int64 { return s.CPU - s.CPUInferred }

// Summarize returns p's summary.
func Summarize(p *profile.Profile) Summary {
	cp := CriticalPath(p)
	return summarize(p, &cp)
}

// summarize returns p's summary from its critical path cp.
func summarize(p *profile.Profile, cp *Timeline) Summary {
	s := Summary{Duration: p.Duration}
	for _, g := range p.Goroutines {
		if g.Member {
			s.Goroutines++
		}
	}
	member := map[int64]bool{}
	for _, g := range p.Goroutines {
		member[g.ID] = g.Member
	}
	for _, smp := range p.Samples {
		if member[smp.Goroutine] {
			s.Samples++
		}
	}
	type waitKey struct {
		g int64
		i int
	}
	waits := map[string]*WaitTime{}
	seen := map[waitKey]bool{}
	for _, seg := range cp.Segments {
		d := seg.End - seg.Start
		if d <= 0 {
			continue
		}
		if slices.ContainsFunc(seg.Path, func(f Frame) bool { return f.Kind == Via }) {
			s.Followed += d
		}
		switch seg.State {
		case profile.Running:
			s.CPU += d
			if seg.Inferred {
				s.CPUInferred += d
			}
		case profile.Runnable:
			s.Runnable += d
		case profile.Syscall:
			s.Syscall += d
		case profile.Waiting:
			s.Waiting += d
			r := seg.Reason
			if r == "" {
				r = "unknown"
			}
			w := waits[r]
			if w == nil {
				w = &WaitTime{Reason: r}
				waits[r] = w
			}
			w.Time += d
			// One wait may be cut in pieces (region boundaries, the
			// parts a waker explains): it counts once.
			if k := (waitKey{seg.Goroutine, seg.Interval}); !seen[k] {
				seen[k] = true
				w.Count++
			}
		}
	}
	for _, w := range waits {
		s.Waits = append(s.Waits, *w)
	}
	slices.SortFunc(s.Waits, func(a, b WaitTime) int {
		if a.Time != b.Time {
			if a.Time > b.Time {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return s
}
