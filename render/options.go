// Package render holds what every renderer shares: the registry of output
// formats ([Format], [Descriptor], [Lookup], [ParseFormat], [Formats],
// [Write]) and the [Options] that choose the view and transform its trees.
//
// Each format lives in its own package (render/text, render/speedscope,
// render/pprof, render/folded, render/chrome), which exports its
// Descriptor and registers it when linked; the native file's format,
// [Native], is registered here. Tree and stack formats draw a
// [view.StackSet] or its call trees, so one profile and many profiles
// merged render through the same code; timeline formats draw a view's
// timelines.
package render

import (
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

// Options choose what a renderer shows. The zero value shows the critical
// path, merged, with library frames grouped by the profile's main module.
type Options struct {
	// View is the view to render (default view.Critical).
	View view.Kind
	// NoGroup keeps library and runtime frames instead of folding them.
	NoGroup bool
	// User decides which functions are user code; nil uses the main module
	// recorded in the profile.
	User view.UserCode
	// Threshold drops call-tree nodes below this fraction of the total
	// (0.005 is half a percent); renderers that keep every sample ignore it.
	Threshold float64
	// TimeOrder keeps the tree in time order instead of merging repeated
	// calls.
	TimeOrder bool
	// Color and Unicode are for terminal output.
	Color, Unicode bool
}

// UserCode returns o.User, or the default for p: [view.ProfileUserCode],
// which classifies each function by its package and file.
func (o Options) UserCode(p *profile.Profile) view.UserCode {
	if o.User != nil {
		return o.User
	}
	return view.ProfileUserCode(p)
}

// Trees returns the view's timelines and a call tree for each, with the
// options' transforms applied.
func (o Options) Trees(p *profile.Profile) ([]view.Timeline, []*view.Node, error) {
	tls, err := view.Timelines(p, o.View)
	if err != nil {
		return nil, nil, err
	}
	trees := make([]*view.Node, len(tls))
	for i, tl := range tls {
		name := p.Name
		if len(tls) > 1 || o.View == view.All {
			name = tl.Name
		}
		n := view.Tree(name, tl.Segments, o.TimeOrder)
		o.transform(n, o.UserCode(p))
		trees[i] = n
	}
	return tls, trees, nil
}

// Tree returns the call tree of value i of a stack set, with the options'
// transforms applied; TimeOrder does not apply (a set has no time order).
// Without o.User, user code is code outside the standard library and
// golang.org/x ([view.UserModule] of "").
func (o Options) Tree(s *view.StackSet, i int) *view.Node {
	n := s.Tree(i)
	user := o.User
	if user == nil {
		user = view.UserModule("")
	}
	o.TimeOrder = false
	o.transform(n, user)
	return n
}

// transform groups, prunes and sorts a tree as the options say.
func (o Options) transform(n *view.Node, user view.UserCode) {
	if !o.NoGroup {
		view.GroupLibrary(n, user)
	}
	if o.Threshold > 0 {
		view.Prune(n, int64(o.Threshold*float64(n.Total)))
	}
	if !o.TimeOrder {
		n.SortByTotal()
	}
}

// Timelines returns the view's timelines with library frames grouped in
// every segment's path unless o.NoGroup.
func (o Options) Timelines(p *profile.Profile) ([]view.Timeline, error) {
	tls, err := view.Timelines(p, o.View)
	if err != nil {
		return nil, err
	}
	if o.NoGroup {
		return tls, nil
	}
	user := o.UserCode(p)
	segs := make([][]view.Segment, len(tls))
	for i := range tls {
		segs[i] = tls[i].Segments
	}
	view.GroupPaths(user, segs...)
	return tls, nil
}
