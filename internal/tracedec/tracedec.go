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
	"io"

	"github.com/reqprof/reqprof/profile"
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
