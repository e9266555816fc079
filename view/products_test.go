package view_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

func TestParseKind(t *testing.T) {
	for in, want := range map[string]view.Kind{"": view.Critical, "critical": view.Critical, " Goroutines ": view.Goroutines, "ALL": view.All} {
		if got, err := view.ParseKind(in); got != want || err != nil {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := view.ParseKind("flame")
	if err == nil || err.Error() != `unknown view "flame" (valid: critical, goroutines, all)` {
		t.Errorf("ParseKind(flame): %v", err)
	}
	if k := view.Kinds(); len(k) != 3 || k[0] != view.Critical {
		t.Errorf("Kinds() = %v", k)
	}
	view.Kinds()[0] = "x" // a copy: nothing to break
	if view.Kinds()[0] != view.Critical {
		t.Error("Kinds returns a shared slice")
	}
}

// TestSegmentsCarryTheirInterval checks that every segment of every view
// says what its interval said.
func TestSegmentsCarryTheirInterval(t *testing.T) {
	p := handlerProfile()
	p.Goroutines[0].Intervals[2].Reason = "preempted"
	for _, k := range view.Kinds() {
		tls, err := view.Timelines(p, k)
		if err != nil {
			t.Fatal(err)
		}
		for _, tl := range tls {
			for _, s := range tl.Segments {
				g := goroutine(p, s.Goroutine)
				iv := g.Intervals[s.Interval]
				if s.Start < iv.Start || s.End > iv.End || s.State != iv.State || s.Reason != iv.Reason || s.Waker != iv.Waker || s.Inferred != iv.Inferred {
					t.Errorf("%s: segment %+v does not match its interval %+v", k, s, iv)
				}
			}
		}
	}
	cp := view.CriticalPath(p)
	if s := cp.Segments[1]; s.Goroutine != 7 || s.Interval != 0 {
		t.Errorf("the waker's running segment: goroutine %d interval %d", s.Goroutine, s.Interval)
	}
	if s := cp.Segments[4]; s.State != profile.Runnable || s.Reason != "preempted" {
		t.Errorf("runnable segment: %+v", s)
	}
}

func goroutine(p *profile.Profile, id int64) *profile.Goroutine {
	for i := range p.Goroutines {
		if p.Goroutines[i].ID == id {
			return &p.Goroutines[i]
		}
	}
	return nil
}

// TestSegmentRegions checks that a segment names the regions of its
// region frames, that zero-length regions are never frames, and that two
// regions of one type are told apart.
func TestSegmentRegions(t *testing.T) {
	p := handlerProfile()
	p.Regions = []profile.Region{
		{Goroutine: 7, Type: "SQL: SELECT", Start: 2 * ms, End: 4 * ms, Stack: 5},
		{Goroutine: 7, Type: "empty", Start: 3 * ms, End: 3 * ms, Stack: 5},
		{Goroutine: 7, Type: "SQL: SELECT", Start: 4 * ms, End: 6 * ms, Stack: 5},
		{Goroutine: 7, Type: "inner", Start: 5 * ms, End: 6 * ms, Stack: 6},
	}
	for _, tl := range append(view.PerGoroutine(p), view.CriticalPath(p), view.AllGoroutines(p)) {
		for _, s := range tl.Segments {
			var got []string
			for _, f := range s.Path {
				if f.Kind == view.Region {
					got = append(got, f.Name)
				}
			}
			var want []string
			for _, r := range s.Regions {
				want = append(want, p.Regions[r].Type)
				if rg := p.Regions[r]; s.Start < rg.Start || s.End > rg.End {
					t.Errorf("%s: segment [%d,%d) outside its region %d [%d,%d)", tl.Name, s.Start, s.End, r, rg.Start, rg.End)
				}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s: region frames %v, regions %v", tl.Name, got, want)
			}
			if strings.Contains(names(s.Path), "empty") {
				t.Errorf("%s: a zero-length region is a frame: %s", tl.Name, names(s.Path))
			}
		}
	}
	tl := view.PerGoroutine(p)[1]
	var at3, at4 []int
	for _, s := range tl.Segments {
		if s.Start <= 3*ms && 3*ms < s.End {
			at3 = s.Regions
		}
		if s.Start <= 4*ms && 4*ms < s.End {
			at4 = s.Regions
		}
	}
	if !reflect.DeepEqual(at3, []int{0}) || !reflect.DeepEqual(at4, []int{2}) {
		t.Errorf("regions at 3ms %v and 4ms %v, want [0] and [2]", at3, at4)
	}
}

func TestEachGoroutineNamesOutsiders(t *testing.T) {
	p := handlerProfile()
	p.Goroutines = append(p.Goroutines, profile.Goroutine{ID: 9, Entry: 5, End: 10 * ms, Intervals: []profile.Interval{{Start: 0, End: 10 * ms, State: profile.Running, Stack: 5}}})
	p.Goroutines[1].Intervals[1].Waker = 9
	tls := view.EachGoroutine(p)
	if len(tls) != 3 || len(view.PerGoroutine(p)) != 2 {
		t.Fatalf("%d timelines, %d members", len(tls), len(view.PerGoroutine(p)))
	}
	if got := tls[2].Name; got != "goroutine 9: main.queryUser (outside the work; woke goroutine 7)" {
		t.Errorf("outsider named %q", got)
	}
	covers(t, tls[2], 0, 10*ms)
	for i, tl := range view.PerGoroutine(p) {
		if !reflect.DeepEqual(tl, tls[i]) {
			t.Errorf("member %d: EachGoroutine differs from PerGoroutine", i)
		}
	}
}

func TestSamples(t *testing.T) {
	p := handlerProfile()
	p.Regions = []profile.Region{{Goroutine: 7, Type: "SQL: SELECT", Start: 2 * ms, End: 3 * ms, Stack: 5}}
	p.Samples = []profile.Sample{
		{Time: 9 * ms, Goroutine: 1, Stack: 4},
		{Time: 2*ms + 100, Goroutine: 7, Stack: 5},
		{Time: 1 * ms, Goroutine: 1, Stack: 2},
	}
	var got []string
	for _, s := range view.Samples(p) {
		if s.Start != s.End || s.Interval != -1 || s.State != profile.Running {
			t.Errorf("sample segment %+v", s)
		}
		got = append(got, fmt.Sprintf("%d %s", s.Start, names(s.Path)))
	}
	want := []string{
		"1000000 main.handler;main.authorize",
		"2000100 main.handler;main.loadUser;main.queryUser;SQL: SELECT",
		"9000000 main.handler;main.render",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("samples:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSummaryIsTheTreesLeaves checks the one classification: the summary's
// times are the critical-path tree's leaf pseudo-frames and its running
// time, whatever the profile.
func TestSummaryIsTheTreesLeaves(t *testing.T) {
	p := handlerProfile()
	p.Goroutines[0].Intervals[0].Inferred = true
	p.Goroutines[1].Intervals[1].Reason = "preempted"
	p.Goroutines[0].Intervals[2] = profile.Interval{Start: 7 * ms, End: 7*ms + 200_000, State: profile.Syscall, Stack: 3}
	p.Samples = []profile.Sample{{Time: 8 * ms, Goroutine: 1, Stack: 4}, {Time: 8 * ms, Goroutine: 99, Stack: 4}}
	s := view.Summarize(p)
	want := view.Summary{
		Duration: 10 * ms, CPU: 5*ms + 800_000, CPUInferred: 2 * ms, Syscall: 200_000,
		Waiting: 4 * ms, Waits: []view.WaitTime{{Reason: "preempted", Time: 4 * ms, Count: 1}},
		Followed: 5 * ms, Goroutines: 2, Samples: 1,
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("summary\n%+v\nwant\n%+v", s, want)
	}
	if s.CPUSampled() != 3*ms+800_000 {
		t.Errorf("CPUSampled = %d", s.CPUSampled())
	}
	if got, want := s.String(), "10ms: CPU 5.8ms (3.8ms sampled, 2ms unsampled), runnable 0s, syscall 200µs, waiting 4ms (preempted 4ms ×1), via other goroutines 5ms, 2 goroutines"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	// The same numbers from the tree's leaves.
	leaves := map[string]int64{}
	tree := view.Tree(p.Name, view.CriticalPath(p).Segments, false)
	tree.Walk(func(n *view.Node, _ int) {
		switch n.Frame.Kind {
		case view.Wait, view.Syscall, view.Runnable:
			if len(n.Children) == 0 {
				leaves[n.Frame.Name] += n.Total
			}
		case view.Via:
			leaves["via"] += n.Total
		}
		if n.Frame.Kind == view.Func || n.Frame.Kind == view.Region || n.Frame.Kind == view.Unsampled {
			leaves["running"] += n.Self
		}
		if n.Frame.Kind == view.Unsampled {
			leaves["unsampled"] += n.Total
		}
	})
	if leaves["[wait: preempted]"] != s.Waiting || leaves["[syscall]"] != s.Syscall || leaves["running"] != s.CPU || leaves["via"] != s.Followed || leaves["unsampled"] != s.CPUInferred {
		t.Errorf("tree leaves %v disagree with the summary %+v", leaves, s)
	}
}

// lateWaker is handlerProfile where goroutine 7 starts 1ms after the root
// began waiting for it.
func lateWaker() *profile.Profile {
	p := handlerProfile()
	g := &p.Goroutines[1]
	g.Start = 3 * ms
	g.Intervals = g.Intervals[1:]
	g.Intervals[0].Start = 3 * ms
	if err := p.CheckValid(); err != nil {
		panic(err)
	}
	return p
}

// A wait cut in pieces counts once.
func TestSummaryCountsWaits(t *testing.T) {
	p := lateWaker()
	s := view.Summarize(p)
	if len(s.Waits) != 2 || s.Waits[0] != (view.WaitTime{Reason: "network", Time: 3*ms + 500_000, Count: 1}) || s.Waits[1] != (view.WaitTime{Reason: "chan receive", Time: 1 * ms, Count: 1}) {
		t.Errorf("waits %+v", s.Waits)
	}
}

// TestStackSetTreeIsTheTimelineTree checks that a stack set's tree is the
// merged call tree of the timeline it holds, counts included, in every
// view, and that a merge adds up.
func TestStackSetTreeIsTheTimelineTree(t *testing.T) {
	p := lateWaker()
	p.Regions = []profile.Region{{Goroutine: 7, Type: "SQL: SELECT", Start: 4 * ms, End: 5 * ms, Stack: 6}}
	for _, k := range view.Kinds() {
		tls, _ := view.Timelines(p, k)
		for _, tl := range tls {
			s := view.NewStackSet(tl.Name, "wall")
			s.AddTimeline(0, &tl)
			got, want := dump(s.Tree(0)), dump(view.Tree(tl.Name, tl.Segments, false))
			if got != want {
				t.Errorf("%s, %s: set tree\n%s\nwant\n%s", k, tl.Name, got, want)
			}
			if s.Total(0) != tl.Total() {
				t.Errorf("%s: set total %d, timeline %d", k, s.Total(0), tl.Total())
			}
			double := view.NewStackSet(tl.Name, "wall")
			double.Merge(s)
			double.Merge(s)
			if d := double.Tree(0); d.Total != 2*tl.Total() || len(double.Stacks) != len(s.Stacks) {
				t.Errorf("%s: merged twice: total %d of %d, %d stacks of %d", k, d.Total, tl.Total(), len(double.Stacks), len(s.Stacks))
			}
		}
	}
	// The wait the waker explains counts once however many pieces it has.
	cp := view.CriticalPath(p)
	s := view.NewStackSet("x", "critical")
	s.AddTimeline(0, &cp)
	var wait *view.Node
	s.Tree(0).Walk(func(n *view.Node, _ int) {
		if n.Frame.Name == "[wait: chan receive]" {
			wait = n
		}
	})
	if wait == nil || wait.Count != 1 || wait.Total != 5*ms {
		t.Errorf("wait node %+v, want one wait of 5ms", wait)
	}
}

func dump(n *view.Node) string {
	var b strings.Builder
	n.Walk(func(n *view.Node, d int) {
		fmt.Fprintf(&b, "%s%s total=%d self=%d inferred=%d count=%d\n", strings.Repeat("  ", d), n.Frame.Name, n.Total, n.Self, n.Inferred, n.Count)
	})
	return b.String()
}

// In the all-goroutines view, segments of different goroutines overlap: a
// goroutine's wait that starts when another goroutine's ended is a wait of
// its own.
func TestStackSetCountsByGoroutine(t *testing.T) {
	p := &profile.Profile{
		Name: "fan-out", Duration: 4 * ms,
		Frames: []profile.Frame{{Func: "main.main"}, {Func: "main.worker"}},
		Stacks: []profile.Stack{{}, {Frames: []profile.FrameID{0}}, {Frames: []profile.FrameID{1}}},
		Goroutines: []profile.Goroutine{
			{ID: 1, Member: true, Entry: 1, End: 4 * ms, Intervals: []profile.Interval{
				{Start: 0, End: 2 * ms, State: profile.Waiting, Reason: "sleep", Stack: 1},
				{Start: 2 * ms, End: 4 * ms, State: profile.Running, Stack: 1},
			}},
			{ID: 2, Parent: 1, Member: true, Entry: 1, End: 4 * ms, Intervals: []profile.Interval{
				{Start: 0, End: 1 * ms, State: profile.Running, Stack: 1},
				{Start: 1 * ms, End: 2 * ms, State: profile.Running, Stack: 2},
				{Start: 2 * ms, End: 4 * ms, State: profile.Waiting, Reason: "sleep", Stack: 1},
			}},
		},
	}
	all := view.AllGoroutines(p)
	var sleep *view.Node
	view.Tree("all", all.Segments, false).Walk(func(n *view.Node, _ int) {
		if n.Frame.Name == "[wait: sleep]" && sleep == nil {
			sleep = n
		}
	})
	if sleep == nil || sleep.Count != 2 {
		t.Errorf("sleep node %+v, want two sleeps", sleep)
	}
}
