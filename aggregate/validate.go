package aggregate

import (
	"errors"
	"fmt"
	"slices"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

// maxKind bounds the frame kinds an aggregate may hold: view's kinds, with
// room for kinds added later.
const maxKind = 31

// maxTypes bounds the types of an aggregate: From makes four.
const maxTypes = 64

// CheckValid reports whether a satisfies the invariants every aggregate
// holds, whether decoded or freshly built, naming the first violation. The
// rules are:
//
//   - Types number 1 to 64, and their names are distinct and not empty;
//     Default indexes them.
//   - Every FrameID is an index of Frames; frame kinds are in range.
//   - Every stack has one value and one count per type, none negative, at
//     least one not zero; Enter is in [0, len(Frames)+1]; its State is 0 or
//     a profile.State, with a Reason only when waiting or runnable.
//   - Nodes[0] is the root (Parent -1, Frame -1); every other node's
//     parent comes before it, its frame is a call tree's frame (line 0),
//     and no two children of one node have the same frame. Each node and
//     function has one distribution per type, each consistent (see
//     [Dist]) and counting at most len(Profiles) profiles.
//   - The nodes are the call trees of the stacks: for every type, the sum
//     of a node's distribution is the total of the stacks through it.
//   - Profiles' durations and times are not negative; waits count at most
//     len(Profiles) profiles.
//
// CheckValid runs in time linear in the size of the aggregate.
func (a *Aggregate) CheckValid() error {
	if a == nil {
		return errors.New("aggregate: nil aggregate")
	}
	nt := len(a.Types)
	if nt == 0 || nt > maxTypes {
		return fmt.Errorf("aggregate: %d types (want 1 to %d)", nt, maxTypes)
	}
	for i, t := range a.Types {
		if t == "" || slices.Index(a.Types, t) != i {
			return fmt.Errorf("aggregate: type %d %q is empty or repeated", i, t)
		}
	}
	if a.Default < 0 || a.Default >= nt {
		return fmt.Errorf("aggregate: default type %d of %d", a.Default, nt)
	}
	np := int64(len(a.Profiles))
	for i, in := range a.Profiles {
		if in.Duration < 0 || in.CPU < 0 || in.CPUInferred < 0 || in.Runnable < 0 || in.Syscall < 0 ||
			in.Waiting < 0 || in.Followed < 0 || in.Goroutines < 0 || in.Samples < 0 {
			return fmt.Errorf("aggregate: profile %d (%q): negative duration, time or count", i, in.Name)
		}
	}
	for i, w := range a.Waits {
		if w.Time < 0 || w.Count < 0 || w.Requests < 0 || w.Requests > np {
			return fmt.Errorf("aggregate: wait %d (%q): negative, or in more profiles than the %d merged", i, w.Reason, np)
		}
	}
	for i, f := range a.Frames {
		if f.Kind > maxKind {
			return fmt.Errorf("aggregate: frame %d: kind %d out of range", i, f.Kind)
		}
	}
	frame := func(f FrameID) bool { return f >= 0 && int(f) < len(a.Frames) }
	for i, s := range a.Stacks {
		if len(s.Values) != nt || len(s.Counts) != nt {
			return fmt.Errorf("aggregate: stack %d: %d values and %d counts for %d types", i, len(s.Values), len(s.Counts), nt)
		}
		some := false
		for t := range nt {
			if s.Values[t] < 0 || s.Counts[t] < 0 {
				return fmt.Errorf("aggregate: stack %d: negative value or count", i)
			}
			some = some || s.Values[t] != 0 || s.Counts[t] != 0
		}
		if !some {
			return fmt.Errorf("aggregate: stack %d: no value", i)
		}
		for _, f := range s.Frames {
			if !frame(f) {
				return fmt.Errorf("aggregate: stack %d: frame ID %d out of range (have %d frames)", i, f, len(a.Frames))
			}
		}
		if s.Enter < 0 || s.Enter > len(s.Frames)+1 { // len+1: a stretch that goes on from the one before it throughout
			return fmt.Errorf("aggregate: stack %d: enters at depth %d of %d", i, s.Enter, len(s.Frames))
		}
		if s.State > profile.Syscall {
			return fmt.Errorf("aggregate: stack %d: state %d out of range", i, s.State)
		}
		if s.Reason != "" && s.State != profile.Waiting && s.State != profile.Runnable {
			return fmt.Errorf("aggregate: stack %d: a reason in state %s", i, s.State)
		}
	}

	// Nodes: a tree whose children have distinct frames.
	if len(a.Nodes) == 0 {
		return errors.New("aggregate: no root node")
	}
	if r := a.Nodes[0]; r.Parent != -1 || r.Frame != -1 {
		return errors.New("aggregate: node 0 is not the root (parent -1, frame -1)")
	}
	type child struct {
		parent int32
		frame  FrameID
	}
	children := make(map[child]int32, len(a.Nodes))
	checkDists := func(what string, i int, ds []Dist) error {
		if len(ds) != nt {
			return fmt.Errorf("aggregate: %s %d: %d distributions for %d types", what, i, len(ds), nt)
		}
		for t := range ds {
			if err := ds[t].check(); err != nil {
				return fmt.Errorf("aggregate: %s %d: type %s: %w", what, i, a.Types[t], err)
			}
			if ds[t].N > np {
				return fmt.Errorf("aggregate: %s %d: type %s: in %d profiles of %d", what, i, a.Types[t], ds[t].N, np)
			}
		}
		return nil
	}
	for i, n := range a.Nodes {
		if err := checkDists("node", i, n.Dists); err != nil {
			return err
		}
		if i == 0 {
			continue
		}
		if n.Parent < 0 || int(n.Parent) >= i {
			return fmt.Errorf("aggregate: node %d: parent %d does not come before it", i, n.Parent)
		}
		if !frame(n.Frame) || a.Frames[n.Frame].Line != 0 {
			return fmt.Errorf("aggregate: node %d: frame %d out of range or with a line", i, n.Frame)
		}
		k := child{n.Parent, n.Frame}
		if _, dup := children[k]; dup {
			return fmt.Errorf("aggregate: node %d: a second child of node %d with frame %d", i, n.Parent, n.Frame)
		}
		children[k] = int32(i)
	}
	seen := make(map[FrameID]bool, len(a.Funcs))
	for i, f := range a.Funcs {
		if !frame(f.Frame) || seen[f.Frame] {
			return fmt.Errorf("aggregate: func %d: frame %d out of range or repeated", i, f.Frame)
		}
		seen[f.Frame] = true
		if err := checkDists("func", i, f.Dists); err != nil {
			return err
		}
	}

	// The nodes are the stacks' call trees: walk every stack down the
	// nodes, summing its values.
	keys := make(map[view.Frame]FrameID, len(a.Frames))
	for i, f := range a.Frames {
		if f.Line == 0 {
			keys[f] = FrameID(i)
		}
	}
	sums := make([]int64, len(a.Nodes)*nt)
	for i, s := range a.Stacks {
		n := int32(0)
		add := func() error {
			for t, v := range s.Values {
				if sums[int(n)*nt+t] += v; sums[int(n)*nt+t] < 0 {
					return fmt.Errorf("aggregate: stack %d: node total overflows", i)
				}
			}
			return nil
		}
		if err := add(); err != nil {
			return err
		}
		for _, f := range s.Frames {
			k, ok := keys[keyFrame(a.Frames[f])]
			var c int32
			if ok {
				c, ok = children[child{n, k}]
			}
			if !ok {
				if allZero(s.Values) {
					break // counts alone make no node
				}
				return fmt.Errorf("aggregate: stack %d: no node for its frame %q", i, a.Frames[f].Name)
			}
			n = c
			if err := add(); err != nil {
				return err
			}
		}
	}
	for i, n := range a.Nodes {
		for t := range nt {
			if got := sums[i*nt+t]; got != n.Dists[t].Sum {
				return fmt.Errorf("aggregate: node %d: type %s: distribution sums to %d, stacks through it to %d", i, a.Types[t], n.Dists[t].Sum, got)
			}
		}
	}
	return nil
}

func allZero(vs []int64) bool {
	for _, v := range vs {
		if v != 0 {
			return false
		}
	}
	return true
}
