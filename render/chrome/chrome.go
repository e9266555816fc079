// Package chrome renders a profile as Chrome Trace Event Format JSON
// (https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU),
// the format Perfetto (ui.perfetto.dev), chrome://tracing, Chrome DevTools
// and Speedscope open.
//
// # Threads and slices
//
// The file is one process (pid 1, named after the profile) with one thread
// per goroutine (tid = goroutine id): the root, then the goroutines it
// started in creation order (thread_sort_index follows that order), then the
// goroutines outside the work that woke one of its goroutines, whose thread
// names say so ("goroutine 9: main.holder (outside the work; woke goroutine
// 1)").
//
// A thread shows its goroutine's stack at every moment of its life as
// nested slices, built from the goroutine's timeline (the segments of
// [view.PerGoroutine]): consecutive equal frames merge into one slice, so
// that the slices of a thread either nest or are disjoint. Waits, system
// calls and scheduler latency are leaf slices named like the views'
// pseudo-frames ("[wait: sleep]", "[syscall]", "[runnable]"), one per
// interval; their args hold the state, the runtime's reason, the goroutine
// that ended the wait ("woken_by") and where in the code it happened ("at":
// the file:line of the innermost user-code frame). Running time is the time
// of the innermost function slice; running time at no known frame is a
// "[running]" slice. User regions are slices too (they are frames of the
// timelines, never added twice); the profiler's own work is "[reqprof]". A
// function slice's args hold its file. Categories tell the kinds apart:
// [CatFunction], [CatRegion], [CatState], [CatOverhead]. User logs are
// thread-scoped instant events ([CatLog]).
//
// # Flows
//
// Flow arrows ([CatFlow]) join the slice of a parent goroutine at the moment
// it created a goroutine to that goroutine's first slice ([FlowSpawn]), and
// the slice of a goroutine at the moment it ended another goroutine's wait
// to the woken goroutine's next slice ([FlowWakeup]). Each is an "s" and an
// "f" event (bind point "e": the enclosing slice) with a unique id. A flow
// event lies inside the slice it binds to, at a moment where Perfetto's
// importer, which binds it to the slice on top of the thread's stack when
// it reads it, binds it to that slice too: for the start, the moment of the
// spawn or wake-up (when the waker's window ends right then, the last
// moment of its slice outside the slice's children); for the finish, the
// start of the slice. When a log would be on top of the stack there
// (Perfetto reads an instant as a zero-length slice), the event goes right
// after its slice's begin instead, with the begin's ts.
//
// # Times and order
//
// ts is in microseconds with nanosecond precision (three decimals). The
// window starts at ts = 10^k, the smallest power of ten of microseconds not
// below its duration (10000 for a 3ms request; the metadata's
// "ts_origin_us"), so that every ts lies within a factor of two of every
// other: JavaScript readers subtract and add times in floating point
// (DevTools computes an end as ts+(end-ts)), which is exact then, and may
// be off by a rounding error for times counted from 0. Viewers show times
// from the start of the trace, where the origin does not show. The
// window's wall-clock start is in the metadata ("start"), with the
// profile's name, duration, attributes and warnings.
//
// Slices are begin/end ("B"/"E") pairs rather than complete ("X") events:
// a B/E file states every boundary once, as an exact decimal, whereas an X
// event's end is ts+dur, which JavaScript readers compute in floating point,
// and a dur that they add up to the end exactly and that Perfetto, which
// reads decimals exactly, reads as the right nanoseconds does not always
// exist. An end repeats its begin's name, category and args, as DevTools
// and Speedscope pair them by those.
//
// The events are written in this order: metadata; then each thread's
// events in one block (DevTools pairs begins and ends with one stack for
// the whole file), by time, and at equal times ends (innermost first),
// instants, then begins (outermost first); then the flow events, by time,
// starts before finishes (Perfetto reads events of equal times in file
// order). Where a slice begins as a slice of the same name and args ends
// at another depth (a function going on after a region around it ended),
// the beginning slice gets the arg "continued": Speedscope would take the
// pair for a zero-length frame.
//
// The format is a timeline of every goroutine whatever [render.Options.View]
// asks (an unknown view is still an error); library frames are grouped
// unless [render.Options.NoGroup]; Threshold and TimeOrder do not apply.
package chrome

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// Extension and ContentType describe the format.
const (
	Extension   = ".trace.json"
	ContentType = "application/json"
)

// PID is the process id of every event.
const PID = 1

// Categories ("cat") of the events.
const (
	CatFunction = "function" // a function frame
	CatRegion   = "region"   // a user region
	CatState    = "state"    // a wait, system call, scheduler latency, or running at no known frame
	CatOverhead = "overhead" // the profiler's own work ("[reqprof]")
	CatLog      = "log"      // a user log (instant event)
	CatFlow     = "flow"     // spawn and wake-up arrows
)

// Flow names.
const (
	FlowSpawn  = "spawn"
	FlowWakeup = "wakeup"
)

// RunningName names the slice of running time at no known frame.
const RunningName = "[running]"

// Descriptor describes the format to the render registry.
var Descriptor = render.Descriptor{
	Name: "chrome", Extension: Extension, ContentType: ContentType,
	Takes: render.Timelines, Write: Render,
}

func init() { render.Register(Descriptor) }

// Render writes p as Chrome Trace Event JSON.
func Render(w io.Writer, p *profile.Profile, o render.Options) error {
	if p == nil {
		return errors.New("chrome: nil profile")
	}
	if _, err := view.ParseKind(string(o.View)); err != nil {
		return fmt.Errorf("chrome: %w", err)
	}
	t := build(p, o)
	t.resolveFlows()
	bw := bufio.NewWriterSize(w, 64<<10)
	t.write(bw)
	return bw.Flush()
}

// --- the model of the file ------------------------------------------------------

// The file is written in two passes over the goroutines' timelines, one
// track at a time, so that only one track's slices are in memory at once:
// the first finds where the flow arrows begin and end (resolveFlows), the
// second makes each track's slices again, with their args, and writes them
// (write).
type trace struct {
	p      *profile.Profile
	o      render.Options
	origin int64    // ns: the ts of the window's start
	tracks []*track // in sort order
	byID   map[int64]*track
	logs   []instant
	// flows are the arrows whose two ends were found, by id.
	flows []*flow
	// flow events not written right after a begin, in the order they are
	// written.
	standalone []*flowEnd

	user, atUser view.UserCode
	// slab holds the slices of the track being made, in chunks reused by
	// the next; fileArgs the args of function slices of one file, which
	// share them (args are never changed once made, but for "continued",
	// which copies them first).
	slab     [][]slice
	used     int
	fileArgs map[string][]arg
	byEnd    []int32 // markContinued's buffer
	ptrs     []*slice
	ends     []int64
}

type track struct {
	g     *profile.Goroutine
	index int // sort index: the goroutine's index in the profile
	name  string
	segs  []view.Segment
	// slices in the order they open: by start, then outermost first;
	// only while the track is made (fill).
	slices []*slice
	logs   []*instant // by time
	ends   []int64    // the slices' ends, sorted
	// from and to are the flows that begin and end on the track, bound
	// the flow ends written right after a slice's begin, by slice.
	from, to []*flow
	bound    []*flowEnd
}

type slice struct {
	tr         *track
	name, cat  string
	args       []arg
	start, end int64
	depth      int
	index      int // in tr.slices
	parent     *slice
	// lastChild is the end of the last slice directly inside it, -1 when
	// none is.
	lastChild int64
}

type arg struct {
	key string
	val any // string, int64 or bool
}

type instant struct {
	tr   *track
	t    int64
	name string
	args []arg
}

type flow struct {
	id       int
	name     string
	t        int64 // the moment of the spawn or wake-up
	from, to *track
	ends     [2]flowEnd // the start and the finish
	found    int        // ends found
}

type flowEnd struct {
	f     *flow
	phase byte // 's' or 'f'
	tr    *track
	slice int // index of the slice it binds to in its track
	ts    int64
	bound bool // written right after the slice's begin
}

// origin returns the ts, in nanoseconds, at which a window of duration
// nanoseconds starts in the file: the smallest power of ten of microseconds
// not below the duration. Every ts of the file then lies within a factor of
// two of every other, where subtracting and adding them in floating point,
// as JavaScript readers do (DevTools turns a begin and an end into ts and
// ts+dur, Speedscope rebases times on the first), is exact; times from 0
// would make an end computed as ts+(end-ts) differ from the end itself by a
// rounding error now and then. A double still resolves a picosecond there.
func origin(duration int64) int64 {
	const limit = 1_000_000_000_000_000 // ns: beyond it (11 days), 0
	us := int64(1)
	for us*1000 < duration {
		us *= 10
		if us*1000 > limit {
			return 0
		}
	}
	return us * 1000
}

// --- building ------------------------------------------------------------------

func build(p *profile.Profile, o render.Options) *trace {
	t := &trace{p: p, o: o, byID: map[int64]*track{}, origin: origin(p.Duration), fileArgs: map[string][]arg{}}
	if !o.NoGroup {
		t.user = o.UserCode(p)
	}
	t.atUser = o.UserCode(p)

	// Every goroutine's own timeline, those outside the work included.
	tls := view.EachGoroutine(p)
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		tr := &track{g: g, index: i, name: tls[i].Name, segs: tls[i].Segments}
		if tls[i].ShownIn != 0 {
			tr.segs = nil // a housekeeping goroutine another's lane shows
		}
		t.tracks = append(t.tracks, tr)
		t.byID[g.ID] = tr
	}

	for _, l := range p.Logs {
		tr := t.byID[l.Goroutine]
		if tr == nil {
			continue
		}
		name := l.Message
		if l.Category != "" {
			name = l.Category + ": " + l.Message
		}
		t.logs = append(t.logs, instant{tr: tr, t: l.Time, name: name, args: []arg{{"category", l.Category}, {"message", l.Message}}})
	}
	sort.SliceStable(t.logs, func(i, j int) bool { return t.logs[i].t < t.logs[j].t })
	for i := range t.logs {
		l := &t.logs[i]
		l.tr.logs = append(l.tr.logs, l)
	}
	return t
}

// fill makes the slices of track tr, with their args unless bare (where
// the flows bind, all the first pass needs, does not depend on them); the
// track's slices are valid until the next fill.
func (t *trace) fill(tr *track, bare bool) {
	t.used = 0
	tr.slices = t.ptrs[:0]
	b := sliceBuilder{t: t, tr: tr, user: t.user, atUser: t.atUser, bare: bare}
	for _, s := range tr.segs {
		b.segment(s)
	}
	b.closeAll()
	if !bare {
		t.byEnd = tr.markContinued(t.byEnd)
	}
	tr.ends = t.ends
	tr.prepare()
	t.ptrs, t.ends = tr.slices, tr.ends
}

// empty forgets the slices of tr.
func (t *trace) empty(tr *track) { tr.slices, tr.ends = nil, nil }

// frameKey identifies a slice among consecutive segments: equal keys at the
// same depth continue the same slice.
type frameKey struct {
	name, file string
	kind       view.FrameKind
	// id tells apart slices that would otherwise merge: the interval of a
	// state pseudo-frame (one slice per wait), the region of a region
	// frame (two back-to-back regions of one type are two slices), as the
	// segment says.
	id int
}

// running is the pseudo kind of RunningName.
const running view.FrameKind = 255

type sliceBuilder struct {
	t       *trace
	tr      *track
	user    view.UserCode // nil: keep library frames
	atUser  view.UserCode
	open    []*slice
	keys    []frameKey
	end     int64      // end of the last segment
	scratch []frameKey // a segment's keys
	bare    bool       // no args (see trace.fill)
}

// newSlice returns a new slice from the builder's slab.
func (b *sliceBuilder) newSlice() *slice {
	const chunk = 1024
	t := b.t
	if t.used/chunk == len(t.slab) {
		t.slab = append(t.slab, make([]slice, chunk))
	}
	s := &t.slab[t.used/chunk][t.used%chunk]
	t.used++
	return s
}

func isState(k view.FrameKind) bool {
	return k == view.Wait || k == view.Syscall || k == view.Runnable || k == view.Unsampled || k == running
}

func (b *sliceBuilder) segment(s view.Segment) {
	if s.End <= s.Start {
		return
	}
	if len(b.open) > 0 && s.Start != b.end {
		b.closeAll()
	}
	path := s.Path
	if b.user != nil {
		path = view.GroupPath(path, b.user)
	}
	if len(path) == 0 {
		path = []view.Frame{{Name: RunningName, Kind: running}}
	}
	regions := s.Regions // one for each region frame, in order
	keys := slices.Grow(b.scratch[:0], len(path))[:len(path)]
	b.scratch = keys
	for i, f := range path {
		k := frameKey{name: f.Name, kind: f.Kind, id: -1}
		switch {
		case f.Kind == view.Func:
			k.file = f.File
		case f.Kind == view.Region && len(regions) > 0:
			k.id, regions = regions[0], regions[1:]
		case isState(f.Kind):
			k.id = s.Interval
		}
		keys[i] = k
	}
	n := 0
	for n < len(keys) && n < len(b.keys) && keys[n] == b.keys[n] {
		n++
	}
	b.closeTo(n, s.Start)
	for i := n; i < len(path); i++ {
		f := path[i]
		sl := b.newSlice()
		*sl = slice{tr: b.tr, name: f.Name, start: s.Start, depth: i, index: len(b.tr.slices)}
		if i > 0 {
			sl.parent = b.open[i-1]
		}
		switch {
		case f.Kind == view.Func:
			sl.cat = CatFunction
			if f.File != "" && !b.bare {
				a, ok := b.t.fileArgs[f.File]
				if !ok {
					a = []arg{{"file", f.File}}
					b.t.fileArgs[f.File] = a
				}
				sl.args = a[:1:1] // an append copies
			}
		case f.Kind == view.Region:
			sl.cat = CatRegion
		case f.Kind == view.Overhead:
			sl.cat = CatOverhead
		case isState(f.Kind):
			sl.cat = CatState
			if !b.bare {
				sl.args = b.stateArgs(&s)
			}
		default: // a kind added to the views later
			sl.cat = CatState
		}
		b.tr.slices = append(b.tr.slices, sl)
		b.open = append(b.open, sl)
		b.keys = append(b.keys, keys[i])
	}
	b.end = s.End
}

// stateArgs describes the state of a state slice: that of its segment's
// interval.
func (b *sliceBuilder) stateArgs(s *view.Segment) []arg {
	args := []arg{{"state", s.State.String()}}
	if s.Reason != "" {
		args = append(args, arg{"reason", s.Reason})
	}
	if s.Waker != 0 && s.State == profile.Waiting {
		args = append(args, arg{"woken_by", s.Waker})
	}
	if s.Inferred {
		args = append(args, arg{"unsampled", true})
	}
	if at := b.at(s.Path); at != "" {
		args = append(args, arg{"at", at})
	}
	return args
}

// at returns where in the code a segment's path is: the file:line of its
// innermost frame in user code, else of its innermost function frame.
func (b *sliceBuilder) at(path []view.Frame) string {
	var inner *view.Frame
	for i := len(path) - 1; i >= 0; i-- {
		f := &path[i]
		if f.Kind != view.Func || f.File == "" {
			continue
		}
		if inner == nil {
			inner = f
		}
		if b.atUser(f.Name) {
			inner = f
			break
		}
	}
	if inner == nil {
		return ""
	}
	return fmt.Sprintf("%s:%d", inner.File, inner.Line)
}

// closeTo ends the open slices deeper than n at t.
func (b *sliceBuilder) closeTo(n int, t int64) {
	for i := len(b.open) - 1; i >= n; i-- {
		b.open[i].end = t
	}
	b.open, b.keys = b.open[:n], b.keys[:n]
}

func (b *sliceBuilder) closeAll() { b.closeTo(0, b.end) }

// markContinued marks the slices that begin where a slice of the same name
// and args ends at another depth (a function that goes on after a region
// around it ended, or under a shorter stack): Speedscope takes such an end
// and begin at one time for a zero-length frame and then pairs the wrong
// events. The outermost slice to begin at a time gets the arg "continued".
func (tr *track) markContinued(byEnd []int32) []int32 {
	// The slices' indexes by end: those ending at a time are a range.
	byEnd = byEnd[:0]
	for i := range tr.slices {
		byEnd = append(byEnd, int32(i))
	}
	slices.SortFunc(byEnd, func(a, b int32) int {
		return cmp.Or(cmp.Compare(tr.slices[a].end, tr.slices[b].end), cmp.Compare(a, b))
	})
	for i, s := range tr.slices {
		if i > 0 && tr.slices[i-1].start == s.start {
			continue // not the outermost to begin then
		}
		lo, _ := slices.BinarySearchFunc(byEnd, s.start, func(j int32, t int64) int { return cmp.Compare(tr.slices[j].end, t) })
		hi := lo
		for hi < len(byEnd) && tr.slices[byEnd[hi]].end == s.start {
			hi++
		}
		if lo == hi {
			continue
		}
		for n := int64(1); s.sameAsAny(tr.slices, byEnd[lo:hi]); n++ {
			if n == 1 {
				s.args = append(s.args, arg{"continued", n})
			} else {
				s.args[len(s.args)-1].val = n
			}
		}
	}
	return byEnd
}

// sameAsAny reports whether one of the slices of all at the indexes is
// not s and has s's name and args.
func (s *slice) sameAsAny(all []*slice, indexes []int32) bool {
	for _, j := range indexes {
		if o := all[j]; o != s && o.name == s.name && slices.Equal(o.args, s.args) {
			return true
		}
	}
	return false
}

// --- flows -------------------------------------------------------------------------

// resolveFlows finds the spawn and wake-up arrows, and binds each end to
// a slice: the first pass, one track at a time.
func (t *trace) resolveFlows() {
	var all []*flow
	for _, tr := range t.tracks {
		g := tr.g
		if g.Member && g.Parent != 0 {
			if pt := t.byID[g.Parent]; pt != nil {
				all = append(all, t.newFlow(FlowSpawn, g.Start, pt, tr))
			}
		}
		for _, iv := range g.Intervals {
			if iv.State != profile.Waiting || iv.Waker == 0 || iv.Waker == g.ID || iv.End >= g.End {
				continue
			}
			if wt := t.byID[iv.Waker]; wt != nil {
				all = append(all, t.newFlow(FlowWakeup, iv.End, wt, tr))
			}
		}
	}
	for _, tr := range t.tracks {
		if len(tr.from) == 0 && len(tr.to) == 0 {
			continue
		}
		t.fill(tr, true)
		for _, f := range tr.from {
			t.resolveStart(f)
		}
		for _, f := range tr.to {
			t.resolveFinish(f)
		}
		t.empty(tr)
	}
	for _, f := range all {
		if f.found == 2 {
			t.flows = append(t.flows, f)
		}
	}
	// Ids in time order.
	sort.SliceStable(t.flows, func(i, j int) bool { return t.flows[i].t < t.flows[j].t })
	for i, f := range t.flows {
		f.id = i + 1
		for k := range f.ends {
			fe := &f.ends[k]
			if fe.bound {
				fe.tr.bound = append(fe.tr.bound, fe)
			} else {
				t.standalone = append(t.standalone, fe)
			}
		}
	}
	for _, tr := range t.tracks { // by slice, in id order: the order written
		sort.SliceStable(tr.bound, func(i, j int) bool { return tr.bound[i].slice < tr.bound[j].slice })
	}
	t.sortStandalone()
}

// newFlow makes the arrow of an event at time at, from the goroutine of
// track from, which caused it, to the goroutine of track to; its ends are
// found when their tracks are made.
func (t *trace) newFlow(name string, at int64, from, to *track) *flow {
	f := &flow{name: name, t: at, from: from, to: to}
	from.from = append(from.from, f)
	to.to = append(to.to, f)
	return f
}

// resolveStart finds the slice of the flow's start, in its source track,
// which is made.
func (t *trace) resolveStart(f *flow) {
	src := f.from.at(f.t)
	if src == nil {
		return
	}
	// The start's time: the event's, when the source slice contains it,
	// else (the goroutine's window ended at that moment) the last moment
	// in the slice outside its children.
	ts := f.t
	if f.t >= src.end {
		ts = src.start
		if src.lastChild >= 0 {
			ts = src.lastChild
		}
	}
	f.ends[0] = bind(f, 's', src, ts)
	f.found++
}

// resolveFinish finds the slice of the flow's finish, in its destination
// track, which is made.
func (t *trace) resolveFinish(f *flow) {
	dst := f.to.next(f.t)
	if dst == nil {
		return
	}
	f.ends[1] = bind(f, 'f', dst, dst.start)
	f.found++
}

// bind places the flow event of phase ph at time ts, where sl is the
// innermost open slice of its thread. Readers bind a flow event to the
// slice that encloses it; Perfetto's importer takes the slice on top of
// the thread's stack when it reads the event, which is sl unless a log
// (an instant, a zero-length slice there) came after sl's last begin or
// end. Then the event goes right after sl's begin instead.
func bind(f *flow, ph byte, sl *slice, ts int64) flowEnd {
	fe := flowEnd{f: f, phase: ph, tr: sl.tr, slice: sl.index, ts: ts}
	if sl.tr.instantOnTop(ts) {
		fe.ts, fe.bound = sl.start, true
	}
	return fe
}

// instantOnTop reports whether, at time ts after the begins of that time,
// the last event read on the track is a log instant.
func (tr *track) instantOnTop(ts int64) bool {
	if len(tr.logs) == 0 {
		return false
	}
	// The last boundary at or before ts, and whether a slice begins there
	// (a begin is read after the instants of its time and closes them).
	lastStart, lastEnd := int64(-1), int64(-1)
	if i := sort.Search(len(tr.slices), func(i int) bool { return tr.slices[i].start > ts }); i > 0 {
		lastStart = tr.slices[i-1].start
	}
	if i := sort.Search(len(tr.ends), func(i int) bool { return tr.ends[i] > ts }); i > 0 {
		lastEnd = tr.ends[i-1]
	}
	last := max(lastStart, lastEnd)
	begins := lastStart == last && last >= 0
	// Is a log at a time in (last, ts], or at last when no slice begins
	// then?
	i := sort.Search(len(tr.logs), func(i int) bool {
		if begins {
			return tr.logs[i].t > last
		}
		return tr.logs[i].t >= last
	})
	return i < len(tr.logs) && tr.logs[i].t <= ts
}

// prepare indexes the track's slices once they are built.
func (tr *track) prepare() {
	tr.ends = slices.Grow(tr.ends[:0], len(tr.slices))[:len(tr.slices)]
	for i, s := range tr.slices {
		tr.ends[i] = s.end
		s.lastChild = -1
	}
	for _, s := range tr.slices { // children are in order
		if s.parent != nil {
			s.parent.lastChild = s.end
		}
	}
	slices.Sort(tr.ends)
}

// at returns the innermost slice on the track at t: the one that contains
// t, or else the one that ends at t (a goroutine whose window ends there).
func (tr *track) at(t int64) *slice {
	if s := tr.containing(t); s != nil {
		return s
	}
	i := sort.Search(len(tr.slices), func(i int) bool { return tr.slices[i].start >= t })
	if i == 0 {
		return nil
	}
	for s := tr.slices[i-1]; s != nil; s = s.parent {
		if s.end >= t {
			return s
		}
	}
	return nil
}

// containing returns the innermost slice with start <= t < end.
func (tr *track) containing(t int64) *slice {
	i := sort.Search(len(tr.slices), func(i int) bool { return tr.slices[i].start > t })
	if i == 0 {
		return nil
	}
	// Slices nest, so the innermost one containing t is the last one to
	// open at or before t, or one of its ancestors.
	for s := tr.slices[i-1]; s != nil; s = s.parent {
		if s.end > t {
			return s
		}
	}
	return nil
}

// next returns the slice the goroutine goes on with at t: the innermost
// slice that opens at t or, when none does (its stack only got shorter),
// the innermost of the first slices to open after t.
func (tr *track) next(t int64) *slice {
	if s := tr.containing(t); s != nil && s.start == t {
		return s
	}
	i := sort.Search(len(tr.slices), func(i int) bool { return tr.slices[i].start > t })
	if i == len(tr.slices) {
		return nil
	}
	j := i
	for j+1 < len(tr.slices) && tr.slices[j+1].start == tr.slices[i].start {
		j++
	}
	return tr.slices[j]
}
