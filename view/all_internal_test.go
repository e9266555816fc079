package view

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/reqprof/reqprof/internal/testprofile"
	"github.com/reqprof/reqprof/profile"
)

// sortedAll is AllGoroutines as it was first written: every member's
// segments in the profile's order, then sorted stably by start.
func sortedAll(p *profile.Profile) []Segment {
	x := newPaths(p)
	prefixes, _ := x.spawnPrefixes()
	var out []Segment
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if !g.Member {
			continue
		}
		pre, cur := prefixes[g.ID], x.cursor(g.ID)
		for j := range g.Intervals {
			iv := &g.Intervals[j]
			out = x.emit(out, g.ID, j, iv, iv.Start, iv.End, pre, cur)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// TestAllGoroutinesIsStableSort: the merge of the members' segments (and
// the sort it falls back to when a member's intervals are out of order)
// gives the segments a stable sort by start gives, paths and all, on
// profiles with regions, goroutines that start at one time, non-member
// goroutines and intervals out of order.
func TestAllGoroutinesIsStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	jitter := func(p *profile.Profile) *profile.Profile {
		// Goroutines of different lengths and start times, some outside
		// the work, one with an empty interval.
		for i := range p.Goroutines {
			g := &p.Goroutines[i]
			cut := rng.IntN(len(g.Intervals) + 1)
			g.Intervals = g.Intervals[cut/2 : cut/2+(len(g.Intervals)-cut/2)*3/4]
			shift := int64(rng.IntN(3)) * 500
			for j := range g.Intervals {
				g.Intervals[j].Start += shift
				g.Intervals[j].End += shift
			}
			g.Member = i%7 != 3
		}
		if len(p.Goroutines) > 2 && len(p.Goroutines[2].Intervals) > 1 {
			iv := &p.Goroutines[2].Intervals[1]
			iv.End = iv.Start
		}
		return p
	}
	unordered := func(p *profile.Profile) *profile.Profile {
		ivs := p.Goroutines[1].Intervals
		ivs[0], ivs[1] = ivs[1], ivs[0]
		return p
	}
	cases := map[string]*profile.Profile{
		"handmade":  testprofile.Handmade(),
		"large":     testprofile.Large(50, 40, 0),
		"distinct":  testprofile.Large(80, 9, 5),
		"jittered":  jitter(testprofile.Large(60, 30, 0)),
		"unordered": unordered(testprofile.Large(20, 10, 0)),
		"empty":     testprofile.Empty(),
	}
	for name, p := range cases {
		want := sortedAll(p)
		got := AllGoroutines(p).Segments
		if len(want) == 0 && len(got) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			for i := range min(len(got), len(want)) {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("%s: segment %d of %d/%d: got %+v, want %+v", name, i, len(got), len(want), got[i], want[i])
				}
			}
			t.Fatalf("%s: %d segments, want %d", name, len(got), len(want))
		}
		if name == "large" && !slices.ContainsFunc(got, func(s Segment) bool { return len(s.Regions) > 0 }) {
			t.Errorf("%s: no segment in a region: the case tests less than it should", name)
		}
	}
}

// TestSortByStart: sortByStart is a stable sort by start.
func TestSortByStart(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 7, 100, 5000} {
		segs := make([]Segment, n)
		for i := range segs {
			segs[i] = Segment{Start: int64(rng.IntN(max(n/4, 1))), Interval: i}
		}
		want := slices.Clone(segs)
		sort.SliceStable(want, func(i, j int) bool { return want[i].Start < want[j].Start })
		sortByStart(segs)
		if !reflect.DeepEqual(segs, want) {
			t.Fatalf("n=%d: sortByStart differs from a stable sort", n)
		}
	}
}

// TestTreeOfParts: the tree of several slices of segments is the tree of
// their concatenation, merged and in time order, whether the parts overlap
// in time (goroutines' timelines) or follow each other.
func TestTreeOfParts(t *testing.T) {
	for name, p := range map[string]*profile.Profile{
		"handmade": testprofile.Handmade(),
		"large":    testprofile.Large(30, 25, 0),
		"distinct": testprofile.Large(40, 9, 4),
	} {
		tls := PerGoroutine(p)
		var parts [][]Segment
		var all []Segment
		for _, tl := range tls {
			parts = append(parts, tl.Segments)
			all = append(all, tl.Segments...)
		}
		// One part cut in two: parts that follow each other.
		cp := CriticalPath(p).Segments
		half := len(cp) / 2
		for _, c := range []struct {
			what   string
			parts  [][]Segment
			concat []Segment
		}{
			{"goroutines", parts, all},
			{"critical path in two", [][]Segment{cp[:half], cp[half:]}, cp},
		} {
			for _, timeOrder := range []bool{false, true} {
				got, want := TreeOfParts("x", timeOrder, c.parts...), Tree("x", c.concat, timeOrder)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s, %s, time order %v: the tree of the parts differs from that of their concatenation", name, c.what, timeOrder)
				}
				if got.Total == 0 {
					t.Errorf("%s, %s: empty tree", name, c.what)
				}
			}
		}
	}
}
