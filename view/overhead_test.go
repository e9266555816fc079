package view_test

import (
	"testing"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

// The profiler's cost inside the window is every stretch of the critical
// path under "[reqprof]": its running time, and its waits (not followed)
// and runnable time; the cost before the window is the attribute's.
func TestSummaryOverhead(t *testing.T) {
	p := &profile.Profile{
		Name: "req", Duration: 5 * ms,
		Frames: []profile.Frame{
			{Func: "main.main"}, {Func: "github.com/reqprof/reqprof.Do"},
			{Func: "github.com/reqprof/reqprof/capture.(*Manager).Start"}, {Func: "sync.(*Mutex).Lock"},
			{Func: "main.otherRequest"}, {Func: "github.com/reqprof/reqprof/capture.Run"}, {Func: "main.work"},
		},
		Stacks: []profile.Stack{
			{}, {Frames: []profile.FrameID{0}},
			{Frames: []profile.FrameID{0, 1, 2, 3}},
			{Frames: []profile.FrameID{4}},
			{Frames: []profile.FrameID{0, 1, 5}},
			{Frames: []profile.FrameID{0, 1, 5, 6}},
		},
		Base: 1,
		Work: 4,
		Goroutines: []profile.Goroutine{
			{ID: 1, Member: true, End: 5 * ms, Intervals: []profile.Interval{
				{Start: 0, End: 1 * ms, State: profile.Running, Stack: 2},
				{Start: 1 * ms, End: 3 * ms, State: profile.Waiting, Reason: "sync", Stack: 2, Waker: 9},
				{Start: 3 * ms, End: 3*ms + 500_000, State: profile.Runnable, Stack: 2},
				{Start: 3*ms + 500_000, End: 5 * ms, State: profile.Running, Stack: 5},
			}},
			{ID: 9, End: 5 * ms, Intervals: []profile.Interval{{Start: 0, End: 5 * ms, State: profile.Running, Stack: 3}}},
		},
	}
	p.SetAttr(profile.AttrOverhead, "1.5ms")
	s := view.Summarize(p)
	if want := int64(3*ms + 500_000); s.Overhead != want {
		var paths []string
		for _, seg := range view.CriticalPath(p).Segments {
			paths = append(paths, names(seg.Path))
		}
		t.Errorf("overhead inside the window %d, want %d (critical path %q)", s.Overhead, want, paths)
	}
	if s.OverheadBefore != 1*ms+500_000 {
		t.Errorf("overhead before the window %d, want 1.5ms", s.OverheadBefore)
	}
	if s.Waiting != 2*ms || s.Runnable != 500_000 || s.CPU != 2*ms+500_000 {
		t.Errorf("states: %v", s)
	}
}
