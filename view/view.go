// Package view derives what people look at from a profile's flat records:
// timelines of time-stamped segments, each attributed to a path of frames,
// and call trees built from them.
//
// Three views exist:
//
//   - [CriticalPath] (the default) walks the root goroutine; where it waited
//     and another goroutine woke it, the wait is explained by what that
//     goroutine did meanwhile, nested under the waiting stack and marked
//     "[via goroutine N: entry]", recursively. It sums to the wall time.
//   - [PerGoroutine] gives each goroutine of the work its own timeline.
//   - [AllGoroutines] puts every goroutine's time under the stack that
//     spawned it; it sums to goroutine-time, which exceeds wall time under
//     fan-out.
//
// Waits, system calls, scheduler latency and user regions appear as
// pseudo-frames: "[wait: <runtime reason>]", "[syscall]", "[runnable]",
// "[via goroutine N: <entry function>]", and the region's type.
package view

import (
	"fmt"
	"sort"
	"strings"

	"github.com/reqprof/reqprof/profile"
)

// Kind is the kind of a view.
type Kind string

const (
	Critical   Kind = "critical"   // the critical path (default)
	Goroutines Kind = "goroutines" // one timeline per goroutine
	All        Kind = "all"        // all goroutines, nested under their spawn sites
)

// Kinds lists the views.
var Kinds = []Kind{Critical, Goroutines, All}

// FrameKind tells real function frames from pseudo-frames.
type FrameKind uint8

const (
	Func     FrameKind = iota // a function
	Region                    // a user region (runtime/trace.WithRegion)
	Wait                      // [wait: reason]
	Syscall                   // [syscall]
	Runnable                  // [runnable]
	Via                       // [via goroutine N: entry]
	Overhead                  // [reqprof]: the profiler's own work
)

// Frame is one element of a path.
type Frame struct {
	Name string // function name, or the pseudo-frame's text
	File string
	Line int
	Kind FrameKind
}

// IsPseudo reports whether f is not a function frame.
func (f Frame) IsPseudo() bool { return f.Kind != Func }

// Pseudo-frame names.
const (
	SyscallName  = "[syscall]"
	RunnableName = "[runnable]"
	// OverheadName stands for the profiler's own work at the start and end
	// of the window (starting the task, stopping it).
	OverheadName = "[reqprof]"
)

// WaitName returns the pseudo-frame name of a wait with a runtime reason.
func WaitName(reason string) string {
	if reason == "" {
		reason = "unknown"
	}
	return "[wait: " + reason + "]"
}

// ViaName returns the pseudo-frame name of a wait explained by goroutine id.
func ViaName(id int64, entry string) string {
	if entry == "" {
		entry = "?"
	}
	return fmt.Sprintf("[via goroutine %d: %s]", id, entry)
}

// Segment is a stretch of time attributed to a path of frames.
type Segment struct {
	Start, End int64
	// Goroutine is the goroutine whose state this is (for the critical
	// path, the goroutine actually doing or waiting, maybe a waker).
	Goroutine int64
	State     profile.State
	// Path is outermost first. It may be empty (running at no known frame).
	Path []Frame
	// Inferred marks running time that no CPU sample observed.
	Inferred bool
}

// Timeline is a named sequence of segments. In CriticalPath and
// PerGoroutine timelines, segments are in time order and do not overlap.
type Timeline struct {
	Name      string
	Goroutine int64 // 0 for views over several goroutines
	Segments  []Segment
}

// Total returns the time the timeline's segments cover.
func (t *Timeline) Total() int64 {
	var n int64
	for _, s := range t.Segments {
		n += s.End - s.Start
	}
	return n
}

// Timelines returns the timelines of the view kind: one for Critical and
// All, one per member goroutine for Goroutines.
func Timelines(p *profile.Profile, k Kind) ([]Timeline, error) {
	switch k {
	case Critical, "":
		return []Timeline{CriticalPath(p)}, nil
	case Goroutines:
		return PerGoroutine(p), nil
	case All:
		return []Timeline{AllGoroutines(p)}, nil
	}
	return nil, fmt.Errorf("unknown view %q (valid: critical, goroutines, all)", k)
}

// --- paths ------------------------------------------------------------------

// paths turns stacks into paths for one profile.
type paths struct {
	p       *profile.Profile
	byID    map[int64]*profile.Goroutine
	regions map[int64][]profile.Region // by goroutine, by start
	root    int64
}

func newPaths(p *profile.Profile) *paths {
	x := &paths{p: p, byID: map[int64]*profile.Goroutine{}, regions: map[int64][]profile.Region{}}
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		x.byID[g.ID] = g
	}
	if len(p.Goroutines) > 0 {
		x.root = p.Goroutines[0].ID
	}
	for _, r := range p.Regions {
		x.regions[r.Goroutine] = append(x.regions[r.Goroutine], r)
	}
	for _, rs := range x.regions {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
	}
	return x
}

func (x *paths) frame(id profile.FrameID) Frame {
	f := x.p.Frames[id]
	return Frame{Name: f.Func, File: f.File, Line: f.Line}
}

// strip returns how many outer frames of a root-goroutine stack lie outside
// the work: those of the profile's Work stack, for a stack under it. Any
// other stack under the base is the profiler's own time (overhead). When the
// profile does not know where the work begins (Work 0), the base stack is
// stripped and nothing is overhead.
func (x *paths) strip(g int64, fs []profile.FrameID) (n int, overhead bool) {
	if g != x.root {
		return 0, false
	}
	if work := x.p.Stacks[x.p.Work].Frames; len(work) > 0 && x.under(fs, work) {
		return len(work), false
	}
	base := x.p.Stacks[x.p.Base].Frames
	if !x.under(fs, base) {
		return 0, false
	}
	return len(base), x.p.Work != 0
}

// under reports whether stack fs begins with the functions of prefix
// (frames of one function at different lines are the same call).
func (x *paths) under(fs, prefix []profile.FrameID) bool {
	if len(prefix) > len(fs) {
		return false
	}
	for i, f := range prefix {
		if f != fs[i] && x.p.Frames[f].Func != x.p.Frames[fs[i]].Func {
			return false
		}
	}
	return true
}

// path returns the frames of stack on goroutine g at time t, with the
// regions active on g at t inserted where they began.
func (x *paths) path(g int64, stack profile.StackID, t int64, prefix []Frame) []Frame {
	fs := x.p.Stacks[stack].Frames
	n, overhead := x.strip(g, fs)
	fs = fs[n:]
	out := make([]Frame, 0, len(prefix)+len(fs)+2)
	out = append(out, prefix...)
	if overhead {
		return append(out, Frame{Name: OverheadName, Kind: Overhead})
	}
	pos := 0
	for _, r := range x.regions[g] {
		if r.Start > t {
			break
		}
		if t >= r.End { // also drops zero-length regions
			continue
		}
		rs := x.p.Stacks[r.Stack].Frames
		rs = rs[min(n, len(rs)):]
		k := 0
		for k < len(rs) && k < len(fs) && x.p.Frames[rs[k]].Func == x.p.Frames[fs[k]].Func {
			k++
		}
		k = max(k, pos)
		for _, f := range fs[pos:k] {
			out = append(out, x.frame(f))
		}
		out = append(out, Frame{Name: r.Type, Kind: Region})
		pos = k
		// runtime/trace.WithRegion's own frame says what the region
		// frame already does.
		for pos < len(fs) && strings.HasPrefix(x.p.Frames[fs[pos]].Func, "runtime/trace.") {
			pos++
		}
	}
	for _, f := range fs[pos:] {
		out = append(out, x.frame(f))
	}
	return out
}

// cuts returns the region boundaries on g strictly inside (s, e).
func (x *paths) cuts(g int64, s, e int64) []int64 {
	var c []int64
	for _, r := range x.regions[g] {
		if r.Start > s && r.Start < e {
			c = append(c, r.Start)
		}
		if r.End > s && r.End < e {
			c = append(c, r.End)
		}
	}
	if len(c) > 1 {
		sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	}
	return c
}

// emit appends the segments of interval iv of g clipped to [s, e), under
// prefix, cut at region boundaries. Waits are not followed.
func (x *paths) emit(out []Segment, g int64, iv profile.Interval, s, e int64, prefix []Frame) []Segment {
	for s < e {
		end := e
		if c := x.cuts(g, s, e); len(c) > 0 {
			end = c[0]
		}
		path := x.path(g, iv.Stack, s, prefix)
		path = appendState(path, iv)
		out = append(out, Segment{Start: s, End: end, Goroutine: g, State: iv.State, Path: path, Inferred: iv.Inferred})
		s = end
	}
	return out
}

func appendState(path []Frame, iv profile.Interval) []Frame {
	switch iv.State {
	case profile.Waiting:
		return append(path, Frame{Name: WaitName(iv.Reason), Kind: Wait})
	case profile.Syscall:
		return append(path, Frame{Name: SyscallName, Kind: Syscall})
	case profile.Runnable:
		return append(path, Frame{Name: RunnableName, Kind: Runnable})
	}
	return path
}

func (x *paths) entry(g *profile.Goroutine) string { return EntryName(x.p, g) }

// goWrappers start goroutines for a function they are given; a goroutine
// is better named by that function.
var goWrappers = map[string]bool{
	"sync.(*WaitGroup).Go.func1":                      true,
	"golang.org/x/sync/errgroup.(*Group).Go.func1":    true,
	"golang.org/x/sync/errgroup.(*Group).TryGo.func1": true,
}

// EntryName names goroutine g by the function it runs: its entry function,
// the function given to a wrapper such as sync.WaitGroup.Go, or, for a
// goroutine created before the trace began, the outermost frame known.
func EntryName(p *profile.Profile, g *profile.Goroutine) string {
	e := p.EntryFunc(g)
	if e != "" && !goWrappers[e] {
		return e
	}
	for _, iv := range g.Intervals {
		fs := p.Stacks[iv.Stack].Frames
		if len(fs) == 0 {
			continue
		}
		if e == "" {
			return p.Frames[fs[0]].Func
		}
		if len(fs) > 1 && p.Frames[fs[0]].Func == e {
			return p.Frames[fs[1]].Func
		}
	}
	return e
}

func goroutineName(p *profile.Profile, g *profile.Goroutine) string {
	if g.Parent == 0 && len(p.Goroutines) > 0 && g.ID == p.Goroutines[0].ID {
		return fmt.Sprintf("goroutine %d: %s (root)", g.ID, p.Name)
	}
	if e := EntryName(p, g); e != "" {
		return fmt.Sprintf("goroutine %d: %s", g.ID, e)
	}
	return fmt.Sprintf("goroutine %d", g.ID)
}

// --- the views ----------------------------------------------------------------

// CriticalPath returns the critical-path timeline: it covers [0, Duration)
// exactly when the root goroutine's intervals do.
func CriticalPath(p *profile.Profile) Timeline {
	t := Timeline{Name: "critical path"}
	if len(p.Goroutines) == 0 {
		return t
	}
	x := newPaths(p)
	root := &p.Goroutines[0]
	t.Goroutine = root.ID
	t.Segments = x.explain(nil, root, root.Start, root.End, nil, 0)
	return t
}

// explain appends what goroutine g did in [a, b), under prefix.
func (x *paths) explain(out []Segment, g *profile.Goroutine, a, b int64, prefix []Frame, depth int) []Segment {
	ivs := g.Intervals
	i := sort.Search(len(ivs), func(i int) bool { return ivs[i].End > a })
	for ; i < len(ivs) && ivs[i].Start < b; i++ {
		iv := ivs[i]
		s, e := max(iv.Start, a), min(iv.End, b)
		if s >= e {
			continue
		}
		w := x.byID[iv.Waker]
		if iv.State != profile.Waiting || w == nil || w == g || depth >= profile.FollowDepth || !profile.ExplainedByWaker(iv.Reason) {
			out = x.emit(out, g.ID, iv, s, e, prefix)
			continue
		}
		// The wait is explained by what the waker did meanwhile, unless it
		// is the profiler's own (its locks are shared by every profiled
		// request: following them leads into other requests' work).
		wait := appendState(x.path(g.ID, iv.Stack, s, prefix), iv)
		if len(wait) >= 2 && wait[len(wait)-2].Kind == Overhead {
			out = x.emit(out, g.ID, iv, s, e, prefix)
			continue
		}
		ws, we := max(s, w.Start), min(e, w.End)
		if ws >= we {
			out = x.emit(out, g.ID, iv, s, e, prefix)
			continue
		}
		if s < ws {
			out = append(out, Segment{Start: s, End: ws, Goroutine: g.ID, State: profile.Waiting, Path: wait})
		}
		via := append(wait[:len(wait):len(wait)], Frame{Name: ViaName(w.ID, x.entry(w)), Kind: Via})
		out = x.explain(out, w, ws, we, via, depth+1)
		if we < e {
			out = append(out, Segment{Start: we, End: e, Goroutine: g.ID, State: profile.Waiting, Path: wait})
		}
	}
	return out
}

// PerGoroutine returns one timeline per member goroutine, in the profile's
// order (the root first, then creation order).
func PerGoroutine(p *profile.Profile) []Timeline {
	x := newPaths(p)
	var out []Timeline
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if !g.Member {
			continue
		}
		t := Timeline{Name: goroutineName(p, g), Goroutine: g.ID}
		for _, iv := range g.Intervals {
			t.Segments = x.emit(t.Segments, g.ID, iv, iv.Start, iv.End, nil)
		}
		out = append(out, t)
	}
	return out
}

// AllGoroutines returns one timeline holding every member goroutine's time,
// each goroutine's paths under the stack that spawned it. Segments of
// different goroutines overlap in time.
func AllGoroutines(p *profile.Profile) Timeline {
	x := newPaths(p)
	t := Timeline{Name: "all goroutines"}
	prefixes := map[int64][]Frame{}
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if !g.Member {
			continue
		}
		var prefix []Frame
		if pp, ok := prefixes[g.Parent]; ok && g.Parent != 0 {
			prefix = x.path(g.Parent, g.CreatedAt, g.Start, pp)
		}
		prefixes[g.ID] = prefix
		for _, iv := range g.Intervals {
			t.Segments = x.emit(t.Segments, g.ID, iv, iv.Start, iv.End, prefix)
		}
	}
	sort.SliceStable(t.Segments, func(i, j int) bool { return t.Segments[i].Start < t.Segments[j].Start })
	return t
}
