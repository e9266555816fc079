// Package tracedec turns a Go execution trace into reqprof profiles. It is
// the only package of reqprof that imports golang.org/x/exp/trace.
//
// A unit of work is found by its task: the capture package wraps the work in
// runtime/trace.NewTask and logs the work's id in it under a category it
// names in [Options], and marks where the work itself begins (capture.Run)
// under another: the begin mark's stack is the work's boundary
// ([profile.Profile.Work]). Extract reads the trace once, follows every goroutine's state, and builds
// one profile per requested id: the task's window, the root goroutine, every
// goroutine it created (transitively) during the window, their state
// intervals with stacks, the CPU samples, user regions and logs, and the
// goroutines outside the work that woke one of its goroutines (named with
// their own unit of work, [profile.Goroutine.Task], when they belong to
// another task), as far as the critical path follows wakers
// ([profile.Profile.FollowWaker]).
//
// # Attribution
//
// States come from the trace's transitions, exactly. A CPU sample changes
// no state (the signal that took it is not ordered with the goroutine's
// transitions), and a goroutine the runtime suspends (a "preempted" wait)
// is runnable, like one the scheduler preempts.
//
// Running time is cut into CPU samples' shares and unsampled stretches
// (infer.go): each sample has the running time nearer to it than to
// another sample of its run (running intervals separated only by
// preemptions), at most half its goroutine's sample period on each side
// (the goroutine's own running time per sample, weighed with the trace's,
// [profile.Profile.SamplePeriod], when it has few samples), and not past a
// point the code reached — a blocking call, an event — whose stack shows
// the sampled function was not the one running. What no share covers is Inferred
// (unsampled), under the deepest frame credibly running: the frames
// common to the stacks at its two known ends (blocking calls' own frames
// and the profiler's left out; preemption stacks, unwound by frame
// pointers at an arbitrary instruction, used only in runs with no sample),
// or, when those end above the user's code ([profile.Code]), the first
// user frame of the stack the stretch ended in, else began in. On the
// root goroutine, running time between the marks around the work is the
// work's, but where an end of it was in the profiler's own call beside the
// work (capture.Run logging the end mark, stopped there by the garbage
// collector).
package tracedec

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/reqprof/reqprof/profile"
)

// Options say how a capture shows in the trace. The capture package, which
// leaves these marks, owns them.
type Options struct {
	// IDCategory is the runtime/trace.Log category under which a capture
	// logs its id inside its task.
	IDCategory string
	// MarkCategory is the category of the marks left where the work begins
	// and ends, on the task's goroutine: the first one's stack, down to the
	// function that logged it, is the work's boundary.
	MarkCategory string
	// PointCategory is the category of the logs left only for their stack
	// (a point where the goroutine's stack is known, such as the first
	// write of a response): they are not user logs.
	PointCategory string
	// Harness lists function-name prefixes of the profiler's own code,
	// trimmed from the leaf of the task's and regions' stacks (runtime/trace
	// always is) and skipped when inferring where running time went.
	Harness []string
	// Module is the profiled program's main module and Library the
	// function-name prefixes of the profiler's packages: they tell user
	// code (see [profile.Code]), under which unsampled running time goes
	// when the frames around it are the harness's or a framework's.
	Module  string
	Library []string
	// SamplePeriod is the running time one CPU sample stands for when the
	// trace has too few samples to measure it (the period asked of the
	// runtime); 0 means the runtime/pprof default, 10ms.
	SamplePeriod time.Duration
}

// tracer is the prefix of the runtime's tracing API, whose frames are never
// the work's.
const tracer = "runtime/trace."

// harness reports whether fn is the tracer's or one of o.Harness. A test
// package's function ("example.com/prof/contrib/gin_test.TestX") is not,
// whatever the prefixes, as [profile.IsLibrary] says: tests of the
// profiler's packages are its users' code.
func (o *Options) harness(fn string) bool {
	if strings.HasPrefix(fn, tracer) {
		return true
	}
	if strings.Contains(fn, "_test.") {
		return false
	}
	for _, p := range o.Harness {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// Request names one unit of work to extract.
type Request struct {
	// ID is the message logged under Options.IDCategory in the unit's task.
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

// Extract parses an execution trace and returns one result per request, in
// order: [Parse], then [Trace.Build] for each request. A trace that cannot
// be parsed is an error for all; a request whose task is missing is an
// error for that request only.
func Extract(trace []byte, reqs []Request, o Options) ([]Result, error) {
	t, err := Parse(trace, reqs, o)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(reqs))
	for i, r := range reqs {
		p, err := t.Build(r)
		out[i] = Result{p, err}
	}
	return out, nil
}

// Trace is a parsed execution trace, from which the profiles of the
// requests it was parsed for are built. It holds no reference to the
// trace's bytes.
type Trace struct {
	t *timeline
}

// Parse parses an execution trace for the given requests. Work usually ends
// just before the trace does, so Parse reads only the trace's last
// generations, going further back until every request's task is found, and
// the whole trace only when it must.
func Parse(trace []byte, reqs []Request, o Options) (*Trace, error) {
	s := scratches.Get().(*scratch)
	defer s.release()
	return parse(trace, reqs, &o, s)
}

// A Parser parses traces one after another, as [Parse] does, keeping the
// memory a parse works in (not what the parsed traces hold) for the next
// parse: for a caller that parses snapshots repeatedly, such as a capture
// worker. Its zero value is ready to use. It must not parse for two
// goroutines at once (it panics if it does); the traces it returns are
// independent of it and of one another. It keeps its memory until it is
// dropped, except what a parse much larger than the next one needed.
type Parser struct {
	busy atomic.Bool
	s    *scratch
}

// Parse is [Parse], reusing p's memory.
func (p *Parser) Parse(trace []byte, reqs []Request, o Options) (*Trace, error) {
	if !p.busy.CompareAndSwap(false, true) {
		panic("tracedec: a Parser used by two goroutines at once")
	}
	defer p.busy.Store(false)
	if p.s == nil {
		p.s = new(scratch)
	}
	defer func() {
		if p.s.large() {
			p.s = nil
		} else {
			p.s.trim()
		}
	}()
	return parse(trace, reqs, &o, p.s)
}

// parse is Parse with the scratch s.
func parse(trace []byte, reqs []Request, o *Options, s *scratch) (*Trace, error) {
	if header, offs, ok := generations(trace); ok && len(offs) > 1 {
		for k := 1; k < len(offs); k *= 2 {
			suffix := io.MultiReader(bytes.NewReader(header), bytes.NewReader(trace[offs[len(offs)-k]:]))
			if t, err := readWith(suffix, reqs, o, s); err == nil && t.covers(reqs) {
				return &Trace{t}, nil
			}
		}
	}
	t, err := readWith(bytes.NewReader(trace), reqs, o, s)
	if err != nil {
		return nil, err
	}
	return &Trace{t}, nil
}

// SamplePeriod returns the running time one CPU sample stands for in the
// trace (see [profile.Profile.SamplePeriod]), and whether the trace had
// enough samples to measure it (else it is Options.SamplePeriod).
func (t *Trace) SamplePeriod() (period time.Duration, measured bool) {
	return time.Duration(t.t.period), t.t.samples-1 >= minPeriodSamples
}

// Build returns the profile of request r, one of those the trace was parsed
// for (a request whose task is missing from the trace is an error wrapping
// [ErrTaskNotFound]). Builds only read the parsed trace: the profiles of
// several requests may be built at the same time, each independently.
func (t *Trace) Build(r Request) (*profile.Profile, error) {
	return t.t.build(r)
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
func ExtractTasks(trace []byte, typ string, o Options) ([]*profile.Profile, error) {
	t, err := read(bytes.NewReader(trace), nil, &o)
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
