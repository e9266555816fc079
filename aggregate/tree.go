package aggregate

import (
	"github.com/reqprof/reqprof/view"
)

// Tree is an aggregate's call tree of one type, with, at each node, the
// distribution of the node's time over the profiles that reached it: "in
// 27 of 30 requests, median 41µs".
type Tree struct {
	Root *view.Node
	// N is the number of profiles of the aggregate.
	N     int
	dists map[*view.Node]*Dist
}

// Dist returns the distribution of node n's time over the profiles, or nil
// when the tree's transforms merged n from several of the aggregate's
// nodes (library frames folded at rendering time).
func (t *Tree) Dist(n *view.Node) *Dist { return t.dists[n] }

// TreeOptions transform a tree, as render.Options do.
type TreeOptions struct {
	// NoGroup keeps library frames of an aggregate of full stacks; an
	// aggregate of grouped stacks is already grouped.
	NoGroup bool
	// User decides what is user code when grouping at rendering time
	// (default: code outside the standard library and golang.org/x).
	User view.UserCode
	// Threshold drops nodes below this fraction of the total.
	Threshold float64
}

// Tree returns the call tree of type i, sorted by total, under a root named
// by the aggregate's Title.
func (a *Aggregate) Tree(i int, o TreeOptions) *Tree {
	root := a.StackSet().Tree(i)
	t := &Tree{Root: root, N: len(a.Profiles), dists: map[*view.Node]*Dist{}}
	// Match the view's nodes with the aggregate's, by frame key.
	type child struct {
		parent int32
		frame  view.Frame
	}
	children := make(map[child]int32, len(a.Nodes))
	for j, n := range a.Nodes[1:] {
		children[child{n.Parent, a.Frames[n.Frame]}] = int32(j + 1)
	}
	var walk func(vn *view.Node, id int32)
	walk = func(vn *view.Node, id int32) {
		t.dists[vn] = &a.Nodes[id].Dists[i]
		for _, c := range vn.Children {
			if cid, ok := children[child{id, keyFrame(c.Frame)}]; ok {
				walk(c, cid)
			}
		}
	}
	if len(a.Nodes) > 0 {
		walk(root, 0)
	}
	if !a.Grouped && !o.NoGroup {
		user := o.User
		if user == nil {
			user = view.UserModule("")
		}
		view.GroupLibrary(root, user)
		// A node that folding merged with others no longer has one
		// node's distribution: its total says so.
		root.Walk(func(n *view.Node, _ int) {
			if d := t.dists[n]; d != nil && d.Sum != n.Total {
				delete(t.dists, n)
			}
		})
	}
	if o.Threshold > 0 {
		view.Prune(root, int64(o.Threshold*float64(root.Total)))
	}
	root.SortByTotal()
	return t
}
