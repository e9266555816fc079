package tracedec

// How running time is attributed
//
// The trace gives every running interval exactly, but where the goroutine
// ran inside it only at points: CPU samples, and the stacks of its state
// changes and events. Each running interval is cut into pieces:
//
//   - A CPU sample's share: the running time nearer to the sample than to
//     any other sample of its run (running intervals that only preemptions
//     separate), at most half a sample period (see period) on each side —
//     one sample never carries more than a period of a stretch no other
//     sample saw —,
//     and never past a point the code reached (a blocking call, an event)
//     whose stack is not the sample's but for the runtime's own frames
//     (sameAs): there the sampled function had returned, or had not been
//     called yet, or had called something else, whose time it must not
//     carry (a sample in a caller never takes its callee's). The piece has the
//     sample's stack and is not Inferred. This is what a sampling profiler
//     does — each sample stands for a period of running time — with the
//     exact running intervals as its bounds; frames are compared by
//     function, not by line, so two samples in one function at different
//     lines each keep their own leaf.
//   - What no sample covers is unsampled: Inferred, with the stack of the
//     deepest frame credibly running through it (credible). Views show it
//     as "[running, unsampled]" under that frame, never as a function's
//     own time.
//
// credible takes the frames common to the stacks known at the stretch's
// two ends (compared by function), the ends' blocking machinery left out
// (the standard-library frames of a blocking call, where a goroutine
// resumes and stops, are not where it ran). When those frames end above
// the user's code — in the harness that called the work, a framework's
// dispatch, a library's goroutine — the stretch goes under the deepest
// user frame of the stack it ended in, or else of the one it began in.
// Every user frame on that stack was entered during the stretch (or left
// during it), and the frames above them were only passing control; the
// deepest is where the code was at the stretch's end. Shown under it, the
// time counts in every user frame above it too — the application's
// middleware and the handler it called, whether through the framework's
// dispatch (gin's Context.Next, net/http's HandlerFunc.ServeHTTP) or
// directly (echo's next(c)) — so the handler is always on the path, and
// the leaf says "[running, unsampled]": where exactly the time went
// between the two ends is not known. A CPU sample at that end says where
// the CPU went in the same way (the stretch is the edge of the sample's
// share: from
// the work's beginning into a hot loop, say).

import (
	"sort"
	"strings"
	"time"

	"github.com/reqprof/reqprof/profile"
	xtrace "golang.org/x/exp/trace"
)

// pointKind says what a point is and how much of its stack tells where the
// goroutine ran.
type pointKind uint8

const (
	exact    pointKind = iota // a stack the goroutine reached: a go statement, an entry, an exit
	sampled                   // a CPU sample
	preempt                   // where it was preempted (or resumed after a preemption): an arbitrary moment
	blocking                  // where it stopped in (or resumed from) a wait or system call
	event                     // a trace event's stack (a log, a region, a task, a mark)
)

// point is a stack known at a moment of a goroutine.
type point struct {
	t     xtrace.Time
	stack xtrace.Stack
	kind  pointKind
}

// Sample periods: fewer samples than minPeriodSamples in a trace do not
// measure the period; the default is runtime/pprof's (100 Hz).
const (
	minPeriodSamples = 8
	defaultPeriod    = 10 * time.Millisecond
)

// samplePeriod returns the running time one CPU sample stands for: the
// running time of the trace's goroutines between its first and last
// samples over the samples taken on them after the first (CPU sampling
// may start after the trace does — a capture that starts the recorder
// does not wait for sampling's start, and its first milliseconds have no
// samples — and end before it, when someone else's CPU profile stops).
// The kernel caps the rate of CPU profiling signals (at its tick, 250 Hz
// here, whatever rate was asked), and a thread that waits for a CPU runs
// up trace time without CPU time: the measured period covers both. With
// too few samples to measure, it is the period asked for (nominal).
func samplePeriod(running int64, samples int, nominal time.Duration) int64 {
	if samples >= minPeriodSamples && running > 0 {
		return running / int64(samples)
	}
	if nominal > 0 {
		return int64(nominal)
	}
	return int64(defaultPeriod)
}

// priorSamples weighs the trace's sample period in a goroutine's: as many
// samples' worth.
const priorSamples = 4

// period returns the running time one of g's CPU samples stands for, from
// g's own running time and samples (threads wait for a CPU more or less:
// samples are denser in the trace time of some goroutines than of others)
// and the trace's period (all), which counts as priorSamples samples: a
// goroutine with few samples has about the trace's period, one with many
// its own.
func (g *gor) period(all int64, first, last xtrace.Time) int64 {
	g.periodOnce.Do(func() {
		n := 0
		for _, pt := range g.points {
			if pt.kind == sampled && pt.t > first && pt.t <= last {
				n++
			}
		}
		g.ownRunning, g.ownSamples = runningBetween(g, first, last), n
	})
	return (g.ownRunning + priorSamples*all) / int64(g.ownSamples+priorSamples)
}

// runningBetween returns g's running time between from and to (the
// trace's first and last CPU samples: see samplePeriod).
func runningBetween(g *gor, from, to xtrace.Time) int64 {
	var running xtrace.Time
	for _, iv := range g.ivs {
		if iv.state == profile.Running && iv.end > from && iv.start < to {
			running += min(iv.end, to) - max(iv.start, from)
		}
	}
	return int64(running)
}

// obs is a point of a run, its stacks interned.
type obs struct {
	t      xtrace.Time
	off    int64           // the run's running time before it
	full   profile.StackID // as observed
	at     profile.StackID // where it tells the goroutine ran (see pointKind)
	sample bool
	bounds bool // a point the code reached: it bounds the shares of samples whose code it is not in
}

// outermost returns the outermost function of a stack, "" if empty.
func (b *builder) outermost(p *profile.Profile, s xtrace.Stack) string {
	fs := p.Stacks[b.in.stack(p, s, false)].Frames
	if len(fs) == 0 {
		return ""
	}
	return p.Frames[fs[0]].Func
}

// observe interns a point. A CPU sample taken in the middle of the
// runtime's own work (or with a cut traceback) can lack the goroutine's
// outer frames (those of outer, the interval's outermost function): its
// stack would make the time around it look like it ran nowhere, so it is
// not used (ok false).
func (b *builder) observe(p *profile.Profile, pt point, outer string) (o obs, ok bool) {
	o = obs{t: pt.t, full: b.in.stack(p, pt.stack, false), sample: pt.kind == sampled, bounds: pt.kind != sampled && pt.kind != preempt}
	o.at = o.full
	fs := p.Stacks[o.full].Frames
	switch pt.kind {
	case sampled:
		if len(fs) == 0 || (outer != "" && p.Frames[fs[0]].Func != outer) {
			return o, false
		}
	case blocking:
		n := len(fs)
		for n > 1 && isStd(p.Frames[fs[n-1]].Func) {
			n--
		}
		o.at = b.in.intern(p, fs[:n])
	case event:
		// The profiler's frames (a region helper's, the tracer's) are not
		// where it ran, but the work's boundary is where the work begins.
		floor := sharedFuncs(p, fs, p.Stacks[p.Work].Frames)
		n := len(fs)
		for n > floor && b.in.harness(p.Frames[fs[n-1]].Func) {
			n--
		}
		for n > 0 && isTracer(p.Frames[fs[n-1]].Func) {
			n--
		}
		o.at = b.in.intern(p, fs[:n])
	}
	return o, true
}

// isTracer reports whether fn is the runtime's tracing API.
func isTracer(fn string) bool { return strings.HasPrefix(fn, tracer) }

// A run is a goroutine's running time between two stops it made itself:
// running intervals separated only by preemptions (the scheduler, or the
// runtime suspending it, stopped it at an arbitrary point and it resumed
// there). Its CPU samples' shares are measured in running time, across the
// preemptions.
type run struct {
	ivs []rawInterval // running, in order
	cum []int64       // running time before each interval
}

// off returns the running time of the run before trace time t.
func (r *run) off(t xtrace.Time) int64 {
	k := sort.Search(len(r.ivs), func(k int) bool { return r.ivs[k].end >= t })
	if k == len(r.ivs) {
		k--
	}
	iv := r.ivs[k]
	return r.cum[k] + int64(min(max(t, iv.start), iv.end)-iv.start)
}

// at returns the trace time at which the run has run o.
func (r *run) at(o int64) xtrace.Time {
	k := sort.Search(len(r.ivs), func(k int) bool { return r.cum[k]+int64(r.ivs[k].end-r.ivs[k].start) >= o })
	if k == len(r.ivs) {
		k--
	}
	return r.ivs[k].start + xtrace.Time(o-r.cum[k])
}

// piece is a stretch of a run's running time, in trace time (it may span
// a preemption: the pieces are cut at the run's intervals when emitted).
type piece struct {
	start, end xtrace.Time
	stack      profile.StackID
	inferred   bool
}

// runAt returns the run of g's raw interval i (a running one): it and the
// running intervals after it that only preemptions separate.
func runAt(ivs []rawInterval, i int) run {
	j := i
	for j+2 < len(ivs) && ivs[j+1].state == profile.Runnable && ivs[j+1].reason == preemptedReason && ivs[j+2].state == profile.Running {
		j += 2
	}
	r := run{}
	var total int64
	for k := i; k <= j; k += 2 {
		r.ivs = append(r.ivs, ivs[k])
		r.cum = append(r.cum, total)
		total += int64(ivs[k].end - ivs[k].start)
	}
	return r
}

// runningInterval appends the pieces of g's running interval iv clipped to
// [s, en), attributing it as a run of its own.
func (b *builder) runningInterval(p *profile.Profile, pg *profile.Goroutine, g *gor, iv rawInterval, s, en xtrace.Time) {
	r := run{ivs: []rawInterval{iv}, cum: []int64{0}}
	b.emitPieces(pg, b.attribute(p, pg, g, &r, s, en), iv, s, en)
}

// emitPieces appends the pieces' parts inside the running interval iv and
// [s, en) to pg.
func (b *builder) emitPieces(pg *profile.Goroutine, pcs []piece, iv rawInterval, s, en xtrace.Time) {
	a, e := max(s, iv.start), min(en, iv.end)
	k := sort.Search(len(pcs), func(k int) bool { return pcs[k].end > a })
	for ; k < len(pcs) && pcs[k].start < e; k++ {
		if ps, pe := max(pcs[k].start, a), min(pcs[k].end, e); ps < pe {
			b.appendRunning(pg, ps, pe, pcs[k].stack, pcs[k].inferred)
		}
	}
}

// attribute returns the pieces of run r that can matter to [s, en): CPU
// samples' shares and unsampled stretches, as the comment at the top of
// this file says.
func (b *builder) attribute(p *profile.Profile, pg *profile.Goroutine, g *gor, r *run, s, en xtrace.Time) []piece {
	first, last := r.ivs[0], r.ivs[len(r.ivs)-1]
	outer := b.outermost(p, first.stack)
	// A sample stands for one period of running time: half of it on each
	// side at most, so that on its own (no other sample near) it never
	// carries more than a period of a stretch no sample saw.
	reach := g.period(b.t.period, b.t.first, b.t.lastS) / 2
	// The run's points that can matter to [s, en): those within reach of
	// it, and the nearest one on each side (the ends of the unsampled
	// stretches at its edges).
	pts := g.points
	i0 := sort.Search(len(pts), func(k int) bool { return pts[k].t >= first.start })
	i1 := sort.Search(len(pts), func(k int) bool { return pts[k].t > last.end })
	lo, hi := r.off(max(s, first.start))-reach, r.off(min(en, last.end))+reach
	i := max(i0, sort.Search(len(pts), func(k int) bool { return pts[k].t >= r.at(max(lo, 0)) }))
	if i > i0 {
		i--
	}
	end := i1
	if hi < r.off(last.end) {
		end = min(i1, sort.Search(len(pts), func(k int) bool { return pts[k].t > r.at(hi) }))
		if end < i1 {
			end++
		}
	}
	var os []obs
	if i == i0 && (i == len(pts) || pts[i].t > first.start) && first.stack != xtrace.NoStack {
		os = append(os, obs{t: first.start, full: b.in.stack(p, first.stack, false)})
		os[0].at = os[0].full
	}
	// A preemption's stack is an arbitrary instant's, taken by unwinding
	// frame pointers: it misses the caller of a function that had not set
	// up its frame yet (a leaf's), so it ends no stretch when the run has
	// CPU samples, which say the same with their weight.
	hasSample := false
	for k := i; k < end && !hasSample; k++ {
		hasSample = pts[k].kind == sampled
	}
	for ; i < end; i++ {
		if pts[i].kind == preempt && hasSample {
			continue
		}
		if o, ok := b.observe(p, pts[i], outer); ok {
			o.off = r.off(o.t)
			os = append(os, o)
		}
	}
	total := r.off(last.end)
	// Each sample's share, [lo, hi) in running time.
	type share struct {
		k      int // index in os
		lo, hi int64
	}
	var shares []share
	for k, o := range os {
		if !o.sample {
			continue
		}
		lo, hi := max(0, o.off-reach), min(total, o.off+reach)
		if n := len(shares); n > 0 {
			prev := os[shares[n-1].k].off
			mid := prev + (o.off-prev)/2
			lo = max(lo, mid)
			shares[n-1].hi = min(shares[n-1].hi, mid)
		}
		// Not past a point the code reached where the sampled code is
		// known not to run: one whose stack (without its blocking
		// machinery or the tracer's frames) is not the sample's, but for
		// the runtime's own frames. A deeper one counts too: there the
		// sampled function had called something, which ran from then on
		// (or had returned from it);
		// a sample in a caller never carries its callee's time (a sample
		// in the delivery code just before the work began would carry
		// the whole work as the profiler's own).
		for j := k - 1; j >= 0 && os[j].off > lo; j-- {
			if os[j].bounds && !b.sameAs(p, os[j].at, o.full) {
				lo = os[j].off
				break
			}
		}
		for j := k + 1; j < len(os) && os[j].off < hi; j++ {
			if os[j].bounds && !b.sameAs(p, os[j].at, o.full) {
				hi = os[j].off
				break
			}
		}
		shares = append(shares, share{k, lo, max(lo, hi)})
	}
	// Walk the run: shares, and unsampled stretches between the points
	// around them.
	var out []piece
	cur := int64(0)
	var left *obs
	emit := func(a, e int64, st profile.StackID, inferred bool) {
		if a >= e {
			return
		}
		pc := piece{start: r.at(a), end: r.at(e), stack: st, inferred: inferred}
		if a == 0 {
			pc.start = first.start
		}
		if e == total {
			pc.end = last.end
		}
		if n := len(out); n > 0 && out[n-1].stack == st && out[n-1].inferred == inferred && out[n-1].end == pc.start {
			out[n-1].end = pc.end
			return
		}
		out = append(out, pc)
	}
	gap := func(a, e int64, x, y *obs) {
		if a < e {
			emit(a, e, b.credible(p, pg, r.at(a), r.at(e), x, y), true)
		}
	}
	si := 0
	for k := range os {
		o := &os[k]
		if o.sample {
			sh := shares[si]
			si++
			if sh.lo > cur {
				gap(cur, sh.lo, left, o)
				cur = sh.lo
			}
			if sh.hi > cur {
				emit(cur, sh.hi, o.full, false)
				cur = sh.hi
			}
			left = o
			continue
		}
		// A point inside a sample's share says nothing the sample does
		// not.
		if o.off < cur || (si < len(shares) && shares[si].lo < o.off && o.off < shares[si].hi) {
			continue
		}
		if o.off > cur {
			gap(cur, o.off, left, o)
			cur = o.off
		}
		left = o
	}
	if cur < total {
		gap(cur, total, left, nil)
	}
	return out
}

// sameAs reports whether stack x has the functions of stack sample,
// outermost first, and beyond them at most the runtime's (morestack, an
// allocation): the sampled function may still be running at x, or be
// about to again.
func (b *builder) sameAs(p *profile.Profile, x, sample profile.StackID) bool {
	xs, ss := p.Stacks[x].Frames, p.Stacks[sample].Frames
	if len(xs) < len(ss) || !sameFuncs(p, xs[:len(ss)], ss) {
		return false
	}
	for _, f := range xs[len(ss):] {
		if !strings.HasPrefix(p.Frames[f].Func, "runtime.") {
			return false
		}
	}
	return true
}

// credible returns the stack under which an unsampled stretch [a, e)
// between the points x and y (either may be nil: unknown) goes; see the
// comment at the top of this file. On the root goroutine, a stretch
// between the marks around the work is the work's, even when no point
// inside it shows where: it goes under the work's boundary
// (profile.Work), not above it, where views would show the profiler's own
// time — unless an end of it shows the goroutine in the profiler's own
// call beside the work (see beside).
func (b *builder) credible(p *profile.Profile, pg *profile.Goroutine, a, e xtrace.Time, x, y *obs) profile.StackID {
	switch {
	case x == nil && y == nil:
		return 0
	case x == nil:
		x = y
	case y == nil:
		y = x
	}
	xs, ys := p.Stacks[x.at].Frames, p.Stacks[y.at].Frames
	n := 0
	for n < len(xs) && n < len(ys) && (xs[n] == ys[n] || p.Frames[xs[n]].Func == p.Frames[ys[n]].Func) {
		n++
	}
	if n == 0 || !b.user(p, xs[n-1]) {
		// Above the user's code: down to the deepest user frame of the
		// stack the stretch ended in, or began in (below the work's
		// boundary, whose delivery closure is not the work).
		for _, end := range []*obs{y, x} {
			fs := p.Stacks[end.at].Frames
			from := n
			if w := p.Stacks[p.Work].Frames; pg.ID == int64(b.tk.g) && len(w) > 0 && len(fs) >= len(w) && sameFuncs(p, fs[:len(w)], w) {
				from = max(n, len(w))
			}
			if k := b.deepestUser(p, fs, from); k >= 0 {
				return b.in.intern(p, fs[:k+1])
			}
		}
	}
	st := b.in.intern(p, xs[:n])
	if pg.ID == int64(b.tk.g) {
		st = b.intoWork(p, st, x.at, y.at)
		if w := p.Stacks[p.Work].Frames; len(w) > 0 && b.tk.mark != xtrace.NoStack && a >= b.tk.markT && e <= b.workEnd() {
			if fs := p.Stacks[st].Frames; (len(fs) < len(w) || !sameFuncs(p, fs[:len(w)], w)) && !b.beside(p, w, x.at) && !b.beside(p, w, y.at) {
				st = p.Work
			}
		}
	}
	return st
}

// beside reports whether stack s shows the goroutine in the profiler's own
// call beside the work's boundary w: s shares a strict prefix of w's
// frames and goes on, where w goes into the work, into the delivery code's
// or the tracer's own function (capture.Run logging the end mark after
// the work returned, preempted there by the garbage collector, say).
// Between the marks, a stretch with such an end was, at that end, not in
// the work. Only the profiler's functions count: a preemption's stack can
// miss a frame (see attribute), and a stack that skips the delivery
// code's closure into the handler is still the work's.
func (b *builder) beside(p *profile.Profile, w []profile.FrameID, s profile.StackID) bool {
	fs := p.Stacks[s].Frames
	n := sharedFuncs(p, fs, w)
	if n == 0 || n == len(w) || n == len(fs) {
		return false
	}
	return b.in.harness(p.Frames[fs[n]].Func)
}

// deepestUser returns the index in fs of its deepest user frame at or
// below from, or -1 when fs has none there.
func (b *builder) deepestUser(p *profile.Profile, fs []profile.FrameID, from int) int {
	for k := len(fs) - 1; k >= from; k-- {
		if b.user(p, fs[k]) {
			return k
		}
	}
	return -1
}

// workEnd returns when the work ended on the root goroutine: the end mark,
// or the task's end when the work left no end mark (it panicked).
func (b *builder) workEnd() xtrace.Time {
	if b.tk.endMarkT > b.tk.markT {
		return b.tk.endMarkT
	}
	return b.E
}

// user reports whether frame f is user code, remembering the answer.
func (b *builder) user(p *profile.Profile, f profile.FrameID) bool {
	for int(f) >= len(b.users) {
		b.users = append(b.users, 0)
	}
	if b.users[f] == 0 {
		b.users[f] = 2
		if fr := p.Frames[f]; !b.in.harness(fr.Func) && b.code.User(fr.Func, fr.File) {
			b.users[f] = 1
		}
	}
	return b.users[f] == 1
}

// appendRunning appends a running piece to pg, merging it with the
// previous piece when that has the same stack and marking.
func (b *builder) appendRunning(pg *profile.Goroutine, s, e xtrace.Time, st profile.StackID, inferred bool) {
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
	harness := func(id profile.StackID) bool { // in the delivery code's own calls under the boundary
		fs := p.Stacks[id].Frames
		return len(fs) > len(w) && sameFuncs(p, fs[:len(w)], w) && b.in.harness(p.Frames[fs[len(w)]].Func)
	}
	ix, iy := inside(x), inside(y)
	switch {
	case ix && !iy:
		return b.in.intern(p, p.Stacks[x].Frames[:len(w)+1])
	case iy && !ix:
		return b.in.intern(p, p.Stacks[y].Frames[:len(w)+1])
	case !ix && !iy && harness(y):
		return b.in.intern(p, p.Stacks[y].Frames[:len(w)+1])
	case !ix && !iy && harness(x):
		return b.in.intern(p, p.Stacks[x].Frames[:len(w)+1])
	}
	return common
}
