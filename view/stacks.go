package view

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/reqprof/reqprof/profile"
)

// StackSet is a set of weighted stacks: what tree and stack renderers
// (text, folded, pprof) draw, whether the stacks come from one profile's
// view or from many profiles merged.
//
// Every stack has one value per type (nanoseconds: "critical", "wall",
// "cpu", ...) and labels (goroutine, state, wait reason, inferred). Equal
// stacks — same path, labels and Enter — are one. Stacks keep the order in
// which they were first added, so what is built from the same timelines is
// built the same way.
type StackSet struct {
	// Name names what the set is of (a profile's name, a route); it is the
	// root of the set's trees.
	Name string
	// Types names the values of every stack, each a number of
	// nanoseconds; Default is the index of the one to show by default.
	Types   []string
	Default int
	// Start and Duration describe the time the set covers: the start of
	// the (first) profile and its (their summed) wall time.
	Start    time.Time
	Duration int64
	// Comments are lines that formats with a header or comments show:
	// what the set is of, its metadata, notes.
	Comments []string

	Stacks []Stack

	frames map[Frame]uint32
	index  map[string]int
	buf    []byte
	slab   []int64 // where new stacks' Values and Counts come from
	// unlabeled sets keep only what a call tree needs: stacks that differ
	// only in goroutine, state or reason are one.
	unlabeled bool
}

// Stack is one weighted stack of a StackSet.
type Stack struct {
	// Path is outermost first, as in a Segment.
	Path []Frame
	// Goroutine, State and Reason are those of the segments the stack
	// holds (Goroutine 0 and State 0 when they do not apply, as in a merge
	// across profiles).
	Goroutine int64
	State     profile.State
	Reason    string
	// Inferred marks running time no CPU sample observed.
	Inferred bool
	// Enter is the depth at which the stretches of time the stack holds
	// entered the tree: 0 at its root, i at Path[i-1]. A stretch that goes
	// on from the one before it (a wait the critical path cut in pieces)
	// enters only where the two paths part. Counts[t] is the number of
	// those stretches in value t; a tree counts, at each node, the
	// stretches that entered it ([Node.Count]).
	Enter  int
	Values []int64
	Counts []int64
}

// NewStackSet returns an empty set named name with the value types.
func NewStackSet(name string, types ...string) *StackSet {
	return &StackSet{Name: name, Types: types}
}

// Add adds value v and count stretches of type i to the stack st (its
// Values and Counts are ignored), adding the stack if it is new. The set
// keeps st.Path: the caller must not change it afterwards.
func (s *StackSet) Add(i int, st Stack, v, count int64) {
	k := s.key(&st)
	j, ok := s.index[k]
	if !ok {
		j = len(s.Stacks)
		s.index[k] = j
		n := len(s.Types)
		if len(s.slab) < 2*n {
			s.slab = make([]int64, 2*n*512)
		}
		st.Values, st.Counts = s.slab[:n:n], s.slab[n:2*n:2*n]
		s.slab = s.slab[2*n:]
		s.Stacks = append(s.Stacks, st)
	}
	s.Stacks[j].Values[i] += v
	s.Stacks[j].Counts[i] += count
}

// key returns the identity of st in s.
func (s *StackSet) key(st *Stack) string {
	if s.index == nil {
		s.index = map[string]int{}
		s.frames = map[Frame]uint32{}
	}
	b := s.buf[:0]
	b = binary.AppendVarint(b, st.Goroutine)
	b = append(b, byte(st.State))
	if st.Inferred {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(st.Enter))
	b = binary.AppendUvarint(b, uint64(len(st.Reason)))
	b = append(b, st.Reason...)
	for _, f := range st.Path {
		id, ok := s.frames[f]
		if !ok {
			id = uint32(len(s.frames))
			s.frames[f] = id
		}
		b = binary.AppendUvarint(b, uint64(id))
	}
	s.buf = b
	return string(b)
}

// AddTimeline adds the time of tl's segments to value i, each segment's
// path under prefix. It counts stretches as a call tree of the timeline
// does: a segment that starts where the one before it (of the same
// goroutine, when the timeline's segments overlap) ended goes on with the
// frames the two share.
func (s *StackSet) AddTimeline(i int, tl *Timeline, prefix ...Frame) {
	s.addSegments(i, tl.Segments, prefix, false)
}

// AddRunning is AddTimeline for the running segments of tl only (on-CPU
// time); they are counted as AddTimeline counts them, so their stacks are
// those AddTimeline gives them.
func (s *StackSet) AddRunning(i int, tl *Timeline, prefix ...Frame) {
	s.addSegments(i, tl.Segments, prefix, true)
}

func (s *StackSet) addSegments(i int, segs []Segment, prefix []Frame, running bool) {
	overlap := false
	for j := 1; j < len(segs) && !overlap; j++ {
		overlap = segs[j].Start < segs[j-1].End
	}
	type last struct {
		end  int64
		path []Frame
	}
	var prev last
	var prevG map[int64]last
	if overlap {
		prevG = map[int64]last{}
	}
	for _, seg := range segs {
		d := seg.End - seg.Start
		if d <= 0 {
			continue
		}
		path := seg.Path
		if len(prefix) > 0 {
			path = append(slices.Clip(prefix), seg.Path...)
		}
		pv := prev
		if overlap {
			pv = prevG[seg.Goroutine]
		}
		enter := 0
		if pv.path != nil && pv.end == seg.Start {
			enter = 1 + sharedKeys(pv.path, path)
		}
		if !running || seg.State == profile.Running {
			st := Stack{Path: path, Goroutine: seg.Goroutine, State: seg.State, Reason: seg.Reason, Inferred: seg.Inferred, Enter: enter}
			if s.unlabeled {
				st.Goroutine, st.State, st.Reason = 0, 0, ""
			}
			s.Add(i, st, d, 1)
		}
		cur := last{seg.End, path}
		if cur.path == nil {
			cur.path = []Frame{}
		}
		if overlap {
			prevG[seg.Goroutine] = cur
		} else {
			prev = cur
		}
	}
}

// sharedKeys returns how many leading frames a and b share, comparing
// frames as call trees do (by function and file, not line).
func sharedKeys(a, b []Frame) int {
	n := 0
	for n < len(a) && n < len(b) && a[n].key() == b[n].key() {
		n++
	}
	return n
}

// AddSamples adds weight to value i for each segment (CPU samples: see
// [Samples]), each its own stretch of time.
func (s *StackSet) AddSamples(i int, segs []Segment, weight int64) {
	for _, seg := range segs {
		s.Add(i, Stack{Path: seg.Path, Goroutine: seg.Goroutine, State: seg.State, Reason: seg.Reason, Inferred: seg.Inferred}, weight, 1)
	}
}

// Merge adds o's stacks to s, value by value of the same type name; types
// of o that s lacks are added to s.
func (s *StackSet) Merge(o *StackSet) {
	idx := make([]int, len(o.Types))
	for i, t := range o.Types {
		j := slices.Index(s.Types, t)
		if j < 0 {
			j = len(s.Types)
			s.Types = append(s.Types, t)
			for k := range s.Stacks {
				s.Stacks[k].Values = append(s.Stacks[k].Values, 0)
				s.Stacks[k].Counts = append(s.Stacks[k].Counts, 0)
			}
		}
		idx[i] = j
	}
	for _, st := range o.Stacks {
		for i, v := range st.Values {
			if v != 0 || st.Counts[i] != 0 {
				s.Add(idx[i], st, v, st.Counts[i])
			}
		}
	}
	s.Duration += o.Duration
	if s.Start.IsZero() || (!o.Start.IsZero() && o.Start.Before(s.Start)) {
		s.Start = o.Start
	}
}

// Total returns the sum of value i over the stacks.
func (s *StackSet) Total(i int) int64 {
	var n int64
	for _, st := range s.Stacks {
		n += st.Values[i]
	}
	return n
}

// Tree returns the call tree of value i: every stack with time in it under
// a root named s.Name, calls of a function at the same place merged into
// one node (a flame graph), children in the order they first appear.
func (s *StackSet) Tree(i int) *Node {
	root := &Node{Frame: Frame{Name: s.Name, Kind: Func}}
	for _, st := range s.Stacks {
		d, c := st.Values[i], st.Counts[i]
		if d == 0 && c == 0 {
			continue
		}
		n := root
		n.addStack(d, c, st.Inferred, st.Enter <= 0)
		for k, f := range st.Path {
			n = n.child(f, false)
			n.addStack(d, c, st.Inferred, st.Enter <= k+1)
		}
		n.Self += d
	}
	return root
}

func (n *Node) addStack(d, count int64, inferred, entered bool) {
	n.Total += d
	if inferred {
		n.Inferred += d
	}
	if entered {
		n.Count += int(count)
	}
}
