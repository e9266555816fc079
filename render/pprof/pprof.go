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
	"slices"
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
	// The trace the work ran in labels every sample.
	var labels [][2]string
	if p != nil {
		for _, k := range []string{LabelTraceID, LabelSpanID} {
			if v := p.Attr(k); v != "" {
				labels = append(labels, [2]string{k, render.Escape(v)})
			}
		}
	}
	// The samples are made as the views' segments come, without the stack
	// set Stacks returns: build(Stacks(p, o, group)) makes the same ones.
	b := newBuilder(labels)
	def, err := fill(p, o, group, b)
	if err != nil {
		return err
	}
	pp, err := b.finish(types, def, p.Start, p.Duration, comments(p, group))
	if err != nil {
		return err
	}
	return pp.Write(w)
}

// types are the sample types, by their indexes (iWall, ...).
var types = []string{Wall, Critical, CPU, CPUSampled}

// Stacks returns p's weighted stacks as the format holds them: the values
// wall, critical, cpu and cpu_sampled (see the package documentation),
// the default chosen by o.View, and the comments. With group, library
// frames are folded as o says.
func Stacks(p *profile.Profile, o render.Options, group bool) (*view.StackSet, error) {
	s := view.NewStackSet("", types...)
	def, err := fill(p, o, group, setSink{s})
	if err != nil {
		return nil, err
	}
	s.Name, s.Default = p.Name, def
	s.Start, s.Duration = p.Start, p.Duration
	s.Comments = comments(p, group)
	return s, nil
}

// A sink takes the views' time: a timeline's segments (only the running
// ones, with running), or CPU samples each weighing weight, as value i.
type sink interface {
	timeline(i int, tl *view.Timeline, running bool)
	samples(i int, segs []view.Segment, weight int64)
}

// setSink adds the time to a stack set.
type setSink struct{ s *view.StackSet }

func (k setSink) timeline(i int, tl *view.Timeline, running bool) {
	if running {
		k.s.AddRunning(i, tl)
	} else {
		k.s.AddTimeline(i, tl)
	}
}

func (k setSink) samples(i int, segs []view.Segment, weight int64) { k.s.AddSamples(i, segs, weight) }

// fill gives k the values of p's samples and returns the index of the
// default sample type, as o.View chooses it.
func fill(p *profile.Profile, o render.Options, group bool, k sink) (def int, err error) {
	if p == nil {
		return 0, errors.New("pprof: nil profile")
	}
	kind, err := view.ParseKind(string(o.View))
	if err != nil {
		return 0, fmt.Errorf("pprof: %w", err)
	}
	def = iCritical
	if kind != view.Critical {
		def = iWall
	}
	o.NoGroup = !group
	o.View = view.Critical
	cp, err := o.Timelines(p)
	if err != nil {
		return 0, err
	}
	k.timeline(iCritical, &cp[0], false)
	cp = nil // the critical path is not needed any more
	o.View = view.All
	all, err := o.Timelines(p)
	if err != nil {
		return 0, err
	}
	k.timeline(iWall, &all[0], false)
	k.timeline(iCPU, &all[0], true)
	all = nil
	samples := view.Samples(p)
	if group {
		view.GroupPaths(o.UserCode(p), samples)
	}
	k.samples(iCPUSampled, samples, PeriodOf(p))
	return def, nil
}

// RenderStacks writes a stack set as a gzipped pprof profile: one sample
// type per value (nanoseconds), the set's default the default sample type,
// one sample per distinct (stack, goroutine, state, wait reason) with the
// labels of the package documentation (no goroutine label when a stack
// has none, as in a merge across profiles), the set's comments escaped
// for a terminal. Options do not apply: the set is drawn as it is.
func RenderStacks(w io.Writer, s *view.StackSet, _ render.Options) error {
	pp, err := build(s, nil)
	if err != nil {
		return err
	}
	return pp.Write(w)
}

// build converts s into a pprof profile, every sample with the extra
// string labels (key, value).
func build(s *view.StackSet, labels [][2]string) (*pprofile.Profile, error) {
	if s.Default < 0 || s.Default >= len(s.Types) {
		return nil, fmt.Errorf("pprof: default value %d of a set of %d types", s.Default, len(s.Types))
	}
	b := newBuilder(labels)
	for i := range s.Stacks {
		st := &s.Stacks[i]
		if !slices.ContainsFunc(st.Values, func(v int64) bool { return v != 0 }) {
			continue
		}
		ps := b.sample(st.Path, st.Goroutine, st.State, st.Reason, len(st.Values))
		for t, v := range st.Values {
			ps.Value[t] += v
		}
	}
	return b.finish(s.Types, s.Default, s.Start, s.Duration, s.Comments)
}

// finish completes the profile of the samples made.
func (b *builder) finish(types []string, def int, start time.Time, duration int64, comments []string) (*pprofile.Profile, error) {
	pp := b.out
	if len(pp.Location) == 0 {
		pp.Mapping = nil
	}
	for _, t := range types {
		pp.SampleType = append(pp.SampleType, &pprofile.ValueType{Type: t, Unit: Unit})
	}
	pp.DefaultSampleType = types[def]
	// Values are exact durations: one nanosecond of wall time per unit.
	pp.PeriodType = &pprofile.ValueType{Type: Wall, Unit: Unit}
	pp.Period = 1
	if !start.IsZero() {
		pp.TimeNanos = start.UnixNano()
	}
	pp.DurationNanos = duration
	for _, c := range comments {
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
	out   *pprofile.Profile
	funcs map[view.Frame]*pprofile.Function // by name, file and kind
	locs  map[view.Frame]*pprofile.Location // by name, file, line and kind
	byKey map[sampleKey]*pprofile.Sample
	// paths holds the locations of each path slice seen (stacks share
	// paths), and their ids as the samples' key.
	paths  map[pathRef]pathLocs
	locIDs map[string]uint32 // location ids, leaf first, as varints -> id
	// Samples share label maps: one per state and reason, one numeric map
	// per goroutine. Nothing changes a sample's labels once it is made.
	labels    [][2]string
	strLabels map[strLabelKey]map[string][]string
	numLabels map[int64]map[string][]int64
	slab      []pprofile.Sample // where new samples come from
	values    []int64           // where new samples' values come from
	buf       []byte
}

type sampleKey struct {
	locs   uint32 // the id of the location list (see pathLocs)
	g      int64
	state  profile.State
	reason string
}

type pathRef struct {
	first *view.Frame
	n     int
}

// pathLocs is a path's location list, and the id of its location ids'
// sequence: paths with the same locations have one id.
type pathLocs struct {
	locs []*pprofile.Location
	id   uint32
}

type strLabelKey struct {
	state  profile.State
	reason string
}

func newBuilder(labels [][2]string) *builder {
	return &builder{
		// One mapping, marked symbolised, holds every location: without
		// it, go tool pprof adds one and tries to symbolise it, saying
		// "Main binary filename not available".
		out: &pprofile.Profile{Mapping: []*pprofile.Mapping{{
			ID: 1, HasFunctions: true, HasFilenames: true, HasLineNumbers: true,
		}}},
		funcs:     map[view.Frame]*pprofile.Function{},
		locs:      map[view.Frame]*pprofile.Location{},
		byKey:     map[sampleKey]*pprofile.Sample{},
		paths:     map[pathRef]pathLocs{},
		locIDs:    map[string]uint32{},
		labels:    labels,
		strLabels: map[strLabelKey]map[string][]string{},
		numLabels: map[int64]map[string][]int64{},
	}
}

// timeline adds the time of tl's segments (only the running ones, with
// running) to value i of their samples, as a stack set adds them
// (segments of no time are no stack).
func (b *builder) timeline(i int, tl *view.Timeline, running bool) {
	for _, seg := range tl.Segments {
		if d := seg.End - seg.Start; d > 0 && (!running || seg.State == profile.Running) {
			b.sample(seg.Path, seg.Goroutine, seg.State, seg.Reason, nTypes).Value[i] += d
		}
	}
}

// samples adds weight to value i for each segment, as a stack set's
// AddSamples does.
func (b *builder) samples(i int, segs []view.Segment, weight int64) {
	for _, seg := range segs {
		b.sample(seg.Path, seg.Goroutine, seg.State, seg.Reason, nTypes).Value[i] += weight
	}
}

// sample returns the sample of a stack, adding it with n values if it is
// new.
func (b *builder) sample(path []view.Frame, g int64, state profile.State, reason string, n int) *pprofile.Sample {
	pl := b.locations(path)
	k := sampleKey{locs: pl.id, g: g, state: state}
	if state == profile.Waiting {
		k.reason = reason
		if k.reason == "" {
			k.reason = "unknown" // as in view.WaitName
		}
	}
	ps := b.byKey[k]
	if ps == nil {
		if len(b.slab) == 0 {
			b.slab = make([]pprofile.Sample, 256)
		}
		if len(b.values) < n {
			b.values = make([]int64, max(n*256, n))
		}
		ps = &b.slab[0]
		b.slab = b.slab[1:]
		ps.Location = pl.locs
		ps.Value = b.values[:n:n]
		b.values = b.values[n:]
		ps.Label = b.strLabel(state, k.reason)
		ps.NumLabel = b.numLabel(g)
		b.byKey[k] = ps
		b.out.Sample = append(b.out.Sample, ps)
	}
	return ps
}

// strLabel returns the string labels of a sample in state with a wait
// reason ("" for none), the builder's extra labels included.
func (b *builder) strLabel(state profile.State, reason string) map[string][]string {
	k := strLabelKey{state, reason}
	if m, ok := b.strLabels[k]; ok {
		return m
	}
	m := map[string][]string{}
	if state != 0 {
		m[LabelState] = []string{state.String()}
	}
	if reason != "" {
		m[LabelReason] = []string{render.Escape(reason)}
	}
	for _, l := range b.labels {
		m[l[0]] = []string{l[1]}
	}
	b.strLabels[k] = m
	return m
}

// numLabel returns the numeric labels of a sample of goroutine g (0 for
// none).
func (b *builder) numLabel(g int64) map[string][]int64 {
	if m, ok := b.numLabels[g]; ok {
		return m
	}
	m := map[string][]int64{}
	if g != 0 {
		m[LabelGoroutine] = []int64{g}
	}
	b.numLabels[g] = m
	return m
}

// locations returns the locations of path, leaf first, and their ids.
func (b *builder) locations(path []view.Frame) pathLocs {
	var ref pathRef
	if len(path) > 0 {
		ref = pathRef{&path[0], len(path)}
	}
	if pl, ok := b.paths[ref]; ok {
		return pl
	}
	var locs []*pprofile.Location
	if len(path) == 0 {
		// Any pseudo-frame kind: it has no file.
		locs = []*pprofile.Location{b.location(view.Frame{Name: NoStackName, Kind: view.Region})}
	} else {
		locs = make([]*pprofile.Location, len(path))
		for i, f := range path {
			locs[len(path)-1-i] = b.location(f)
		}
	}
	b.buf = b.buf[:0]
	for _, l := range locs {
		b.buf = binary.AppendUvarint(b.buf, l.ID)
	}
	id, ok := b.locIDs[string(b.buf)]
	if !ok {
		id = uint32(len(b.locIDs))
		b.locIDs[string(b.buf)] = id
	}
	pl := pathLocs{locs, id}
	b.paths[ref] = pl
	return pl
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
