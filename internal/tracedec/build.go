package tracedec

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/reqprof/reqprof/profile"
	xtrace "golang.org/x/exp/trace"
)

// build makes the profile of one requested capture.
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

// buildTask makes the profile of one task, named name.
func (t *timeline) buildTask(tk *task, name string) (*profile.Profile, error) {
	if tk == nil || !tk.hasBegin || !tk.hasEnd || tk.g == xtrace.NoGoroutine {
		return nil, fmt.Errorf("%w: the task's begin or end is outside the trace's window", ErrTaskNotFound)
	}
	b := &builder{t: t, tk: tk, B: tk.begin, E: tk.end, in: newInterner(t.o.harness)}
	return b.build(name), nil
}

// builder builds one profile from the timeline.
type builder struct {
	t    *timeline
	tk   *task
	B, E xtrace.Time
	in   *interner

	code  *profile.Code
	users []uint8 // by FrameID: 0 unknown, 1 user code, 2 not

	members map[xtrace.GoID]bool
	order   []xtrace.GoID
	hull    map[xtrace.GoID]span // goroutines outside the work, and their needed window
	seen    map[followKey]bool
}

// build assembles the profile: members, the goroutines outside the work
// that explain its waits, every goroutine's intervals, samples, regions and
// logs.
func (b *builder) build(name string) *profile.Profile {
	p := &profile.Profile{
		Name:     name,
		Duration: int64(b.E - b.B),
	}
	if w, ok := b.wall(b.B); ok {
		p.Start = w
	}
	b.findMembers()
	p.Stacks = []profile.Stack{{}}
	p.Library = b.t.o.Library
	p.Base = b.in.stack(p, b.tk.stack, true)
	p.Work = b.work(p)
	b.code = profile.NewCode(b.t.o.Module, b.t.o.Library, p.Frames)
	if b.t.samples > 0 {
		p.SamplePeriod = b.t.period
	}
	// Goroutines outside the work that the critical path needs.
	b.hull = map[xtrace.GoID]span{}
	b.seen = map[followKey]bool{}
	b.follow(p, b.tk.g, b.B, b.E, 0)
	var others []xtrace.GoID
	for id := range b.hull {
		others = append(others, id)
	}
	slices.Sort(others)

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
		pg := b.goroutine(p, g, h.a, h.b, false)
		pg.Task = b.t.taskOf(g, h.a, b.tk)
		p.Goroutines = append(p.Goroutines, pg)
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
				if pt.kind == sampled && pt.t >= a && pt.t <= e {
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
	// At 100 Hz or more, 20 ms of running time without a single sample means CPU
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
	prune(p)
	return p
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
	var pieces []piece // of the run the running intervals up to runEnd belong to
	runEnd := -1
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
				Start: int64(s - b.B), End: int64(en - b.B), State: iv.state, Reason: b.t.reason(iv.reason),
				Stack: b.in.stack(p, stack, false), Waker: wakerID(iv.waker),
			})
			continue
		}
		if i > runEnd {
			r := runAt(g.ivs, i)
			runEnd = i + 2*(len(r.ivs)-1)
			pieces = b.attribute(p, &pg, g, &r, a, e)
		}
		b.emitPieces(&pg, pieces, iv, s, en)
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

// wakerID is the model's waker: 0 for none.
func wakerID(w xtrace.GoID) int64 {
	if w == xtrace.NoGoroutine || w < 0 {
		return 0
	}
	return int64(w)
}
