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
	// paths gives each distinct path (by its frames' ids in frames, as
	// varints) an id; pathRefs remembers the id of each path slice seen,
	// so that a path shared by many segments is looked up once.
	paths    map[string]uint32
	pathRefs map[pathRef]uint32
	index    map[stackKey]int
	buf      []byte
	slab     []int64 // where new stacks' Values and Counts come from
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

// stackKey is the identity of a stack in a set: equal stacks have equal
// paths (frame by frame), labels and Enter.
type stackKey struct {
	path      uint32
	state     profile.State
	inferred  bool
	enter     int
	goroutine int64
	reason    string
}

// pathRef identifies a path slice: its first frame's address and length.
// Paths are never changed once given to the set, so a slice seen again
// has the frames it had.
type pathRef struct {
	first *Frame
	n     int
}

// key returns the identity of st in s.
func (s *StackSet) key(st *Stack) stackKey {
	if s.index == nil {
		s.index = map[stackKey]int{}
		s.frames = map[Frame]uint32{}
		s.paths = map[string]uint32{}
		s.pathRefs = map[pathRef]uint32{}
	}
	return stackKey{path: s.pathID(st.Path), state: st.State, inferred: st.Inferred, enter: st.Enter, goroutine: st.Goroutine, reason: st.Reason}
}

// pathID returns the id of path's frames in s.
func (s *StackSet) pathID(path []Frame) uint32 {
	var ref pathRef
	if len(path) > 0 {
		ref = pathRef{&path[0], len(path)}
		if id, ok := s.pathRefs[ref]; ok {
			return id
		}
	}
	b := s.buf[:0]
	for _, f := range path {
		id, ok := s.frames[f]
		if !ok {
			id = uint32(len(s.frames))
			s.frames[f] = id
		}
		b = binary.AppendUvarint(b, uint64(id))
	}
	s.buf = b
	id, ok := s.paths[string(b)]
	if !ok {
		id = uint32(len(s.paths))
		s.paths[string(b)] = id
	}
	if len(path) > 0 {
		s.pathRefs[ref] = id
	}
	return id
}

// AddTimeline adds the time of tl's segments to value i, each segment's
// path under prefix. It counts stretches as a call tree of the timeline
// does: a segment that starts where the one before it (of the same
// goroutine, when the timeline's segments overlap) ended goes on with the
// frames the two share.
func (s *StackSet) AddTimeline(i int, tl *Timeline, prefix ...Frame) {
	s.addSegments(i, [][]Segment{tl.Segments}, prefix, false)
}

// AddRunning is AddTimeline for the running segments of tl only (on-CPU
// time); they are counted as AddTimeline counts them, so their stacks are
// those AddTimeline gives them.
func (s *StackSet) AddRunning(i int, tl *Timeline, prefix ...Frame) {
	s.addSegments(i, [][]Segment{tl.Segments}, prefix, true)
}

// addSegments adds the segments of parts, one after the other as if they
// were one slice.
func (s *StackSet) addSegments(i int, parts [][]Segment, prefix []Frame, running bool) {
	overlap := false
	var before *Segment
scan:
	for _, segs := range parts {
		for j := range segs {
			if before != nil && segs[j].Start < before.End {
				overlap = true
				break scan
			}
			before = &segs[j]
		}
	}
	var prev last
	var prevG map[int64]last
	if overlap {
		prevG = map[int64]last{}
	}
	// Segments share paths: each shared path gets the prefix once.
	var prefixed map[pathRef][]Frame
	if len(prefix) > 0 {
		prefixed = map[pathRef][]Frame{}
	}
	for _, segs := range parts {
		s.addRun(i, segs, prefix, running, prefixed, overlap, &prev, prevG)
	}
}

// last is the end and path of the segment before, in addSegments.
type last struct {
	end  int64
	path []Frame
}

func (s *StackSet) addRun(i int, segs []Segment, prefix []Frame, running bool, prefixed map[pathRef][]Frame, overlap bool, prev *last, prevG map[int64]last) {
	for _, seg := range segs {
		d := seg.End - seg.Start
		if d <= 0 {
			continue
		}
		path := seg.Path
		if len(prefix) > 0 {
			var ref pathRef
			if len(seg.Path) > 0 {
				ref = pathRef{&seg.Path[0], len(seg.Path)}
			}
			if p, ok := prefixed[ref]; ok {
				path = p
			} else {
				path = append(slices.Clip(prefix), seg.Path...)
				prefixed[ref] = path
			}
		}
		pv := *prev
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
			*prev = cur
		}
	}
}

// sharedKeys returns how many leading frames a and b share, comparing
// frames as call trees do (by function and file, not line).
func sharedKeys(a, b []Frame) int {
	if len(a) > 0 && len(b) > 0 && &a[0] == &b[0] {
		return min(len(a), len(b)) // one path, or one a prefix of the other
	}
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
