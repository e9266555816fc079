package aggregate

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/reqprof/reqprof/view"
)

// Diff compares two aggregates, a before and an after (or typical and
// slow requests), node by node of one type's call tree, per request: every
// time is the aggregate's total divided by its number of profiles, so
// aggregates of 10 and of 1,000 requests compare.
//
// The trees are matched as call trees merge nodes: children of matched
// nodes with the same frame (function and file, or pseudo-frame) match. A
// node found on one side only has 0 on the other.
type Diff struct {
	A, B *Aggregate
	// Type is the index of the type compared, in both aggregates' Types.
	Type int
	// Root is the diff tree, children sorted by the larger of their two
	// totals.
	Root *DiffNode
}

// DiffNode is one node of the diff tree.
type DiffNode struct {
	Frame    view.Frame
	A, B     Side
	Children []*DiffNode
}

// Side is one aggregate's time at a node.
type Side struct {
	// Total and Self are nanoseconds per request: the node's time (with
	// and without its children's) summed over the aggregate's profiles,
	// divided by their number.
	Total, Self float64
	// Requests is the number of the aggregate's profiles that reached the
	// node, Median the median of the node's time in them; both are 0
	// when unknown (nodes merged by grouping at rendering time).
	Requests int64
	Median   int64
	// Known reports whether Requests and Median are known.
	Known bool
}

// Delta returns the change of the node's total per request, B - A, in
// nanoseconds: positive when B is slower.
func (n *DiffNode) Delta() float64 { return n.B.Total - n.A.Total }

// SelfDelta returns the change of the node's self time per request.
func (n *DiffNode) SelfDelta() float64 { return n.B.Self - n.A.Self }

// Relative returns Delta relative to A's total: 1 is 100% slower, -0.5
// twice as fast; +Inf for a node only B has, 0 for one neither has time
// in.
func (n *DiffNode) Relative() float64 { return relative(n.A.Total, n.B.Total) }

func relative(a, b float64) float64 {
	switch {
	case a > 0:
		return (b - a) / a
	case b > 0:
		return math.Inf(1)
	}
	return 0
}

// DiffOptions choose what Compare compares.
type DiffOptions struct {
	// Type names the type compared ("" is the default type, critical).
	Type string
	// NoGroup and User are those of TreeOptions.
	NoGroup bool
	User    view.UserCode
}

// Compare returns the diff of a (before) and b (after). Both must have
// profiles and the type compared.
func Compare(a, b *Aggregate, o DiffOptions) (*Diff, error) {
	if a == nil || b == nil {
		return nil, errors.New("aggregate: diff of a nil aggregate")
	}
	if a.N() == 0 || b.N() == 0 {
		return nil, errors.New("aggregate: diff of an aggregate without profiles")
	}
	ia, err := a.Type(o.Type)
	if err != nil {
		return nil, err
	}
	ib, err := b.Type(a.Types[ia])
	if err != nil {
		return nil, fmt.Errorf("the second aggregate: %w", err)
	}
	if ia != ib {
		return nil, errors.New("aggregate: diff of aggregates whose types are in different orders")
	}
	to := TreeOptions{NoGroup: o.NoGroup, User: o.User}
	ta, tb := a.Tree(ia, to), b.Tree(ib, to)
	d := &Diff{A: a, B: b, Type: ia}
	name := a.Title()
	if bt := b.Title(); bt != name {
		name += " → " + bt
	}
	d.Root = &DiffNode{Frame: view.Frame{Name: name}}
	d.merge(d.Root, ta, ta.Root, tb, tb.Root)
	sortDiff(d.Root)
	return d, nil
}

func side(t *Tree, n *view.Node) Side {
	if n == nil {
		return Side{Known: true}
	}
	s := Side{Total: float64(n.Total) / float64(t.N), Self: float64(n.Self) / float64(t.N)}
	if dist := t.Dist(n); dist != nil {
		s.Requests, s.Median, s.Known = dist.N, dist.Median(), true
	}
	return s
}

// merge fills dn from the matched nodes na and nb (either may be nil).
func (d *Diff) merge(dn *DiffNode, ta *Tree, na *view.Node, tb *Tree, nb *view.Node) {
	dn.A, dn.B = side(ta, na), side(tb, nb)
	type pair struct{ a, b *view.Node }
	var order []view.Frame
	pairs := map[view.Frame]*pair{}
	add := func(n *view.Node, isA bool) {
		k := keyFrame(n.Frame)
		p := pairs[k]
		if p == nil {
			p = &pair{}
			pairs[k] = p
			order = append(order, k)
		}
		if isA {
			p.a = n
		} else {
			p.b = n
		}
	}
	if na != nil {
		for _, c := range na.Children {
			add(c, true)
		}
	}
	if nb != nil {
		for _, c := range nb.Children {
			add(c, false)
		}
	}
	for _, k := range order {
		p := pairs[k]
		f := k
		if p.b != nil {
			f = p.b.Frame
		} else if p.a != nil {
			f = p.a.Frame
		}
		c := &DiffNode{Frame: f}
		d.merge(c, ta, p.a, tb, p.b)
		dn.Children = append(dn.Children, c)
	}
}

func sortDiff(n *DiffNode) {
	slices.SortStableFunc(n.Children, func(x, y *DiffNode) int {
		return cmp.Or(cmp.Compare(max(y.A.Total, y.B.Total), max(x.A.Total, x.B.Total)), cmp.Compare(x.Frame.Name, y.Frame.Name))
	})
	for _, c := range n.Children {
		sortDiff(c)
	}
}

// Walk calls fn for n and every node under it, depth first, with its depth.
func (n *DiffNode) Walk(fn func(n *DiffNode, depth int)) { n.walk(fn, 0) }

func (n *DiffNode) walk(fn func(*DiffNode, int), depth int) {
	fn(n, depth)
	for _, c := range n.Children {
		c.walk(fn, depth+1)
	}
}

// FuncDiff is one function's (or pseudo-frame's) change: its self and
// cumulative time per request on each side, over every node of it.
type FuncDiff struct {
	Frame      view.Frame
	A, B       FuncSide
	Difference float64 // B.Self - A.Self
}

// FuncSide is a function's time on one side, per request.
type FuncSide struct{ Self, Total float64 }

// Funcs returns the functions of the diff tree by decreasing size of the
// change of their self time (the flat change), then by name.
func (d *Diff) Funcs() []FuncDiff {
	idx := map[view.Frame]int{}
	var out []FuncDiff
	onPath := map[view.Frame]int{}
	var walk func(n *DiffNode)
	walk = func(n *DiffNode) {
		k := keyFrame(n.Frame)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, FuncDiff{Frame: n.Frame})
		}
		f := &out[i]
		f.A.Self += n.A.Self
		f.B.Self += n.B.Self
		if onPath[k] == 0 {
			f.A.Total += n.A.Total
			f.B.Total += n.B.Total
		}
		onPath[k]++
		for _, c := range n.Children {
			walk(c)
		}
		onPath[k]--
	}
	for _, c := range d.Root.Children {
		walk(c)
	}
	for i := range out {
		out[i].Difference = out[i].B.Self - out[i].A.Self
	}
	slices.SortStableFunc(out, func(x, y FuncDiff) int {
		return cmp.Or(cmp.Compare(math.Abs(y.Difference), math.Abs(x.Difference)), cmp.Compare(x.Frame.Name, y.Frame.Name))
	})
	return out
}

// SideSummary is one aggregate's numbers for a diff's header, per
// request.
type SideSummary struct {
	N                  int
	Mean               float64
	P50, P90, P99, Max int64
	CPU, Waiting       float64
}

// Summary returns the header numbers of a.
func Summary(a *Aggregate) SideSummary {
	s := SideSummary{N: a.N(), P50: a.Percentile(0.5), P90: a.Percentile(0.9), P99: a.Percentile(0.99), Max: a.Percentile(1)}
	if s.N == 0 {
		return s
	}
	for _, in := range a.Profiles {
		s.Mean += float64(in.Duration)
		s.CPU += float64(in.CPU)
		s.Waiting += float64(in.Waiting)
	}
	n := float64(s.N)
	s.Mean, s.CPU, s.Waiting = s.Mean/n, s.CPU/n, s.Waiting/n
	return s
}

// WaitDiff is the change of one reason's waits on the critical path, per
// request.
type WaitDiff struct {
	Reason string
	A, B   float64 // time per request
}

// Waits returns the waits by reason of both sides, by decreasing size of
// change.
func (d *Diff) Waits() []WaitDiff {
	m := map[string]*WaitDiff{}
	var out []*WaitDiff
	get := func(r string) *WaitDiff {
		w := m[r]
		if w == nil {
			w = &WaitDiff{Reason: r}
			m[r] = w
			out = append(out, w)
		}
		return w
	}
	for _, w := range d.A.Waits {
		get(w.Reason).A = float64(w.Time) / float64(d.A.N())
	}
	for _, w := range d.B.Waits {
		get(w.Reason).B = float64(w.Time) / float64(d.B.N())
	}
	res := make([]WaitDiff, len(out))
	for i, w := range out {
		res[i] = *w
	}
	slices.SortStableFunc(res, func(x, y WaitDiff) int {
		return cmp.Or(cmp.Compare(math.Abs(y.B-y.A), math.Abs(x.B-x.A)), cmp.Compare(x.Reason, y.Reason))
	})
	return res
}

// SlowAndTypical picks, from the durations of a set of requests, the slow
// ones — at or above the 90th percentile — and the typical ones — between
// the 40th and 60th percentiles, around the median — so that diffing the
// two shows what the slow requests do differently. It returns their
// indexes in durations, in order. With fewer than 10 durations it returns
// nothing.
func SlowAndTypical(durations []int64) (typical, slow []int) {
	if len(durations) < 10 {
		return nil, nil
	}
	sorted := slices.Clone(durations)
	slices.Sort(sorted)
	p40, p60, p90 := Percentile(sorted, 0.4), Percentile(sorted, 0.6), Percentile(sorted, 0.9)
	for i, d := range durations {
		if d >= p90 {
			slow = append(slow, i)
		}
		if d >= p40 && d <= p60 {
			typical = append(typical, i)
		}
	}
	return typical, slow
}
