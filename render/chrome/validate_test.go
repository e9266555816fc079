package chrome_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// This file is a structural validator for Chrome Trace Event JSON, written
// for the tests from the rules of the format and of the readers that matter
// (Perfetto's JSON importer, Speedscope, DevTools): it parses a file back
// and reports every problem it finds.

// event is one parsed trace event.
type event struct {
	index   int // position in traceEvents
	Name    string
	Cat     string
	Ph      string
	TS      float64 // microseconds since the window's start (ts - ts_origin_us), to the nanosecond
	rawTS   float64 // ts as a JavaScript reader has it
	PID     int64
	TID     int64
	Dur     *float64
	ID      *int64
	BP      string
	S       string
	Args    map[string]any
	ArgsRaw json.RawMessage
	hasName bool
}

// vslice is a slice rebuilt from B/E (or X) events.
type vslice struct {
	Name, Cat  string
	Args       map[string]any
	ArgsRaw    json.RawMessage
	Start, End float64 // since the window's start
	Depth      int
	TID        int64
	Parent     *vslice

	rawStart, rawEnd float64
}

// vflow is a flow arrow and the slices its ends are bound to.
type vflow struct {
	ID       int64
	Name     string
	S, F     *event
	From, To *vslice
}

// parsed is what validate rebuilt from a file.
type parsed struct {
	Events      []*event
	ProcessName string
	ThreadNames map[int64]string
	SortIndex   map[int64]int64
	Slices      map[int64][]*vslice // by thread, in the order they begin
	Instants    []*event
	Flows       []*vflow // by id
	Metadata    map[string]any
}

// threads returns the thread ids with a name, by sort index.
func (p *parsed) threads() []int64 {
	var out []int64
	for tid := range p.ThreadNames {
		out = append(out, tid)
	}
	sort.Slice(out, func(i, j int) bool { return p.SortIndex[out[i]] < p.SortIndex[out[j]] })
	return out
}

var knownPhases = map[string]bool{"B": true, "E": true, "X": true, "i": true, "I": true, "M": true, "s": true, "t": true, "f": true, "C": true}

// validate checks data and returns what it holds, or every problem found.
func validate(data []byte) (*parsed, error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	var top struct {
		TraceEvents     []json.RawMessage `json:"traceEvents"`
		DisplayTimeUnit *string           `json:"displayTimeUnit"`
		Metadata        map[string]any    `json:"metadata"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() {
		fail("data after the top-level object")
	}
	if top.TraceEvents == nil {
		fail("no traceEvents array")
	}
	if top.DisplayTimeUnit == nil || *top.DisplayTimeUnit != "ns" {
		fail("displayTimeUnit is not \"ns\"")
	}
	if top.Metadata == nil {
		fail("no metadata object")
	}
	p := &parsed{ThreadNames: map[int64]string{}, SortIndex: map[int64]int64{}, Slices: map[int64][]*vslice{}, Metadata: top.Metadata}
	origin, ok := top.Metadata["ts_origin_us"].(float64)
	if !ok {
		fail("no metadata ts_origin_us")
	}
	// rel turns a ts into microseconds since the window's start, rounded
	// to the nanosecond the file states.
	rel := func(ts float64) float64 { return math.Round((ts-origin)*1e3) / 1e3 }

	integer := func(m map[string]any, k string) (int64, bool) {
		f, ok := m[k].(float64)
		if !ok || f != math.Trunc(f) {
			return 0, false
		}
		return int64(f), true
	}
	for i, raw := range top.TraceEvents {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			fail("traceEvents[%d]: not an object: %v", i, err)
			continue
		}
		var rawArgs struct {
			Args json.RawMessage `json:"args"`
		}
		json.Unmarshal(raw, &rawArgs)
		e := &event{index: i, ArgsRaw: rawArgs.Args}
		at := fmt.Sprintf("traceEvents[%d]", i)
		var ok bool
		if e.Ph, ok = m["ph"].(string); !ok || !knownPhases[e.Ph] {
			fail("%s: ph %v", at, m["ph"])
			continue
		}
		at += " (" + e.Ph + ")"
		if e.Name, e.hasName = m["name"].(string); !e.hasName {
			fail("%s: no name", at)
		}
		if c, ok := m["cat"]; ok {
			if e.Cat, ok = c.(string); !ok {
				fail("%s: cat is not a string", at)
			}
		}
		if e.rawTS, ok = m["ts"].(float64); !ok || math.IsInf(e.rawTS, 0) || math.IsNaN(e.rawTS) {
			fail("%s: ts is not a number", at)
		}
		e.TS = rel(e.rawTS)
		if e.PID, ok = integer(m, "pid"); !ok {
			fail("%s: pid is not an integer", at)
		}
		if e.TID, ok = integer(m, "tid"); !ok {
			fail("%s: tid is not an integer", at)
		}
		if a, ok := m["args"]; ok {
			if e.Args, ok = a.(map[string]any); !ok {
				fail("%s: args is not an object", at)
			}
		}
		switch e.Ph {
		case "X":
			d, ok := m["dur"].(float64)
			if !ok || d < 0 {
				fail("%s: X without dur >= 0", at)
			}
			e.Dur = &d
		case "i", "I":
			e.S, _ = m["s"].(string)
			if e.S != "t" && e.S != "p" && e.S != "g" {
				fail("%s: instant scope %q", at, e.S)
			}
			p.Instants = append(p.Instants, e)
		case "s", "t", "f":
			id, ok := integer(m, "id")
			if !ok {
				fail("%s: flow event without an integer id", at)
			}
			e.ID = &id
			e.BP, _ = m["bp"].(string)
			if e.Ph == "f" && e.BP != "e" {
				fail("%s: flow finish without bind point \"e\"", at)
			}
		case "M":
			switch e.Name {
			case "process_name":
				n, _ := e.Args["name"].(string)
				if n == "" {
					fail("%s: process_name without args.name", at)
				}
				p.ProcessName = n
			case "thread_name":
				n, _ := e.Args["name"].(string)
				if n == "" {
					fail("%s: thread_name without args.name", at)
				}
				if _, dup := p.ThreadNames[e.TID]; dup {
					fail("%s: thread %d named twice", at, e.TID)
				}
				p.ThreadNames[e.TID] = n
			case "thread_sort_index":
				si, ok := integer(e.Args, "sort_index")
				if !ok {
					fail("%s: thread_sort_index without an integer args.sort_index", at)
				}
				p.SortIndex[e.TID] = si
			default:
				fail("%s: unknown metadata %q", at, e.Name)
			}
		}
		p.Events = append(p.Events, e)
	}
	if p.ProcessName == "" {
		fail("no process_name metadata")
	}

	// Slices: B/E pairs (in file order at equal times, as readers pair
	// them) and X events, thread by thread.
	byThread := map[int64][]*event{}
	begun := map[int64][]*vslice{} // slices of B events, in the order readers open them
	for _, e := range p.Events {
		if e.Ph == "B" || e.Ph == "E" || e.Ph == "X" {
			byThread[e.TID] = append(byThread[e.TID], e)
		}
	}
	for tid, evs := range byThread {
		if _, ok := p.ThreadNames[tid]; !ok {
			fail("thread %d has slices but no thread_name", tid)
		}
		// As JavaScript readers do: by the ts they parsed, then file order.
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].rawTS < evs[j].rawTS })
		var stack []*vslice
		var all []*vslice
		for _, e := range evs {
			switch e.Ph {
			case "B":
				s := &vslice{Name: e.Name, Cat: e.Cat, Args: e.Args, ArgsRaw: e.ArgsRaw, Start: e.TS, rawStart: e.rawTS, Depth: len(stack), TID: tid}
				if len(stack) > 0 {
					s.Parent = stack[len(stack)-1]
				}
				stack = append(stack, s)
				all = append(all, s)
				begun[tid] = append(begun[tid], s)
			case "E":
				if len(stack) == 0 {
					fail("thread %d: traceEvents[%d] E %q at %v closes nothing", tid, e.index, e.Name, e.TS)
					continue
				}
				s := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				// DevTools pairs them by name and category.
				if e.Name != s.Name || e.Cat != s.Cat {
					fail("thread %d: traceEvents[%d] E %q (%q) at %v closes B %q (%q)", tid, e.index, e.Name, e.Cat, e.TS, s.Name, s.Cat)
				}
				if e.ArgsRaw != nil && !bytes.Equal(e.ArgsRaw, s.ArgsRaw) {
					fail("thread %d: traceEvents[%d] E %q has args %s, its B %s", tid, e.index, e.Name, e.ArgsRaw, s.ArgsRaw)
				}
				s.End, s.rawEnd = e.TS, e.rawTS
				if s.End <= s.Start {
					fail("thread %d: slice %q [%v,%v] is empty", tid, s.Name, s.Start, s.End)
				}
				// DevTools turns the pair into ts and dur = end-ts, and
				// then compares ts+dur with other times: it must be the
				// end itself.
				if s.rawStart+(s.rawEnd-s.rawStart) != s.rawEnd {
					fail("thread %d: slice %q: %v+(%v-%v) is not %v in floating point", tid, s.Name, s.rawStart, s.rawEnd, s.rawStart, s.rawEnd)
				}
			case "X":
				all = append(all, &vslice{Name: e.Name, Cat: e.Cat, Args: e.Args, ArgsRaw: e.ArgsRaw, Start: e.TS, End: rel(e.rawTS + *e.Dur), rawStart: e.rawTS, rawEnd: e.rawTS + *e.Dur, TID: tid})
			}
		}
		for _, s := range stack {
			fail("thread %d: B %q at %v is never closed", tid, s.Name, s.Start)
		}
		if err := speedscopeImport(tid, evs); err != nil {
			errs = append(errs, err)
		}
		// Perfect nesting, in the times JavaScript readers have: each
		// slice lies inside the innermost open one or starts after it
		// ends.
		sorted := append([]*vslice(nil), all...)
		sort.SliceStable(sorted, func(i, j int) bool {
			a, b := sorted[i], sorted[j]
			if a.rawStart != b.rawStart {
				return a.rawStart < b.rawStart
			}
			return a.rawEnd-a.rawStart > b.rawEnd-b.rawStart
		})
		var open []*vslice
		for _, s := range sorted {
			for len(open) > 0 && open[len(open)-1].rawEnd <= s.rawStart {
				open = open[:len(open)-1]
			}
			if n := len(open); n > 0 && s.rawEnd > open[n-1].rawEnd {
				o := open[n-1]
				fail("thread %d: %q [%v,%v] overlaps %q [%v,%v] without nesting", tid, s.Name, s.Start, s.End, o.Name, o.Start, o.End)
			}
			open = append(open, s)
		}
		p.Slices[tid] = all
	}

	// DevTools pairs begins and ends with one stack for the whole file, in
	// file order: the threads' B/E events must not interleave.
	var global []*event
	for _, e := range p.Events {
		switch e.Ph {
		case "B":
			global = append(global, e)
		case "E":
			if len(global) == 0 {
				fail("DevTools: traceEvents[%d] E %q closes nothing", e.index, e.Name)
				continue
			}
			b := global[len(global)-1]
			global = global[:len(global)-1]
			if b.Name != e.Name || b.Cat != e.Cat || b.TID != e.TID {
				fail("DevTools: traceEvents[%d] E %q (thread %d) closes B %q (thread %d) of traceEvents[%d]", e.index, e.Name, e.TID, b.Name, b.TID, b.index)
			}
		}
	}

	// Flows: read the events the way Perfetto's importer does (by time;
	// at equal times in file order, or, in versions that sort complete
	// events specially, ends first and then the rest in file order) and
	// bind each flow event to the slice on top of its thread's stack,
	// which must also enclose the event's time (the spec's binding). Both
	// orders must bind every flow event to the same slice.
	var flows map[int64]*vflow
	for _, endsFirst := range []bool{false, true} {
		f, ferrs := perfettoFlows(p, begun, endsFirst)
		if flows == nil || len(errs) == 0 {
			errs = append(errs, ferrs...)
		}
		if flows == nil {
			flows = f
			continue
		}
		for id, a := range flows {
			if b := f[id]; b == nil || a.From != b.From || a.To != b.To {
				fail("flow %d: bound differently when ends come first at equal times", id)
			}
		}
	}
	ids := make([]int64, 0, len(flows))
	for id, f := range flows {
		ids = append(ids, id)
		if f.S == nil || f.F == nil {
			fail("flow %d: unpaired", id)
			continue
		}
		if f.S.Cat != f.F.Cat {
			fail("flow %d: categories %q and %q differ", id, f.S.Cat, f.F.Cat)
		}
		if f.F.TS < f.S.TS {
			fail("flow %d: finishes at %v before it starts at %v", id, f.F.TS, f.S.TS)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		p.Flows = append(p.Flows, flows[id])
	}
	for _, e := range p.Instants {
		if _, ok := p.ThreadNames[e.TID]; !ok && e.S == "t" {
			fail("instant %q on thread %d, which has no thread_name", e.Name, e.TID)
		}
	}
	return p, errors.Join(errs...)
}

// speedscopeImport replays Speedscope's Trace Event importer (v1.25,
// src/import/trace-event.ts, eventListToProfile) on one thread's B/E events
// and checks that it closes every frame at the end of its slice, without
// ignoring an end or leaving a frame open. Its quirks: begins and ends go
// to two queues, each sorted by ts; at equal ts a begin is taken first when
// it has the same key (name and args) as the first end (a zero-length
// frame); before taking an end it looks, among the other ends of that ts
// (not the first), for one with the key, else the name, of the frame on
// top, and swaps it to the front; an end whose name is not the top's is
// ignored, one whose name is but key is not pops the top with a warning.
func speedscopeImport(tid int64, evs []*event) error {
	type sev struct {
		e   *event
		key string
	}
	key := func(e *event) string {
		if e.ArgsRaw == nil {
			return e.Name
		}
		return e.Name + " " + string(e.ArgsRaw)
	}
	var bq, eq []sev
	for _, e := range evs { // evs is sorted by ts, then file order
		switch e.Ph {
		case "B":
			bq = append(bq, sev{e, key(e)})
		case "E":
			eq = append(eq, sev{e, key(e)})
		}
	}
	// The ts of each begin's own end, in nesting order.
	endOf := map[*event]float64{}
	var open []*event
	for _, e := range evs {
		switch e.Ph {
		case "B":
			open = append(open, e)
		case "E":
			if n := len(open); n > 0 {
				endOf[open[n-1]] = e.rawTS
				open = open[:n-1]
			}
		}
	}
	var stack []sev
	for len(bq) > 0 || len(eq) > 0 {
		takeB := len(eq) == 0 || (len(bq) > 0 && (bq[0].e.rawTS < eq[0].e.rawTS ||
			(bq[0].e.rawTS == eq[0].e.rawTS && bq[0].key == eq[0].key)))
		if takeB {
			stack = append(stack, bq[0])
			bq = bq[1:]
			continue
		}
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			swapped := false
			for i := 1; i < len(eq) && eq[i].e.rawTS <= eq[0].e.rawTS; i++ {
				if eq[i].key == top.key {
					eq[0], eq[i] = eq[i], eq[0]
					swapped = true
					break
				}
			}
			for i := 1; !swapped && i < len(eq) && eq[i].e.rawTS <= eq[0].e.rawTS; i++ {
				if eq[i].e.Name == top.e.Name {
					eq[0], eq[i] = eq[i], eq[0]
					break
				}
			}
		}
		end := eq[0]
		eq = eq[1:]
		if len(stack) == 0 {
			return fmt.Errorf("speedscope, thread %d: end of %q at %v with no frame open", tid, end.e.Name, end.e.TS)
		}
		top := stack[len(stack)-1]
		if end.e.Name != top.e.Name {
			return fmt.Errorf("speedscope, thread %d: ignores the end of %q at %v (%q is on top)", tid, end.e.Name, end.e.TS, top.e.Name)
		}
		stack = stack[:len(stack)-1]
		// The frame popped must be one that ends now: the top's own end
		// has this ts.
		if endOf[top.e] != end.e.rawTS {
			return fmt.Errorf("speedscope, thread %d: closes %q (begun at %v) at %v, not at its end", tid, top.e.Name, top.e.TS, end.e.TS)
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("speedscope, thread %d: %q is still open at the end", tid, stack[len(stack)-1].e.Name)
	}
	return nil
}

// perfettoFlows replays Perfetto's reading of the file to bind flow events
// to slices.
func perfettoFlows(p *parsed, begun map[int64][]*vslice, endsFirst bool) (map[int64]*vflow, []error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	order := append([]*event(nil), p.Events...)
	key := func(e *event) int {
		if e.Ph == "E" && endsFirst {
			return 0
		}
		return 1
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.TS != b.TS {
			return a.TS < b.TS
		}
		return key(a) < key(b)
	})
	type frame struct {
		s       *vslice // nil for an instant
		instant *event
	}
	stacks := map[int64][]frame{}
	next := map[int64]int{} // thread → index of the next B in p.Slices
	popInstants := func(tid int64) {
		st := stacks[tid]
		for len(st) > 0 && st[len(st)-1].s == nil {
			st = st[:len(st)-1]
		}
		stacks[tid] = st
	}
	flows := map[int64]*vflow{}
	for _, e := range order {
		switch e.Ph {
		case "B":
			popInstants(e.TID)
			s := begun[e.TID][next[e.TID]]
			next[e.TID]++
			stacks[e.TID] = append(stacks[e.TID], frame{s: s})
		case "E":
			popInstants(e.TID)
			if st := stacks[e.TID]; len(st) > 0 {
				stacks[e.TID] = st[:len(st)-1]
			}
		case "i", "I":
			if e.S == "t" {
				stacks[e.TID] = append(stacks[e.TID], frame{instant: e})
			}
		case "s", "f":
			f := flows[*e.ID]
			if f == nil {
				f = &vflow{ID: *e.ID, Name: e.Name}
				flows[*e.ID] = f
			}
			if f.Name != e.Name {
				fail("flow %d: events named %q and %q", f.ID, f.Name, e.Name)
			}
			var bound *vslice
			if st := stacks[e.TID]; len(st) == 0 {
				fail("flow %d: %s at %v on thread %d: no slice open", f.ID, e.Ph, e.TS, e.TID)
			} else if top := st[len(st)-1]; top.s == nil {
				fail("flow %d: %s at %v on thread %d binds to the log instant %q", f.ID, e.Ph, e.TS, e.TID, top.instant.Name)
			} else {
				bound = top.s
				if !(bound.Start <= e.TS && e.TS < bound.End) {
					fail("flow %d: %s at %v on thread %d is bound to %q [%v,%v], which does not enclose it", f.ID, e.Ph, e.TS, e.TID, bound.Name, bound.Start, bound.End)
				}
			}
			if e.Ph == "s" {
				if f.S != nil {
					fail("flow %d: two starts", f.ID)
				}
				if f.F != nil {
					fail("flow %d: finish read before its start", f.ID)
				}
				f.S, f.From = e, bound
			} else {
				if f.F != nil {
					fail("flow %d: two finishes", f.ID)
				}
				if f.S == nil {
					fail("flow %d: finish read before its start", f.ID)
				}
				f.F, f.To = e, bound
			}
		}
	}
	return flows, errs
}
