package chrome

import (
	"slices"
	"testing"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
)

// The views' timelines are in time order, so that a thread's slices open
// and close in the order their events are written; segments out of order
// (which no view makes) still give the events in that order, sorted.
func TestOrderOfSegmentsOutOfOrder(t *testing.T) {
	p := &profile.Profile{
		Name: "x", Duration: 4000,
		Frames: []profile.Frame{{Func: "main.a", File: "/a.go", Line: 1}, {Func: "main.b", File: "/b.go", Line: 2}},
		Stacks: []profile.Stack{{}, {Frames: []profile.FrameID{0}}, {Frames: []profile.FrameID{0, 1}}},
		Goroutines: []profile.Goroutine{{ID: 1, Member: true, Entry: 1, End: 4000, Intervals: []profile.Interval{
			{Start: 0, End: 1000, State: profile.Running, Stack: 2},
			{Start: 1000, End: 2000, State: profile.Waiting, Reason: "sync", Stack: 2},
			{Start: 2000, End: 3000, State: profile.Running, Stack: 1},
			{Start: 3000, End: 4000, State: profile.Syscall, Stack: 2},
		}}},
	}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	tr := build(p, render.Options{})
	k := tr.tracks[0]
	k.segs = slices.Clone(k.segs)
	if len(k.segs) < 3 {
		t.Fatalf("%d segments", len(k.segs))
	}
	slices.Reverse(k.segs)
	tr.fill(k, false)
	if !slices.IsSortedFunc(k.begins, compareBegins) || !slices.IsSortedFunc(k.closed, compareEnds) {
		t.Error("events out of order")
	}
	if slices.IsSortedFunc(k.slices, compareBegins) {
		t.Error("reversed segments opened slices in order: the test does not test the sort")
	}
	if len(k.begins) != len(k.slices) || len(k.closed) != len(k.slices) {
		t.Errorf("%d slices, %d begins, %d ends", len(k.slices), len(k.begins), len(k.closed))
	}
	for _, s := range k.slices {
		if !slices.Contains(k.begins, s) || !slices.Contains(k.closed, s) {
			t.Errorf("slice %s [%d, %d) missing", s.frame.name, s.start, s.end)
		}
	}
}
