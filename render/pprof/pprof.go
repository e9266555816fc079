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
//     weighted by the profile's measured sample period ([PeriodOf]: the
//     running time in the trace per sample, about 4 ms at the kernel's
//     250 Hz). It is an estimate with the usual sampling error — a 3 ms
//     burst may get no sample. Compare it with cpu to see how much of cpu
//     is attributed rather than observed.
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
//     on waiting samples only;
//   - trace_id and span_id: the OpenTelemetry trace and span the work ran
//     in ([profile.AttrTraceID], [profile.AttrSpanID], which contrib/otel
//     records), on every sample of a profile that has them, as Pyroscope
//     labels span profiles, so `-tagfocus=trace_id=4bf92f35` finds a
//     trace's samples among merged profiles.
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
	LabelTraceID   = profile.AttrTraceID
	LabelSpanID    = profile.AttrSpanID
)

// SamplePeriod is the CPU time one CPU profile sample stands for in
// cpu_sampled when the profile does not say (runtime/pprof's default rate,
// 100 Hz): see [PeriodOf].
const SamplePeriod = int64(10 * time.Millisecond)

// PeriodOf returns the CPU time one of p's CPU samples stands for: the
// period measured when p was extracted ([profile.Profile.SamplePeriod]:
// about 4 ms when reqprof profiles the CPU, at the kernel's 250 Hz), or
// [SamplePeriod] when p does not know it.
func PeriodOf(p *profile.Profile) int64 {
	if p.SamplePeriod > 0 {
		return p.SamplePeriod
	}
	return SamplePeriod
}

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

// Descriptor describes the format to the render registry.
var Descriptor = render.Descriptor{
	Name: "pprof", Extension: Extension, ContentType: ContentType,
	Takes: render.Stacks, Write: Render, WriteStacks: RenderStacks,
}

func init() { render.Register(Descriptor) }

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
	s, err := Stacks(p, o, group)
	if err != nil {
		return err
	}
	pp, err := build(s)
	if err != nil {
		return err
	}
	// The trace the work ran in labels every sample.
	for _, k := range []string{LabelTraceID, LabelSpanID} {
		v := p.Attr(k)
		if v == "" {
			continue
		}
		v = render.Escape(v)
		for _, ps := range pp.Sample {
			ps.Label[k] = []string{v}
		}
	}
	return pp.Write(w)
}

// Stacks returns p's weighted stacks as the format holds them: the values
// wall, critical, cpu and cpu_sampled (see the package documentation),
// the default chosen by o.View, and the comments. With group, library
// frames are folded as o says.
func Stacks(p *profile.Profile, o render.Options, group bool) (*view.StackSet, error) {
	if p == nil {
		return nil, errors.New("pprof: nil profile")
	}
	k, err := view.ParseKind(string(o.View))
	if err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	s := view.NewStackSet(p.Name, Wall, Critical, CPU, CPUSampled)
	s.Default = iCritical
	if k != view.Critical {
		s.Default = iWall
	}
	o.NoGroup = !group
	o.View = view.Critical
	cp, err := o.Timelines(p)
	if err != nil {
		return nil, err
	}
	s.AddTimeline(iCritical, &cp[0])
	o.View = view.All
	all, err := o.Timelines(p)
	if err != nil {
		return nil, err
	}
	s.AddTimeline(iWall, &all[0])
	s.AddRunning(iCPU, &all[0])
	samples := view.Samples(p)
	if group {
		user := o.UserCode(p)
		for i := range samples {
			samples[i].Path = view.GroupPath(samples[i].Path, user)
		}
	}
	s.AddSamples(iCPUSampled, samples, PeriodOf(p))
	s.Start, s.Duration = p.Start, p.Duration
	s.Comments = comments(p, group)
	return s, nil
}

// RenderStacks writes a stack set as a gzipped pprof profile: one sample
// type per value (nanoseconds), the set's default the default sample type,
// one sample per distinct (stack, goroutine, state, wait reason) with the
// labels of the package documentation (no goroutine label when a stack
// has none, as in a merge across profiles), the set's comments escaped
// for a terminal. Options do not apply: the set is drawn as it is.
func RenderStacks(w io.Writer, s *view.StackSet, _ render.Options) error {
	pp, err := build(s)
	if err != nil {
		return err
	}
	return pp.Write(w)
}

// build converts s into a pprof profile.
func build(s *view.StackSet) (*pprofile.Profile, error) {
	if s.Default < 0 || s.Default >= len(s.Types) {
		return nil, fmt.Errorf("pprof: default value %d of a set of %d types", s.Default, len(s.Types))
	}
	b := newBuilder()
	for i := range s.Stacks {
		st := &s.Stacks[i]
		for t, v := range st.Values {
			if v != 0 {
				b.add(st, t, v)
			}
		}
	}
	pp := b.out
	if len(pp.Location) == 0 {
		pp.Mapping = nil
	}
	for _, t := range s.Types {
		pp.SampleType = append(pp.SampleType, &pprofile.ValueType{Type: t, Unit: Unit})
	}
	pp.DefaultSampleType = s.Types[s.Default]
	// Values are exact durations: one nanosecond of wall time per unit.
	pp.PeriodType = &pprofile.ValueType{Type: Wall, Unit: Unit}
	pp.Period = 1
	if !s.Start.IsZero() {
		pp.TimeNanos = s.Start.UnixNano()
	}
	pp.DurationNanos = s.Duration
	for _, c := range s.Comments {
		pp.Comments = append(pp.Comments, render.Escape(c))
	}
	if err := pp.CheckValid(); err != nil {
		return nil, fmt.Errorf("pprof: %w", err) // a bug here
	}
	return pp, nil
}

// comments are the profile's header: its name, the running time's sampled
// share, the profiler's own cost, its attributes and notes, its summary,
// what the sample types hold.
func comments(p *profile.Profile, group bool) []string {
	name := p.Name
	if name == "" {
		name = "(unnamed)"
	}
	sum := view.Summarize(p)
	stacks := "full stacks"
	if group {
		stacks = "library frames grouped"
	}
	goroutines := fmt.Sprintf("%d goroutines", sum.Goroutines)
	if sum.Housekeeping > 0 {
		goroutines += fmt.Sprintf(" (+%d housekeeping)", sum.Housekeeping)
	}
	c := []string{fmt.Sprintf("reqprof: %s (%s, %d CPU samples; %s)", name, goroutines, sum.Samples, stacks)}
	c = append(c, cpuComment(sum))
	if sum.OverheadBefore > 0 || sum.Overhead > 0 {
		c = append(c, fmt.Sprintf("reqprof's own cost: %s before the window, %s inside", time.Duration(sum.OverheadBefore), time.Duration(sum.Overhead)))
	}
	for _, a := range p.Attrs {
		if a.Key == profile.AttrOverhead { // the line above
			continue
		}
		c = append(c, a.Key+": "+a.Value)
	}
	if p.GoVersion != "" || p.Host != "" {
		c = append(c, fmt.Sprintf("go: %s, host: %s", p.GoVersion, p.Host))
	}
	for _, w := range p.Warnings {
		c = append(c, "note: "+w)
	}
	c = append(c, "summary (critical path): "+sum.String())
	return append(c, fmt.Sprintf("sample types (ns): critical = critical path (sums to the duration), wall = all goroutines' time, cpu = on-CPU part of wall, cpu_sampled = CPU samples x %s (an estimate)", time.Duration(PeriodOf(p))))
}

// cpuComment says how much of the critical path's running time CPU samples
// observed: "CPU (critical path): 4ms, 75% sampled, 25% unsampled (1 CPU
// sample, one per 4ms of running time)".
func cpuComment(sum view.Summary) string {
	s := fmt.Sprintf("CPU (critical path): %s", time.Duration(sum.CPU))
	if sum.CPU > 0 {
		share := sum.SampledShare()
		s += fmt.Sprintf(", %.0f%% sampled, %.0f%% unsampled", 100*share, 100*(1-share))
	}
	plural := "s"
	if sum.Samples == 1 {
		plural = ""
	}
	s += fmt.Sprintf(" (%d CPU sample%s", sum.Samples, plural)
	if sum.SamplePeriod > 0 {
		s += fmt.Sprintf(", one per %s of running time", time.Duration(sum.SamplePeriod))
	}
	return s + ")"
}

// builder accumulates pprof samples, locations and functions.
type builder struct {
	out     *pprofile.Profile
	funcs   map[view.Frame]*pprofile.Function // by name, file and kind
	locs    map[view.Frame]*pprofile.Location // by name, file, line and kind
	samples map[sampleKey]*pprofile.Sample
	buf     []byte
}

type sampleKey struct {
	locs   string // location ids, leaf first
	g      int64
	state  profile.State
	reason string
}

func newBuilder() *builder {
	return &builder{
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
}

// add adds v to value i of the sample of stack st.
func (b *builder) add(st *view.Stack, i int, v int64) {
	locs := b.locations(st.Path)
	b.buf = b.buf[:0]
	for _, l := range locs {
		b.buf = binary.AppendUvarint(b.buf, l.ID)
	}
	k := sampleKey{locs: string(b.buf), g: st.Goroutine, state: st.State}
	if st.State == profile.Waiting {
		k.reason = st.Reason
		if k.reason == "" {
			k.reason = "unknown" // as in view.WaitName
		}
	}
	ps := b.samples[k]
	if ps == nil {
		ps = &pprofile.Sample{
			Location: locs,
			Value:    make([]int64, len(st.Values)),
			Label:    map[string][]string{},
			NumLabel: map[string][]int64{},
		}
		if st.State != 0 {
			ps.Label[LabelState] = []string{st.State.String()}
		}
		if st.Goroutine != 0 {
			ps.NumLabel[LabelGoroutine] = []int64{st.Goroutine}
		}
		if k.reason != "" {
			ps.Label[LabelReason] = []string{render.Escape(k.reason)}
		}
		b.samples[k] = ps
		b.out.Sample = append(b.out.Sample, ps)
	}
	ps.Value[i] += v
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
		fn = &pprofile.Function{ID: uint64(len(b.out.Function) + 1), Name: render.Escape(f.Name), Filename: render.Escape(f.File)}
		if !f.IsPseudo() {
			// As runtime/pprof does. A pseudo-frame has no system name,
			// which also keeps pprof from "demangling" it: it would drop
			// what looks like C++ parameters, "(*WaitGroup)" in
			// "[via goroutine 9: sync.(*WaitGroup).Go.func1]".
			fn.SystemName = fn.Name
		}
		b.funcs[fk] = fn
		b.out.Function = append(b.out.Function, fn)
	}
	l := &pprofile.Location{ID: uint64(len(b.out.Location) + 1), Mapping: b.out.Mapping[0], Line: []pprofile.Line{{Function: fn, Line: int64(f.Line)}}}
	b.locs[f] = l
	b.out.Location = append(b.out.Location, l)
	return l
}
