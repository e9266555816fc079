package pprof_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
)

// costProfile is 6 ms of work: [reqprof] running 0–1 ms and waiting for its
// own lock 1–3 ms (not followed), then main.work running 3–6 ms, unsampled
// 3–4 ms and sampled once at 5 ms; reqprof added 1.5 ms before the window.
func costProfile() *profile.Profile {
	const ms = int64(time.Millisecond)
	p := &profile.Profile{
		Name: "GET /cost", Duration: 6 * ms, SamplePeriod: 4 * ms,
		Frames: []profile.Frame{
			{Func: "main.main"}, {Func: "github.com/reqprof/reqprof.Do"},
			{Func: "github.com/reqprof/reqprof/capture.(*Manager).Start"}, {Func: "sync.(*Mutex).Lock"},
			{Func: "main.other"}, {Func: "github.com/reqprof/reqprof/capture.Run"}, {Func: "main.work"},
		},
		Stacks: []profile.Stack{
			{}, {Frames: []profile.FrameID{0}},
			{Frames: []profile.FrameID{0, 1, 2, 3}},
			{Frames: []profile.FrameID{4}},
			{Frames: []profile.FrameID{0, 1, 5}},
			{Frames: []profile.FrameID{0, 1, 5, 6}},
		},
		Base: 1, Work: 4,
		Goroutines: []profile.Goroutine{
			{ID: 1, Member: true, End: 6 * ms, Intervals: []profile.Interval{
				{Start: 0, End: 1 * ms, State: profile.Running, Stack: 2},
				{Start: 1 * ms, End: 3 * ms, State: profile.Waiting, Reason: "sync", Stack: 2, Waker: 9},
				{Start: 3 * ms, End: 4 * ms, State: profile.Running, Stack: 5, Inferred: true},
				{Start: 4 * ms, End: 6 * ms, State: profile.Running, Stack: 5},
			}},
			{ID: 9, End: 6 * ms, Intervals: []profile.Interval{{Start: 0, End: 6 * ms, State: profile.Running, Stack: 3}}},
		},
		Samples: []profile.Sample{{Time: 5 * ms, Goroutine: 1, Stack: 5}},
	}
	p.SetAttr(profile.AttrOverhead, "1.5ms")
	return p
}

// The comments (go tool pprof -comments) say how much of the running time
// CPU samples observed and what reqprof cost before and inside the window,
// once: the raw overhead attribute is not repeated.
func TestCommentsSampledShareAndCost(t *testing.T) {
	for _, tc := range []struct {
		r      renderFunc
		stacks string
	}{{full, "full stacks"}, {grouped, "library frames grouped"}} {
		prof := parse(t, costProfile(), render.Options{}, tc.r)
		for _, want := range []string{
			"reqprof: GET /cost (1 goroutines, 1 CPU samples; " + tc.stacks + ")",
			"CPU (critical path): 4ms, 75% sampled, 25% unsampled (1 CPU sample, one per 4ms of running time)",
			"reqprof's own cost: 1.5ms before the window, 3ms inside",
		} {
			if !slices.Contains(prof.Comments, want) {
				t.Errorf("comments lack %q: %q", want, prof.Comments)
			}
		}
		for _, c := range prof.Comments {
			if strings.HasPrefix(c, profile.AttrOverhead+":") {
				t.Errorf("the overhead attribute is repeated: %q", c)
			}
		}
	}

	// Without running time, no share; without a cost, no cost line.
	p := costProfile()
	p.Goroutines = p.Goroutines[:1]
	p.Goroutines[0].Intervals = []profile.Interval{{Start: 0, End: 6 * int64(time.Millisecond), State: profile.Waiting, Reason: "network", Stack: 5}}
	p.Samples, p.Attrs = nil, nil
	prof := parse(t, p, render.Options{}, full)
	if !slices.Contains(prof.Comments, "CPU (critical path): 0s (0 CPU samples, one per 4ms of running time)") {
		t.Errorf("comments of a profile that never ran: %q", prof.Comments)
	}
	for _, c := range prof.Comments {
		if strings.HasPrefix(c, "reqprof's own cost") {
			t.Errorf("a cost line without a cost: %q", c)
		}
	}
}
