package tracedec

import (
	"errors"
	"fmt"
	"io"

	"github.com/reqprof/reqprof/profile"
	xtrace "golang.org/x/exp/trace"
)

// rawRegion is a user region on one goroutine, as the trace gave it.
type rawRegion struct {
	typ        string
	start, end xtrace.Time
	stack      xtrace.Stack
	open       bool
}

// rawLog is a user log on one goroutine.
type rawLog struct {
	t             xtrace.Time
	category, msg string
}

// task is a runtime/trace task: a unit of work's window and root.
type task struct {
	id         xtrace.TaskID
	typ        string
	g          xtrace.GoID
	begin, end xtrace.Time
	hasBegin   bool
	hasEnd     bool
	stack      xtrace.Stack
	mark       xtrace.Stack // the first mark's: where the work begins
	markT      xtrace.Time  // when the work began (the first mark)
	endMarkT   xtrace.Time  // when it ended (the last mark after the first)
	labeled    bool         // its capture id was logged
}

// timeline is everything read from a trace that profiles are built from.
type timeline struct {
	o         *Options
	gs        map[xtrace.GoID]*gor
	tasks     map[xtrace.TaskID]*task
	taskOrder []xtrace.TaskID
	ids       map[string]xtrace.TaskID // capture id -> task
	clocks    []clock
	last      xtrace.Time
	genStart  xtrace.Time             // the current generation's first event
	begun     bool                    // a task has begun: from now on, history matters
	sure      bool                    // a wanted task has begun
	byG       map[xtrace.GoID][]*task // tasks by the goroutine they began on
	samples   int                     // CPU samples on goroutines since a task began
	first     xtrace.Time             // the first of them (0: none)
	lastS     xtrace.Time             // and the last
	unlabeled int                     // tasks begun whose capture id has not been logged (yet)
	period    int64                   // running time per CPU sample (see samplePeriod)
	reasons   []string                // wait reasons by reasonID, from firstReason
	scr       *scratch                // while read parses: where histories go (history.go)
}

// g returns the goroutine id, creating its record on first sight.
func (t *timeline) g(id xtrace.GoID) *gor {
	g := t.gs[id]
	if g == nil {
		g = &gor{id: id, parent: xtrace.NoGoroutine}
		t.gs[id] = g
	}
	return g
}

// read parses a trace, following every goroutine's state (see state.go),
// and collects tasks, regions, logs and the points where stacks are known,
// with a pooled scratch (history.go).
func read(data io.Reader, reqs []Request, o *Options) (*timeline, error) {
	s := scratches.Get().(*scratch)
	defer s.release()
	return readWith(data, reqs, o, s)
}

// readWith is read with the scratch s (empty, and emptied again when it
// returns), or none: with s nil, histories are appended to the goroutines'
// own slices.
func readWith(data io.Reader, reqs []Request, o *Options, s *scratch) (*timeline, error) {
	r, err := xtrace.NewReader(data)
	if err != nil {
		return nil, fmt.Errorf("unsupported or corrupt execution trace: %w", err)
	}
	t := &timeline{
		o:     o,
		gs:    make(map[xtrace.GoID]*gor),
		tasks: make(map[xtrace.TaskID]*task),
		ids:   make(map[string]xtrace.TaskID),
		scr:   s,
	}
	if s != nil {
		defer func() {
			if t.scr != nil { // an error: nothing to flush
				t.scr.reset()
				t.scr = nil
			}
		}()
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
			t.set(g, t.last, 0, "", xtrace.NoStack, true)
		}
		for _, i := range g.open {
			g.regions[i].end = t.last
		}
	}
	if t.scr != nil {
		t.flush()
	}
	var running int64
	for _, g := range t.gs {
		running += runningBetween(g, t.first, t.lastS)
	}
	t.period = samplePeriod(running, t.samples-1, o.SamplePeriod)
	t.byG = map[xtrace.GoID][]*task{}
	for _, id := range t.taskOrder {
		if tk := t.tasks[id]; tk.hasBegin {
			t.byG[tk.g] = append(t.byG[tk.g], tk)
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
	// A CPU sample is not such an event: the signal that took it is not
	// ordered with the goroutine's transitions, so a sample may come
	// stamped just after the goroutine blocked; it changes no state, and
	// only samples within running time are used.
	if kind == xtrace.EventStackSample {
		if cur != xtrace.NoGoroutine {
			if s := ev.Stack(); s != xtrace.NoStack {
				g := t.g(cur)
				t.addPoint(g, point{t: ts, stack: s, kind: sampled})
				if t.begun {
					if t.samples == 0 {
						t.first = ts
					}
					t.lastS = ts
					t.samples++
				}
			}
		}
		return
	}
	if cur != xtrace.NoGoroutine && kind != xtrace.EventStateTransition {
		g := t.g(cur)
		if g.state != profile.Running {
			t.set(g, ts, profile.Running, "", ev.Stack(), t.begun)
		}
		if s := ev.Stack(); s != xtrace.NoStack {
			t.addPoint(g, point{t: ts, stack: s, kind: event})
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
		if !x.labeled {
			t.unlabeled++
		}
	case xtrace.EventTaskEnd:
		tk := ev.Task()
		x := t.task(tk.ID)
		if x.typ == "" {
			x.typ = tk.Type
		}
		x.end, x.hasEnd = ts, true
	case xtrace.EventLog:
		l := ev.Log()
		if l.Category == t.o.IDCategory {
			if x := t.tasks[l.Task]; x != nil && x.hasBegin && !x.labeled {
				x.labeled = true
				t.unlabeled--
			}
			if want[l.Message] {
				t.ids[l.Message] = l.Task
				t.sure = true
			} else if len(want) > 0 && !t.sure && t.unlabeled == 0 {
				// Another capture's task (it logs its id right after
				// beginning), and no task begun so far may be a wanted
				// one whose id is still to come: nothing to keep.
				t.begun = false
			}
			return
		}
		if l.Category == t.o.PointCategory && l.Category != "" {
			return // only its stack matters: a point, recorded above
		}
		if l.Category == t.o.MarkCategory {
			// Only its stack matters: a point, recorded above, and for the
			// first mark on the task's goroutine, the work's boundary.
			if x := t.tasks[l.Task]; x != nil && x.hasBegin && x.g == cur {
				if x.mark == xtrace.NoStack {
					x.mark, x.markT = ev.Stack(), ts
				} else {
					x.endMarkT = ts
				}
			}
			return
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
