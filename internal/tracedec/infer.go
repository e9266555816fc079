package tracedec

import (
	"sort"

	"github.com/reqprof/reqprof/profile"
	xtrace "golang.org/x/exp/trace"
)

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
		if toward < 0 && pg.ID == int64(b.tk.g) {
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

// intoWork handles a stretch of the root goroutine between a point outside
// the work (the profiler's own code: starting the capture, the begin mark)
// and a point inside it: their common frames end above the work's boundary
// (profile.Work), which would make the stretch look like the profiler's
// own time. It is given to the work's outermost call instead (the work
// began somewhere in it).
func (b *builder) intoWork(p *profile.Profile, common, x, y profile.StackID) profile.StackID {
	w := p.Stacks[p.Work].Frames
	if len(w) == 0 || len(p.Stacks[common].Frames) > len(w) {
		return common
	}
	inside := func(id profile.StackID) bool { // under the boundary, past it
		fs := p.Stacks[id].Frames
		return len(fs) > len(w) && sameFuncs(p, fs[:len(w)], w) && !b.in.harness(p.Frames[fs[len(w)]].Func)
	}
	ix, iy := inside(x), inside(y)
	switch {
	case ix && !iy:
		return b.in.intern(p, p.Stacks[x].Frames[:len(w)+1])
	case iy && !ix:
		return b.in.intern(p, p.Stacks[y].Frames[:len(w)+1])
	}
	return common
}

// runningInterval appends the pieces of g's running interval iv clipped to
// [s, en): it is cut at every usable point, and each piece gets the frames
// the stacks at its two ends tell (see running).
func (b *builder) runningInterval(p *profile.Profile, pg *profile.Goroutine, g *gor, iv rawInterval, s, en xtrace.Time) {
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
			b.running(p, pg, curT, pt.t, cur, pt)
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
		b.running(p, pg, curT, en, cur, end)
	}
}
