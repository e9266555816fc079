// Package tracedec turns a Go execution trace into reqprof profiles. It is
// the only package of reqprof that imports golang.org/x/exp/trace.
//
// A unit of work is found by its task: the capture package wraps the work in
// runtime/trace.NewTask and logs the work's id in it under [LogCategory].
// Extract reads the trace once, follows every goroutine's state, and builds
// one profile per requested id: the task's window, the root goroutine, every
// goroutine it created (transitively) during the window, their state
// intervals with stacks, the CPU samples, user regions and logs, and the
// goroutines outside the work that woke one of its goroutines.
package tracedec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/reqprof/reqprof/profile"
	xtrace "golang.org/x/exp/trace"
)

// LogCategory is the runtime/trace.Log category under which a capture logs
// its id inside its task.
const LogCategory = "reqprof.capture"

// MarkCategory is the runtime/trace.Log category of the marks reqprof
// leaves where the profiled work begins and ends: their stacks tell the
// profiler's own time from the work's.
const MarkCategory = "reqprof.mark"

// Request names one unit of work to extract.
type Request struct {
	// ID is the message logged under LogCategory in the unit's task.
	ID string
	// Name becomes the profile's name; "" uses the task's type.
	Name string
}

// Result is the outcome of extracting one Request.
type Result struct {
	Profile *profile.Profile
	Err     error
}

// ErrTaskNotFound reports that a unit's task is not in the trace, or only
// partly: the trace's window does not cover the whole unit.
var ErrTaskNotFound = errors.New("task not found in the execution trace")

// maxFollowDepth bounds how far the critical path follows chains of wakers.
const maxFollowDepth = 24

// Extract parses an execution trace and returns one result per request, in
// order. A trace that cannot be parsed is an error for all; a request whose
// task is missing is an error for that request only.
//
// Work usually ends just before the trace does, so Extract parses only the
// trace's last generations, going further back until every request's task
// is found, and parses the whole trace only when it must.
func Extract(trace []byte, reqs []Request) ([]Result, error) {
	var t *timeline
	if header, offs, ok := generations(trace); ok && len(offs) > 1 {
		for k := 1; k < len(offs); k *= 2 {
			suffix := io.MultiReader(bytes.NewReader(header), bytes.NewReader(trace[offs[len(offs)-k]:]))
			if st, err := read(suffix, reqs); err == nil && st.covers(reqs) {
				t = st
				break
			}
		}
	}
	if t == nil {
		var err error
		if t, err = read(bytes.NewReader(trace), reqs); err != nil {
			return nil, err
		}
	}
	out := make([]Result, len(reqs))
	for i, r := range reqs {
		p, err := t.build(r)
		out[i] = Result{p, err}
	}
	return out, nil
}

// covers reports whether every request's task begins and ends in t.
func (t *timeline) covers(reqs []Request) bool {
	for _, r := range reqs {
		id, ok := t.ids[r.ID]
		if !ok {
			return false
		}
		if tk := t.tasks[id]; tk == nil || !tk.hasBegin || !tk.hasEnd {
			return false
		}
	}
	return true
}

// ExtractTasks builds a profile for every task of the given type in the
// trace (every task when typ is ""), for traces not made by reqprof's
// capture package, such as /debug/pprof/trace output.
func ExtractTasks(trace []byte, typ string) ([]*profile.Profile, error) {
	t, err := read(bytes.NewReader(trace), nil)
	if err != nil {
		return nil, err
	}
	var out []*profile.Profile
	for _, id := range t.taskOrder {
		tk := t.tasks[id]
		if typ != "" && tk.typ != typ {
			continue
		}
		p, err := t.buildTask(tk, tk.typ)
		if err != nil {
			continue // a task cut by the trace's window
		}
		out = append(out, p)
	}
	return out, nil
}

// point is a stack known at a moment of a running goroutine.
type point struct {
	t     xtrace.Time
	stack xtrace.Stack
	cpu   bool // a CPU profile sample
	// random marks a point that fell at an arbitrary moment of the work (a
	// CPU sample, a preemption), as opposed to one the code itself reached
	// (a blocking call, a log, a region): between two points, time is more
	// likely spent on a random point's side.
	random bool
}

type rawInterval struct {
	start, end xtrace.Time
	state      profile.State
	reason     string
	stack      xtrace.Stack
	waker      xtrace.GoID
}

type rawRegion struct {
	typ        string
	start, end xtrace.Time
	stack      xtrace.Stack
	open       bool
}

type rawLog struct {
	t             xtrace.Time
	category, msg string
}

type gor struct {
	id          xtrace.GoID
	parent      xtrace.GoID
	created     xtrace.Time
	hasCreated  bool
	createStack xtrace.Stack
	entryStack  xtrace.Stack
	exited      bool
	exit        xtrace.Time
	preempted   bool // stopped by a preemption, not yet running again

	// the open interval
	state  profile.State
	since  xtrace.Time
	reason string
	stack  xtrace.Stack

	ivs     []rawInterval
	points  []point
	regions []rawRegion
	open    []int // indexes of open regions
	logs    []rawLog
}

type task struct {
	id         xtrace.TaskID
	typ        string
	g          xtrace.GoID
	begin, end xtrace.Time
	hasBegin   bool
	hasEnd     bool
	stack      xtrace.Stack
}

type clock struct {
	trace xtrace.Time
	wall  int64 // unix nanoseconds
}

type timeline struct {
	gs        map[xtrace.GoID]*gor
	tasks     map[xtrace.TaskID]*task
	taskOrder []xtrace.TaskID
	ids       map[string]xtrace.TaskID // capture id -> task
	clocks    []clock
	last      xtrace.Time
	genStart  xtrace.Time // the current generation's first event
	begun     bool        // a task has begun: from now on, history matters
	sure      bool        // a wanted task has begun
}

func (t *timeline) g(id xtrace.GoID) *gor {
	g := t.gs[id]
	if g == nil {
		g = &gor{id: id, parent: xtrace.NoGoroutine}
		t.gs[id] = g
	}
	return g
}

// set closes g's open interval at ts and opens one in the given state.
// Until some task has begun (keep false), a closed interval can belong to
// no window: only the open state is kept, with none of the past.
func (g *gor) set(ts xtrace.Time, st profile.State, reason string, stack xtrace.Stack, keep bool) {
	if !keep {
		g.points = g.points[:0]
	} else if g.state != 0 && ts > g.since {
		g.ivs = append(g.ivs, rawInterval{g.since, ts, g.state, g.reason, g.stack, xtrace.NoGoroutine})
	}
	g.state, g.since, g.reason, g.stack = st, ts, reason, stack
}

func read(data io.Reader, reqs []Request) (*timeline, error) {
	r, err := xtrace.NewReader(data)
	if err != nil {
		return nil, fmt.Errorf("unsupported or corrupt execution trace: %w", err)
	}
	t := &timeline{
		gs:    make(map[xtrace.GoID]*gor),
		tasks: make(map[xtrace.TaskID]*task),
		ids:   make(map[string]xtrace.TaskID),
	}
	want := make(map[string]bool, len(reqs))
	for _, rq := range reqs {
		want[rq.ID] = true
	}
	n := 0
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("unsupported or corrupt execution trace (after %d events): %w", n, err)
		}
		n++
		t.event(ev, want)
	}
	if n == 0 {
		return nil, errors.New("empty execution trace")
	}
	// Close what is still open at the end of the trace.
	for _, g := range t.gs {
		if g.state != 0 {
			g.set(t.last, 0, "", xtrace.NoStack, true)
		}
		for _, i := range g.open {
			g.regions[i].end = t.last
		}
	}
	return t, nil
}

func (t *timeline) event(ev xtrace.Event, want map[string]bool) {
	ts := ev.Time()
	if ts > t.last {
		t.last = ts
	}
	cur := ev.Goroutine()
	kind := ev.Kind()
	if kind == xtrace.EventSync {
		t.genStart = ts
		if cs := ev.Sync().ClockSnapshot; cs != nil {
			t.clocks = append(t.clocks, clock{cs.Trace, cs.Wall.UnixNano()})
		}
		return
	}
	// A goroutine that executes an event is running, whatever we knew of it
	// (its state may be unknown at the start of the trace). A transition
	// event describes the state before the transition, so it needs no fix.
	if cur != xtrace.NoGoroutine && kind != xtrace.EventStateTransition {
		g := t.g(cur)
		if g.state != profile.Running {
			g.set(ts, profile.Running, "", ev.Stack(), t.begun)
		}
		if s := ev.Stack(); s != xtrace.NoStack {
			g.points = append(g.points, point{t: ts, stack: s, cpu: kind == xtrace.EventStackSample, random: kind == xtrace.EventStackSample})
		}
	}
	switch kind {
	case xtrace.EventStateTransition:
		st := ev.StateTransition()
		if st.Resource.Kind != xtrace.ResourceGoroutine {
			return
		}
		t.transition(ev, st)
	case xtrace.EventTaskBegin:
		t.begun = true
		tk := ev.Task()
		x := t.task(tk.ID)
		x.typ, x.g, x.begin, x.hasBegin, x.stack = tk.Type, cur, ts, true, ev.Stack()
	case xtrace.EventTaskEnd:
		tk := ev.Task()
		x := t.task(tk.ID)
		if x.typ == "" {
			x.typ = tk.Type
		}
		x.end, x.hasEnd = ts, true
	case xtrace.EventLog:
		l := ev.Log()
		if l.Category == LogCategory {
			if want[l.Message] {
				t.ids[l.Message] = l.Task
				t.sure = true
			} else if len(want) > 0 && !t.sure {
				// Another capture's task (it logs its id right after
				// beginning): nothing to keep for it.
				t.begun = false
			}
			return
		}
		if l.Category == MarkCategory {
			return // only its stack matters: a point, recorded above
		}
		if cur != xtrace.NoGoroutine {
			g := t.g(cur)
			g.logs = append(g.logs, rawLog{ts, l.Category, l.Message})
		}
	case xtrace.EventRegionBegin:
		if cur == xtrace.NoGoroutine {
			return
		}
		g := t.g(cur)
		g.open = append(g.open, len(g.regions))
		g.regions = append(g.regions, rawRegion{typ: ev.Region().Type, start: ts, end: ts, stack: ev.Stack(), open: true})
	case xtrace.EventRegionEnd:
		if cur == xtrace.NoGoroutine {
			return
		}
		g := t.g(cur)
		typ := ev.Region().Type
		// Regions nest per goroutine; close the innermost of this type.
		for k := len(g.open) - 1; k >= 0; k-- {
			i := g.open[k]
			if g.regions[i].typ == typ {
				g.regions[i].end, g.regions[i].open = ts, false
				g.open = append(g.open[:k], g.open[k+1:]...)
				return
			}
		}
		// Began before the trace: it covers everything we know of.
		g.regions = append(g.regions, rawRegion{typ: typ, start: 0, end: ts})
	}
}

func (t *timeline) task(id xtrace.TaskID) *task {
	x := t.tasks[id]
	if x == nil {
		x = &task{id: id}
		t.tasks[id] = x
		t.taskOrder = append(t.taskOrder, id)
	}
	return x
}

func goState(s xtrace.GoState) profile.State {
	switch s {
	case xtrace.GoRunning:
		return profile.Running
	case xtrace.GoRunnable:
		return profile.Runnable
	case xtrace.GoWaiting:
		return profile.Waiting
	case xtrace.GoSyscall:
		return profile.Syscall
	}
	return 0
}

func (t *timeline) transition(ev xtrace.Event, st xtrace.StateTransition) {
	ts := ev.Time()
	id := st.Resource.Goroutine()
	from, to := st.Goroutine()
	g := t.g(id)
	switch {
	case from == xtrace.GoNotExist && to != xtrace.GoNotExist:
		// Creation, emitted on the creating goroutine.
		g.parent, g.created, g.hasCreated = ev.Goroutine(), ts, true
		g.createStack, g.entryStack = ev.Stack(), st.Stack
		g.exited = false
		g.set(ts, goState(to), "", st.Stack, t.begun)
		return
	case to == xtrace.GoNotExist:
		if g.state == profile.Running && len(g.points) > 0 {
			// It returned from its entry function: end on the entry frame.
			g.points = append(g.points, point{t: ts, stack: g.entryStack})
		}
		g.set(ts, 0, "", xtrace.NoStack, t.begun)
		g.exited, g.exit = true, ts
		return
	}
	ns := goState(to)
	if ns == 0 {
		return
	}
	if from == xtrace.GoUndetermined {
		// A status report: keep a known interval.
		if g.state == ns {
			return
		}
		if g.state == 0 && !g.hasCreated {
			// The runtime reports a goroutine's status when it first
			// touches the goroutine in a generation (or at the
			// generation's end if it never does): it has been in that
			// state since the generation began at least.
			g.state, g.since, g.reason, g.stack = ns, min(t.genStart, ts), st.Reason, st.Stack
			return
		}
		g.set(ts, ns, st.Reason, st.Stack, t.begun)
		return
	}
	stack := st.Stack
	if stack == xtrace.NoStack {
		stack = g.stack // resumes where it stopped
	}
	reason := ""
	if ns == profile.Waiting || ns == profile.Runnable {
		reason = st.Reason
	}
	if g.state == profile.Running && st.Stack != xtrace.NoStack {
		g.points = append(g.points, point{t: ts, stack: st.Stack, random: st.Reason == "preempted"})
		g.preempted = st.Reason == "preempted"
	}
	wasWaiting := g.state == profile.Waiting
	g.set(ts, ns, reason, stack, t.begun)
	if wasWaiting && len(g.ivs) > 0 {
		if w := ev.Goroutine(); w != xtrace.NoGoroutine && w != id {
			g.ivs[len(g.ivs)-1].waker = w
		}
	}
	if ns == profile.Running {
		// Resuming after a preemption is at as arbitrary a place as the
		// preemption was.
		g.points = append(g.points, point{t: ts, stack: stack, random: g.preempted})
		g.preempted = false
	}
}

// --- building a profile -------------------------------------------------------

func (t *timeline) build(r Request) (*profile.Profile, error) {
	tid, ok := t.ids[r.ID]
	if !ok {
		return nil, fmt.Errorf("%w: capture %q (its start is older than the trace's window)", ErrTaskNotFound, r.ID)
	}
	name := r.Name
	tk := t.tasks[tid]
	if name == "" && tk != nil {
		name = tk.typ
	}
	return t.buildTask(tk, name)
}

func (t *timeline) buildTask(tk *task, name string) (*profile.Profile, error) {
	if tk == nil || !tk.hasBegin || !tk.hasEnd || tk.g == xtrace.NoGoroutine {
		return nil, fmt.Errorf("%w: the task's begin or end is outside the trace's window", ErrTaskNotFound)
	}
	b := &builder{t: t, tk: tk, B: tk.begin, E: tk.end, in: newInterner()}
	return b.build(name), nil
}

type span struct{ a, b xtrace.Time }

type builder struct {
	t    *timeline
	tk   *task
	B, E xtrace.Time
	in   *interner

	members map[xtrace.GoID]bool
	order   []xtrace.GoID
	hull    map[xtrace.GoID]span // goroutines outside the work, and their needed window
	seen    map[followKey]bool
}

type followKey struct {
	g    xtrace.GoID
	a, b xtrace.Time
}

func (b *builder) build(name string) *profile.Profile {
	p := &profile.Profile{
		Name:     name,
		Duration: int64(b.E - b.B),
	}
	if w, ok := b.wall(b.B); ok {
		p.Start = w
	}
	b.members = map[xtrace.GoID]bool{b.tk.g: true}
	b.order = []xtrace.GoID{b.tk.g}
	// Members: created during the window by a member. Creation order is
	// time order, so a parent is always found before its children.
	var created []*gor
	for _, g := range b.t.gs {
		if g.hasCreated && g.created >= b.B && g.created <= b.E && g.id != b.tk.g {
			created = append(created, g)
		}
	}
	sort.Slice(created, func(i, j int) bool {
		if created[i].created != created[j].created {
			return created[i].created < created[j].created
		}
		return created[i].id < created[j].id
	})
	for _, g := range created {
		if b.members[g.parent] && !systemGoroutine(g) {
			b.members[g.id] = true
			b.order = append(b.order, g.id)
		}
	}
	// Goroutines outside the work that the critical path needs.
	b.hull = map[xtrace.GoID]span{}
	b.seen = map[followKey]bool{}
	b.follow(b.tk.g, b.B, b.E, 0)
	var others []xtrace.GoID
	for id := range b.hull {
		others = append(others, id)
	}
	slices.Sort(others)

	p.Stacks = []profile.Stack{{}}
	p.Base = b.in.stack(p, b.tk.stack, true)

	for _, id := range b.order {
		g := b.t.gs[id]
		start, end := b.B, b.E
		if id != b.tk.g {
			start = g.created
		}
		if g.exited && g.exit < end && g.exit >= start {
			end = g.exit
		}
		pg := b.goroutine(p, g, start, end, true)
		if id == b.tk.g {
			pg.Parent = 0
		}
		p.Goroutines = append(p.Goroutines, pg)
	}
	for _, id := range others {
		g := b.t.gs[id]
		h := b.hull[id]
		p.Goroutines = append(p.Goroutines, b.goroutine(p, g, h.a, h.b, false))
	}
	// Drop goroutines left empty (no known state in their window).
	p.Goroutines = slices.DeleteFunc(p.Goroutines, func(g profile.Goroutine) bool {
		return !g.Member && len(g.Intervals) == 0
	})
	for _, pg := range p.Goroutines {
		g := b.t.gs[xtrace.GoID(pg.ID)]
		a, e := b.B+xtrace.Time(pg.Start), b.B+xtrace.Time(pg.End)
		if pg.Member {
			for _, pt := range g.points {
				if pt.cpu && pt.t >= a && pt.t <= e {
					p.Samples = append(p.Samples, profile.Sample{Time: int64(pt.t - b.B), Goroutine: pg.ID, Stack: b.in.stack(p, pt.stack, false)})
				}
			}
		}
		for _, rg := range g.regions {
			s, en := max(rg.start, a), min(rg.end, e)
			if s > en || (s == en && rg.start != rg.end) {
				continue
			}
			p.Regions = append(p.Regions, profile.Region{Goroutine: pg.ID, Type: rg.typ, Start: int64(s - b.B), End: int64(en - b.B), Stack: b.in.stack(p, rg.stack, true)})
		}
		for _, l := range g.logs {
			if l.t >= a && l.t <= e {
				p.Logs = append(p.Logs, profile.Log{Goroutine: pg.ID, Time: int64(l.t - b.B), Category: l.category, Message: l.msg})
			}
		}
	}
	sort.SliceStable(p.Samples, func(i, j int) bool { return p.Samples[i].Time < p.Samples[j].Time })
	sort.SliceStable(p.Regions, func(i, j int) bool { return p.Regions[i].Start < p.Regions[j].Start })
	sort.SliceStable(p.Logs, func(i, j int) bool { return p.Logs[i].Time < p.Logs[j].Time })
	// At 100 Hz, 20 ms of running time without a single sample means CPU
	// profiling was off (or its samples were lost), not bad luck.
	var running int64
	for _, g := range p.Goroutines {
		for _, iv := range g.Intervals {
			if g.Member && iv.State == profile.Running {
				running += iv.End - iv.Start
			}
		}
	}
	if len(p.Samples) == 0 && running >= int64(20*time.Millisecond) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("no CPU samples in %s of running time: CPU profiling was off or its samples were lost; running time is attributed from the stacks at state changes only", time.Duration(running).Round(time.Millisecond)))
	}
	return p
}

// systemGoroutine reports whether g is one the runtime started for itself
// (a GC worker started by an allocation, say) even if a member created it.
func systemGoroutine(g *gor) bool {
	for f := range g.entryStack.Frames() {
		return strings.HasPrefix(f.Func, "runtime.")
	}
	return false
}

// follow records which goroutines outside the work explain g's waits in
// [a, b), recursively: the critical path will walk them.
func (b *builder) follow(id xtrace.GoID, a, e xtrace.Time, depth int) {
	if depth > maxFollowDepth || a >= e {
		return
	}
	k := followKey{id, a, e}
	if b.seen[k] {
		return
	}
	b.seen[k] = true
	g := b.t.gs[id]
	if g == nil {
		return
	}
	if !b.members[id] {
		h, ok := b.hull[id]
		if !ok {
			h = span{a, e}
		}
		b.hull[id] = span{min(h.a, a), max(h.b, e)}
	}
	i := sort.Search(len(g.ivs), func(i int) bool { return g.ivs[i].end > a })
	for ; i < len(g.ivs) && g.ivs[i].start < e; i++ {
		iv := g.ivs[i]
		if iv.state != profile.Waiting || !profile.ExplainedByWaker(iv.reason) || iv.waker == xtrace.NoGoroutine || iv.waker == id {
			continue
		}
		b.follow(iv.waker, max(a, iv.start), min(e, iv.end), depth+1)
	}
}

// goroutine converts g's life in [a, e) into the model.
func (b *builder) goroutine(p *profile.Profile, g *gor, a, e xtrace.Time, member bool) profile.Goroutine {
	pg := profile.Goroutine{
		ID:     int64(g.id),
		Member: member,
		Start:  int64(a - b.B),
		End:    int64(e - b.B),
		Exited: g.exited && g.exit <= b.E,
	}
	if member && g.parent != xtrace.NoGoroutine && g.id != b.tk.g {
		pg.Parent = int64(g.parent)
		pg.CreatedAt = b.in.stack(p, g.createStack, false)
	}
	if g.entryStack != xtrace.NoStack {
		pg.Entry = b.in.stack(p, g.entryStack, false)
	}
	i := sort.Search(len(g.ivs), func(i int) bool { return g.ivs[i].end > a })
	for ; i < len(g.ivs) && g.ivs[i].start < e; i++ {
		iv := g.ivs[i]
		s, en := max(iv.start, a), min(iv.end, e)
		if s >= en {
			continue
		}
		if iv.state != profile.Running {
			stack := iv.stack
			if stack == xtrace.NoStack {
				stack = g.entryAfter(iv.end)
			}
			pg.Intervals = append(pg.Intervals, profile.Interval{
				Start: int64(s - b.B), End: int64(en - b.B), State: iv.state, Reason: iv.reason,
				Stack: b.in.stack(p, stack, false), Waker: wakerID(iv.waker),
			})
			continue
		}
		// A running interval: cut it at every known stack and give each
		// piece the frames common to the stacks at its two ends.
		pts := g.points
		pi := sort.Search(len(pts), func(k int) bool { return pts[k].t >= iv.start })
		cur := point{stack: iv.stack}
		outer := b.outermost(p, iv.stack)
		for ; pi < len(pts) && pts[pi].t <= s; pi++ {
			if b.usable(p, pts[pi], outer) {
				cur = pts[pi]
			}
		}
		curT := s
		for ; pi < len(pts) && pts[pi].t < en; pi++ {
			pt := pts[pi]
			if !b.usable(p, pt, outer) {
				continue
			}
			if pt.t > curT {
				b.running(p, &pg, curT, pt.t, cur, pt)
				curT = pt.t
			}
			cur = pt
		}
		end := cur
		for ; pi < len(pts) && pts[pi].t == en; pi++ {
			if b.usable(p, pts[pi], outer) {
				end = pts[pi]
				break
			}
		}
		if en > curT {
			b.running(p, &pg, curT, en, cur, end)
		}
	}
	// Fill a gap at the start (state unknown before the trace began).
	if len(pg.Intervals) > 0 && pg.Intervals[0].Start > pg.Start {
		pg.Start = pg.Intervals[0].Start
	}
	if n := len(pg.Intervals); n > 0 && pg.Intervals[n-1].End < pg.End {
		pg.End = pg.Intervals[n-1].End
	}
	if len(pg.Intervals) == 0 {
		pg.End = pg.Start
	}
	return pg
}

// entryAfter returns, for a stretch whose stack the trace does not give (a
// goroutine blocked since before the trace, known only by its status), a
// stack of the one frame sure to be on it: the outermost frame of the next
// stack the goroutine shows.
func (g *gor) entryAfter(t xtrace.Time) xtrace.Stack {
	i := sort.Search(len(g.points), func(i int) bool { return g.points[i].t >= t })
	for ; i < len(g.points); i++ {
		var outer xtrace.StackFrame
		for f := range g.points[i].stack.Frames() {
			if f.Func != "runtime.goexit" && f.Func != "runtime.main" {
				outer = f
			}
		}
		if outer.Func != "" {
			return xtrace.MakeStack([]xtrace.StackFrame{outer})
		}
	}
	return xtrace.NoStack
}

// outermost returns the outermost function of a stack, "" if empty.
func (b *builder) outermost(p *profile.Profile, s xtrace.Stack) string {
	fs := p.Stacks[b.in.stack(p, s, false)].Frames
	if len(fs) == 0 {
		return ""
	}
	return p.Frames[fs[0]].Func
}

// usable reports whether a point's stack can be trusted for attribution. A
// CPU sample taken in the middle of the runtime's own work (or with a cut
// traceback) can lack the goroutine's outer frames: its stack would make
// the time around it look like it ran nowhere.
func (b *builder) usable(p *profile.Profile, pt point, outer string) bool {
	if !pt.cpu {
		return true
	}
	o := b.outermost(p, pt.stack)
	return o != "" && (outer == "" || o == outer)
}

func wakerID(w xtrace.GoID) int64 {
	if w == xtrace.NoGoroutine || w < 0 {
		return 0
	}
	return int64(w)
}

// running appends a running interval [s, e) whose ends are the known
// points x and y, merging with the previous piece when it has the same
// stack. With the same stack at both ends, the piece has that stack.
// Otherwise it gets the frames common to both; when exactly one end is a
// random point (a CPU sample, a preemption), which is evidence of where CPU
// time goes, it gets that point's stack down to its deepest frame outside
// the standard library, as a sampling profiler would. Either way the piece
// is marked Inferred.
func (b *builder) running(p *profile.Profile, pg *profile.Goroutine, s, e xtrace.Time, x, y point) {
	sx := b.in.stack(p, x.stack, false)
	sy := sx
	if y.stack != x.stack {
		sy = b.in.stack(p, y.stack, false)
	}
	st, inferred := sx, false
	if sy != sx {
		toward := profile.StackID(-1)
		switch {
		case x.random && !y.random:
			toward = sx
		case y.random && !x.random:
			toward = sy
		}
		st = b.in.common(p, sx, sy, toward)
		if toward < 0 {
			st = b.intoWork(p, st, sx, sy)
		}
		inferred = true
	}
	iv := profile.Interval{Start: int64(s - b.B), End: int64(e - b.B), State: profile.Running, Stack: st, Inferred: inferred}
	if n := len(pg.Intervals); n > 0 {
		last := &pg.Intervals[n-1]
		if last.State == profile.Running && last.Stack == st && last.Inferred == inferred && last.End == iv.Start {
			last.End = iv.End
			return
		}
	}
	pg.Intervals = append(pg.Intervals, iv)
}

// intoWork handles a stretch between a point in reqprof's own code and a
// point inside the profiled work: their common frames end in reqprof's
// harness, which would make the stretch look like overhead. It is given to
// the work's outermost call instead (the work began somewhere in it).
func (b *builder) intoWork(p *profile.Profile, common, x, y profile.StackID) profile.StackID {
	n := len(p.Stacks[common].Frames)
	deep := func(id profile.StackID) int { // work entry's index, if frames follow it
		fs := p.Stacks[id].Frames
		for i, f := range fs {
			if profile.IsWorkEntry(p.Frames[f].Func) {
				// The work's function may be a closure of the delivery
				// code (a harness frame) that calls the work proper.
				j := i + 1
				for j < len(fs) && profile.IsHarness(p.Frames[fs[j]].Func) {
					j++
				}
				if j < len(fs) && n <= j {
					return j - 1
				}
				return -1
			}
		}
		return -1
	}
	wx, wy := deep(x), deep(y)
	switch {
	case wx >= 0 && wy < 0:
		return b.in.intern(p, p.Stacks[x].Frames[:wx+2])
	case wy >= 0 && wx < 0:
		return b.in.intern(p, p.Stacks[y].Frames[:wy+2])
	}
	return common
}

func (b *builder) wall(ts xtrace.Time) (t time.Time, ok bool) {
	var best *clock
	for i := range b.t.clocks {
		c := &b.t.clocks[i]
		if best == nil || (c.trace <= ts && c.trace > best.trace) {
			best = c
		}
	}
	if best == nil {
		return time.Time{}, false
	}
	return time.Unix(0, best.wall+int64(ts-best.trace)), true
}
