// Package view derives what people look at from a profile's flat records:
// timelines of time-stamped segments, each attributed to a path of frames,
// the weighted stack sets and call trees built from them, and the summary
// every header shows.
//
// Three views exist ([Kind]; [ParseKind] checks a name given by a user):
//
//   - [CriticalPath] (the default) walks the root goroutine; where it waited
//     and another goroutine woke it, the wait is explained by what that
//     goroutine did meanwhile, nested under the waiting stack and marked
//     "[via goroutine N: entry]", recursively. It sums to the wall time.
//   - [PerGoroutine] gives each goroutine of the work its own timeline
//     ([EachGoroutine] also those outside the work that woke one of its
//     goroutines).
//   - [AllGoroutines] puts every goroutine's time under the stack that
//     spawned it; it sums to goroutine-time, which exceeds wall time under
//     fan-out.
//
// Waits, system calls, scheduler latency and user regions appear as
// pseudo-frames: "[wait: <runtime reason>]", "[syscall]", "[runnable]",
// "[via goroutine N: <entry function>]", and the region's type. A
// [Segment] keeps what its interval said (state, wait reason, waker,
// whether its stack was inferred) and which regions its region frames
// stand for, so renderers never look the intervals up again.
//
// Renderers take what this package computes: timelines (Speedscope,
// Chrome), or a [StackSet] — weighted stacks, from one profile's view or
// from many profiles merged — and the call trees ([Node]) built from it
// (text, folded, pprof). [Summarize] classifies the critical path's time
// (running, runnable, system calls, waits by reason) once, for every
// header and listing.
//
// # Cost
//
// Every view is linear in the size of the profile: region boundaries are
// found by binary search and active regions by a sweep, a path holds at
// most 32 region frames, the critical path does not follow a waker that is
// already on the chain it explains (a cycle, which no real trace has) and
// stops following wakers once it has made four times the frames the
// per-goroutine view needs (saying so in [Timeline.Notes]), and goroutines
// spawned more than 64 levels deep nest under their 64th ancestor's spawn
// site.
package view

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/reqprof/reqprof/profile"
)

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
	Label                     // a name over a group of stacks: a goroutine of the per-goroutine view, a profile of a merge
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

// Segment is a stretch of time attributed to a path of frames, in one
// state of one goroutine.
type Segment struct {
	Start, End int64
	// Goroutine is the goroutine whose state this is (for the critical
	// path, the goroutine actually doing or waiting, maybe a waker).
	Goroutine int64
	// State, Reason and Waker are those of the goroutine's interval: the
	// runtime's reason of a waiting or runnable interval, and the goroutine
	// that ended a wait (0: the runtime itself did).
	State  profile.State
	Reason string
	Waker  int64
	// Interval is the index of that interval in the goroutine's
	// Intervals, -1 for a CPU sample ([Samples]).
	Interval int
	// Path is outermost first. It may be empty (running at no known frame).
	// Segments share paths: a path must not be changed.
	Path []Frame
	// Regions holds, for each Region frame of Path in order, the index of
	// its region in Profile.Regions; nil when Path has none.
	Regions []int
	// Inferred marks running time that no CPU sample observed.
	Inferred bool
}

// Timeline is a named sequence of segments. In CriticalPath and
// PerGoroutine timelines, segments are in time order and do not overlap.
type Timeline struct {
	Name      string
	Goroutine int64 // 0 for views over several goroutines
	Segments  []Segment
	// Notes say what the view left out to stay linear in the profile's
	// size (only hostile or corrupt profiles make any).
	Notes []string
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
// All, one per member goroutine for Goroutines. "" is Critical; another
// unknown kind is ParseKind's error.
func Timelines(p *profile.Profile, k Kind) ([]Timeline, error) {
	k, err := k.check()
	if err != nil {
		return nil, err
	}
	switch k {
	case Goroutines:
		return PerGoroutine(p), nil
	case All:
		return []Timeline{AllGoroutines(p)}, nil
	}
	return []Timeline{CriticalPath(p)}, nil
}

// --- paths ------------------------------------------------------------------

// paths turns stacks into paths for one profile.
type paths struct {
	p       *profile.Profile
	byID    map[int64]*profile.Goroutine
	regions map[int64]*regionIndex // by goroutine
	cursors map[int64]*regionCursor
	root    int64
	frames  int // the frames of the segments made so far
	// made holds the paths made so far without a prefix, and madePre
	// those under the last prefix used: segments of one stack in one
	// state, under one prefix, with the same regions active, share one.
	made, madePre map[pathKey]madePath
	lastPre       pathKey
	key           []byte
}

type pathKey struct {
	g       int64
	stack   profile.StackID
	state   profile.State
	reason  string
	pre     *Frame // the prefix's first frame: prefixes are never changed
	preLen  int
	regions string // the active regions, varints
}

type madePath struct {
	frames  []Frame
	regions []int
}

func newPaths(p *profile.Profile) *paths {
	x := &paths{p: p, byID: map[int64]*profile.Goroutine{}, regions: indexRegions(p), cursors: map[int64]*regionCursor{}, made: map[pathKey]madePath{}, madePre: map[pathKey]madePath{}}
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		x.byID[g.ID] = g
	}
	if len(p.Goroutines) > 0 {
		x.root = p.Goroutines[0].ID
	}
	return x
}

// cursor returns goroutine g's region cursor for the timeline being made.
func (x *paths) cursor(g int64) *regionCursor {
	c := x.cursors[g]
	if c == nil {
		c = newCursor(x.p, x.regions[g])
		x.cursors[g] = c
	}
	return c
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

// prefix is what a path starts with: the frames (and their regions) of
// the wait a waker explains, or of a goroutine's spawn site.
type prefix struct {
	frames  []Frame
	regions []int
}

// path returns the path of stack on goroutine g at time t in a state
// (0 for none: no state pseudo-frame) under pre, with the regions active
// on g at t (found by cur) inserted where they began, and the regions of
// the path's region frames. Paths are shared: they must not be changed.
func (x *paths) path(g int64, stack profile.StackID, state profile.State, reason string, t int64, pre prefix, cur *regionCursor) ([]Frame, []int) {
	active := cur.active(t)
	k := pathKey{g: g, stack: stack, state: state, reason: reason, preLen: len(pre.frames)}
	if len(pre.frames) > 0 {
		k.pre = &pre.frames[0]
	}
	if len(active) > 0 {
		x.key = x.key[:0]
		for _, r := range active {
			x.key = binary.AppendUvarint(x.key, uint64(r))
		}
		k.regions = string(x.key)
	}
	made := x.made
	if k.pre != nil {
		if k.pre != x.lastPre.pre || k.preLen != x.lastPre.preLen {
			clear(x.madePre)
			x.lastPre = pathKey{pre: k.pre, preLen: k.preLen}
		}
		made = x.madePre
	}
	if m, ok := made[k]; ok {
		return m.frames, m.regions
	}
	f, r := x.build(g, stack, active, pre)
	f = appendState(f, state, reason)
	made[k] = madePath{f, r}
	return f, r
}

// build makes the path of stack on g under pre with the active regions.
func (x *paths) build(g int64, stack profile.StackID, active []int, pre prefix) ([]Frame, []int) {
	fs := x.p.Stacks[stack].Frames
	n, overhead := x.strip(g, fs)
	fs = fs[n:]
	if overhead {
		out := make([]Frame, 0, len(pre.frames)+2)
		out = append(out, pre.frames...)
		return append(out, Frame{Name: OverheadName, Kind: Overhead}), pre.regions
	}
	out := make([]Frame, 0, len(pre.frames)+len(fs)+len(active)+1)
	out = append(out, pre.frames...)
	regs := pre.regions
	if len(active) > 0 {
		regs = make([]int, len(pre.regions), len(pre.regions)+len(active))
		copy(regs, pre.regions)
	}
	pos := 0
	for _, ri := range active {
		r := x.p.Regions[ri]
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
		regs = append(regs, ri)
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
	return out, regs
}

// segment returns the segment [s, e) of interval i of goroutine g.
func segment(g int64, i int, iv *profile.Interval, s, e int64, path []Frame, regs []int) Segment {
	return Segment{Start: s, End: e, Goroutine: g, State: iv.State, Reason: iv.Reason, Waker: iv.Waker,
		Interval: i, Path: path, Regions: regs, Inferred: iv.Inferred}
}

// emit appends the segments of interval i of g clipped to [s, e), under
// pre, cut at region boundaries. Waits are not followed.
func (x *paths) emit(out []Segment, g int64, i int, iv *profile.Interval, s, e int64, pre prefix, cur *regionCursor) []Segment {
	ri := x.regions[g]
	j := ri.after(s)
	for s < e {
		end := e
		if c, next, ok := ri.cut(j, e); ok {
			end, j = c, next
		}
		path, regs := x.path(g, iv.Stack, iv.State, iv.Reason, s, pre, cur)
		x.frames += len(path) + segmentFrames
		out = append(out, segment(g, i, iv, s, end, path, regs))
		s = end
	}
	return out
}

func appendState(path []Frame, state profile.State, reason string) []Frame {
	switch state {
	case profile.Waiting:
		return append(path, Frame{Name: WaitName(reason), Kind: Wait})
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

// outsiderName names the timeline of a goroutine outside the work, which
// woke the goroutines woke.
func outsiderName(p *profile.Profile, g *profile.Goroutine, woke []int64) string {
	name := fmt.Sprintf("goroutine %d", g.ID)
	if e := EntryName(p, g); e != "" {
		name += ": " + e
	}
	name += " (outside the work"
	if len(woke) > 0 {
		ids := make([]string, len(woke))
		for i, id := range woke {
			ids[i] = fmt.Sprint(id)
		}
		if len(woke) == 1 {
			name += "; woke goroutine " + ids[0]
		} else {
			name += "; woke goroutines " + strings.Join(ids, ", ")
		}
	}
	return name + ")"
}

// wokeBy returns, for each goroutine, the goroutines whose waits it ended,
// sorted.
func wokeBy(p *profile.Profile) map[int64][]int64 {
	out := map[int64][]int64{}
	for _, g := range p.Goroutines {
		for _, iv := range g.Intervals {
			if iv.State != profile.Waiting || iv.Waker == 0 || iv.Waker == g.ID {
				continue
			}
			if ids := out[iv.Waker]; len(ids) == 0 || ids[len(ids)-1] != g.ID {
				out[iv.Waker] = append(ids, g.ID)
			}
		}
	}
	for w, ids := range out {
		slices.Sort(ids)
		out[w] = slices.Compact(ids)
	}
	return out
}

// --- the views ----------------------------------------------------------------

// segmentFrames is what a Segment costs, counted in frames.
const segmentFrames = 3

// Following wakers stops once the critical path holds followFactor times
// the frames of every goroutine's own timeline (and at least
// minFollowFrames): the critical path then costs at most a few times the
// per-goroutine view, whatever chains of waits a profile holds.
const (
	followFactor    = 4
	minFollowFrames = 1 << 20
)

func followBudget(p *profile.Profile) int {
	n := 0
	for i := range p.Goroutines {
		for _, iv := range p.Goroutines[i].Intervals {
			n += len(p.Stacks[iv.Stack].Frames) + 1 + segmentFrames
		}
	}
	return max(minFollowFrames, followFactor*n)
}

// CriticalPath returns the critical-path timeline: it covers [0, Duration)
// exactly when the root goroutine's intervals do.
func CriticalPath(p *profile.Profile) Timeline {
	t := Timeline{Name: "critical path"}
	if len(p.Goroutines) == 0 {
		return t
	}
	c := &critical{paths: newPaths(p), budget: followBudget(p)}
	root := &p.Goroutines[0]
	t.Goroutine = root.ID
	t.Segments = c.explain(make([]Segment, 0, len(root.Intervals)), root, root.Start, root.End, prefix{}, []int64{root.ID})
	if c.stopped {
		t.Notes = append(t.Notes, fmt.Sprintf("the critical path stopped following wakers after %d frames; later waits are shown unexplained", c.budget))
	}
	return t
}

type critical struct {
	*paths
	budget  int
	stopped bool // the budget ran out
}

// explain appends what goroutine g did in [a, b), under pre. chain lists
// the goroutines being explained, g last.
func (c *critical) explain(out []Segment, g *profile.Goroutine, a, b int64, pre prefix, chain []int64) []Segment {
	ivs := g.Intervals
	cur := c.cursor(g.ID)
	i := sort.Search(len(ivs), func(i int) bool { return ivs[i].End > a })
	for ; i < len(ivs) && ivs[i].Start < b; i++ {
		iv := &ivs[i]
		s, e := max(iv.Start, a), min(iv.End, b)
		if s >= e {
			continue
		}
		w := c.byID[iv.Waker]
		// A waker already on the chain is waiting throughout the window
		// it would explain: only an inconsistent profile has such a cycle.
		if iv.State != profile.Waiting || w == nil || w == g || len(chain) > profile.FollowDepth ||
			!profile.ExplainedByWaker(iv.Reason) || slices.Contains(chain, w.ID) {
			out = c.emit(out, g.ID, i, iv, s, e, pre, cur)
			continue
		}
		// The wait is explained by what the waker did meanwhile, unless it
		// is the profiler's own (its locks are shared by every profiled
		// request: following them leads into other requests' work).
		wait, regs := c.path(g.ID, iv.Stack, iv.State, iv.Reason, s, pre, cur)
		c.frames += len(wait)
		if len(wait) >= 2 && wait[len(wait)-2].Kind == Overhead {
			out = c.emit(out, g.ID, i, iv, s, e, pre, cur)
			continue
		}
		ws, we := max(s, w.Start), min(e, w.End)
		if ws >= we {
			out = c.emit(out, g.ID, i, iv, s, e, pre, cur)
			continue
		}
		if c.frames > c.budget {
			c.stopped = true
			out = c.emit(out, g.ID, i, iv, s, e, pre, cur)
			continue
		}
		if s < ws {
			c.frames += segmentFrames
			out = append(out, segment(g.ID, i, iv, s, ws, wait, regs))
		}
		via := append(wait[:len(wait):len(wait)], Frame{Name: ViaName(w.ID, c.entry(w)), Kind: Via})
		c.frames += len(via)
		out = c.explain(out, w, ws, we, prefix{via, regs}, append(chain, w.ID))
		if we < e {
			c.frames += segmentFrames
			out = append(out, segment(g.ID, i, iv, we, e, wait, regs))
		}
	}
	return out
}

// PerGoroutine returns one timeline per member goroutine, in the profile's
// order (the root first, then creation order).
func PerGoroutine(p *profile.Profile) []Timeline { return goroutineTimelines(p, true) }

// EachGoroutine returns one timeline per goroutine of the profile, in its
// order: the members as in PerGoroutine, then the goroutines outside the
// work that woke one of its goroutines, named so ("goroutine 9:
// main.holder (outside the work; woke goroutine 1)"). The i-th timeline is
// that of p.Goroutines[i].
func EachGoroutine(p *profile.Profile) []Timeline { return goroutineTimelines(p, false) }

func goroutineTimelines(p *profile.Profile, members bool) []Timeline {
	x := newPaths(p)
	var woke map[int64][]int64
	var out []Timeline
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if !g.Member && members {
			continue
		}
		t := Timeline{Goroutine: g.ID, Segments: make([]Segment, 0, len(g.Intervals))}
		if g.Member {
			t.Name = goroutineName(p, g)
		} else {
			if woke == nil {
				woke = wokeBy(p)
			}
			t.Name = outsiderName(p, g, woke[g.ID])
		}
		cur := x.cursor(g.ID)
		for j := range g.Intervals {
			iv := &g.Intervals[j]
			t.Segments = x.emit(t.Segments, g.ID, j, iv, iv.Start, iv.End, prefix{}, cur)
		}
		out = append(out, t)
	}
	return out
}

// maxSpawnDepth bounds the nesting of spawn sites in AllGoroutines and
// Samples: a goroutine spawned deeper nests under its ancestor's site.
const maxSpawnDepth = 64

// spawnPrefixes returns each member goroutine's prefix in AllGoroutines:
// its parent's prefix and the parent's path where it was spawned.
func (x *paths) spawnPrefixes() (map[int64]prefix, bool) {
	type spawn struct {
		pre   prefix
		depth int
	}
	spawns := map[int64]spawn{}
	cursors := map[int64]*regionCursor{} // the spawning goroutines', apart from x's
	capped := false
	for i := range x.p.Goroutines {
		g := &x.p.Goroutines[i]
		if !g.Member {
			continue
		}
		var sp spawn
		if pp, ok := spawns[g.Parent]; ok && g.Parent != 0 {
			sp = pp
			if pp.depth < maxSpawnDepth {
				cur := cursors[g.Parent]
				if cur == nil {
					cur = newCursor(x.p, x.regions[g.Parent])
					cursors[g.Parent] = cur
				}
				f, r := x.path(g.Parent, g.CreatedAt, 0, "", g.Start, pp.pre, cur)
				sp = spawn{prefix{f, r}, pp.depth + 1}
			} else {
				capped = true
			}
		}
		spawns[g.ID] = sp
	}
	out := make(map[int64]prefix, len(spawns))
	for id, sp := range spawns {
		out[id] = sp.pre
	}
	return out, capped
}

const spawnNote = "goroutines spawned more than 64 levels deep are shown under their 64th ancestor's spawn site"

// AllGoroutines returns one timeline holding every member goroutine's time,
// each goroutine's paths under the stack that spawned it. Segments of
// different goroutines overlap in time; they are sorted by start.
func AllGoroutines(p *profile.Profile) Timeline {
	x := newPaths(p)
	n := 0
	for i := range p.Goroutines {
		if p.Goroutines[i].Member {
			n += len(p.Goroutines[i].Intervals)
		}
	}
	t := Timeline{Name: "all goroutines", Segments: make([]Segment, 0, n)}
	prefixes, capped := x.spawnPrefixes()
	if capped {
		t.Notes = append(t.Notes, spawnNote)
	}
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if !g.Member {
			continue
		}
		pre, cur := prefixes[g.ID], x.cursor(g.ID)
		for j := range g.Intervals {
			iv := &g.Intervals[j]
			t.Segments = x.emit(t.Segments, g.ID, j, iv, iv.Start, iv.End, pre, cur)
		}
	}
	sort.SliceStable(t.Segments, func(i, j int) bool { return t.Segments[i].Start < t.Segments[j].Start })
	return t
}

// Samples returns one segment per CPU sample taken on a member goroutine:
// an instant (Start == End, the sample's time) of running time, whose path
// is the sample's stack as AllGoroutines shows stacks — under the spawning
// stack, with the regions active at that time — and whose Interval is -1.
// They are sorted by time, samples of one time in the profile's goroutine
// order.
func Samples(p *profile.Profile) []Segment {
	if len(p.Samples) == 0 {
		return nil
	}
	x := newPaths(p)
	prefixes, _ := x.spawnPrefixes()
	byG := map[int64][]int{}
	for i, s := range p.Samples {
		byG[s.Goroutine] = append(byG[s.Goroutine], i)
	}
	out := make([]Segment, 0, len(p.Samples))
	running := profile.Interval{State: profile.Running}
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if !g.Member {
			continue
		}
		idx := byG[g.ID]
		sort.SliceStable(idx, func(a, b int) bool { return p.Samples[idx[a]].Time < p.Samples[idx[b]].Time })
		pre, cur := prefixes[g.ID], x.cursor(g.ID)
		for _, si := range idx {
			s := p.Samples[si]
			path, regs := x.path(g.ID, s.Stack, profile.Running, "", s.Time, pre, cur)
			out = append(out, segment(g.ID, -1, &running, s.Time, s.Time, path, regs))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}
