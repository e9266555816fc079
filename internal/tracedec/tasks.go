package tracedec

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/reqprof/reqprof/profile"
	xtrace "golang.org/x/exp/trace"
)

// Trace files made by anyone: runtime/trace.Start, go test -trace,
// /debug/pprof/trace. Their tasks carry no capture id, so they are found
// by task id or type, and goroutines by id; the files are read as streams,
// keeping in memory only what the wanted profiles need.

// TaskInfo describes one task of a trace.
type TaskInfo struct {
	ID   uint64
	Type string
	// Goroutine is the goroutine that began the task (0 when its begin is
	// not in the trace).
	Goroutine int64
	// Start and End are the task's begin and end, since the trace's first
	// event; HasBegin and HasEnd report whether the trace holds them.
	Start, End       time.Duration
	HasBegin, HasEnd bool
}

// Complete reports whether the task's whole window is in the trace: only
// then can its profile be made.
func (t TaskInfo) Complete() bool { return t.HasBegin && t.HasEnd && t.Goroutine != 0 }

// Duration returns the task's length (0 unless complete).
func (t TaskInfo) Duration() time.Duration {
	if !t.Complete() {
		return 0
	}
	return t.End - t.Start
}

// GoroutineInfo describes one goroutine of a trace.
type GoroutineInfo struct {
	ID int64
	// Entry is the function it runs, as far as the trace tells ("" when
	// it shows no stack).
	Entry string
	// Start and End bound what the trace shows of it, since the trace's
	// first event: from its creation or first event, to its exit or last
	// event.
	Start, End time.Duration
	// Created and Exited report whether the trace holds its creation and
	// its exit.
	Created, Exited bool
	// Running is its time on a CPU in the trace.
	Running time.Duration
}

// Listing is what List finds in a trace.
type Listing struct {
	// Tasks are in the order they began (tasks that began before the
	// trace, in the order they ended).
	Tasks []TaskInfo
	// Goroutines are by decreasing life in the trace (End - Start), then
	// by id.
	Goroutines []GoroutineInfo
	// Events is the number of events; Span the time from the first to the
	// last.
	Events int64
	Span   time.Duration
}

// Progress is told how many bytes of the trace have been read, now and
// then (every MiB) and at the end.
type Progress func(read int64)

// List reads a trace from r once and lists its tasks and goroutines. It
// keeps one record per task and goroutine, whatever the trace's length.
func List(r io.Reader, progress Progress) (*Listing, error) {
	cr := &countingReader{r: r, progress: progress}
	xr, err := xtrace.NewReader(cr)
	if err != nil {
		return nil, traceError(err, 0)
	}
	type gstate struct {
		info    GoroutineInfo
		running bool
		since   xtrace.Time
	}
	var (
		first, last xtrace.Time
		n           int64
		tasks       = map[xtrace.TaskID]*TaskInfo{}
		order       []xtrace.TaskID
		gs          = map[xtrace.GoID]*gstate{}
	)
	rel := func(ts xtrace.Time) time.Duration { return time.Duration(ts - first) }
	g := func(id xtrace.GoID, ts xtrace.Time) *gstate {
		s := gs[id]
		if s == nil {
			s = &gstate{info: GoroutineInfo{ID: int64(id), Start: rel(ts)}}
			gs[id] = s
		}
		if !s.info.Exited {
			s.info.End = rel(ts)
		}
		return s
	}
	entry := func(s *gstate, st xtrace.Stack) {
		if s.info.Entry != "" || st == xtrace.NoStack {
			return
		}
		for f := range st.Frames() {
			if f.Func != "runtime.goexit" && f.Func != "runtime.main" {
				s.info.Entry = f.Func // the outermost known frame
			}
		}
	}
	task := func(id xtrace.TaskID) *TaskInfo {
		t := tasks[id]
		if t == nil {
			t = &TaskInfo{ID: uint64(id)}
			tasks[id] = t
			order = append(order, id)
		}
		return t
	}
	for {
		ev, err := xr.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, traceError(err, n)
		}
		ts := ev.Time()
		if n == 0 {
			first = ts
		}
		n++
		last = max(last, ts)
		cur := ev.Goroutine()
		if cur != xtrace.NoGoroutine {
			s := g(cur, ts)
			entry(s, ev.Stack())
		}
		switch ev.Kind() {
		case xtrace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != xtrace.ResourceGoroutine {
				continue
			}
			from, to := st.Goroutine()
			s := g(st.Resource.Goroutine(), ts)
			if from == xtrace.GoNotExist && to != xtrace.GoNotExist {
				s.info.Created, s.info.Start = true, rel(ts)
				entry(s, st.Stack)
			}
			if s.running && to != xtrace.GoRunning {
				s.info.Running += time.Duration(ts - s.since)
				s.running = false
			}
			if to == xtrace.GoRunning && !s.running {
				s.running, s.since = true, ts
			}
			if to == xtrace.GoNotExist {
				s.info.Exited, s.info.End = true, rel(ts)
			}
			entry(s, st.Stack)
		case xtrace.EventTaskBegin:
			tk := ev.Task()
			t := task(tk.ID)
			t.Type, t.Goroutine, t.Start, t.HasBegin = tk.Type, int64(cur), rel(ts), true
			if cur == xtrace.NoGoroutine {
				t.Goroutine = 0
			}
		case xtrace.EventTaskEnd:
			tk := ev.Task()
			t := task(tk.ID)
			if t.Type == "" {
				t.Type = tk.Type
			}
			t.End, t.HasEnd = rel(ts), true
		}
	}
	cr.done()
	if n == 0 {
		return nil, errors.New("empty execution trace")
	}
	l := &Listing{Events: n, Span: rel(last)}
	for _, id := range order {
		l.Tasks = append(l.Tasks, *tasks[id])
	}
	for _, s := range gs {
		if s.running {
			s.info.Running += time.Duration(last - s.since)
		}
		l.Goroutines = append(l.Goroutines, s.info)
	}
	slices.SortFunc(l.Goroutines, func(a, b GoroutineInfo) int {
		return cmp.Or(cmp.Compare(b.End-b.Start, a.End-a.Start), cmp.Compare(a.ID, b.ID))
	})
	return l, nil
}

// ExtractTask reads a trace from r and returns the profile of the task
// with the trace id id, named by its type. It keeps the trace's history
// from the task's begin only, and stops reading at its end.
func ExtractTask(r io.Reader, id uint64, o Options, progress Progress) (*profile.Profile, error) {
	var p *profile.Profile
	found := false
	err := scan(r, &o, progress, scanHooks{
		want: func(tk xtrace.Task) bool { return uint64(tk.ID) == id },
		ended: func(t *timeline, tk *task) (bool, error) {
			found = true
			var err error
			p, err = t.buildTask(tk, tk.typ)
			return true, err
		},
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: no complete task %d (its begin or end is outside the trace)", ErrTaskNotFound, id)
	}
	return p, nil
}

// EachTask reads a trace from r and calls each with the profile of
// every complete task of type typ (every task when typ is ""), in the
// order they end, as soon as each ends. It keeps the trace's history only
// while such a task is open, so memory is bounded by what overlapping
// tasks need, not by the trace's length. It returns the number of
// profiles made; an error of each stops the scan and is returned.
func EachTask(r io.Reader, typ string, o Options, progress Progress, each func(*profile.Profile) error) (int, error) {
	n := 0
	err := scan(r, &o, progress, scanHooks{
		want: func(tk xtrace.Task) bool { return typ == "" || tk.Type == typ },
		ended: func(t *timeline, tk *task) (bool, error) {
			p, err := t.buildTask(tk, tk.typ)
			if err != nil {
				return false, err
			}
			n++
			return false, each(p)
		},
	})
	return n, err
}

// ExtractGoroutine reads a trace from r and returns the profile of
// goroutine g (as List describes it) over its life in the trace, with the
// goroutines it created, named by its entry function.
func ExtractGoroutine(r io.Reader, g GoroutineInfo, o Options, progress Progress) (*profile.Profile, error) {
	var first xtrace.Time
	started := false
	var p *profile.Profile
	err := scan(r, &o, progress, scanHooks{
		want:  func(xtrace.Task) bool { return false },
		first: func(t *timeline, ts xtrace.Time) { first = ts },
		before: func(t *timeline, ev *xtrace.Event) (bool, error) {
			ts := ev.Time()
			if !started && ts >= first+xtrace.Time(g.Start) {
				started, t.begun = true, true
			}
			if started && ts > first+xtrace.Time(g.End) {
				return true, nil // past the goroutine's life: done
			}
			return false, nil
		},
		finish: func(t *timeline) error {
			gr := t.gs[xtrace.GoID(g.ID)]
			if gr == nil || !started {
				return fmt.Errorf("no goroutine %d in the trace", g.ID)
			}
			tk := &task{g: xtrace.GoID(g.ID), begin: first + xtrace.Time(g.Start), end: min(first+xtrace.Time(g.End), t.last), hasBegin: true, hasEnd: true}
			name := fmt.Sprintf("goroutine %d", g.ID)
			if g.Entry != "" {
				name += ": " + g.Entry
			}
			var err error
			p, err = t.buildTask(tk, name)
			return err
		},
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// scanHooks say what scan does with the tasks and events it reads.
type scanHooks struct {
	// want says whether a task is wanted, at its begin.
	want func(xtrace.Task) bool
	// ended is called when a wanted task ends, its goroutines' open states
	// closed at that time; done stops the scan.
	ended func(t *timeline, tk *task) (done bool, err error)
	// first is called with the first event's time; before before every
	// event (done stops the scan before it); finish after the last.
	first  func(t *timeline, ts xtrace.Time)
	before func(t *timeline, ev *xtrace.Event) (done bool, err error)
	finish func(t *timeline) error
}

// scan reads a trace, following every goroutine's state as read does, but
// keeping history only while a wanted task is open.
func scan(r io.Reader, o *Options, progress Progress, h scanHooks) error {
	cr := &countingReader{r: r, progress: progress}
	defer cr.done()
	xr, err := xtrace.NewReader(cr)
	if err != nil {
		return traceError(err, 0)
	}
	t := &timeline{
		o:     o,
		gs:    make(map[xtrace.GoID]*gor),
		tasks: make(map[xtrace.TaskID]*task),
		ids:   make(map[string]xtrace.TaskID),
	}
	wanted := map[xtrace.TaskID]bool{} // open wanted tasks
	var n int64
	for {
		ev, err := xr.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return traceError(err, n)
		}
		if n == 0 && h.first != nil {
			h.first(t, ev.Time())
		}
		n++
		if h.before != nil {
			done, err := h.before(t, &ev)
			if err != nil {
				return err
			}
			if done {
				break
			}
		}
		switch ev.Kind() {
		case xtrace.EventTaskBegin:
			tk := ev.Task()
			want := h.want(tk)
			begun := t.begun
			t.event(ev, nil)
			if want {
				wanted[tk.ID] = true
			} else {
				t.begun = begun // another task: its history matters not
			}
			continue
		case xtrace.EventTaskEnd:
			tk := ev.Task()
			t.event(ev, nil)
			x := t.tasks[tk.ID]
			if !wanted[tk.ID] || x == nil {
				delete(t.tasks, tk.ID)
				continue
			}
			delete(wanted, tk.ID)
			restore := closeOpen(t, ev.Time())
			done, err := h.ended(t, x)
			restore()
			if err != nil {
				return err
			}
			if done {
				return nil
			}
			delete(t.tasks, tk.ID)
			if len(wanted) == 0 && h.before == nil {
				t.forget()
			}
			continue
		case xtrace.EventSync:
			// A generation boundary: with no wanted task open, what was
			// read so far matters no more.
			if len(wanted) == 0 && h.before == nil {
				t.forget()
			}
		}
		t.event(ev, nil)
	}
	if n == 0 {
		return errors.New("empty execution trace")
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
	if h.finish != nil {
		return h.finish(t)
	}
	return nil
}

// closeOpen prepares t for building a task that ended at ts, while the
// scan goes on: every goroutine's open state and open regions end at ts in
// the history, until the returned function puts them back.
func closeOpen(t *timeline, ts xtrace.Time) (restore func()) {
	type saved struct {
		g      *gor
		ivs    int
		region []xtrace.Time
	}
	var undo []saved
	for _, g := range t.gs {
		s := saved{g: g, ivs: -1}
		if g.state != 0 && ts > g.since {
			s.ivs = len(g.ivs)
			g.ivs = append(g.ivs, rawInterval{g.since, ts, g.state, g.reason, g.stack, xtrace.NoGoroutine})
		}
		for _, i := range g.open {
			s.region = append(s.region, g.regions[i].end)
			g.regions[i].end = ts
		}
		if s.ivs >= 0 || len(s.region) > 0 {
			undo = append(undo, s)
		}
	}
	return func() {
		for _, s := range undo {
			if s.ivs >= 0 {
				s.g.ivs = s.g.ivs[:s.ivs]
			}
			for k, i := range s.g.open {
				s.g.regions[i].end = s.region[k]
			}
		}
	}
}

// forget drops the history read so far, keeping each goroutine's open
// state and open regions, and the goroutines that still exist: no task
// that begins later needs the rest.
func (t *timeline) forget() {
	t.begun = false
	for id, g := range t.gs {
		if g.exited && g.state == 0 {
			delete(t.gs, id)
			continue
		}
		g.ivs, g.points, g.logs = nil, nil, nil
		var regions []rawRegion
		var open []int
		for _, i := range g.open {
			open = append(open, len(regions))
			regions = append(regions, g.regions[i])
		}
		g.regions, g.open = regions, open
	}
}

// traceError says what is wrong with a trace that cannot be read.
func traceError(err error, events int64) error {
	if events == 0 {
		return fmt.Errorf("not an execution trace, or one this reqprof cannot read: %w", err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated execution trace (after %d events)", events)
	}
	return fmt.Errorf("corrupt execution trace (after %d events): %w", events, err)
}

// countingReader counts the bytes read and tells progress every MiB.
type countingReader struct {
	r        io.Reader
	n, told  int64
	progress Progress
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && c.n-c.told >= 1<<20 {
		c.told = c.n
		c.progress(c.n)
	}
	return n, err
}

func (c *countingReader) done() {
	if c.progress != nil && c.told != c.n {
		c.told = c.n
		c.progress(c.n)
	}
}
