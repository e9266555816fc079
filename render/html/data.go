package html

// data.go is the one file of the package that knows the profile model and
// the view API: it turns a profile into the JSON model (model.go) that
// report.js reads. Porting the report to another view API means changing
// this file only.

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/reqprof/reqprof/internal/version"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/text"
	"github.com/reqprof/reqprof/view"
)

// Budgets that bound the embedded data, whatever the profile's size.
const (
	maxTreeNodes   = 6000    // nodes per call tree
	maxLanes       = 200     // timeline lanes
	maxSameEntry   = 8       // member goroutines with one entry function shown one lane each
	maxLaneIDs     = 20      // goroutine ids listed per grouped lane
	spanBudget     = 100_000 // timeline spans over all lanes
	densityBuckets = 600     // columns of a grouped lane
	maxEdges       = 3000    // spawn and wake-up arrows
	maxRegions     = 5000    // regions drawn on the timeline
	maxCritical    = 20_000  // critical-path stretches
	maxTopRows     = 300     // rows per top-functions table
	maxHidden      = 64      // frames listed per "[N frames hidden]" group
	maxHiddenRefs  = 20_000  // frames listed in all the groups of one tree
	// maxTimeOrder bounds the segments of a view whose time-ordered trees
	// are embedded: in time order, every call is its own node.
	maxTimeOrder = 50_000
)

// unsampledName is the pseudo-frame holding a node's running time that no
// CPU sample observed: the views make it (under the deepest frame credibly
// running); the report adds it only under a node whose own unsampled time
// the view left in its self.
const unsampledName = view.UnsampledName

// buildModel computes the page's data.
func buildModel(p *profile.Profile, o render.Options) (*model, error) {
	k, err := view.ParseKind(string(o.View))
	if err != nil {
		return nil, err
	}
	o.View = k
	user := o.UserCode(p)
	ft := &frameTable{user: user, idx: map[frame]int32{}}
	reasons := &reasonTable{idx: map[string]int{}}
	m := &model{
		Version: modelVersion,
		Kinds:   kindNames,
		Top:     map[string]top{},
		Initial: initial{View: string(o.View), NoGroup: o.NoGroup, TimeOrder: o.TimeOrder, Threshold: o.Threshold},
		Notes:   []string{},
	}
	if m.Initial.Threshold == 0 {
		m.Initial.Threshold = text.DefaultThreshold
	}
	m.Meta = metaOf(p)

	cp := view.CriticalPath(p)
	sum := view.SummarizeCritical(p, &cp)
	m.Summary = summaryOf(sum, reasons)
	m.text = textTree(p, &cp, sum, o)

	groups := groupGoroutines(p)
	each := view.EachGoroutine(p) // the i-th is p.Goroutines[i]'s
	var perG []view.Timeline
	for i, tl := range each {
		if p.Goroutines[i].Member {
			perG = append(perG, tl)
		}
	}
	// With one goroutine, all goroutines' time is that goroutine's.
	var all view.Timeline
	if len(perG) == 1 {
		all = view.Timeline{Name: view.All.Title(), Segments: perG[0].Segments}
	} else {
		all = view.AllGoroutines(p)
	}
	for _, tl := range append([]view.Timeline{cp, all}, each...) {
		for _, n := range tl.Notes {
			if !slices.Contains(m.Notes, n) {
				m.Notes = append(m.Notes, n)
			}
		}
	}

	type spec struct {
		kind      view.Kind
		label     string
		roots     []rootSegs
		total     int64
		timeOrder bool
		top       string
	}
	critSegs := cp.Segments
	if len(perG) == 1 && sameSegments(critSegs, perG[0].Segments) {
		critSegs = perG[0].Segments // no wait followed: the trees are the goroutine's
	}
	specs := []spec{
		{view.Critical, view.Critical.Title(), []rootSegs{{p.Name, [][]view.Segment{critSegs}}}, 0, true, "critical"},
		{view.Goroutines, view.Goroutines.Title(), goroutineRoots(p, perG, groups), p.Duration, true, "all"},
		{view.All, view.All.Title(), []rootSegs{{all.Name, [][]view.Segment{all.Segments}}}, 0, false, "all"},
	}
	// Views over the same segments (one goroutine: its own and all
	// goroutines') share their merged trees, under their own root names.
	type segKey struct {
		first *view.Segment
		n     int
	}
	type builtTrees struct {
		nodes                   []*view.Node
		noGroup, groupd         *tree
		timeNoGroup, timeGroupd *tree
	}
	built := map[segKey]builtTrees{}
	dropped := 0
	for _, s := range specs {
		vd := viewData{Kind: string(s.kind), Label: s.label, Top: s.top}
		var key segKey
		if len(s.roots) == 1 && len(s.roots[0].parts) == 1 && len(s.roots[0].parts[0]) > 0 {
			segs := s.roots[0].parts[0]
			key = segKey{&segs[0], len(segs)}
		}
		b, ok := built[key]
		if key.first != nil && ok {
			b.noGroup, b.groupd = ft.renamed(b.noGroup, s.roots[0].name), ft.renamed(b.groupd, s.roots[0].name)
		} else {
			b.nodes = buildTrees(s.roots, false)
			b.noGroup = ft.encode(b.nodes, true)
			b.groupd = ft.encode(grouped(b.nodes, user, true), true)
			if key.first != nil {
				built[key] = b
			}
		}
		merged := b.nodes
		if s.top == string(s.kind) {
			m.Top[s.top] = topOf(ft, merged)
		}
		for _, r := range merged {
			vd.Total += r.Total
		}
		if s.total > 0 {
			vd.Total = s.total
		}
		vd.MergedNoGroup, vd.Merged = b.noGroup, b.groupd
		segs := 0
		for _, r := range s.roots {
			for _, part := range r.parts {
				segs += len(part)
			}
		}
		if s.timeOrder && segs > maxTimeOrder {
			m.Notes = append(m.Notes, fmt.Sprintf("Large profile: the %s view has %d segments; its tree is not offered in time order (every call would be its own node).", s.label, segs))
		} else if s.timeOrder && b.timeNoGroup != nil {
			vd.TimeOrderNoGroup, vd.TimeOrder = ft.renamed(b.timeNoGroup, s.roots[0].name), ft.renamed(b.timeGroupd, s.roots[0].name)
		} else if s.timeOrder {
			to := buildTrees(s.roots, true)
			vd.TimeOrderNoGroup = ft.encode(to, false)
			vd.TimeOrder = ft.encode(grouped(to, user, false), false)
			if key.first != nil {
				b.timeNoGroup, b.timeGroupd = vd.TimeOrderNoGroup, vd.TimeOrder
				built[key] = b
			}
		}
		for _, t := range []*tree{vd.Merged, vd.MergedNoGroup, vd.TimeOrder, vd.TimeOrderNoGroup} {
			if t != nil {
				dropped = max(dropped, t.Dropped)
			}
		}
		m.Views = append(m.Views, vd)
	}
	if dropped > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("Large profile: each call tree keeps its %d largest nodes; up to %d smaller ones are left out (their time stays in their parents' totals).", maxTreeNodes, dropped))
	}
	m.Timeline = buildTimeline(p, each, ft, reasons, groups, cp, &m.Notes)
	m.Frames = ft.list
	return m, nil
}

// Labels of the value types of stack sets (render/pprof's and package
// aggregate's), for the view buttons; other types are shown by name.
var typeLabels = map[string]string{
	"critical":    view.Critical.Title(),
	"wall":        view.All.Title(),
	"cpu":         "CPU (running time)",
	"cpu_sampled": "CPU samples",
}

// buildStacksModel computes the data of a stack set's page: one view per
// value type, each its merged call trees (library frames folded or not)
// and top tables, the header's split of the split type by state, and no
// timeline (a set has no time order).
func buildStacksModel(s *view.StackSet, o render.Options) (*model, error) {
	if s == nil {
		return nil, fmt.Errorf("html: nil stack set")
	}
	if len(s.Types) == 0 || s.Default < 0 || s.Default >= len(s.Types) {
		return nil, fmt.Errorf("html: default value %d of a set of %d types", s.Default, len(s.Types))
	}
	user := o.User
	if user == nil {
		user = view.UserModule("")
	}
	ft := &frameTable{user: user, idx: map[frame]int32{}}
	reasons := &reasonTable{idx: map[string]int{}}
	m := &model{
		Version: modelVersion,
		Kinds:   kindNames,
		Top:     map[string]top{},
		Initial: initial{View: s.Types[s.Default], NoGroup: o.NoGroup, Threshold: o.Threshold},
		Notes:   []string{},
		Set:     &setInfo{Comments: append([]string{}, s.Comments...), Split: s.Types[s.Default]},
	}
	if slices.Contains(s.Types, string(o.View)) {
		m.Initial.View = string(o.View)
	}
	if m.Initial.Threshold == 0 {
		m.Initial.Threshold = text.DefaultThreshold
	}
	m.Meta = meta{Name: s.Name, Duration: s.Duration, Attrs: [][2]string{}, Warnings: []string{}, Generator: "reqprof " + version.Version}
	if !s.Start.IsZero() {
		m.Meta.Start = s.Start.UTC().Format(time.RFC3339Nano)
	}
	// The header's bar: the critical path when the set has it (it sums
	// to the requests' wall time), else the default type.
	split := s.Default
	if i := slices.Index(s.Types, "critical"); i >= 0 {
		split = i
	}
	m.Set.Split = s.Types[split]
	m.Summary = stacksSummary(s, split, reasons)
	dropped := 0
	for i, typ := range s.Types {
		root := s.Tree(i)
		root.SortByTotal()
		merged := []*view.Node{root}
		label := typeLabels[typ]
		if label == "" {
			label = typ
		}
		vd := viewData{Kind: typ, Label: label, Top: typ, Total: root.Total}
		m.Top[typ] = topOf(ft, merged)
		vd.MergedNoGroup = ft.encode(merged, true)
		vd.Merged = ft.encode(grouped(merged, user, true), true)
		dropped = max(dropped, vd.Merged.Dropped, vd.MergedNoGroup.Dropped)
		m.Views = append(m.Views, vd)
	}
	if dropped > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("Large stack set: each call tree keeps its %d largest nodes; up to %d smaller ones are left out (their time stays in their parents' totals).", maxTreeNodes, dropped))
	}
	var b bytes.Buffer
	o.User = user
	if err := text.RenderStacks(&b, s, o); err != nil {
		return nil, err
	}
	m.text = b.String()
	m.Timeline = emptyTimeline()
	m.Timeline.Reasons = reasons.list
	if m.Timeline.Reasons == nil {
		m.Timeline.Reasons = []string{}
	}
	m.Frames = ft.list
	return m, nil
}

// stacksSummary divides value i of a set's stacks by state, with the one
// classification of stretches of time (reasonTable.stateCode), and says
// how much of it ran, sampled or not; stacks without a state are in the
// total only.
func stacksSummary(s *view.StackSet, i int, reasons *reasonTable) sumry {
	byCode := map[int16]int64{}
	sum := sumry{Parts: []part{}}
	for _, st := range s.Stacks {
		v := st.Values[i]
		if v <= 0 {
			continue
		}
		sum.Total += v
		for _, f := range st.Path {
			if f.Kind == view.Overhead {
				sum.Reqprof += v
				break
			}
		}
		if st.State != 0 {
			byCode[reasons.stateCode(st.State, st.Inferred, st.Reason)] += v
		}
		if st.State == profile.Running {
			sum.CPU += v
			if st.Inferred {
				sum.Unsampled += v
			}
		}
	}
	codes := slices.Sorted(maps.Keys(byCode))
	for _, c := range codes {
		sum.Parts = append(sum.Parts, part{Code: int(c), Label: codeLabel(c, reasons), NS: byCode[c]})
	}
	return sum
}

// emptyTimeline is a timeline with no lane, its arrays empty, never null,
// for the script.
func emptyTimeline() timeline {
	tl := timeline{Lanes: []lane{}}
	tl.Paths.P, tl.Paths.F = []int32{0}, []int32{-1}
	tl.Regions.L, tl.Regions.S, tl.Regions.E, tl.Regions.F = []int32{}, []int64{}, []int64{}, []int32{}
	tl.Edges.K, tl.Edges.From, tl.Edges.To, tl.Edges.T = []int8{}, []int32{}, []int32{}, []int64{}
	tl.Critical.L, tl.Critical.S, tl.Critical.E = []int32{}, []int64{}, []int64{}
	return tl
}

// textTree is the console tree of the critical path cp, for browsers
// without JavaScript.
func textTree(p *profile.Profile, cp *view.Timeline, sum view.Summary, o render.Options) string {
	s := view.NewStackSet(p.Name, "wall")
	s.Start, s.Duration = p.Start, p.Duration
	s.Comments = []string{"Critical path: " + sum.String()}
	s.AddTimeline(0, cp)
	o.User = o.UserCode(p)
	var b bytes.Buffer
	if err := text.RenderStacks(&b, s, o); err != nil {
		return err.Error()
	}
	return b.String()
}

func metaOf(p *profile.Profile) meta {
	m := meta{
		Name: p.Name, Duration: p.Duration, GoVersion: p.GoVersion, Host: p.Host,
		Method: p.Attr(profile.AttrMethod), Route: p.Attr(profile.AttrRoute), URL: p.Attr(profile.AttrURL),
		Status: p.Attr(profile.AttrStatus), Module: p.Attr(profile.ModuleAttr),
		Attrs: [][2]string{}, Warnings: append([]string{}, p.Warnings...),
		Generator: "reqprof " + version.Version,
	}
	if !p.Start.IsZero() {
		m.Start = p.Start.UTC().Format(time.RFC3339Nano)
	}
	for _, a := range p.Attrs {
		if a.Key != profile.ModuleAttr {
			m.Attrs = append(m.Attrs, [2]string{a.Key, a.Value})
		}
	}
	for _, g := range p.Goroutines {
		if g.Member {
			m.Members++
		} else {
			m.Outsiders++
		}
	}
	return m
}

// --- state classification -------------------------------------------------------

type reasonTable struct {
	idx  map[string]int
	list []string
}

func (r *reasonTable) code(reason string) int16 {
	if reason == "" {
		reason = "unknown"
	}
	i, ok := r.idx[reason]
	if !ok {
		i = len(r.list)
		r.idx[reason] = i
		r.list = append(r.list, reason)
	}
	return int16(codeWait + i)
}

// stateCode classifies a stretch of time: one rule for the header's bar,
// the timeline and the legend.
func (r *reasonTable) stateCode(st profile.State, inferred bool, reason string) int16 {
	switch st {
	case profile.Running:
		if inferred {
			return codeUnsampled
		}
		return codeRunning
	case profile.Runnable:
		return codeRunnable
	case profile.Syscall:
		return codeSyscall
	}
	return r.code(reason)
}

// summaryOf lays out the view's one classification of the critical path
// (view.Summary) as the header's parts, with the sampled share of the
// running time and the profiler's own cost.
func summaryOf(sum view.Summary, reasons *reasonTable) sumry {
	s := sumry{
		Total: sum.Duration, Parts: []part{},
		CPU: sum.CPU, Unsampled: sum.CPUInferred, Samples: sum.Samples, SamplePeriod: sum.SamplePeriod,
		Reqprof: sum.Overhead, ReqprofBefore: sum.OverheadBefore,
	}
	add := func(c int16, ns int64) {
		if ns > 0 {
			s.Parts = append(s.Parts, part{Code: int(c), Label: codeLabel(c, reasons), NS: ns})
		}
	}
	add(codeRunning, sum.CPUSampled())
	add(codeUnsampled, sum.CPUInferred)
	add(codeRunnable, sum.Runnable)
	add(codeSyscall, sum.Syscall)
	for _, w := range sum.Waits {
		add(reasons.code(w.Reason), w.Time)
	}
	return s
}

func codeLabel(c int16, reasons *reasonTable) string {
	switch c {
	case codeRunning:
		return "running"
	case codeUnsampled:
		return "running, unsampled"
	case codeRunnable:
		return "runnable"
	case codeSyscall:
		return "syscall"
	}
	return "waiting: " + reasons.list[c-codeWait]
}

// --- frames ---------------------------------------------------------------------

type frameTable struct {
	user view.UserCode
	idx  map[frame]int32
	list []frame
}

func (ft *frameTable) add(f frame) int32 {
	if i, ok := ft.idx[f]; ok {
		return i
	}
	i := int32(len(ft.list))
	ft.idx[f] = i
	ft.list = append(ft.list, f)
	return i
}

func (ft *frameTable) id(f view.Frame) int32 {
	return ft.add(frame{Name: f.Name, File: f.File, Line: f.Line, Kind: ft.kind(f)})
}

func (ft *frameTable) kind(f view.Frame) int {
	switch f.Kind {
	case view.Func:
		if ft.user(f.Name) {
			return kindUser
		}
		pkg := view.Package(f.Name)
		if pkg == "runtime" || strings.HasPrefix(pkg, "runtime/") || strings.HasPrefix(pkg, "internal/") {
			return kindRuntime
		}
		return kindLib
	case view.Region:
		if strings.HasPrefix(f.Name, "SQL") {
			return kindSQL
		}
		return kindRegion
	case view.Wait:
		return kindWait
	case view.Syscall:
		return kindSyscall
	case view.Runnable:
		return kindRunnable
	case view.Via:
		return kindVia
	case view.Overhead:
		return kindReqprof
	case view.Unsampled:
		return kindUnsampled
	case view.Label:
		return kindRoot
	}
	return kindLib
}

// --- call trees -----------------------------------------------------------------

// rootSegs is one root of a forest and the segments under it: those of
// each part, one part after the other (the timelines of a group of
// goroutines).
type rootSegs struct {
	name  string
	parts [][]view.Segment
}

// buildTrees builds one call tree per root.
func buildTrees(roots []rootSegs, timeOrder bool) []*view.Node {
	out := make([]*view.Node, len(roots))
	for i, r := range roots {
		n := view.TreeOfParts(r.name, timeOrder, r.parts...)
		if !timeOrder {
			n.SortByTotal()
		}
		out[i] = n
	}
	return out
}

// grouped returns copies of trees with library frames folded.
func grouped(trees []*view.Node, user view.UserCode, sort bool) []*view.Node {
	out := make([]*view.Node, len(trees))
	for i, t := range trees {
		n := clone(t)
		view.GroupLibrary(n, user)
		if sort {
			n.SortByTotal()
		}
		out[i] = n
	}
	return out
}

func clone(n *view.Node) *view.Node {
	c := *n
	c.Hidden = slices.Clone(n.Hidden)
	c.Children = make([]*view.Node, len(n.Children))
	for i, ch := range n.Children {
		c.Children[i] = clone(ch)
	}
	return &c
}

// goroutineRoots is the per-goroutine view's forest: one root per member
// lane of groups, its goroutines' segments together.
func goroutineRoots(p *profile.Profile, tls []view.Timeline, groups []ggroup) []rootSegs {
	byID := map[int64]*view.Timeline{}
	for i := range tls {
		byID[tls[i].Goroutine] = &tls[i]
	}
	var out []rootSegs
	for _, g := range groups {
		if !g.member {
			continue
		}
		if len(g.idx) == 1 {
			if tl := byID[p.Goroutines[g.idx[0]].ID]; tl != nil {
				out = append(out, rootSegs{tl.Name, [][]view.Segment{tl.Segments}})
			}
			continue
		}
		r := rootSegs{name: fmt.Sprintf("%d goroutines: %s", len(g.idx), g.entry)}
		for _, i := range g.idx {
			if tl := byID[p.Goroutines[i].ID]; tl != nil {
				r.parts = append(r.parts, tl.Segments)
			}
		}
		out = append(out, r)
	}
	return out
}

// selfUnsampled is the running time at n itself that no CPU sample observed.
func selfUnsampled(n *view.Node) int64 {
	if n.Frame.Kind == view.Unsampled {
		return 0 // it is the pseudo-frame itself
	}
	u := n.Inferred
	for _, c := range n.Children {
		u -= c.Inferred
	}
	return max(u, 0)
}

// encode flattens a forest, keeping at most maxTreeNodes nodes (the
// largest), with each node's unsampled running time as an "[unsampled]"
// child.
func (ft *frameTable) encode(roots []*view.Node, sorted bool) *tree {
	var totals []int64
	for _, r := range roots {
		r.Walk(func(n *view.Node, _ int) {
			totals = append(totals, n.Total)
			if u := selfUnsampled(n); u > 0 {
				totals = append(totals, u)
			}
		})
	}
	t := &tree{HL: [][]int32{}}
	if len(totals) > maxTreeNodes {
		slices.SortFunc(totals, func(a, b int64) int { return int(min(max(b-a, -1), 1)) })
		t.Cut = totals[maxTreeNodes] + 1
		for _, v := range totals {
			if v < t.Cut {
				t.Dropped++
			}
		}
	}
	unsampled := ft.add(frame{Name: unsampledName, Kind: kindUnsampled})
	hidden := map[string]int32{}
	type item struct {
		n     *view.Node
		total int64 // of an [unsampled] item (n == nil)
	}
	var emit func(n *view.Node, depth int32, f int32)
	emit = func(n *view.Node, depth int32, f int32) {
		u := selfUnsampled(n)
		t.F = append(t.F, f)
		t.D = append(t.D, depth)
		t.T = append(t.T, n.Total)
		t.S = append(t.S, n.Self-u)
		t.U = append(t.U, n.Inferred)
		t.C = append(t.C, int32(n.Count))
		t.H = append(t.H, ft.hiddenList(n.Hidden, hidden, t))
		items := make([]item, 0, len(n.Children)+1)
		for _, c := range n.Children {
			if c.Total >= t.Cut {
				items = append(items, item{n: c})
			}
		}
		if u > 0 && u >= t.Cut {
			it := item{total: u}
			pos := len(items)
			if sorted {
				pos, _ = slices.BinarySearchFunc(items, u, func(x item, u int64) int {
					if x.n.Total >= u {
						return -1
					}
					return 1
				})
			}
			items = slices.Insert(items, pos, it)
		}
		for _, it := range items {
			if it.n != nil {
				emit(it.n, depth+1, ft.id(it.n.Frame))
				continue
			}
			t.F = append(t.F, unsampled)
			t.D = append(t.D, depth+1)
			t.T = append(t.T, it.total)
			t.S = append(t.S, it.total)
			t.U = append(t.U, it.total)
			t.C = append(t.C, 0)
			t.H = append(t.H, -1)
		}
	}
	for _, r := range roots {
		emit(r, 0, ft.add(frame{Name: r.Frame.Name, Kind: kindRoot}))
	}
	return t
}

// sameSegments reports whether a and b are the same stretches of the same
// goroutine in the same states at the same paths.
func sameSegments(a, b []view.Segment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.Start != y.Start || x.End != y.End || x.Goroutine != y.Goroutine || x.State != y.State || x.Inferred != y.Inferred || !slices.Equal(x.Path, y.Path) {
			return false
		}
	}
	return true
}

// renamed returns a copy of a one-root tree under another root name.
func (ft *frameTable) renamed(t *tree, name string) *tree {
	c := *t
	c.F = slices.Clone(t.F)
	c.F[0] = ft.add(frame{Name: name, Kind: kindRoot})
	return &c
}

// hiddenList interns a node's folded library frames as [count, frames...]:
// how many distinct frames there are, and the first of them (at most
// maxHidden, fewer once the tree has listed maxHiddenRefs).
func (ft *frameTable) hiddenList(fs []view.Frame, seen map[string]int32, t *tree) int32 {
	if len(fs) == 0 {
		return -1
	}
	distinct := map[view.Frame]bool{}
	keep := maxHidden
	if t.hiddenRefs >= maxHiddenRefs {
		keep = 1
	}
	ids := []int32{0}
	for _, f := range fs {
		if distinct[f] {
			continue
		}
		distinct[f] = true
		if len(ids) <= keep {
			ids = append(ids, ft.id(f))
		}
	}
	ids[0] = int32(len(distinct))
	key := fmt.Sprint(ids)
	if i, ok := seen[key]; ok {
		return i
	}
	i := int32(len(t.HL))
	seen[key] = i
	t.HL = append(t.HL, ids)
	t.hiddenRefs += len(ids) - 1
	return i
}

// topOf sums an ungrouped merged forest by function (total counted once
// per stack, however deep the recursion), by wait, region and waker.
func topOf(ft *frameTable, roots []*view.Node) top {
	type acc struct {
		frame       int32
		self, total int64
		count       int
	}
	tables := [4]map[string]*acc{{}, {}, {}, {}}
	onStack := map[string]int{}
	var walk func(n *view.Node, root bool)
	walk = func(n *view.Node, root bool) {
		name := n.Frame.Name
		if !root {
			tab := -1
			switch n.Frame.Kind {
			case view.Func:
				tab = 0
			case view.Wait, view.Syscall, view.Runnable, view.Unsampled:
				tab = 1
			case view.Region:
				tab = 2
			case view.Via:
				tab = 3
			}
			if tab >= 0 {
				a := tables[tab][name]
				if a == nil {
					a = &acc{frame: ft.id(n.Frame)}
					tables[tab][name] = a
				}
				if onStack[name] == 0 {
					a.total += n.Total
				}
				a.count += n.Count
				if tab == 0 {
					a.self += n.Self - selfUnsampled(n)
				}
			}
			if u := selfUnsampled(n); u > 0 {
				a := tables[1][unsampledName]
				if a == nil {
					a = &acc{frame: ft.add(frame{Name: unsampledName, Kind: kindUnsampled})}
					tables[1][unsampledName] = a
				}
				a.total += u
				a.count++
			}
		}
		onStack[name]++
		for _, c := range n.Children {
			walk(c, false)
		}
		onStack[name]--
	}
	for _, r := range roots {
		walk(r, true)
	}
	var out top
	rows := func(m map[string]*acc) []topRow {
		rs := make([]topRow, 0, len(m))
		for _, a := range m {
			rs = append(rs, topRow{Frame: a.frame, Self: a.self, Total: a.total, Count: a.count})
		}
		slices.SortFunc(rs, func(a, b topRow) int {
			if a.Total != b.Total {
				return int(min(max(b.Total-a.Total, -1), 1))
			}
			return int(a.Frame - b.Frame)
		})
		if len(rs) > maxTopRows {
			// Keep the largest by total and by self.
			keep := rs[:maxTopRows/2]
			rest := slices.Clone(rs[maxTopRows/2:])
			slices.SortStableFunc(rest, func(a, b topRow) int { return int(min(max(b.Self-a.Self, -1), 1)) })
			out.Cut += len(rest) - (maxTopRows - maxTopRows/2)
			rs = append(keep, rest[:maxTopRows-maxTopRows/2]...)
		}
		return rs
	}
	out.Funcs = rows(tables[0])
	out.Waits = rows(tables[1])
	out.Regions = rows(tables[2])
	out.Via = rows(tables[3])
	return out
}

// --- goroutine groups -----------------------------------------------------------

// ggroup is one timeline lane: a goroutine, or goroutines with the same
// entry function.
type ggroup struct {
	entry        string
	idx          []int // into Profile.Goroutines
	member, root bool
}

// groupGoroutines decides the lanes: the root; each member goroutine,
// except that more than maxSameEntry members with one entry function share
// a lane; goroutines outside the work (which woke one of its own) by entry
// function. Over maxLanes, every entry function gets one lane, and the
// smallest groups beyond the limit one lane "other goroutines".
func groupGoroutines(p *profile.Profile) []ggroup {
	type key struct {
		entry  string
		member bool
	}
	var root []ggroup
	var order []key
	by := map[key][]int{}
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if i == 0 && g.Member {
			root = []ggroup{{entry: view.EntryName(p, g), idx: []int{0}, member: true, root: true}}
			continue
		}
		k := key{view.EntryName(p, g), g.Member}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], i)
	}
	lanes := func(split bool) []ggroup {
		out := slices.Clone(root)
		for _, k := range order {
			ids := by[k]
			if split && (k.member && len(ids) <= maxSameEntry || len(ids) == 1) {
				for _, i := range ids {
					out = append(out, ggroup{entry: k.entry, idx: []int{i}, member: k.member})
				}
				continue
			}
			out = append(out, ggroup{entry: k.entry, idx: ids, member: k.member})
		}
		return out
	}
	out := lanes(true)
	if len(out) <= maxLanes {
		return out
	}
	out = lanes(false)
	if len(out) <= maxLanes {
		return out
	}
	head := out[len(root):]
	slices.SortStableFunc(head, func(a, b ggroup) int { return len(b.idx) - len(a.idx) })
	keep := maxLanes - len(root) - 1
	other := ggroup{entry: "other goroutines"}
	for _, g := range head[keep:] {
		other.idx = append(other.idx, g.idx...)
		other.member = other.member || g.member
	}
	slices.Sort(other.idx)
	return append(append(slices.Clone(root), head[:keep]...), other)
}

// --- timeline -------------------------------------------------------------------

// pathTable interns the view's paths as a trie of frames.
type pathTable struct {
	tl   *timeline
	ft   *frameTable
	trie map[[2]int32]int32
	// Segments share paths: one lookup per distinct path.
	cache map[pathKey]int32
}

type pathKey struct {
	first *view.Frame
	n     int
}

func (pt *pathTable) path(path []view.Frame) int32 {
	if len(path) == 0 {
		return 0
	}
	k := pathKey{&path[0], len(path)}
	if id, ok := pt.cache[k]; ok {
		return id
	}
	var id int32
	for _, f := range path {
		k := [2]int32{id, pt.ft.id(f)}
		n, ok := pt.trie[k]
		if !ok {
			n = int32(len(pt.tl.Paths.P))
			pt.trie[k] = n
			pt.tl.Paths.P = append(pt.tl.Paths.P, id)
			pt.tl.Paths.F = append(pt.tl.Paths.F, k[1])
		}
		id = n
	}
	pt.cache[k] = id
	return id
}

// buildTimeline lays out the lanes of groups: each goroutine's timeline
// (each[i] is p.Goroutines[i]'s), or a group's density.
func buildTimeline(p *profile.Profile, each []view.Timeline, ft *frameTable, reasons *reasonTable, groups []ggroup, cp view.Timeline, notes *[]string) timeline {
	tl := emptyTimeline()
	tl.Duration = p.Duration
	pt := &pathTable{tl: &tl, ft: ft, trie: map[[2]int32]int32{}, cache: map[pathKey]int32{}}
	laneOf := map[int64]int32{}
	singles, spans := 0, 0
	for li, g := range groups {
		for _, i := range g.idx {
			laneOf[p.Goroutines[i].ID] = int32(li)
		}
		if len(g.idx) == 1 {
			singles++
			spans += len(each[g.idx[0]].Segments)
		}
	}
	if spans > spanBudget {
		// Each single lane gets about spanBudget/singles stretches.
		per := max(int64(spanBudget/max(singles, 1)), 8)
		tl.Bucket = max(p.Duration*2/per, 1)
		*notes = append(*notes, fmt.Sprintf("Large profile: in the timeline, stretches shorter than %s are merged and shown in the state they spent most time in (%d spans in all).", text.Dur(tl.Bucket), spans))
	}
	if len(groups) < len(p.Goroutines) {
		*notes = append(*notes, fmt.Sprintf("The timeline shows %d goroutines in %d lanes: goroutines with the same entry function share a lane (×N), drawn as how many of them were in each state.", len(p.Goroutines), len(groups)))
	}
	for _, g := range groups {
		l := lane{Entry: g.entry, N: len(g.idx), Member: g.member, Root: g.root, Start: p.Duration}
		for _, i := range g.idx {
			gr := &p.Goroutines[i]
			if len(l.G) < maxLaneIDs {
				l.G = append(l.G, gr.ID)
			}
			l.Start, l.End = min(l.Start, gr.Start), max(l.End, gr.End)
		}
		if len(g.idx) == 1 {
			gt := &each[g.idx[0]]
			l.Name = gt.Name
			spansOf(gt.Segments, reasons, pt, tl.Bucket, &l)
		} else {
			l.Name = fmt.Sprintf("%s ×%d", g.entry, len(g.idx))
			densityOf(p, g.idx, &l)
		}
		tl.Lanes = append(tl.Lanes, l)
	}
	edgesOf(p, laneOf, &tl, notes)
	// Regions, the longest first when there are too many.
	rs := slices.Clone(p.Regions)
	if len(rs) > maxRegions {
		slices.SortStableFunc(rs, func(a, b profile.Region) int { return int(min(max((b.End-b.Start)-(a.End-a.Start), -1), 1)) })
		*notes = append(*notes, fmt.Sprintf("The timeline draws the %d longest of %d regions.", maxRegions, len(rs)))
		rs = rs[:maxRegions]
	}
	for _, r := range rs {
		l, ok := laneOf[r.Goroutine]
		if !ok || r.End <= r.Start {
			continue
		}
		tl.Regions.L = append(tl.Regions.L, l)
		tl.Regions.S = append(tl.Regions.S, r.Start)
		tl.Regions.E = append(tl.Regions.E, r.End)
		tl.Regions.F = append(tl.Regions.F, ft.id(view.Frame{Name: r.Type, Kind: view.Region}))
	}
	criticalOf(cp, laneOf, &tl, notes)
	tl.Reasons = reasons.list
	if tl.Reasons == nil {
		tl.Reasons = []string{}
	}
	return tl
}

// spansOf fills a single goroutine's lane from its segments, merging
// stretches shorter than bucket (when > 0) into runs about bucket long, each
// in its dominant state.
func spansOf(segs []view.Segment, reasons *reasonTable, pt *pathTable, bucket int64, l *lane) {
	emit := func(s, d int64, k int16, path int32) {
		l.S = append(l.S, s)
		l.D = append(l.D, d)
		l.K = append(l.K, k)
		l.P = append(l.P, path)
	}
	type share struct {
		code int16
		d    int64
	}
	var (
		ps, pe   int64 = -1, -1
		shares   []share
		bestPath int32
		bestD    int64
	)
	flush := func() {
		if ps < 0 {
			return
		}
		best := shares[0]
		for _, s := range shares[1:] {
			if s.d > best.d {
				best = s
			}
		}
		emit(ps, pe-ps, best.code, bestPath)
		ps, pe, shares, bestD = -1, -1, shares[:0], 0
	}
	for _, sg := range segs {
		d := sg.End - sg.Start
		if d <= 0 {
			continue
		}
		code := reasons.stateCode(sg.State, sg.Inferred, sg.Reason)
		path := pt.path(sg.Path)
		if bucket == 0 || d >= bucket {
			flush()
			emit(sg.Start, d, code, path)
			continue
		}
		if ps < 0 {
			ps = sg.Start
		}
		pe = sg.End
		found := false
		for i := range shares {
			if shares[i].code == code {
				shares[i].d += d
				found = true
			}
		}
		if !found {
			shares = append(shares, share{code, d})
		}
		if d > bestD {
			bestD, bestPath = d, path
		}
		if pe-ps >= bucket {
			flush()
		}
	}
	flush()
}

// densityOf fills a grouped lane: goroutine-time per bucket and state
// class (running, runnable, waiting, syscall).
func densityOf(p *profile.Profile, idx []int, l *lane) {
	n := int64(densityBuckets)
	bw := max((p.Duration+n-1)/n, 1)
	nb := int((p.Duration + bw - 1) / bw)
	l.B = bw
	l.Density = make([][]int64, 4)
	full := make([][]int64, 4)
	for c := range 4 {
		l.Density[c] = make([]int64, nb)
		full[c] = make([]int64, nb+1)
	}
	for _, i := range idx {
		for _, iv := range p.Goroutines[i].Intervals {
			c := 0
			switch iv.State {
			case profile.Runnable:
				c = 1
			case profile.Waiting:
				c = 2
			case profile.Syscall:
				c = 3
			}
			s, e := iv.Start, min(iv.End, p.Duration)
			if e <= s {
				continue
			}
			b0, b1 := s/bw, (e-1)/bw
			if b0 == b1 {
				l.Density[c][b0] += e - s
				continue
			}
			l.Density[c][b0] += (b0+1)*bw - s
			l.Density[c][b1] += e - b1*bw
			if b1 > b0+1 {
				full[c][b0+1]++
				full[c][b1]--
			}
		}
	}
	for c := range 4 {
		var run int64
		for b := range nb {
			run += full[c][b]
			l.Density[c][b] += run * bw
		}
	}
}

// edgesOf adds spawn and wake-up arrows between lanes: every spawn, and the
// wake-ups that ended the longest waits when there are too many.
func edgesOf(p *profile.Profile, laneOf map[int64]int32, tl *timeline, notes *[]string) {
	type edge struct {
		k        int8
		from, to int32
		t        int64
		weight   int64
	}
	var es []edge
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		to, ok := laneOf[g.ID]
		if !ok {
			continue
		}
		if g.Member && g.Parent != 0 {
			if from, ok := laneOf[g.Parent]; ok && from != to {
				es = append(es, edge{0, from, to, g.Start, 1 << 62})
			}
		}
		for _, iv := range g.Intervals {
			if iv.State != profile.Waiting || iv.Waker == 0 || iv.End >= p.Duration {
				continue
			}
			if from, ok := laneOf[iv.Waker]; ok && from != to {
				es = append(es, edge{1, from, to, iv.End, iv.End - iv.Start})
			}
		}
	}
	if len(es) > maxEdges {
		*notes = append(*notes, fmt.Sprintf("The timeline draws %d of %d spawn and wake-up arrows (every spawn first, then the wake-ups that ended the longest waits).", maxEdges, len(es)))
		slices.SortStableFunc(es, func(a, b edge) int { return int(min(max(b.weight-a.weight, -1), 1)) })
		es = es[:maxEdges]
		slices.SortStableFunc(es, func(a, b edge) int { return int(min(max(a.t-b.t, -1), 1)) })
	}
	for _, e := range es {
		tl.Edges.K = append(tl.Edges.K, e.k)
		tl.Edges.From = append(tl.Edges.From, e.from)
		tl.Edges.To = append(tl.Edges.To, e.to)
		tl.Edges.T = append(tl.Edges.T, e.t)
	}
}

// criticalOf maps the critical path onto lanes.
func criticalOf(cp view.Timeline, laneOf map[int64]int32, tl *timeline, notes *[]string) {
	c := &tl.Critical
	for _, s := range cp.Segments {
		l, ok := laneOf[s.Goroutine]
		if !ok || s.End <= s.Start {
			continue
		}
		if n := len(c.L); n > 0 && c.L[n-1] == l && c.E[n-1] == s.Start {
			c.E[n-1] = s.End
			continue
		}
		c.L = append(c.L, l)
		c.S = append(c.S, s.Start)
		c.E = append(c.E, s.End)
	}
	if len(c.L) <= maxCritical {
		return
	}
	// Too many hops to draw: stretches shorter than w join the one before.
	w := max(tl.Duration*2/maxCritical, 1)
	n := 0
	for i := range c.L {
		if n > 0 && (c.E[i]-c.S[i] < w || c.L[n-1] == c.L[i]) {
			c.E[n-1] = c.E[i]
			continue
		}
		c.L[n], c.S[n], c.E[n] = c.L[i], c.S[i], c.E[i]
		n++
	}
	*notes = append(*notes, fmt.Sprintf("The critical path's stretches shorter than %s are drawn on the lane before them (%d stretches in all).", text.Dur(w), len(c.L)))
	c.L, c.S, c.E = c.L[:n], c.S[:n], c.E[:n]
}
