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
// "[via goroutine N: <entry function>]", "[running, unsampled]", and the
// region's type. A [Segment] keeps what its interval said (state, wait
// reason, waker, whether its running time was sampled) and which regions
// its region frames stand for, so renderers never look the intervals up
// again.
//
// # How time is attributed
//
// Every nanosecond of a goroutine's life is in exactly one state, from the
// execution trace: running, runnable (waiting for a CPU; a goroutine the
// runtime preempted or suspended is runnable, reason "preempted"), in a
// system call, or waiting, with the runtime's reason. Waits, runnable time
// and system calls are exact, with the stack where they began.
//
// Running time is exact in total; where it ran is known only at CPU
// samples and at the stacks of state changes and events. The decoder
// (internal/tracedec) gives each CPU sample the running time nearer to it
// than to any other sample of the same running interval, at most half a
// sample period ([profile.Profile.SamplePeriod]) on each side — so one
// sample never carries more than a period's worth — and not past a point
// whose stack shows the sampled function had returned. That time is
// sampled: its path is the sample's stack, function frames compared by
// function, not line, as a sampling profiler gives it. The rest is
// unsampled ([profile.Interval.Inferred]): its path ends in
// "[running, unsampled]" under the deepest frame credibly running — the
// frames common to the stacks known at its two ends, without a blocking
// call's own frames, or, when those end above the user's code (the
// harness, a framework's dispatch), the deepest user frame of the stack it
// ended in (else began in), below the application's middleware and
// handler. So a function's own time ("[self]" in a tree)
// is only ever sampled time, and every header says how much of the running
// time was sampled ([Summary.CPUInferred], [Summary.SampledShare]).
//
// The critical path explains a wait of the work by what the goroutine that
// ended it did meanwhile, when the wait says something about the work
// ([profile.Profile.FollowWaker]): not a wait inside the runtime's timers
// or scheduler, not one ended by a runtime goroutine, not one on the
// profiler's own locks. A waker that belongs to another unit of work is
// named with it ("[via goroutine 57, request GET /w/4: main.work04]"), and
// its time counts as the work's wait (see [Segment.OtherWork]): the work
// was waiting, whatever the other request was doing. Goroutines that each
// waited at the same place for the next (a convoy on a lock) are one node,
// "[via a convoy of 14 goroutines on sync.(*Mutex).Lock, 14 of other
// requests]", with all their work under it at one level.
//
// User code is told from library code by each frame's package and file
// ([profile.Code], [ProfileUserCode]); method values ("(*T).m-fm") show as
// their method; library frames repeated between user frames (the
// http.HandlerFunc.ServeHTTP between middlewares) fold ([GroupLibrary]).
// Goroutines a library started that never ended a wait of the work are
// housekeeping ([Housekeeping]): not counted, one lane per entry function.
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
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/reqprof/reqprof/profile"
)

// FrameKind tells real function frames from pseudo-frames.
type FrameKind uint8

const (
	Func      FrameKind = iota // a function
	Region                     // a user region (runtime/trace.WithRegion)
	Wait                       // [wait: reason]
	Syscall                    // [syscall]
	Runnable                   // [runnable]
	Via                        // [via goroutine N: entry]
	Overhead                   // [reqprof]: the profiler's own work
	Label                      // a name over a group of stacks: a goroutine of the per-goroutine view, a profile of a merge
	Unsampled                  // [running, unsampled]: running time no CPU sample observed, under the deepest frame credibly running
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
	// UnsampledName stands for running time that no CPU sample observed,
	// under the deepest frame credibly running through it (see
	// [profile.Interval.Inferred]): measured in total, not in where.
	UnsampledName = "[running, unsampled]"
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

// maxTaskName bounds the name of another unit of work in a pseudo-frame.
const maxTaskName = 60

// ViaTaskName returns the pseudo-frame name of a wait explained by
// goroutine id of another unit of work, task ("GET /w/4"), which was
// running fn: "[via goroutine 57, request GET /w/4: main.work04]".
func ViaTaskName(id int64, task, fn string) string {
	if fn == "" {
		fn = "?"
	}
	return fmt.Sprintf("[via goroutine %d, request %s: %s]", id, bound(task, maxTaskName), shortFunc(fn))
}

// shortFunc drops the directories of a function's import path
// ("github.com/x/app/users.Get" → "users.Get").
func shortFunc(fn string) string {
	pkg := Package(fn)
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		return fn[i+1:]
	}
	return fn
}

// ConvoyName returns the pseudo-frame name of a wait explained by a
// convoy: a chain of n goroutines, each waiting in call (the same blocking
// call, "sync.(*Mutex).Lock", at the same place) for the next, others of
// them goroutines of other units of work. Their work is under it, flat.
func ConvoyName(n, others int, call string) string {
	if call == "" {
		call = "?"
	}
	if others > 0 {
		return fmt.Sprintf("[via a convoy of %d goroutines on %s, %d of other requests]", n, call, others)
	}
	return fmt.Sprintf("[via a convoy of %d goroutines on %s]", n, call)
}

// bound cuts s to at most n runes, marking the cut.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
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
	// Inferred marks running time that no CPU sample observed: its path
	// ends in "[running, unsampled]".
	Inferred bool
	// OtherWork is set on the critical path's time in goroutines of other
	// units of work (another request holding a lock this one waits for):
	// the wait of the work's goroutine that the time explains. The work
	// itself was waiting: Summarize counts the time as that wait.
	OtherWork *WaitRef
}

// WaitRef names a wait: interval Interval of goroutine Goroutine, with its
// reason.
type WaitRef struct {
	Goroutine int64
	Interval  int
	Reason    string
}

// Timeline is a named sequence of segments. In CriticalPath and
// PerGoroutine timelines, segments are in time order and do not overlap.
type Timeline struct {
	Name      string
	Goroutine int64 // 0 for views over several goroutines
	// Goroutines lists, for a lane of the per-goroutine view that stands
	// for a group of housekeeping goroutines (see [Housekeeping]), every
	// goroutine of the group; Goroutine is the one shown.
	Goroutines []int64
	// ShownIn is, in [EachGoroutine], for a housekeeping goroutine whose
	// group another goroutine's lane shows, that goroutine; 0 otherwise.
	ShownIn  int64
	Segments []Segment
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
	code    *profile.Code
	users   map[profile.FrameID]bool
	frames  int // the frames of the segments made so far
	// made holds the paths made so far without a prefix, and madePre
	// those under the last prefix used: segments of one stack in one
	// state, under one prefix, with the same regions active, share one.
	made, madePre map[pathKey]madePath
	lastPre       pathKey
	// keepPre keeps the paths under every prefix in made, for a view
	// that goes from one prefix to another and back (AllGoroutines's
	// merge; its prefixes are the goroutines' spawn sites).
	keepPre bool
	key     []byte
}

type pathKey struct {
	// root is set for the root goroutine's stacks, the only ones whose
	// path depends on the goroutine (see strip): other goroutines' paths
	// of one stack, state, prefix and regions are one.
	root      bool
	stack     profile.StackID
	state     profile.State
	reason    string
	unsampled bool
	pre       *Frame // the prefix's first frame: prefixes are never changed
	preLen    int
	regions   string // the active regions, varints
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
	return Frame{Name: strings.TrimSuffix(f.Func, "-fm"), File: f.File, Line: f.Line}
}

// appendFrame appends function frame id to a path: a method value's
// wrapper ("(*T).m-fm") shows as the method, once when it calls it.
// wrapper says whether the path's last frame is such a wrapper, and is
// updated.
func (x *paths) appendFrame(out []Frame, id profile.FrameID, wrapper *bool) []Frame {
	f := x.frame(id)
	w := *wrapper
	*wrapper = strings.HasSuffix(x.p.Frames[id].Func, "-fm")
	if n := len(out); w && n > 0 && out[n-1].Name == f.Name {
		out[n-1] = f
		return out
	}
	return append(out, f)
}

// user reports whether frame id is user code (see [profile.Code]).
func (x *paths) user(id profile.FrameID) bool {
	u, ok := x.users[id]
	if !ok {
		if x.code == nil {
			x.code, x.users = x.p.Code(), map[profile.FrameID]bool{}
		}
		f := x.p.Frames[id]
		u = x.code.User(f.Func, f.File)
		x.users[id] = u
	}
	return u
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
		// The delivery code's own calls inside the boundary (wrapping
		// the response writer) are the profiler's too.
		return len(work), len(fs) > len(work) && profile.IsLibrary(x.p.Library, x.p.Frames[fs[len(work)]].Func)
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
// (0 for none: no state pseudo-frame; unsampled for running time no CPU
// sample observed) under pre, with the regions active on g at t (found by
// cur) inserted where they began, and the regions of the path's region
// frames. Paths are shared: they must not be changed.
func (x *paths) path(g int64, stack profile.StackID, state profile.State, reason string, unsampled bool, t int64, pre prefix, cur *regionCursor) ([]Frame, []int) {
	active := cur.active(t)
	k := pathKey{root: g == x.root, stack: stack, state: state, reason: reason, unsampled: unsampled, preLen: len(pre.frames)}
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
	if k.pre != nil && !x.keepPre {
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
	// The profiler's own running time is "[reqprof]", sampled or not.
	f = appendState(f, state, reason, unsampled && (len(f) == 0 || f[len(f)-1].Kind != Overhead))
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
	wrapper := false
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
			out = x.appendFrame(out, f, &wrapper)
		}
		wrapper = false
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
		out = x.appendFrame(out, f, &wrapper)
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
		path, regs := x.path(g, iv.Stack, iv.State, iv.Reason, iv.Inferred, s, pre, cur)
		x.frames += len(path) + segmentFrames
		out = append(out, segment(g, i, iv, s, end, path, regs))
		s = end
	}
	return out
}

func appendState(path []Frame, state profile.State, reason string, unsampled bool) []Frame {
	switch state {
	case profile.Running:
		if unsampled {
			return append(path, Frame{Name: UnsampledName, Kind: Unsampled})
		}
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
	// memberWait is the wait of the work's own goroutine that the time
	// being explained explains, the nearest on the chain.
	memberWait *WaitRef
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
		if !c.follows(g, iv, w, chain) {
			out = c.emit(out, g.ID, i, iv, s, e, pre, cur)
			continue
		}
		// The wait is explained by what the waker did meanwhile, unless it
		// is the profiler's own (its locks are shared by every profiled
		// request: following them leads into other requests' work).
		wait, regs := c.path(g.ID, iv.Stack, iv.State, iv.Reason, false, s, pre, cur)
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
		start := len(out)
		others := 0
		wchain := append(chain[:len(chain):len(chain)], w.ID)
		outer := c.memberWait
		if g.Member {
			c.memberWait = &WaitRef{Goroutine: g.ID, Interval: i, Reason: iv.Reason}
		}
		if site := c.site(iv); c.convoyAt(w, ws, we, site, wchain) {
			// A convoy: the waker waited at the same place for another,
			// and so on. One node for them all, their work flat under it.
			n := 0
			n, others = c.convoyMembers(w, ws, we, site, wchain)
			via := append(wait[:len(wait):len(wait)], Frame{Name: ConvoyName(n, others, site.call), Kind: Via})
			c.frames += len(via)
			out = c.convoy(out, w, ws, we, site, prefix{via, regs}, wchain)
		} else {
			if w.Task != "" {
				others = 1
			}
			via := append(wait[:len(wait):len(wait)], Frame{Name: c.viaName(w, iv.End), Kind: Via})
			c.frames += len(via)
			out = c.explain(out, w, ws, we, prefix{via, regs}, wchain)
		}
		// Another unit's work explains the wait: the work's own goroutine
		// nearest on the chain was waiting.
		if ref := c.memberWait; others > 0 && ref != nil {
			for k := start; k < len(out); k++ {
				if out[k].OtherWork == nil {
					out[k].OtherWork = ref
				}
			}
		}
		c.memberWait = outer
		if we < e {
			c.frames += segmentFrames
			out = append(out, segment(g.ID, i, iv, we, e, wait, regs))
		}
	}
	return out
}

// follows reports whether the critical path explains wait iv of g by its
// waker w (see [profile.Profile.FollowWaker]), given the chain of
// goroutines being explained. A waker already on the chain is waiting
// throughout the window it would explain: only an inconsistent profile has
// such a cycle.
func (c *critical) follows(g *profile.Goroutine, iv *profile.Interval, w *profile.Goroutine, chain []int64) bool {
	return iv.State == profile.Waiting && w != nil && w != g && len(chain) <= profile.FollowDepth &&
		c.p.FollowWaker(iv, c.p.EntryFunc(w)) && !slices.Contains(chain, w.ID)
}

// waitSite is where a wait waited: its reason, its blocking call and the
// function that made it. Goroutines waiting one for the next at one site
// form a convoy (a lock they all take at the same place).
type waitSite struct {
	reason, caller, call string
}

func (c *critical) site(iv *profile.Interval) waitSite {
	caller, call := c.p.BlockingCall(iv.Stack)
	return waitSite{iv.Reason, caller, call}
}

// link returns, for interval iv of w, the goroutine whose work explains it
// as the next link of a convoy at site (nil if it is not one).
func (c *critical) link(w *profile.Goroutine, iv *profile.Interval, site waitSite, chain []int64) *profile.Goroutine {
	if iv.State != profile.Waiting || site.call == "" || c.site(iv) != site {
		return nil
	}
	x := c.byID[iv.Waker]
	if !c.follows(w, iv, x, chain) {
		return nil
	}
	return x
}

// convoyAt reports whether w's work in [a, b) explains a wait at site by
// waiting at site itself for another goroutine.
func (c *critical) convoyAt(w *profile.Goroutine, a, b int64, site waitSite, chain []int64) bool {
	ivs := w.Intervals
	for i := sort.Search(len(ivs), func(i int) bool { return ivs[i].End > a }); i < len(ivs) && ivs[i].Start < b; i++ {
		if x := c.link(w, &ivs[i], site, chain); x != nil && max(a, ivs[i].Start, x.Start) < min(b, ivs[i].End, x.End) {
			return true
		}
	}
	return false
}

// convoyMembers returns the number of goroutines of the convoy at site
// that starts with w over [a, b), and how many of them belong to other
// units of work.
func (c *critical) convoyMembers(w *profile.Goroutine, a, b int64, site waitSite, chain []int64) (n, others int) {
	seen := map[int64]bool{}
	var walk func(w *profile.Goroutine, a, b int64, chain []int64)
	walk = func(w *profile.Goroutine, a, b int64, chain []int64) {
		if !seen[w.ID] {
			seen[w.ID] = true
			n++
			if w.Task != "" {
				others++
			}
		}
		ivs := w.Intervals
		for i := sort.Search(len(ivs), func(i int) bool { return ivs[i].End > a }); i < len(ivs) && ivs[i].Start < b; i++ {
			iv := &ivs[i]
			if x := c.link(w, iv, site, chain); x != nil {
				if xs, xe := max(a, iv.Start, x.Start), min(b, iv.End, x.End); xs < xe {
					walk(x, xs, xe, append(chain[:len(chain):len(chain)], x.ID))
				}
			}
		}
	}
	walk(w, a, b, chain)
	return n, others
}

// convoy appends what the convoy at site that starts with w did in [a, b),
// every goroutine's work under pre: its waits at site are explained by the
// next goroutine's work at the same level, not beneath.
func (c *critical) convoy(out []Segment, w *profile.Goroutine, a, b int64, site waitSite, pre prefix, chain []int64) []Segment {
	ivs := w.Intervals
	cur := c.cursor(w.ID)
	for i := sort.Search(len(ivs), func(i int) bool { return ivs[i].End > a }); i < len(ivs) && ivs[i].Start < b; i++ {
		iv := &ivs[i]
		s, e := max(iv.Start, a), min(iv.End, b)
		if s >= e {
			continue
		}
		if x := c.link(w, iv, site, chain); x != nil && c.frames <= c.budget {
			if xs, xe := max(s, x.Start), min(e, x.End); xs < xe {
				if s < xs {
					out = c.emit(out, w.ID, i, iv, s, xs, pre, cur)
				}
				out = c.convoy(out, x, xs, xe, site, pre, append(chain[:len(chain):len(chain)], x.ID))
				if xe < e {
					out = c.emit(out, w.ID, i, iv, xe, e, pre, cur)
				}
				continue
			}
		}
		out = c.explain(out, w, s, e, pre, chain)
	}
	return out
}

// viaName names the pseudo-frame of a wait explained by w, which ended it
// at time at.
func (c *critical) viaName(w *profile.Goroutine, at int64) string {
	if w.Task == "" {
		return ViaName(w.ID, c.entry(w))
	}
	// Another unit's goroutine (a request's server goroutine, whose entry
	// says nothing): named by the user function it was running.
	fn := c.entry(w)
	ivs := w.Intervals
	if i := sort.Search(len(ivs), func(i int) bool { return ivs[i].End >= at }); i < len(ivs) {
		fs := c.p.Stacks[ivs[i].Stack].Frames
		for k := len(fs) - 1; k >= 0; k-- {
			if c.user(fs[k]) {
				fn = strings.TrimSuffix(c.p.Frames[fs[k]].Func, "-fm")
				break
			}
		}
	}
	return ViaTaskName(w.ID, w.Task, fn)
}

// PerGoroutine returns one timeline per member goroutine, in the profile's
// order (the root first, then creation order), except that housekeeping
// goroutines ([Housekeeping]) with one entry function share one lane: the
// timeline of the one that ran longest, named for the group
// ("database/sql.(*DB).awaitDone ×61 (housekeeping; goroutine 12 shown)")
// and listing them all in Goroutines.
func PerGoroutine(p *profile.Profile) []Timeline {
	x := newPaths(p)
	hk := Housekeeping(p)
	var out []Timeline
	for _, lane := range lanes(p, hk) {
		g := &p.Goroutines[lane[0]]
		t := x.timeline(g, goroutineName(p, g))
		if hk[g.ID] {
			t.Name = laneName(p, g, len(lane))
			for _, i := range lane {
				t.Goroutines = append(t.Goroutines, p.Goroutines[i].ID)
			}
		}
		out = append(out, t)
	}
	return out
}

// EachGoroutine returns one timeline per goroutine of the profile, in its
// order: the members as in PerGoroutine, then the goroutines outside the
// work that woke one of its goroutines, named so ("goroutine 9:
// main.holder (outside the work; woke goroutine 1)"). The i-th timeline is
// that of p.Goroutines[i]. Housekeeping goroutines are grouped as in
// PerGoroutine: the one shown is named for the group, the others say, in
// ShownIn, which one shows them (a renderer with one lane per goroutine
// leaves their lanes empty).
func EachGoroutine(p *profile.Profile) []Timeline {
	x := newPaths(p)
	hk := Housekeeping(p)
	shown := map[int]int{} // index -> index of the goroutine whose lane shows it
	size := map[int]int{}
	for _, lane := range lanes(p, hk) {
		for _, i := range lane {
			shown[i] = lane[0]
		}
		size[lane[0]] = len(lane)
	}
	var woke map[int64][]int64
	out := make([]Timeline, 0, len(p.Goroutines))
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		switch {
		case !g.Member:
			if woke == nil {
				woke = wokeBy(p)
			}
			out = append(out, x.timeline(g, outsiderName(p, g, woke[g.ID])))
		case !hk[g.ID]:
			out = append(out, x.timeline(g, goroutineName(p, g)))
		case shown[i] == i:
			out = append(out, x.timeline(g, laneName(p, g, size[i])))
		default:
			by := p.Goroutines[shown[i]].ID
			t := x.timeline(g, fmt.Sprintf("%s (housekeeping; shown as goroutine %d)", goroutineName(p, g), by))
			t.ShownIn = by
			out = append(out, t)
		}
	}
	return out
}

// timeline returns goroutine g's own timeline, named name.
func (x *paths) timeline(g *profile.Goroutine, name string) Timeline {
	t := Timeline{Name: name, Goroutine: g.ID, Segments: make([]Segment, 0, len(g.Intervals))}
	cur := x.cursor(g.ID)
	for j := range g.Intervals {
		iv := &g.Intervals[j]
		t.Segments = x.emit(t.Segments, g.ID, j, iv, iv.Start, iv.End, prefix{}, cur)
	}
	return t
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
				f, r := x.path(g.Parent, g.CreatedAt, 0, "", false, g.Start, pp.pre, cur)
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
	var members []*profile.Goroutine
	ordered := true // every member's intervals in order, ids distinct
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if g.Member {
			members = append(members, g)
			ordered = ordered && x.byID[g.ID] == g && inOrder(g.Intervals)
		}
	}
	if ordered {
		t.Segments = x.mergeAll(t.Segments, members, prefixes)
		return t
	}
	for _, g := range members {
		pre, cur := prefixes[g.ID], x.cursor(g.ID)
		for j := range g.Intervals {
			iv := &g.Intervals[j]
			t.Segments = x.emit(t.Segments, g.ID, j, iv, iv.Start, iv.End, pre, cur)
		}
	}
	sortByStart(t.Segments)
	return t
}

// inOrder reports whether the non-empty intervals of ivs are in time
// order and do not overlap: their segments then start in order.
func inOrder(ivs []profile.Interval) bool {
	end := int64(math.MinInt64)
	for i := range ivs {
		if ivs[i].Start >= ivs[i].End {
			continue
		}
		if ivs[i].Start < end {
			return false
		}
		end = ivs[i].End
	}
	return true
}

// run is one goroutine's segments in AllGoroutines's merge: those of
// interval j-1 not yet taken are buf[k:].
type run struct {
	g     *profile.Goroutine
	order int // the goroutine's place among the members
	j, k  int
	buf   []Segment
	pre   prefix
	cur   *regionCursor
}

// fill makes the segments of the run's next non-empty interval, and
// reports whether there was one.
func (x *paths) fill(r *run) bool {
	ivs := r.g.Intervals
	for r.k = 0; r.j < len(ivs); {
		iv := &ivs[r.j]
		r.j++
		if iv.Start < iv.End {
			r.buf = x.emit(r.buf[:0], r.g.ID, r.j-1, iv, iv.Start, iv.End, r.pre, r.cur)
			return true
		}
	}
	return false
}

// mergeAll appends the segments of the members' own timelines (each under
// its spawn prefix) to out, sorted by start, those of one start in the
// members' order: what sorting them all stably by start gives, when each
// member's segments start in order (see inOrder). Each member's segments
// are made as the merge reaches them, from a heap of the members.
func (x *paths) mergeAll(out []Segment, members []*profile.Goroutine, prefixes map[int64]prefix) []Segment {
	// Under every prefix at once: the merge goes from one to another at
	// each segment.
	x.keepPre = true
	defer func() { x.keepPre = false }()
	h := make([]*run, 0, len(members))
	for i, g := range members {
		r := &run{g: g, order: i, pre: prefixes[g.ID], cur: x.cursor(g.ID)}
		if x.fill(r) {
			h = append(h, r)
		}
	}
	less := func(a, b *run) bool {
		sa, sb := a.buf[a.k].Start, b.buf[b.k].Start
		return sa < sb || sa == sb && a.order < b.order
	}
	down := func(i int) {
		for {
			c := 2*i + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && less(h[c+1], h[c]) {
				c++
			}
			if !less(h[c], h[i]) {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(h) > 0 {
		r := h[0]
		out = append(out, r.buf[r.k])
		r.k++
		if r.k == len(r.buf) && !x.fill(r) {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		down(0)
	}
	return out
}

// sortByStart sorts segs by start, stably: by start, then by position. It
// sorts 16-byte keys, not the segments, then moves each segment once.
func sortByStart(segs []Segment) {
	if slices.IsSortedFunc(segs, func(a, b Segment) int { return cmp.Compare(a.Start, b.Start) }) {
		return
	}
	type key struct {
		start int64
		pos   int
	}
	keys := make([]key, len(segs))
	for i := range segs {
		keys[i] = key{segs[i].Start, i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	// Segment keys[i].pos goes to i: follow each cycle of the permutation,
	// marking the keys done.
	for i := range keys {
		if keys[i].pos < 0 || keys[i].pos == i {
			continue
		}
		tmp := segs[i]
		j := i
		for {
			from := keys[j].pos
			keys[j].pos = -1
			if from == i {
				segs[j] = tmp
				break
			}
			segs[j] = segs[from]
			j = from
		}
	}
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
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p.Samples[a].Time, p.Samples[b].Time) })
		pre, cur := prefixes[g.ID], x.cursor(g.ID)
		for _, si := range idx {
			s := p.Samples[si]
			path, regs := x.path(g.ID, s.Stack, profile.Running, "", false, s.Time, pre, cur)
			out = append(out, segment(g.ID, -1, &running, s.Time, s.Time, path, regs))
		}
	}
	sortByStart(out)
	return out
}
