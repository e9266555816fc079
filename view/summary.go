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
// function frames and "[running, unsampled]" pseudo-frames. A wait the
// critical path explains by another goroutine's work is not waiting time:
// the work is, under "[via goroutine N]"; Followed says how much of the
// path went so. Except when that goroutine is another unit's (a request
// holding a lock this one waits for, see [Segment.OtherWork]): the work
// itself was waiting, and the time is the wait's, whatever the other
// request was doing — in the tree, the total of the "[wait: R]" node over
// the "[via ..., request ...]" or "[via a convoy ...]" one.
type Summary struct {
	// Duration is the wall time of the work.
	Duration int64 `json:"duration"`
	// CPU is the running time, and CPUInferred the part of it that no CPU
	// sample observed ("[running, unsampled]"; CPUSampled is the rest).
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
	// Goroutines is the number of the work's goroutines, its housekeeping
	// goroutines ([Housekeeping]) left out and counted in Housekeeping;
	// Samples the number of CPU samples taken on them, each standing for
	// SamplePeriod of running time (see [profile.Profile.SamplePeriod]).
	Goroutines   int   `json:"goroutines"`
	Housekeeping int   `json:"housekeeping,omitempty"`
	Samples      int   `json:"samples,omitempty"`
	SamplePeriod int64 `json:"sample_period,omitempty"`
	// Overhead is the profiler's own time on the critical path, inside the
	// window ("[reqprof]": starting and ending the capture around the
	// work), and OverheadBefore the time it added before the window
	// (starting the recorder: [profile.AttrOverhead]).
	Overhead       int64 `json:"overhead,omitempty"`
	OverheadBefore int64 `json:"overhead_before,omitempty"`
}

// WaitTime is the time of the waits of one reason, and their number.
type WaitTime struct {
	Reason string `json:"reason"` // "unknown" when the runtime gave none
	Time   int64  `json:"time"`
	Count  int    `json:"count"`
}

// String returns the summary on one line, times as time.Duration prints
// them: "10ms: CPU 5.8ms (3.8ms sampled, 2ms unsampled), runnable 200µs,
// syscall 0s, waiting 4ms (network 4ms ×1), via other goroutines 5ms, 2
// goroutines".
func (s Summary) String() string {
	d := func(ns int64) string { return time.Duration(ns).String() }
	var b strings.Builder
	fmt.Fprintf(&b, "%s: CPU %s", d(s.Duration), d(s.CPU))
	if s.CPU > 0 {
		fmt.Fprintf(&b, " (%s sampled, %s unsampled)", d(s.CPUSampled()), d(s.CPUInferred))
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
	if s.Housekeeping > 0 {
		fmt.Fprintf(&b, " (and %d housekeeping)", s.Housekeeping)
	}
	if s.Overhead > 0 || s.OverheadBefore > 0 {
		fmt.Fprintf(&b, ", reqprof %s before the window and %s inside", d(s.OverheadBefore), d(s.Overhead))
	}
	return b.String()
}

// SampledShare returns the share of the running time that CPU samples
// observed, from 0 to 1 (0 without running time).
func (s Summary) SampledShare() float64 {
	if s.CPU <= 0 {
		return 0
	}
	return float64(s.CPUSampled()) / float64(s.CPU)
}

// CPUSampled returns the running time whose stack CPU samples or events
// observed.
func (s Summary) CPUSampled() int64 { return s.CPU - s.CPUInferred }

// Summarize returns p's summary.
func Summarize(p *profile.Profile) Summary {
	cp := CriticalPath(p)
	return summarize(p, &cp)
}

// SummarizeCritical returns p's summary from cp, p's critical path
// (CriticalPath(p)), for a caller that computed it already.
func SummarizeCritical(p *profile.Profile, cp *Timeline) Summary { return summarize(p, cp) }

// summarize returns p's summary from its critical path cp.
func summarize(p *profile.Profile, cp *Timeline) Summary {
	s := Summary{Duration: p.Duration, SamplePeriod: p.SamplePeriod}
	hk := Housekeeping(p)
	for _, g := range p.Goroutines {
		switch {
		case hk[g.ID]:
			s.Housekeeping++
		case g.Member:
			s.Goroutines++
		}
	}
	if d, err := time.ParseDuration(p.Attr(profile.AttrOverhead)); err == nil && d > 0 {
		s.OverheadBefore = int64(d)
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
		// The profiler's own frame, or a wait, runnable or syscall
		// pseudo-frame under it ("[reqprof];[wait: sync]": its waits are
		// not followed).
		if slices.ContainsFunc(seg.Path, func(f Frame) bool { return f.Kind == Overhead }) {
			s.Overhead += d
		}
		state, reason, key := seg.State, seg.Reason, waitKey{seg.Goroutine, seg.Interval}
		if o := seg.OtherWork; o != nil {
			// Another unit's work: this one was waiting.
			state, reason, key = profile.Waiting, o.Reason, waitKey{o.Goroutine, o.Interval}
		}
		switch state {
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
			r := reason
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
			if !seen[key] {
				seen[key] = true
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
