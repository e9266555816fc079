package view

import (
	"slices"
	"sort"

	"github.com/reqprof/reqprof/profile"
)

// maxRegionFrames bounds the region frames of one path: regions nested
// deeper on one goroutine (no real program does it; a hostile file can)
// are left out of the path, so a path's length never depends on how many
// regions a goroutine has.
const maxRegionFrames = 32

// regionIndex holds one goroutine's regions for the views.
type regionIndex struct {
	order  []int   // indexes in Profile.Regions, by start (stable)
	bounds []int64 // the distinct starts and ends of non-empty regions, sorted
}

func indexRegions(p *profile.Profile) map[int64]*regionIndex {
	out := map[int64]*regionIndex{}
	for i, r := range p.Regions {
		ri := out[r.Goroutine]
		if ri == nil {
			ri = &regionIndex{}
			out[r.Goroutine] = ri
		}
		ri.order = append(ri.order, i)
		if r.End > r.Start {
			ri.bounds = append(ri.bounds, r.Start, r.End)
		}
	}
	for _, ri := range out {
		sort.SliceStable(ri.order, func(i, j int) bool { return p.Regions[ri.order[i]].Start < p.Regions[ri.order[j]].Start })
		slices.Sort(ri.bounds)
		ri.bounds = slices.Compact(ri.bounds)
	}
	return out
}

// after returns the index in bounds of the first bound after t.
func (ri *regionIndex) after(t int64) int {
	if ri == nil {
		return 0
	}
	return sort.Search(len(ri.bounds), func(i int) bool { return ri.bounds[i] > t })
}

// cut returns the first region bound at index j or later strictly before
// e, and the index after it; ok is false when there is none.
func (ri *regionIndex) cut(j int, e int64) (t int64, next int, ok bool) {
	if ri == nil || j >= len(ri.bounds) || ri.bounds[j] >= e {
		return 0, j, false
	}
	return ri.bounds[j], j + 1, true
}

// regionCursor answers "which regions of the goroutine are active at t" for
// non-decreasing t in amortised constant time per region; a query back in
// time starts over.
type regionCursor struct {
	p    *profile.Profile
	ri   *regionIndex
	t    int64
	next int // position in ri.order of the next region to start
	// The started regions not yet found ended, as a list of positions in
	// ri.order linked by link, in start order.
	head, tail int32
	link       []int32
	buf        []int
}

func newCursor(p *profile.Profile, ri *regionIndex) *regionCursor {
	return &regionCursor{p: p, ri: ri, head: -1, tail: -1}
}

// active returns the regions active at t (Start <= t < End; empty regions
// never are), outermost (first begun) first, at most maxRegionFrames of
// them, in a buffer the next call reuses.
func (c *regionCursor) active(t int64) []int {
	if c == nil || c.ri == nil {
		return nil
	}
	if t < c.t {
		c.next, c.head, c.tail = 0, -1, -1
	}
	c.t = t
	order := c.ri.order
	if c.link == nil {
		c.link = make([]int32, len(order))
	}
	for c.next < len(order) && c.p.Regions[order[c.next]].Start <= t {
		pos := int32(c.next)
		c.next++
		if c.p.Regions[order[pos]].End <= t {
			continue
		}
		c.link[pos] = -1
		if c.tail < 0 {
			c.head = pos
		} else {
			c.link[c.tail] = pos
		}
		c.tail = pos
	}
	c.buf = c.buf[:0]
	prev := int32(-1)
	for pos := c.head; pos >= 0 && len(c.buf) < maxRegionFrames; {
		nxt := c.link[pos]
		if c.p.Regions[order[pos]].End <= t { // ended: unlink for good
			if prev < 0 {
				c.head = nxt
			} else {
				c.link[prev] = nxt
			}
			if c.tail == pos {
				c.tail = prev
			}
		} else {
			c.buf = append(c.buf, order[pos])
			prev = pos
		}
		pos = nxt
	}
	return c.buf
}
