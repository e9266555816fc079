package aggregate

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

// Sample types: the values of every stack, each a number of nanoseconds.
// They are those of render/pprof, in its order, so that an aggregate's
// stack set renders like one profile's and the two merge and diff in pprof.
const (
	// Wall is the time of every goroutine of the work (the "all
	// goroutines" view).
	Wall = "wall"
	// Critical is the critical path: it sums to the work's wall time.
	Critical = "critical"
	// CPU is the running part of Wall.
	CPU = "cpu"
	// CPUSampled is the CPU profile samples on the work's goroutines, each
	// weighted by SamplePeriod.
	CPUSampled = "cpu_sampled"
)

// Types lists the sample types of an aggregate made by [From], in order;
// [DefaultType] (critical) is the default.
var Types = []string{Wall, Critical, CPU, CPUSampled}

// DefaultType is the index in Types of the type shown by default.
const DefaultType = 1

// SamplePeriod is the CPU time one CPU profile sample stands for in
// cpu_sampled when a profile does not say (runtime/pprof's 100 Hz, as in
// render/pprof); a profile that knows its measured period
// ([profile.Profile.SamplePeriod]) weighs its samples by it.
const SamplePeriod = int64(10 * time.Millisecond)

// periodOf is the CPU time one of p's samples stands for.
func periodOf(p *profile.Profile) int64 {
	if p.SamplePeriod > 0 {
		return p.SamplePeriod
	}
	return SamplePeriod
}

// An Aggregate is many profiles as one: the weighted stacks of all of them
// per sample type, how many requests reached each call-tree node and the
// distribution of its time over them, the waits by reason, and one record
// per profile merged (its duration, split and why it was taken), from
// which duration percentiles come.
//
// Aggregates are built from profiles with [From] and combined with
// [Merge], which is associative and commutative: every aggregate is kept in
// a canonical order, so merging the same profiles in any grouping gives
// the same aggregate, byte for byte once encoded. They are checked with
// [Aggregate.CheckValid], and stored in a versioned file ([Aggregate.Encode],
// [Decode]).
//
// Paths are those of the profiles' views, with library frames folded as
// each profile's main module says (unless made with Options.NoGroup), and
// "[via goroutine N: entry]" frames named "[via goroutine *: entry]": a
// goroutine id means nothing across requests.
type Aggregate struct {
	// Name names what the aggregate is of: the route or name its
	// profiles share, "" when they do not share one (see [Aggregate.Title]).
	Name string
	// Types names the values of every stack and node; Default is the one
	// shown by default.
	Types   []string
	Default int
	// Grouped reports whether library frames were folded when the
	// profiles were added. Only aggregates of the same Types and Grouped
	// merge.
	Grouped bool

	// Profiles has one record per profile merged, in canonical order
	// (by start time).
	Profiles []Input
	// Waits are the critical path's waits by reason, over all profiles.
	Waits []WaitStat

	// Frames is the table every FrameID refers to.
	Frames []view.Frame
	// Stacks are the weighted stacks, summed over the profiles.
	Stacks []Stack
	// Nodes is the call tree of every type, node 0 its root, parents
	// before children: for each node and type, the distribution over the
	// profiles of the node's time. The tree of type t of the stacks
	// ([view.StackSet.Tree]) has the same nodes; its totals are the Sums.
	Nodes []Node
	// Funcs has, for each function or pseudo-frame of the call trees, the
	// distribution over the profiles of its time (its cumulative time,
	// recursion counted once).
	Funcs []Func
}

// FrameID indexes Aggregate.Frames.
type FrameID int32

// Input is what an aggregate keeps of each profile merged into it.
type Input struct {
	Name string
	// Source says where the profile came from: a file name, a store id.
	Source string
	Start  time.Time
	// Duration is the work's wall time; the others its split along the
	// critical path ([view.Summary]).
	Duration    int64
	CPU         int64
	CPUInferred int64
	Runnable    int64
	Syscall     int64
	Waiting     int64
	Followed    int64
	Goroutines  int
	Samples     int
	// Route, Status and Reason are the profile's attributes of these
	// names ([profile.AttrRoute], ...).
	Route, Status, Reason string
}

// WaitStat is the time of one reason's waits on the critical path.
type WaitStat struct {
	Reason string
	Time   int64
	// Count is the number of waits, Requests the number of profiles with
	// at least one.
	Count    int64
	Requests int64
}

// Stack is one weighted stack, its values summed over the profiles.
type Stack struct {
	// Frames is the path, outermost first.
	Frames []FrameID
	// State, Reason and Inferred are those of view.Stack; the goroutine
	// is not kept (its id means nothing across profiles).
	State    profile.State
	Reason   string
	Inferred bool
	// Enter is that of view.Stack: where the stack's stretches of time
	// entered the tree.
	Enter int
	// Values and Counts have one entry per type: nanoseconds, and the
	// number of stretches.
	Values []int64
	Counts []int64
}

// Node is one node of the aggregate's call tree.
type Node struct {
	// Parent is the index of the parent node, -1 for the root.
	Parent int32
	// Frame is the node's frame, as call trees compare frames (name, file
	// and kind; line 0); -1 for the root.
	Frame FrameID
	// Dists has one entry per type: the node's time in each profile that
	// reached it.
	Dists []Dist
}

// Func is one function's (or pseudo-frame's) time over the profiles.
type Func struct {
	// Frame is the function's frame, as Node.Frame.
	Frame FrameID
	// Dists has one entry per type: the function's cumulative time in
	// each profile that reached it.
	Dists []Dist
}

// Options say how profiles become an aggregate.
type Options struct {
	// NoGroup keeps library and runtime frames instead of folding them.
	NoGroup bool
	// User decides which functions are user code; nil uses each
	// profile's own classification by package and file
	// (view.ProfileUserCode), as the single-profile views do.
	User view.UserCode
	// Source is recorded as the profile's Input.Source.
	Source string
}

// N returns the number of profiles merged.
func (a *Aggregate) N() int { return len(a.Profiles) }

// Title names the aggregate for headers: its Name, or the names its
// profiles have.
func (a *Aggregate) Title() string {
	if a.Name != "" {
		return a.Name
	}
	var names []string
	for _, in := range a.Profiles {
		if !slices.Contains(names, in.Name) {
			names = append(names, in.Name)
		}
	}
	switch {
	case len(names) == 0:
		return "(no profiles)"
	case len(names) <= 3:
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:3], ", "), len(names)-3)
}

// From returns the aggregate of one profile.
func From(p *profile.Profile, o Options) (*Aggregate, error) {
	m := NewMerger(o)
	if err := m.AddProfile(p, o.Source); err != nil {
		return nil, err
	}
	return m.Aggregate(), nil
}

// Merge returns the aggregate of all the profiles of aggs. It fails when
// they differ in Types or Grouped. Merge of no aggregate is an empty
// aggregate of the default types.
func Merge(aggs ...*Aggregate) (*Aggregate, error) {
	if len(aggs) == 0 {
		return newBuilder(Types, DefaultType, true).finish(), nil
	}
	m := &Merger{b: newBuilder(aggs[0].Types, aggs[0].Default, aggs[0].Grouped)}
	for _, a := range aggs {
		if err := m.Add(a); err != nil {
			return nil, err
		}
	}
	return m.Aggregate(), nil
}

// A Merger merges profiles and aggregates one at a time, holding only
// what it merged so far: the way to aggregate many files. The zero value
// is not usable; use NewMerger.
type Merger struct {
	b    *builder
	o    Options
	done bool
}

// NewMerger returns a Merger of the default types, grouping stacks unless
// o.NoGroup, with o's user code for the profiles added.
func NewMerger(o Options) *Merger {
	return &Merger{b: newBuilder(Types, DefaultType, !o.NoGroup), o: o}
}

// AddProfile adds one profile, recorded as coming from source.
func (m *Merger) AddProfile(p *profile.Profile, source string) error {
	if m.done {
		return errors.New("aggregate: Merger used after Aggregate")
	}
	if p == nil {
		return errors.New("aggregate: nil profile")
	}
	if !slices.Equal(m.b.types, Types) {
		return errors.New("aggregate: profiles merge only into aggregates of the default types")
	}
	o := m.o
	o.Source = source
	m.b.addProfile(p, o)
	return nil
}

// Add adds an aggregate's profiles. It fails when a differs from what
// was added before in Types or Grouped.
func (m *Merger) Add(a *Aggregate) error {
	if m.done {
		return errors.New("aggregate: Merger used after Aggregate")
	}
	if !slices.Equal(a.Types, m.b.types) || a.Default != m.b.def {
		return fmt.Errorf("aggregate: cannot merge aggregates of types %s and %s", strings.Join(m.b.types, ","), strings.Join(a.Types, ","))
	}
	if a.Grouped != m.b.grouped {
		return errors.New("aggregate: cannot merge an aggregate of grouped stacks with one of full stacks (see Options.NoGroup)")
	}
	m.b.addAggregate(a)
	return nil
}

// Aggregate returns the aggregate of everything added. The Merger cannot
// be used afterwards.
func (m *Merger) Aggregate() *Aggregate {
	m.done = true
	return m.b.finish()
}

// Durations returns the profiles' durations, sorted.
func (a *Aggregate) Durations() []int64 {
	out := make([]int64, len(a.Profiles))
	for i, in := range a.Profiles {
		out[i] = in.Duration
	}
	slices.Sort(out)
	return out
}

// Percentile returns the q-quantile (0 <= q <= 1) of the profiles'
// durations by nearest rank: the smallest duration that at least q of
// them do not exceed. It is exact; 0 when there are no profiles.
func (a *Aggregate) Percentile(q float64) int64 {
	return Percentile(a.Durations(), q)
}

// Percentile returns the q-quantile of sorted values by nearest rank.
func Percentile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted)) + 0.9999999)
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Total returns the sum of value i over the stacks.
func (a *Aggregate) Total(i int) int64 {
	var n int64
	for _, s := range a.Stacks {
		n += s.Values[i]
	}
	return n
}

// Wall returns the summed durations of the profiles.
func (a *Aggregate) Wall() int64 {
	var n int64
	for _, in := range a.Profiles {
		n += in.Duration
	}
	return n
}

// Start returns the earliest start of the profiles, or the zero time.
func (a *Aggregate) Start() time.Time {
	var t time.Time
	for _, in := range a.Profiles {
		if !in.Start.IsZero() && (t.IsZero() || in.Start.Before(t)) {
			t = in.Start
		}
	}
	return t
}

// Type returns the index of the type named name, or an error listing the
// aggregate's types.
func (a *Aggregate) Type(name string) (int, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return a.Default, nil
	}
	if i := slices.Index(a.Types, name); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("unknown sample type %q (valid: %s)", name, strings.Join(a.Types, ", "))
}

// StackSet returns the aggregate's weighted stacks as a view.StackSet, for
// the tree and stack renderers (text, folded, pprof): no goroutine labels,
// comments saying what it is of.
func (a *Aggregate) StackSet() *view.StackSet {
	s := view.NewStackSet(a.Title(), a.Types...)
	s.Default = a.Default
	s.Start, s.Duration = a.Start(), a.Wall()
	s.Comments = a.Comments()
	for _, st := range a.Stacks {
		path := make([]view.Frame, len(st.Frames))
		for i, f := range st.Frames {
			path[i] = a.Frames[f]
		}
		vs := view.Stack{Path: path, State: st.State, Reason: st.Reason, Inferred: st.Inferred, Enter: st.Enter}
		for i, v := range st.Values {
			if v != 0 || st.Counts[i] != 0 {
				s.Add(i, vs, v, st.Counts[i])
			}
		}
	}
	return s
}

// Comments are the lines a header shows: how many profiles, their
// duration percentiles, their split, the stacks' grouping.
func (a *Aggregate) Comments() []string {
	n := len(a.Profiles)
	c := []string{fmt.Sprintf("reqprof aggregate: %s (%d profiles)", a.Title(), n)}
	if n == 0 {
		return c
	}
	d := func(ns int64) string { return round(ns).String() }
	c = append(c, fmt.Sprintf("duration: mean %s, p50 %s, p90 %s, p99 %s, max %s",
		d(a.Wall()/int64(n)), d(a.Percentile(0.5)), d(a.Percentile(0.9)), d(a.Percentile(0.99)), d(a.Percentile(1))))
	var cpu, waiting, samples int64
	reasons := map[string]int{}
	for _, in := range a.Profiles {
		cpu += in.CPU
		waiting += in.Waiting
		samples += int64(in.Samples)
		if in.Reason != "" {
			reasons[in.Reason]++
		}
	}
	c = append(c, fmt.Sprintf("per request: CPU %s, waiting %s; %d CPU samples in all", d(cpu/int64(n)), d(waiting/int64(n)), samples))
	if len(reasons) > 0 {
		var rs []string
		for r, k := range reasons {
			rs = append(rs, fmt.Sprintf("%s %d", r, k))
		}
		slices.Sort(rs)
		c = append(c, "profiles taken: "+strings.Join(rs, ", "))
	}
	if a.Grouped {
		c = append(c, "library frames grouped")
	} else {
		c = append(c, "full stacks")
	}
	return c
}

// round rounds ns to three significant digits, for people.
func round(ns int64) time.Duration {
	m := int64(1)
	for a := max(ns, -ns); a >= 1000; a /= 10 {
		m *= 10
	}
	return time.Duration(ns).Round(time.Duration(m))
}

// --- building -------------------------------------------------------------

// builder accumulates an aggregate; finish puts it in canonical order.
type builder struct {
	name    string
	named   bool // name is set (the first input's); "" after a mismatch
	types   []string
	def     int
	grouped bool

	frames   []view.Frame
	frameIdx map[view.Frame]FrameID
	stacks   []Stack
	stackIdx map[string]int
	nodes    []Node
	nodeIdx  map[nodeKey]int32
	funcs    []Func
	funcIdx  map[FrameID]int
	profiles []Input
	waits    map[string]*WaitStat
	buf      []byte
}

type nodeKey struct {
	parent int32
	frame  FrameID
}

func newBuilder(types []string, def int, grouped bool) *builder {
	b := &builder{
		types: slices.Clone(types), def: def, grouped: grouped,
		frameIdx: map[view.Frame]FrameID{}, stackIdx: map[string]int{},
		nodeIdx: map[nodeKey]int32{}, funcIdx: map[FrameID]int{}, waits: map[string]*WaitStat{},
	}
	b.nodes = []Node{{Parent: -1, Frame: -1, Dists: make([]Dist, len(types))}}
	return b
}

func (b *builder) setName(name string) {
	if !b.named {
		b.name, b.named = name, true
	} else if b.name != name {
		b.name = ""
	}
}

func (b *builder) frame(f view.Frame) FrameID {
	if id, ok := b.frameIdx[f]; ok {
		return id
	}
	id := FrameID(len(b.frames))
	b.frames = append(b.frames, f)
	b.frameIdx[f] = id
	return id
}

// keyFrame is f as call trees compare frames.
func keyFrame(f view.Frame) view.Frame { return view.Frame{Name: f.Name, File: f.File, Kind: f.Kind} }

// addStack adds v and count stretches of type i to the stack.
func (b *builder) addStack(frames []FrameID, st Stack, i int, v, count int64) {
	k := b.buf[:0]
	k = fmt.Appendf(k, "%d|%s|%t|%d|", st.State, st.Reason, st.Inferred, st.Enter)
	for _, f := range frames {
		k = fmt.Appendf(k, "%d,", f)
	}
	b.buf = k
	j, ok := b.stackIdx[string(k)]
	if !ok {
		j = len(b.stacks)
		b.stackIdx[string(k)] = j
		st.Frames = frames
		st.Values = make([]int64, len(b.types))
		st.Counts = make([]int64, len(b.types))
		b.stacks = append(b.stacks, st)
	}
	b.stacks[j].Values[i] += v
	b.stacks[j].Counts[i] += count
}

// node returns the child of parent with frame f (a key frame's id).
func (b *builder) node(parent int32, f FrameID) int32 {
	k := nodeKey{parent, f}
	if i, ok := b.nodeIdx[k]; ok {
		return i
	}
	i := int32(len(b.nodes))
	b.nodes = append(b.nodes, Node{Parent: parent, Frame: f, Dists: make([]Dist, len(b.types))})
	b.nodeIdx[k] = i
	return i
}

func (b *builder) fn(f FrameID) *Func {
	i, ok := b.funcIdx[f]
	if !ok {
		i = len(b.funcs)
		b.funcIdx[f] = i
		b.funcs = append(b.funcs, Func{Frame: f, Dists: make([]Dist, len(b.types))})
	}
	return &b.funcs[i]
}

// viaID matches the goroutine id of a "[via goroutine N: entry]" frame.
var viaID = regexp.MustCompile(`goroutine \d+`)

// addProfile adds one profile: its stacks, the distributions of its nodes'
// and functions' times, its record and waits.
func (b *builder) addProfile(p *profile.Profile, o Options) {
	b.setName(nameOf(p))
	user := o.User
	if user == nil {
		user = view.ProfileUserCode(p)
	}
	// The profile's stack set, as render/pprof builds it.
	s := view.NewStackSet(p.Name, b.types...)
	fix := func(segs []view.Segment) {
		for i := range segs {
			segs[i].Path = b.fixPath(segs[i].Path, user)
		}
	}
	idx := func(name string) int { return slices.Index(b.types, name) }
	cp := view.CriticalPath(p)
	all := view.AllGoroutines(p)
	samples := view.Samples(p)
	fix(cp.Segments)
	fix(all.Segments)
	fix(samples)
	if i := idx(Critical); i >= 0 {
		s.AddTimeline(i, &cp)
	}
	if i := idx(Wall); i >= 0 {
		s.AddTimeline(i, &all)
	}
	if i := idx(CPU); i >= 0 {
		s.AddRunning(i, &all)
	}
	if i := idx(CPUSampled); i >= 0 {
		s.AddSamples(i, samples, periodOf(p))
	}
	for _, st := range s.Stacks {
		frames := make([]FrameID, len(st.Path))
		for i, f := range st.Path {
			frames[i] = b.frame(f)
		}
		for i, v := range st.Values {
			if v != 0 || st.Counts[i] != 0 {
				b.addStack(frames, Stack{State: st.State, Reason: st.Reason, Inferred: st.Inferred, Enter: st.Enter}, i, v, st.Counts[i])
			}
		}
	}
	// This profile's time at every node and function.
	for i := range b.types {
		t := s.Tree(i)
		b.addTree(i, t)
	}
	// Its record and waits.
	sum := view.Summarize(p)
	b.profiles = append(b.profiles, Input{
		Name: p.Name, Source: o.Source, Start: p.Start, Duration: p.Duration,
		CPU: sum.CPU, CPUInferred: sum.CPUInferred, Runnable: sum.Runnable, Syscall: sum.Syscall,
		Waiting: sum.Waiting, Followed: sum.Followed, Goroutines: sum.Goroutines, Samples: sum.Samples,
		Route: p.Attr(profile.AttrRoute), Status: p.Attr(profile.AttrStatus), Reason: p.Attr(profile.AttrReason),
	})
	for _, w := range sum.Waits {
		ws := b.wait(w.Reason)
		ws.Time += w.Time
		ws.Count += int64(w.Count)
		ws.Requests++
	}
}

// nameOf is what a profile is of: its route, else its name.
func nameOf(p *profile.Profile) string {
	if r := p.Attr(profile.AttrRoute); r != "" {
		return r
	}
	return p.Name
}

func (b *builder) wait(reason string) *WaitStat {
	w := b.waits[reason]
	if w == nil {
		w = &WaitStat{Reason: reason}
		b.waits[reason] = w
	}
	return w
}

// fixPath folds library frames (when grouping) and takes goroutine ids out
// of via frames.
func (b *builder) fixPath(path []view.Frame, user view.UserCode) []view.Frame {
	if b.grouped {
		path = view.GroupPath(path, user)
	}
	copied := false
	for i, f := range path {
		if f.Kind == view.Via && viaID.MatchString(f.Name) {
			if !copied {
				path, copied = slices.Clone(path), true
			}
			path[i].Name = viaID.ReplaceAllString(f.Name, "goroutine *")
		}
	}
	return path
}

// addTree adds one profile's tree of type i to the node and function
// distributions.
func (b *builder) addTree(i int, t *view.Node) {
	if t.Total <= 0 {
		return
	}
	b.nodes[0].Dists[i].Add(t.Total)
	cum := map[FrameID]int64{}
	onPath := map[FrameID]int{}
	var walk func(n *view.Node, id int32)
	walk = func(n *view.Node, id int32) {
		for _, c := range n.Children {
			if c.Total <= 0 {
				continue
			}
			f := b.frame(keyFrame(c.Frame))
			cid := b.node(id, f)
			b.nodes[cid].Dists[i].Add(c.Total)
			if onPath[f] == 0 {
				cum[f] += c.Total
			}
			onPath[f]++
			walk(c, cid)
			onPath[f]--
		}
	}
	walk(t, 0)
	for f, v := range cum {
		b.fn(f).Dists[i].Add(v)
	}
}

// addAggregate adds everything of a.
func (b *builder) addAggregate(a *Aggregate) {
	if len(a.Profiles) > 0 {
		b.setName(a.Name)
	}
	ids := make([]FrameID, len(a.Frames))
	for i, f := range a.Frames {
		ids[i] = b.frame(f)
	}
	for _, st := range a.Stacks {
		frames := make([]FrameID, len(st.Frames))
		for i, f := range st.Frames {
			frames[i] = ids[f]
		}
		for i, v := range st.Values {
			if v != 0 || st.Counts[i] != 0 {
				b.addStack(frames, Stack{State: st.State, Reason: st.Reason, Inferred: st.Inferred, Enter: st.Enter}, i, v, st.Counts[i])
			}
		}
	}
	nodes := make([]int32, len(a.Nodes))
	for i, n := range a.Nodes {
		id := int32(0)
		if i > 0 {
			id = b.node(nodes[n.Parent], ids[n.Frame])
		}
		nodes[i] = id
		for t := range n.Dists {
			b.nodes[id].Dists[t].Merge(&n.Dists[t])
		}
	}
	for _, f := range a.Funcs {
		bf := b.fn(ids[f.Frame])
		for t := range f.Dists {
			bf.Dists[t].Merge(&f.Dists[t])
		}
	}
	b.profiles = append(b.profiles, a.Profiles...)
	for _, w := range a.Waits {
		ws := b.wait(w.Reason)
		ws.Time += w.Time
		ws.Count += w.Count
		ws.Requests += w.Requests
	}
}

// finish returns the aggregate in canonical order: frames sorted, stacks
// by path, nodes depth first with children by frame, functions by frame,
// profiles by start, waits by reason.
func (b *builder) finish() *Aggregate {
	a := &Aggregate{Name: b.name, Types: b.types, Default: b.def, Grouped: b.grouped}

	// Frames: only those used, sorted.
	used := make([]bool, len(b.frames))
	for _, st := range b.stacks {
		for _, f := range st.Frames {
			used[f] = true
		}
	}
	for _, n := range b.nodes[1:] {
		used[n.Frame] = true
	}
	for _, f := range b.funcs {
		used[f.Frame] = true
	}
	order := make([]FrameID, 0, len(b.frames))
	for i := range b.frames {
		if used[i] {
			order = append(order, FrameID(i))
		}
	}
	slices.SortFunc(order, func(x, y FrameID) int { return compareFrames(b.frames[x], b.frames[y]) })
	remap := make([]FrameID, len(b.frames))
	a.Frames = make([]view.Frame, len(order))
	for i, old := range order {
		remap[old] = FrameID(i)
		a.Frames[i] = b.frames[old]
	}

	// Stacks, by path then labels.
	a.Stacks = b.stacks
	for i := range a.Stacks {
		fs := slices.Clone(a.Stacks[i].Frames)
		for j, f := range fs {
			fs[j] = remap[f]
		}
		a.Stacks[i].Frames = fs
	}
	slices.SortFunc(a.Stacks, compareStacks)

	// Nodes, depth first, children by frame.
	children := make([][]int32, len(b.nodes))
	for i, n := range b.nodes[1:] {
		children[n.Parent] = append(children[n.Parent], int32(i+1))
	}
	a.Nodes = make([]Node, 0, len(b.nodes))
	var walk func(old, parent int32)
	walk = func(old, parent int32) {
		n := b.nodes[old]
		id := int32(len(a.Nodes))
		n.Parent = parent
		if old != 0 {
			n.Frame = remap[n.Frame]
		}
		a.Nodes = append(a.Nodes, n)
		cs := children[old]
		slices.SortFunc(cs, func(x, y int32) int { return cmp.Compare(remap[b.nodes[x].Frame], remap[b.nodes[y].Frame]) })
		for _, c := range cs {
			walk(c, id)
		}
	}
	walk(0, -1)

	a.Funcs = b.funcs
	for i := range a.Funcs {
		a.Funcs[i].Frame = remap[a.Funcs[i].Frame]
	}
	slices.SortFunc(a.Funcs, func(x, y Func) int { return cmp.Compare(x.Frame, y.Frame) })

	a.Profiles = b.profiles
	slices.SortStableFunc(a.Profiles, compareInputs)
	for _, w := range b.waits {
		a.Waits = append(a.Waits, *w)
	}
	slices.SortFunc(a.Waits, func(x, y WaitStat) int { return strings.Compare(x.Reason, y.Reason) })
	return a
}

func compareFrames(x, y view.Frame) int {
	return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.File, y.File), cmp.Compare(x.Line, y.Line), cmp.Compare(x.Kind, y.Kind))
}

func compareStacks(x, y Stack) int {
	return cmp.Or(slices.Compare(x.Frames, y.Frames), cmp.Compare(x.Enter, y.Enter), cmp.Compare(x.State, y.State),
		cmp.Compare(x.Reason, y.Reason), boolCompare(x.Inferred, y.Inferred))
}

func boolCompare(x, y bool) int {
	switch {
	case x == y:
		return 0
	case !x:
		return -1
	}
	return 1
}

func compareInputs(x, y Input) int {
	return cmp.Or(x.Start.Compare(y.Start), cmp.Compare(x.Name, y.Name), cmp.Compare(x.Source, y.Source),
		cmp.Compare(x.Duration, y.Duration), cmp.Compare(x.CPU, y.CPU), cmp.Compare(x.CPUInferred, y.CPUInferred),
		cmp.Compare(x.Runnable, y.Runnable), cmp.Compare(x.Syscall, y.Syscall), cmp.Compare(x.Waiting, y.Waiting),
		cmp.Compare(x.Followed, y.Followed), cmp.Compare(x.Goroutines, y.Goroutines), cmp.Compare(x.Samples, y.Samples),
		cmp.Compare(x.Route, y.Route), cmp.Compare(x.Status, y.Status), cmp.Compare(x.Reason, y.Reason))
}
