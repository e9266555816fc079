package view_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/internal/fixture"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	runtime.GC()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// size is a profile's size in records: what a view may cost a constant
// amount per.
func size(p *profile.Profile) int {
	n := len(p.Samples) + len(p.Regions) + len(p.Logs) + len(p.Goroutines)
	for _, g := range p.Goroutines {
		n += len(g.Intervals)
	}
	for _, s := range p.Stacks {
		n += len(s.Frames)
	}
	return n
}

// views computes every view of p and a tree of each.
var views = map[string]func(p *profile.Profile){
	"critical": func(p *profile.Profile) {
		tl := view.CriticalPath(p)
		view.Tree(p.Name, tl.Segments, false)
	},
	"goroutines": func(p *profile.Profile) {
		for _, tl := range view.PerGoroutine(p) {
			view.Tree(p.Name, tl.Segments, true)
		}
	},
	"each": func(p *profile.Profile) { view.EachGoroutine(p) },
	"all": func(p *profile.Profile) {
		tl := view.AllGoroutines(p)
		view.Tree(p.Name, tl.Segments, false)
	},
	"samples":   func(p *profile.Profile) { view.Samples(p) },
	"summarize": func(p *profile.Profile) { view.Summarize(p) },
}

// TestViewCostIsLinear computes every view of profiles shaped like hostile
// files and bounds the memory each view allocates by the profile's size:
// 64 MiB (the critical path may follow wakers for a million frames
// whatever the size) and 2 KiB a record. Before views were linear, in
// -short mode, the ping-pong profile's critical path took 53 KB a record
// (1 GiB for 10,000 wake-ups each way: a chain of explanations 24 deep for
// every wait, each path longer than the last), the waker chain's 6.2 KB a
// record, and the regions' views 79 KB a record (every cut at a region
// boundary listed every later boundary), all growing with the profile. Now
// the largest, the waker chain's critical path, takes under 3 KB a record
// in -short mode (the fixed part) and 1.9 KB without, the others under
// 1.2 KB.
func TestViewCostIsLinear(t *testing.T) {
	const perRecord = 2 << 10
	// The critical path may follow wakers for a million frames (48 MiB)
	// whatever the profile's size.
	const fixed = 64 << 20
	n := 20_000
	if testing.Short() {
		n = 5_000
	}
	cases := []struct {
		name string
		p    *profile.Profile
	}{
		{"pingpong", fixture.PingPong(n)},
		{"chain", fixture.WakerChain(25, n/5)},
		{"regions", fixture.Regions(n)},
		{"nested-regions", fixture.NestedRegions(n / 10)},
		{"deep-stack", fixture.DeepStack(128, 10, n/10)},
	}
	for _, c := range cases {
		if err := c.p.CheckValid(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for name, v := range views {
			t.Run(fmt.Sprintf("%s/%s", c.name, name), func(t *testing.T) {
				got := allocated(func() { v(c.p) })
				limit := uint64(perRecord*size(c.p) + fixed)
				t.Logf("%d bytes, %.0f a record", got, float64(got)/float64(size(c.p)))
				if got > limit {
					t.Errorf("%s of %s allocated %d bytes, more than %d (64 MiB and %d a record of %d)", name, c.name, got, limit, perRecord, size(c.p))
				}
			})
		}
	}
}

// TestHostileCriticalPathsStayExact checks that the limits keep the
// critical path exact: it still covers the window, nanosecond for
// nanosecond, and says when it stopped following wakers.
func TestHostileCriticalPathsStayExact(t *testing.T) {
	pp := fixture.PingPong(1000)
	cp := view.CriticalPath(pp)
	covers(t, cp, 0, pp.Duration)
	if len(cp.Notes) != 0 {
		t.Errorf("ping-pong: notes %q, want none: cycles are not followed, so nothing is cut", cp.Notes)
	}
	for _, s := range cp.Segments {
		if strings.Count(names(s.Path), "[via") > 1 {
			t.Fatalf("ping-pong: a wait explained through a goroutine already explained: %s", names(s.Path))
		}
	}
	ch := fixture.WakerChain(25, 2000)
	cp = view.CriticalPath(ch)
	covers(t, cp, 0, ch.Duration)
	if len(cp.Notes) != 1 || !strings.Contains(cp.Notes[0], "stopped following wakers") {
		t.Errorf("waker chain: notes %q, want one saying following stopped", cp.Notes)
	}
	deepest := 0
	for _, s := range cp.Segments {
		deepest = max(deepest, strings.Count(names(s.Path), "[via"))
	}
	if deepest != 24 {
		t.Errorf("waker chain followed %d deep, want 24 (the follow depth)", deepest)
	}
}
