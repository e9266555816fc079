package aggregate

import (
	"cmp"
	"slices"

	"github.com/reqprof/reqprof/view"
)

// FuncStat is one function's (or pseudo-frame's) time in an aggregate's
// call tree of one type, summed over the profiles.
type FuncStat struct {
	Frame view.Frame
	// Flat is its self time; Cum its time with its callees', recursion
	// counted once.
	Flat, Cum int64
	// Dist is the distribution over the profiles of its cumulative time
	// (nil when the tree's transforms merged it from several functions).
	Dist *Dist
}

// Top returns the functions of the tree of type i by decreasing flat
// time, then cumulative time, then name: pprof's -top.
func (a *Aggregate) Top(i int, o TreeOptions) []FuncStat {
	o.Threshold = 0
	t := a.Tree(i, o)
	idx := map[view.Frame]int{}
	var out []FuncStat
	onPath := map[view.Frame]int{}
	var walk func(n *view.Node)
	walk = func(n *view.Node) {
		k := keyFrame(n.Frame)
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			out = append(out, FuncStat{Frame: n.Frame})
		}
		out[j].Flat += n.Self
		if onPath[k] == 0 {
			out[j].Cum += n.Total
		}
		onPath[k]++
		for _, c := range n.Children {
			walk(c)
		}
		onPath[k]--
	}
	for _, c := range t.Root.Children {
		walk(c)
	}
	funcs := make(map[view.Frame]*Dist, len(a.Funcs))
	for j := range a.Funcs {
		funcs[a.Frames[a.Funcs[j].Frame]] = &a.Funcs[j].Dists[i]
	}
	for j := range out {
		if d := funcs[keyFrame(out[j].Frame)]; d != nil && d.Sum == out[j].Cum {
			out[j].Dist = d
		}
	}
	slices.SortStableFunc(out, func(x, y FuncStat) int {
		return cmp.Or(cmp.Compare(y.Flat, x.Flat), cmp.Compare(y.Cum, x.Cum), cmp.Compare(x.Frame.Name, y.Frame.Name))
	})
	return out
}
