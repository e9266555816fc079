// Package pprof renders a profile in the pprof format: a gzipped
// profile.proto, built with [github.com/google/pprof/profile], that
// `go tool pprof` and every pprof-compatible tool opens.
//
// # Sample types
//
// Every value is nanoseconds. The first three are exact durations, not
// sample counts; the fourth is the sampled estimate next to them:
//
//   - wall: the time of every goroutine of the work (the "all goroutines"
//     view: each goroutine's time under the stack that spawned it). It sums
//     to goroutine-time, which exceeds the wall time under fan-out.
//   - critical: the critical path (the default view): the root goroutine's
//     time, where each wait another goroutine ended is explained by what that
//     goroutine did meanwhile, under "[via goroutine N: entry]". It sums to
//     the work's wall time, nanosecond for nanosecond.
//   - cpu: the running part of wall: on-CPU time. Running time whose stack
//     no CPU sample or event observed throughout is attributed from the
//     stacks known around it (see [profile.Interval.Inferred]), so cpu is
//     exact in total but not in where it puts every nanosecond.
//   - cpu_sampled: what a sampling CPU profiler would say: the CPU profile
//     samples taken on the work's goroutines, each at its own stack and
//     weighted by [SamplePeriod] (10 ms: runtime/pprof's 100 Hz, the rate at
//     which reqprof's capture profiles the CPU). It is an estimate with the
//     usual sampling error — a 3 ms burst may get no sample — and is wrong by
//     the ratio of the rates when someone else profiled the CPU at another
//     rate (the samples then came from their profile). Compare it with cpu
//     to see how much of cpu is attributed rather than observed.
//
// The default sample type, the one `go tool pprof` shows without
// -sample_index, is critical for the critical view (the default) and wall
// for the "all goroutines" and "per goroutine" views. With critical,
// `go tool pprof -top` answers the question reqprof exists for: its total is
// the request's latency and its flat column lists what the latency was
// spent on — pseudo-frames such as "[wait: network]" and the functions that
// burned CPU. The view changes nothing else: every file holds all four
// sample types, so `-sample_index=wall` or `-sample_index=cpu` work on any
// of them, and files of different views merge and diff.
//
// # Samples and labels
//
// One pprof sample exists per distinct (stack, goroutine, state, wait
// reason), holding the four values. Samples carry the labels
//
//   - goroutine: the goroutine id, a numeric label, so
//     `-tagfocus=goroutine=12` selects one goroutine (a numeric tag filter:
//     `-tagfocus=goroutine=12:15` is a range);
//   - state: running, runnable, waiting or syscall, so
//     `-tagfocus=state=waiting` keeps the waits (a regular expression);
//   - reason: the runtime's wait reason ("sleep", "network", "sync",
//     "chan receive", "select", ...; "unknown" when the runtime gave none),
//     on waiting samples only.
//
// In critical samples, goroutine and state are those of the goroutine whose
// time it is: inside "[via goroutine N: ...]", goroutine N's.
//
// # Frames
//
// Stacks are the views' paths, leaf first as pprof wants. Functions keep
// their file and line. Pseudo-frames are functions with that name and no
// file and no system name: "[wait: <reason>]", "[syscall]", "[runnable]",
// "[via goroutine N: <entry function>]", "[reqprof]" (the profiler's own
// work), user regions by their type ("SQL: SELECT ..."), and [NoStackName]
// for running time at no known frame. One mapping, without a file and
// marked as symbolised, holds every location, so pprof never tries to
// symbolise them.
//
// [Render] keeps full stacks, library and runtime frames included, whatever
// [render.Options.NoGroup] says: pprof users expect real stacks, and pprof
// folds them itself (-show_from, -hide, -prune_from, -focus). [RenderGrouped]
// folds library frames like the other formats do. Options.Threshold,
// TimeOrder, Color and Unicode do not apply (pprof has -nodefraction and
// merges calls itself).
//
// A profile without goroutines still gives a valid file: the sample types
// and comments, no sample. profile.Parse and CheckValid accept it, and
// `go tool pprof -top` prints its header and an empty table.
//
// # Usage examples
//
// Write a profile to a file and look at it:
//
//	f, _ := os.Create("req.pb.gz")
//	err := pprof.Render(f, p, render.Options{})
//	f.Close()
//
//	go tool pprof -top req.pb.gz                          # where the latency went
//	go tool pprof -top -unit=ms req.pb.gz                 # the same in ms, not µs
//	go tool pprof -top -sample_index=cpu req.pb.gz        # on-CPU time of all goroutines
//	go tool pprof -traces req.pb.gz                       # every stack, with its labels
//	go tool pprof -top -tagfocus=state=waiting req.pb.gz  # only the waits
//	go tool pprof -tagroot=goroutine -traces req.pb.gz    # stacks under their goroutine
//	go tool pprof -comments req.pb.gz                     # name, attributes, notes
//	go tool pprof -http=:8080 req.pb.gz                   # flame graph in a browser
//
// Values are exact, so some are a few microseconds, and pprof then prints
// every value in µs; -unit=ms fixes the unit.
package pprof

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	pprofile "github.com/google/pprof/profile"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// Extension and ContentType describe the format. The content type is the
// one net/http/pprof serves profiles with: the file is gzip-compressed
// data to save as is, not a response with a gzip Content-Encoding.
const (
	Extension   = ".pb.gz"
	ContentType = "application/octet-stream"
)

// Sample type names.
const (
	Wall       = "wall"
	Critical   = "critical"
	CPU        = "cpu"
	CPUSampled = "cpu_sampled"
)

// Unit is the unit of every sample type.
const Unit = "nanoseconds"

// Label keys.
const (
	LabelGoroutine = "goroutine" // numeric
	LabelState     = "state"
	LabelReason    = "reason"
)

// SamplePeriod is the CPU time one CPU profile sample stands for in
// cpu_sampled: runtime/pprof's default rate, 100 Hz.
const SamplePeriod = int64(10 * time.Millisecond)

// NoStackName is the pseudo-frame of running time at no known frame.
const NoStackName = "[no stack]"

// Indexes of the sample types in every sample's values.
const (
	iWall = iota
	iCritical
	iCPU
	iCPUSampled
	nTypes
)

// Render writes p as a gzipped pprof profile with full stacks. o.View
// chooses the default sample type (critical for the critical view, wall
// otherwise); see the package documentation.
func Render(w io.Writer, p *profile.Profile, o render.Options) error {
	return write(w, p, o, false)
}

// RenderGrouped is [Render] with library frames folded as in the other
// formats (the outermost frame of a chain of library frames stays), unless
// o.NoGroup; o.User decides what is user code.
func RenderGrouped(w io.Writer, p *profile.Profile, o render.Options) error {
	return write(w, p, o, !o.NoGroup)
}

func write(w io.Writer, p *profile.Profile, o render.Options, group bool) error {
	pp, err := build(p, o, group)
	if err != nil {
		return err
	}
	return pp.Write(w)
}

// build converts p into a pprof profile.
func build(p *profile.Profile, o render.Options, group bool) (*pprofile.Profile, error) {
	if p == nil {
		return nil, errors.New("pprof: nil profile")
	}
	dflt := Critical
	switch o.View {
	case view.Critical, "":
	case view.All, view.Goroutines:
		dflt = Wall
	default:
		return nil, fmt.Errorf("pprof: unknown view %q (valid: critical, goroutines, all)", o.View)
	}
	o.NoGroup = !group
	b := newBuilder(p)
	for _, v := range []struct {
		kind view.Kind
		fn   func(view.Segment)
	}{
		{view.Critical, func(s view.Segment) { b.add(s, iCritical, s.End-s.Start) }},
		{view.All, func(s view.Segment) {
			b.add(s, iWall, s.End-s.Start)
			if s.State == profile.Running {
				b.add(s, iCPU, s.End-s.Start)
			}
		}},
	} {
		o.View = v.kind
		tls, err := o.Timelines(p)
		if err != nil {
			return nil, err
		}
		for _, s := range tls[0].Segments {
			if s.End > s.Start {
				v.fn(s)
			}
		}
	}
	var user view.UserCode
	if group {
		user = o.UserCode(p)
	}
	for _, s := range sampled(p) {
		if group {
			s.Path = view.GroupPath(s.Path, user)
		}
		b.add(s, iCPUSampled, SamplePeriod)
	}

	pp := b.out
	if len(pp.Location) == 0 {
		pp.Mapping = nil
	}
	pp.SampleType = []*pprofile.ValueType{
		iWall:       {Type: Wall, Unit: Unit},
		iCritical:   {Type: Critical, Unit: Unit},
		iCPU:        {Type: CPU, Unit: Unit},
		iCPUSampled: {Type: CPUSampled, Unit: Unit},
	}
	pp.DefaultSampleType = dflt
	// Values are exact durations: one nanosecond of wall time per unit.
	pp.PeriodType = &pprofile.ValueType{Type: Wall, Unit: Unit}
	pp.Period = 1
	if !p.Start.IsZero() {
		pp.TimeNanos = p.Start.UnixNano()
	}
	pp.DurationNanos = p.Duration
	pp.Comments = comments(p, group)
	if err := pp.CheckValid(); err != nil {
		return nil, fmt.Errorf("pprof: %w", err) // a bug here
	}
	return pp, nil
}

func comments(p *profile.Profile, group bool) []string {
	name := p.Name
	if name == "" {
		name = "(unnamed)"
	}
	members := 0
	for _, g := range p.Goroutines {
		if g.Member {
			members++
		}
	}
	stacks := "full stacks"
	if group {
		stacks = "library frames grouped"
	}
	c := []string{fmt.Sprintf("reqprof: %s (%d goroutines, %d CPU samples; %s)", name, members, len(p.Samples), stacks)}
	for _, a := range p.Attrs {
		c = append(c, a.Key+": "+a.Value)
	}
	if p.GoVersion != "" || p.Host != "" {
		c = append(c, fmt.Sprintf("go: %s, host: %s", p.GoVersion, p.Host))
	}
	for _, w := range p.Warnings {
		c = append(c, "note: "+w)
	}
	return append(c, fmt.Sprintf("sample types (ns): critical = critical path (sums to the duration), wall = all goroutines' time, cpu = on-CPU part of wall, cpu_sampled = CPU samples x %s (an estimate)", time.Duration(SamplePeriod)))
}

// sampled returns one one-nanosecond running segment per CPU sample on a
// member goroutine, whose path is the sample's stack as the "all
// goroutines" view shows stacks: under the spawning stack, with the user
// regions active at that time.
//
// It gets those paths from view.AllGoroutines itself, run on a copy of p in
// which each member goroutine's intervals are replaced by one running
// nanosecond at each of its samples: a path is the same function of
// (goroutine, stack, time) for an interval and for a sample, and no region
// boundary falls strictly inside a nanosecond.
func sampled(p *profile.Profile) []view.Segment {
	if len(p.Samples) == 0 {
		return nil
	}
	q := *p
	q.Goroutines = make([]profile.Goroutine, len(p.Goroutines))
	idx := make(map[int64]int, len(p.Goroutines))
	for i, g := range p.Goroutines {
		g.Intervals = nil
		q.Goroutines[i] = g
		idx[g.ID] = i
	}
	for _, s := range p.Samples {
		i, ok := idx[s.Goroutine]
		if !ok || !q.Goroutines[i].Member {
			continue
		}
		g := &q.Goroutines[i]
		g.Intervals = append(g.Intervals, profile.Interval{Start: s.Time, End: s.Time + 1, State: profile.Running, Stack: s.Stack})
	}
	return view.AllGoroutines(&q).Segments
}

// builder accumulates pprof samples, locations and functions.
type builder struct {
	p         *profile.Profile
	intervals map[int64][]profile.Interval // by goroutine
	out       *pprofile.Profile
	funcs     map[view.Frame]*pprofile.Function // by name, file and kind
	locs      map[view.Frame]*pprofile.Location // by name, file, line and kind
	samples   map[sampleKey]*pprofile.Sample
	buf       []byte
}

type sampleKey struct {
	locs   string // location ids, leaf first
	g      int64
	state  profile.State
	reason string
}

func newBuilder(p *profile.Profile) *builder {
	b := &builder{
		p:         p,
		intervals: make(map[int64][]profile.Interval, len(p.Goroutines)),
		// One mapping, marked symbolised, holds every location: without
		// it, go tool pprof adds one and tries to symbolise it, saying
		// "Main binary filename not available".
		out: &pprofile.Profile{Mapping: []*pprofile.Mapping{{
			ID: 1, HasFunctions: true, HasFilenames: true, HasLineNumbers: true,
		}}},
		funcs:   map[view.Frame]*pprofile.Function{},
		locs:    map[view.Frame]*pprofile.Location{},
		samples: map[sampleKey]*pprofile.Sample{},
	}
	for _, g := range p.Goroutines {
		b.intervals[g.ID] = g.Intervals
	}
	return b
}

// add adds v to value i of the sample of segment s.
func (b *builder) add(s view.Segment, i int, v int64) {
	locs := b.locations(s.Path)
	b.buf = b.buf[:0]
	for _, l := range locs {
		b.buf = binary.AppendUvarint(b.buf, l.ID)
	}
	k := sampleKey{locs: string(b.buf), g: s.Goroutine, state: s.State, reason: b.reason(s)}
	ps := b.samples[k]
	if ps == nil {
		ps = &pprofile.Sample{
			Location: locs,
			Value:    make([]int64, nTypes),
			Label:    map[string][]string{LabelState: {s.State.String()}},
			NumLabel: map[string][]int64{LabelGoroutine: {s.Goroutine}},
		}
		if k.reason != "" {
			ps.Label[LabelReason] = []string{k.reason}
		}
		b.samples[k] = ps
		b.out.Sample = append(b.out.Sample, ps)
	}
	ps.Value[i] += v
}

// reason returns the runtime's wait reason of a waiting segment: that of
// its goroutine's interval at the segment's start.
func (b *builder) reason(s view.Segment) string {
	if s.State != profile.Waiting {
		return ""
	}
	ivs := b.intervals[s.Goroutine]
	i := sort.Search(len(ivs), func(i int) bool { return ivs[i].End > s.Start })
	if i < len(ivs) && ivs[i].Start <= s.Start && ivs[i].Reason != "" {
		return ivs[i].Reason
	}
	return "unknown" // as in view.WaitName
}

// locations returns the locations of path, leaf first.
func (b *builder) locations(path []view.Frame) []*pprofile.Location {
	if len(path) == 0 {
		// Any pseudo-frame kind: it has no file.
		return []*pprofile.Location{b.location(view.Frame{Name: NoStackName, Kind: view.Region})}
	}
	out := make([]*pprofile.Location, len(path))
	for i, f := range path {
		out[len(path)-1-i] = b.location(f)
	}
	return out
}

func (b *builder) location(f view.Frame) *pprofile.Location {
	if f.IsPseudo() {
		f.File, f.Line = "", 0
	}
	if l := b.locs[f]; l != nil {
		return l
	}
	fk := f
	fk.Line = 0
	fn := b.funcs[fk]
	if fn == nil {
		fn = &pprofile.Function{ID: uint64(len(b.out.Function) + 1), Name: f.Name, Filename: f.File}
		if !f.IsPseudo() {
			// As runtime/pprof does. A pseudo-frame has no system name,
			// which also keeps pprof from "demangling" it: it would drop
			// what looks like C++ parameters, "(*WaitGroup)" in
			// "[via goroutine 9: sync.(*WaitGroup).Go.func1]".
			fn.SystemName = f.Name
		}
		b.funcs[fk] = fn
		b.out.Function = append(b.out.Function, fn)
	}
	l := &pprofile.Location{ID: uint64(len(b.out.Location) + 1), Mapping: b.out.Mapping[0], Line: []pprofile.Line{{Function: fn, Line: int64(f.Line)}}}
	b.locs[f] = l
	b.out.Location = append(b.out.Location, l)
	return l
}
