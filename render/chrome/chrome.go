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
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"

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
	return t.write(w)
}

// --- the model of the file ------------------------------------------------------

// The file is written in two passes over the goroutines' timelines, one
// track at a time, so that only one track's slices are in memory at once:
// the first finds where the flow arrows begin and end (resolveFlows), the
// second makes each track's slices again, with their args, and writes them
// (write).
//
// What does not change from one slice to the next is worked out once: each
// path of the timelines (they share paths) becomes a shape, once; each
// distinct frame a frameInfo holding the start of its events' JSON; each
// distinct set of args an argSet holding its JSON.
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
	flowSlab   []flow // the chunk newFlow takes flows from

	user, atUser view.UserCode
	shapes       map[pathRef]*shape
	frames       map[frameKey]*frameInfo
	fileArgs     map[string]*argSet   // a function slice's args, by file
	stateArgs    map[stateKey]*argSet // see internStateArgs
	continued    map[continuedKey]*argSet
	// slab holds the slices of the track being made, in chunks reused by
	// the next; b makes them; ptrs, closed and ends are the buffers of the
	// track's lists, reused by the next.
	slab   [][]slice
	used   int
	b      sliceBuilder
	ptrs   []*slice
	closed []*slice
	sorted []*slice
	ends   []int64
}

type track struct {
	g     *profile.Goroutine
	index int // sort index: the goroutine's index in the profile
	name  string
	// pidTID is the end of the head of its events: `,"pid":1,"tid":N`.
	pidTID []byte
	segs   []view.Segment
	// slices in the order they open: by start, then outermost first;
	// closed in the order they close: by end, then innermost first;
	// begins in the order their begins are written (see order): only
	// while the track is made (fill).
	slices, closed, begins []*slice
	logs                   []*instant // by time
	ends                   []int64    // the slices' ends, sorted
	// from and to are the flows that begin and end on the track, bound
	// the flow ends written right after a slice's begin, by slice.
	from, to []*flow
	bound    []*flowEnd
}

type slice struct {
	tr         *track
	frame      *frameInfo
	args       *argSet // nil: none
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
	val any // string, int64, bool, []arg or []string
}

// argSet is the args of slices, made once for all the slices (of a track
// at least) that have equal args: two slices' args are equal when their
// argSets are the same.
type argSet struct {
	list []arg
	json []byte // `,"args":{…}`
}

func newArgSet(list []arg) *argSet {
	return &argSet{list: list, json: appendArgs(nil, list)}
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
	t := &trace{
		p: p, o: o, byID: map[int64]*track{}, origin: origin(p.Duration),
		shapes: map[pathRef]*shape{}, frames: map[frameKey]*frameInfo{}, fileArgs: map[string]*argSet{},
		stateArgs: map[stateKey]*argSet{}, continued: map[continuedKey]*argSet{},
	}
	if !o.NoGroup {
		t.user = o.UserCode(p)
	}
	t.atUser = o.UserCode(p)

	// Every goroutine's own timeline, those outside the work included.
	tls := view.EachGoroutine(p)
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		tr := &track{g: g, index: i, name: tls[i].Name, segs: tls[i].Segments}
		tr.pidTID = strconv.AppendInt([]byte(`,"pid":`+strconv.Itoa(PID)+`,"tid":`), g.ID, 10)
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

// maxStateArgs bounds the state slices' argSets kept from one track to
// the next (they differ by waker and place as much as they repeat).
const maxStateArgs = 1 << 12

// fill makes the slices of track tr, with their args unless bare (where
// the flows bind, all the first pass needs, does not depend on them); the
// track's slices are valid until the next fill.
func (t *trace) fill(tr *track, bare bool) {
	if len(t.stateArgs) > maxStateArgs { // between tracks: see argSet
		t.stateArgs, t.continued = map[stateKey]*argSet{}, map[continuedKey]*argSet{}
	}
	t.used = 0
	tr.slices, tr.closed = t.ptrs[:0], t.closed[:0]
	b := &t.b
	*b = sliceBuilder{t: t, tr: tr, bare: bare, open: b.open[:0], keys: b.keys[:0], scratch: b.scratch}
	for i := range tr.segs {
		b.segment(&tr.segs[i])
	}
	b.closeAll()
	t.sorted = tr.order(t.sorted)
	if !bare {
		tr.markContinued(t)
	}
	tr.ends = t.ends
	tr.prepare()
	t.ptrs, t.closed, t.ends = tr.slices, tr.closed, tr.ends
}

// empty forgets the slices of tr.
func (t *trace) empty(tr *track) { tr.slices, tr.closed, tr.begins, tr.ends = nil, nil, nil, nil }

// pathRef identifies a path of the timelines' segments, which share their
// paths and never change them.
type pathRef struct {
	first *view.Frame
	n     int
}

// shape is what the slices of one path are made of.
type shape struct {
	frames []*frameInfo // the path as shown (library frames grouped), outermost first
	at     string       // see sliceBuilder.at
}

// frameKey identifies a frame's slices: equal frames at the same depth of
// consecutive segments continue the same slice (but for the ids of
// openKey).
type frameKey struct {
	name, file string // file: a function's only
	kind       view.FrameKind
}

// frameInfo is what the slices of one frame share.
type frameInfo struct {
	frameKey
	cat  string
	args *argSet // a function's file
	// head is the start of their events: `{"name":…,"cat":…,"ph":"`.
	head []byte
}

// openKey identifies an open slice.
type openKey struct {
	f *frameInfo
	// id tells apart slices that would otherwise merge: the interval of a
	// state pseudo-frame (one slice per wait), the region of a region
	// frame (two back-to-back regions of one type are two slices), as the
	// segment says.
	id int
}

// running is the pseudo kind of RunningName.
const running view.FrameKind = 255

// shape returns the shape of a segment's path, made the first time.
func (t *trace) shape(path []view.Frame) *shape {
	var ref pathRef
	if len(path) > 0 {
		ref = pathRef{&path[0], len(path)}
	}
	if sh := t.shapes[ref]; sh != nil {
		return sh
	}
	shown := path
	if t.user != nil {
		shown = view.GroupPath(path, t.user)
	}
	if len(shown) == 0 {
		shown = []view.Frame{{Name: RunningName, Kind: running}}
	}
	sh := &shape{frames: make([]*frameInfo, len(shown)), at: t.at(path)}
	for i, f := range shown {
		sh.frames[i] = t.frame(f)
	}
	t.shapes[ref] = sh
	return sh
}

// frame returns the frameInfo of f, made the first time.
func (t *trace) frame(f view.Frame) *frameInfo {
	k := frameKey{name: f.Name, kind: f.Kind}
	if f.Kind == view.Func {
		k.file = f.File
	}
	if fi := t.frames[k]; fi != nil {
		return fi
	}
	fi := &frameInfo{frameKey: k}
	switch {
	case f.Kind == view.Func:
		fi.cat = CatFunction
		if f.File != "" {
			fi.args = t.fileArgs[f.File]
			if fi.args == nil {
				fi.args = newArgSet([]arg{{"file", f.File}})
				t.fileArgs[f.File] = fi.args
			}
		}
	case f.Kind == view.Region:
		fi.cat = CatRegion
	case f.Kind == view.Overhead:
		fi.cat = CatOverhead
	default: // isState, or a kind added to the views later
		fi.cat = CatState
	}
	fi.head = append(fi.head, `{"name":`...)
	fi.head = appendString(fi.head, fi.name)
	fi.head = append(fi.head, `,"cat":`...)
	fi.head = appendString(fi.head, fi.cat)
	fi.head = append(fi.head, `,"ph":"`...)
	t.frames[k] = fi
	return fi
}

type sliceBuilder struct {
	t       *trace
	tr      *track
	open    []*slice
	keys    []openKey
	end     int64     // end of the last segment
	scratch []openKey // a segment's keys
	bare    bool      // no args (see trace.fill)
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

func (b *sliceBuilder) segment(s *view.Segment) {
	if s.End <= s.Start {
		return
	}
	if len(b.open) > 0 && s.Start != b.end {
		b.closeAll()
	}
	sh := b.t.shape(s.Path)
	regions := s.Regions // one for each region frame, in order
	keys := slices.Grow(b.scratch[:0], len(sh.frames))[:len(sh.frames)]
	b.scratch = keys
	for i, f := range sh.frames {
		k := openKey{f: f, id: -1}
		switch {
		case f.kind == view.Region && len(regions) > 0:
			k.id, regions = regions[0], regions[1:]
		case isState(f.kind):
			k.id = s.Interval
		}
		keys[i] = k
	}
	n := 0
	for n < len(keys) && n < len(b.keys) && keys[n] == b.keys[n] {
		n++
	}
	b.closeTo(n, s.Start)
	for i := n; i < len(keys); i++ {
		f := keys[i].f
		sl := b.newSlice()
		*sl = slice{tr: b.tr, frame: f, start: s.Start, depth: i, index: len(b.tr.slices)}
		if i > 0 {
			sl.parent = b.open[i-1]
		}
		if !b.bare {
			switch {
			case f.kind == view.Func:
				sl.args = f.args
			case isState(f.kind):
				sl.args = b.t.internStateArgs(s, sh.at)
			}
		}
		b.tr.slices = append(b.tr.slices, sl)
		b.open = append(b.open, sl)
		b.keys = append(b.keys, keys[i])
	}
	b.end = s.End
}

// stateKey says what the args of a state slice are.
type stateKey struct {
	state    profile.State
	reason   string
	waker    int64 // of a wait only
	inferred bool
	at       string
}

// internStateArgs returns the args of a state slice of segment s, which
// describe the state of its interval, at place at.
func (t *trace) internStateArgs(s *view.Segment, at string) *argSet {
	k := stateKey{state: s.State, reason: s.Reason, inferred: s.Inferred, at: at}
	if s.State == profile.Waiting {
		k.waker = s.Waker
	}
	if a := t.stateArgs[k]; a != nil {
		return a
	}
	list := []arg{{"state", k.state.String()}}
	if k.reason != "" {
		list = append(list, arg{"reason", k.reason})
	}
	if k.waker != 0 {
		list = append(list, arg{"woken_by", k.waker})
	}
	if k.inferred {
		list = append(list, arg{"unsampled", true})
	}
	if k.at != "" {
		list = append(list, arg{"at", k.at})
	}
	a := newArgSet(list)
	t.stateArgs[k] = a
	return a
}

// continuedKey says what the args of a slice marked "continued" are.
type continuedKey struct {
	base *argSet
	n    int64
}

// internContinued returns base's args followed by ("continued", n).
func (t *trace) internContinued(base *argSet, n int64) *argSet {
	k := continuedKey{base, n}
	if a := t.continued[k]; a != nil {
		return a
	}
	var list []arg
	if base != nil {
		list = base.list[:len(base.list):len(base.list)] // an append copies
	}
	a := newArgSet(append(list, arg{"continued", n}))
	t.continued[k] = a
	return a
}

// at returns where in the code a segment's path is: the file:line of its
// innermost frame in user code, else of its innermost function frame.
func (t *trace) at(path []view.Frame) string {
	var inner *view.Frame
	for i := len(path) - 1; i >= 0; i-- {
		f := &path[i]
		if f.Kind != view.Func || f.File == "" {
			continue
		}
		if inner == nil {
			inner = f
		}
		if t.atUser(f.Name) {
			inner = f
			break
		}
	}
	if inner == nil {
		return ""
	}
	return inner.File + ":" + strconv.Itoa(inner.Line)
}

// closeTo ends the open slices deeper than n at t, innermost first.
func (b *sliceBuilder) closeTo(n int, t int64) {
	for i := len(b.open) - 1; i >= n; i-- {
		b.open[i].end = t
		b.tr.closed = append(b.tr.closed, b.open[i])
	}
	b.open, b.keys = b.open[:n], b.keys[:n]
}

func (b *sliceBuilder) closeAll() { b.closeTo(0, b.end) }

// compareEnds orders the slices' ends as they are written: by time, then
// innermost first.
func compareEnds(a, b *slice) int {
	switch {
	case a.end != b.end:
		return cmp.Compare(a.end, b.end)
	case a.depth != b.depth:
		return cmp.Compare(b.depth, a.depth)
	}
	return cmp.Compare(a.index, b.index)
}

// compareBegins orders the slices' begins as they are written: by time,
// then outermost first.
func compareBegins(a, b *slice) int {
	switch {
	case a.start != b.start:
		return cmp.Compare(a.start, b.start)
	case a.depth != b.depth:
		return cmp.Compare(a.depth, b.depth)
	}
	return cmp.Compare(a.index, b.index)
}

// order sets tr.begins and tr.closed in the orders of compareBegins and
// compareEnds. Segments in time order that do not overlap, as the views
// make them, open and close the slices in those orders already: the check
// costs one comparison a slice.
func (tr *track) order(buf []*slice) []*slice {
	if !slices.IsSortedFunc(tr.closed, compareEnds) {
		slices.SortFunc(tr.closed, compareEnds)
	}
	tr.begins = tr.slices
	if !slices.IsSortedFunc(tr.slices, compareBegins) {
		tr.begins = append(buf[:0], tr.slices...)
		slices.SortFunc(tr.begins, compareBegins)
		return tr.begins
	}
	return buf
}

// markContinued marks the slices that begin where a slice of the same name
// and args ends at another depth (a function that goes on after a region
// around it ended, or under a shorter stack): Speedscope takes such an end
// and begin at one time for a zero-length frame and then pairs the wrong
// events. The outermost slice to begin at a time gets the arg "continued".
func (tr *track) markContinued(t *trace) {
	// tr.closed is by end: the slices ending at a time are a range.
	for i, s := range tr.slices {
		if i > 0 && tr.slices[i-1].start == s.start {
			continue // not the outermost to begin then
		}
		lo, _ := slices.BinarySearchFunc(tr.closed, s.start, func(o *slice, t int64) int { return cmp.Compare(o.end, t) })
		hi := lo
		for hi < len(tr.closed) && tr.closed[hi].end == s.start {
			hi++
		}
		if lo == hi {
			continue
		}
		base := s.args
		for n := int64(1); s.sameAsAny(tr.closed[lo:hi]); n++ {
			s.args = t.internContinued(base, n)
		}
	}
}

// sameAsAny reports whether one of others is not s and has s's name and
// args.
func (s *slice) sameAsAny(others []*slice) bool {
	for _, o := range others {
		if o != s && o.frame.name == s.frame.name && o.args == s.args {
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
	slices.SortStableFunc(t.flows, func(a, b *flow) int { return cmp.Compare(a.t, b.t) })
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
	const chunk = 1024 // flows allocated at once
	if len(t.flowSlab) == cap(t.flowSlab) {
		t.flowSlab = make([]flow, 0, chunk)
	}
	t.flowSlab = append(t.flowSlab, flow{name: name, t: at, from: from, to: to})
	f := &t.flowSlab[len(t.flowSlab)-1]
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
	tr.ends = tr.ends[:0]
	for _, s := range tr.closed { // by end
		tr.ends = append(tr.ends, s.end)
	}
	for _, s := range tr.slices {
		s.lastChild = -1
	}
	for _, s := range tr.slices { // children are in order
		if s.parent != nil {
			s.parent.lastChild = s.end
		}
	}
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
