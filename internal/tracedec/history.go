package tracedec

import (
	"slices"
	"sync"
)

// How a parse stores goroutines' histories
//
// A parse closes about one interval per event, and a point (a known stack)
// for most, on a few dozen goroutines at once. Appended to each
// goroutine's own slices, they grew each slice by reallocation: two to
// three times the history's size in garbage per parse, most of the
// parse's allocations, and the collections and write barriers they cost.
//
// Instead, while read parses, intervals and points go to one log each, in
// the order they are made, with the goroutine they belong to: the logs
// are a scratch reused from parse to parse (a Parser's own, or pooled, as
// parses may run at once), so they stop growing after the first parses. At the end, flush
// copies each goroutine's records, in their order, into its part of one
// exactly sized array per kind, which the parsed trace owns. A goroutine's
// slices are then what appending to them would have made, and no build
// ever sees the scratch.
//
// scan, which builds profiles while it reads and forgets history as it
// goes, appends to the goroutines' slices directly (a timeline with no
// scratch).

// scratch is a parse's logs of closed intervals and points.
type scratch struct {
	ivs    []rawInterval
	ivOf   []int32 // the goroutine (gor.idx) of each interval
	pts    []point
	ptOf   []int32
	owners []*gor // by gor.idx
	at     []int  // flush's cursors

	peakIvs, peakPts int // the most records held since the last trim
}

// cursors returns two slices of n ints, reusing the scratch's.
func (s *scratch) cursors(n int) (a, b []int) {
	if cap(s.at) < 2*n {
		s.at = make([]int, 2*n)
	}
	s.at = s.at[:2*n]
	return s.at[:n], s.at[n:]
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// maxPooled bounds the records of each kind a kept scratch may hold
// (20 MB of scratch; a busy batch's snapshot of a few MB holds a few
// hundred thousand events): a scratch grown by a larger trace is left to
// the collector, so that one huge parse does not stay in memory. A pooled
// scratch itself goes at the second collection that finds it unused.
const maxPooled = 1 << 18

// reset empties s, keeping its arrays.
func (s *scratch) reset() {
	s.peakIvs, s.peakPts = max(s.peakIvs, len(s.ivs)), max(s.peakPts, len(s.pts))
	clear(s.ivs) // drop the references to the trace's tables and strings
	clear(s.pts)
	clear(s.owners)
	s.ivs, s.ivOf, s.pts, s.ptOf, s.owners = s.ivs[:0], s.ivOf[:0], s.pts[:0], s.ptOf[:0], s.owners[:0]
}

// large reports whether s grew past what is worth keeping.
func (s *scratch) large() bool {
	return cap(s.ivs) > maxPooled || cap(s.pts) > maxPooled
}

// trim drops the arrays of s that are more than four times as large as
// what the parses since the last trim needed: every collection scans a
// kept scratch whole, so one large parse must not make every later,
// smaller one pay for its size.
func (s *scratch) trim() {
	if cap(s.ivs) > 4*max(s.peakIvs, 1024) {
		s.ivs, s.ivOf = nil, nil
	}
	if cap(s.pts) > 4*max(s.peakPts, 1024) {
		s.pts, s.ptOf = nil, nil
	}
	s.peakIvs, s.peakPts = 0, 0
}

// release returns s, empty and trimmed, to the pool.
func (s *scratch) release() {
	if !s.large() {
		s.trim()
		scratches.Put(s)
	}
}

// own gives g its index among the scratch's goroutines, on its first
// record.
func (t *timeline) own(g *gor) int32 {
	if g.owned {
		return g.idx
	}
	g.owned, g.idx = true, int32(len(t.scr.owners))
	t.scr.owners = append(t.scr.owners, g)
	return g.idx
}

// addInterval appends a closed interval to g's history.
func (t *timeline) addInterval(g *gor, iv rawInterval) {
	if t.scr == nil {
		g.ivs = append(g.ivs, iv)
		return
	}
	g.lastIv = len(t.scr.ivs)
	g.nIvs++
	t.scr.ivs = push(t.scr.ivs, iv)
	t.scr.ivOf = push(t.scr.ivOf, t.own(g))
}

// push appends v to s, doubling s when it is full: append grows large
// slices by a quarter, which would make a fresh scratch's growth about
// four times its size in garbage, doubling about once.
func push[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		s = slices.Grow(s, max(len(s), 64))
	}
	return append(s, v)
}

// lastInterval returns g's last closed interval, nil if it has none.
func (t *timeline) lastInterval(g *gor) *rawInterval {
	if t.scr == nil {
		if len(g.ivs) == 0 {
			return nil
		}
		return &g.ivs[len(g.ivs)-1]
	}
	if g.nIvs == 0 {
		return nil
	}
	return &t.scr.ivs[g.lastIv]
}

// addPoint appends a point to g's history.
func (t *timeline) addPoint(g *gor, pt point) {
	if t.scr == nil {
		g.points = append(g.points, pt)
		return
	}
	g.nPts++
	t.scr.pts = push(t.scr.pts, pt)
	t.scr.ptOf = push(t.scr.ptOf, t.own(g))
}

// hasPoints reports whether g has points.
func (t *timeline) hasPoints(g *gor) bool {
	if t.scr == nil {
		return len(g.points) > 0
	}
	return g.nPts > 0
}

// dropPoints forgets g's points so far.
func (t *timeline) dropPoints(g *gor) {
	if t.scr == nil {
		g.points = g.points[:0]
		return
	}
	if g.owned { // else it has nothing in the scratch
		g.nPts, g.ptsFrom = 0, len(t.scr.pts)
	}
}

// flush moves the scratch's records into the goroutines' histories (a
// timeline with a scratch keeps none in them), each goroutine's in the
// order they were made, and detaches the scratch.
func (t *timeline) flush() {
	s := t.scr
	t.scr = nil
	nIvs, nPts := 0, 0
	for _, g := range s.owners {
		nIvs += g.nIvs
		nPts += g.nPts
	}
	// One array per kind, each goroutine's part sized exactly (full slice
	// expressions: appending to one never writes into the next), filled
	// through a cursor per goroutine.
	ivs := make([]rawInterval, nIvs)
	pts := make([]point, nPts)
	ivAt, ptAt := s.cursors(len(s.owners))
	nIvs, nPts = 0, 0
	for k, g := range s.owners {
		g.ivs = ivs[nIvs : nIvs+g.nIvs : nIvs+g.nIvs]
		g.points = pts[nPts : nPts+g.nPts : nPts+g.nPts]
		ivAt[k], ptAt[k] = nIvs, nPts
		nIvs += g.nIvs
		nPts += g.nPts
	}
	for i, k := range s.ivOf {
		ivs[ivAt[k]] = s.ivs[i]
		ivAt[k]++
	}
	for i, k := range s.ptOf {
		if i >= s.owners[k].ptsFrom {
			pts[ptAt[k]] = s.pts[i]
			ptAt[k]++
		}
	}
	for _, g := range s.owners {
		g.owned, g.idx, g.nIvs, g.lastIv, g.nPts, g.ptsFrom = false, 0, 0, 0, 0, 0
	}
	s.reset()
}
