package view_test

import (
	"strings"
	"testing"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

// names returns a path's frame names joined by ";".
func names(path []view.Frame) string {
	var s []string
	for _, f := range path {
		s = append(s, f.Name)
	}
	return strings.Join(s, ";")
}

func covers(t *testing.T, tl view.Timeline, from, to int64) {
	t.Helper()
	prev := from
	for _, s := range tl.Segments {
		if s.Start != prev || s.End <= s.Start {
			t.Fatalf("%s: segment [%d,%d) after %d: gap, overlap or empty", tl.Name, s.Start, s.End, prev)
		}
		prev = s.End
	}
	if prev != to {
		t.Fatalf("%s ends at %d, want %d", tl.Name, prev, to)
	}
}

func TestCriticalPathFollowsWakers(t *testing.T) {
	p := handlerProfile()
	cp := view.CriticalPath(p)
	covers(t, cp, 0, p.Duration)
	var got []string
	for _, s := range cp.Segments {
		got = append(got, names(s.Path))
	}
	want := []string{
		"main.handler;main.authorize",
		"main.handler;main.loadUser;[wait: chan receive];[via goroutine 7: main.queryUser];main.queryUser",
		"main.handler;main.loadUser;[wait: chan receive];[via goroutine 7: main.queryUser];main.queryUser;database/sql.(*DB).QueryContext;net.(*conn).Read;[wait: network]",
		"main.handler;main.loadUser;[wait: chan receive];[via goroutine 7: main.queryUser];main.queryUser",
		"main.handler;main.loadUser;[runnable]",
		"main.handler;main.render",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("critical path:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCriticalPathPartialWaker(t *testing.T) {
	// The waker starts after the wait began and the wait outlives it: the
	// uncovered parts stay plain waits.
	p := handlerProfile()
	g := &p.Goroutines[1]
	g.Start = 3 * ms
	g.Intervals[0].Start = 3 * ms
	cp := view.CriticalPath(p)
	covers(t, cp, 0, p.Duration)
	if got := names(cp.Segments[1].Path); got != "main.handler;main.loadUser;[wait: chan receive]" || cp.Segments[1].End != 3*ms {
		t.Errorf("before the waker existed: %s until %d", got, cp.Segments[1].End)
	}
	n := view.Tree("x", cp.Segments, false)
	var wait *view.Node
	n.Walk(func(n *view.Node, _ int) {
		if n.Frame.Name == "[wait: chan receive]" {
			wait = n
		}
	})
	if wait == nil || wait.Count != 1 || wait.Total != 5*ms {
		t.Errorf("wait node: %+v, want one wait of 5ms", wait)
	}
}

func TestCriticalPathCycleAndSleep(t *testing.T) {
	// Two goroutines that name each other as wakers, and a sleep whose
	// "waker" must not be followed.
	p := handlerProfile()
	p.Goroutines[1].Intervals[1].Waker = 1
	p.Goroutines[0].Intervals[1].Reason = "sleep"
	cp := view.CriticalPath(p)
	covers(t, cp, 0, p.Duration)
	for _, s := range cp.Segments {
		if strings.Contains(names(s.Path), "[via") {
			t.Errorf("a sleep was explained by another goroutine: %s", names(s.Path))
		}
	}
	p.Goroutines[0].Intervals[1].Reason = "chan receive"
	covers(t, view.CriticalPath(p), 0, p.Duration) // terminates despite the cycle
}

func TestRegionsBecomeFrames(t *testing.T) {
	p := handlerProfile()
	// A region on goroutine 7 around its query, begun in queryUser.
	p.Regions = []profile.Region{{Goroutine: 7, Type: "SQL: SELECT * FROM users WHERE id = ?", Start: 2*ms + 100_000, End: 6*ms + 600_000, Stack: 5}}
	tls := view.PerGoroutine(p)
	covers(t, tls[1], 2*ms, 7*ms)
	var paths []string
	for _, s := range tls[1].Segments {
		paths = append(paths, names(s.Path))
	}
	want := []string{
		"main.queryUser",
		"main.queryUser;SQL: SELECT * FROM users WHERE id = ?",
		"main.queryUser;SQL: SELECT * FROM users WHERE id = ?;database/sql.(*DB).QueryContext;net.(*conn).Read;[wait: network]",
		"main.queryUser;SQL: SELECT * FROM users WHERE id = ?",
		"main.queryUser",
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("goroutine 7:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
	if k := tls[1].Segments[1].Path[1].Kind; k != view.Region {
		t.Errorf("region frame kind %v", k)
	}
}

func TestAllGoroutinesNestsUnderSpawnSite(t *testing.T) {
	p := handlerProfile()
	all := view.AllGoroutines(p)
	var total int64
	for _, s := range all.Segments {
		total += s.End - s.Start
		if s.Goroutine == 7 && !strings.HasPrefix(names(s.Path), "main.handler;main.loadUser;main.queryUser") {
			t.Errorf("goroutine 7 not under its spawn site: %s", names(s.Path))
		}
	}
	if total != 15*ms {
		t.Errorf("all goroutines sum to %d, want 15ms (10 + 5)", total)
	}
}

// TestBaseAndHarnessStripped checks that the root goroutine's stacks lose
// the frames of the work's boundary (Profile.Work, whatever the delivery
// code's names), and that its stacks outside the work are the profiler's.
func TestBaseAndHarnessStripped(t *testing.T) {
	p := &profile.Profile{
		Name: "job", Duration: 4 * ms,
		Frames: []profile.Frame{
			{Func: "main.main"}, {Func: "example.com/prof.Do"},
			{Func: "example.com/prof/capture.Run"}, {Func: "main.job"},
			{Func: "example.com/prof/capture.(*Manager).Start"}, {Func: "context.WithValue"},
		},
		Stacks: []profile.Stack{
			{}, {Frames: []profile.FrameID{0}},
			{Frames: []profile.FrameID{0, 1, 2, 3}},
			{Frames: []profile.FrameID{0, 1, 4, 5}},
			{Frames: []profile.FrameID{0, 1, 2}},
		},
		Base: 1,
		Work: 4,
		Goroutines: []profile.Goroutine{{ID: 1, Member: true, End: 4 * ms, Intervals: []profile.Interval{
			{Start: 0, End: ms, State: profile.Running, Stack: 3},
			{Start: ms, End: 4 * ms, State: profile.Running, Stack: 2},
		}}},
	}
	cp := view.CriticalPath(p)
	if a, b := names(cp.Segments[0].Path), names(cp.Segments[1].Path); a != "[reqprof]" || b != "main.job" {
		t.Errorf("paths %q, %q; want [reqprof] then main.job", a, b)
	}
}

func TestGroupLibraryAndPrune(t *testing.T) {
	p := handlerProfile()
	n := view.Tree(p.Name, view.CriticalPath(p).Segments, false)
	view.GroupLibrary(n, view.UserModule("example.com/app"))
	var found *view.Node
	n.Walk(func(n *view.Node, _ int) {
		if n.Frame.Name == "database/sql.(*DB).QueryContext" {
			found = n
		}
	})
	if found == nil || len(found.Hidden) != 1 || found.Hidden[0].Name != "net.(*conn).Read" {
		t.Fatalf("grouping: %+v", found)
	}
	if len(found.Children) != 1 || found.Children[0].Frame.Name != "[wait: network]" {
		t.Errorf("hoisted children: %+v", found.Children)
	}
	before := n.Total
	view.Prune(n, 2*ms)
	if n.Total != before {
		t.Error("pruning changed the total")
	}
	n.Walk(func(c *view.Node, _ int) {
		if c != n && c.Total < 2*ms {
			t.Errorf("node %s (%d) survived pruning", c.Frame.Name, c.Total)
		}
	})
}

func TestGroupPath(t *testing.T) {
	user := view.UserModule("example.com/app")
	path := []view.Frame{{Name: "main.h"}, {Name: "net/http.Get"}, {Name: "net/http.(*Client).do"}, {Name: "[wait: select]", Kind: view.Wait}, {Name: "example.com/app.cb"}, {Name: "fmt.Sprintf"}}
	if got := names(view.GroupPath(path, user)); got != "main.h;net/http.Get;[wait: select];example.com/app.cb;fmt.Sprintf" {
		t.Errorf("GroupPath: %s", got)
	}
}

func TestUserModule(t *testing.T) {
	for fn, want := range map[string]bool{
		"main.main":                     true,
		"example.com/app.Handler":       true,
		"example.com/app/db.Query":      true,
		"example.com/app_test.TestX":    true,
		"example.com/application.Other": false,
		"net/http.Get":                  false,
		"time.Sleep":                    false,
	} {
		if got := view.UserModule("example.com/app")(fn); got != want {
			t.Errorf("UserModule(app)(%s) = %v", fn, got)
		}
	}
	for fn, want := range map[string]bool{"net.(*conn).Read": false, "time.Sleep": false, "github.com/x/y.F": true, "golang.org/x/net/http2.F": false, "main.f": true} {
		if got := view.UserModule("")(fn); got != want {
			t.Errorf("UserModule(\"\")(%s) = %v", fn, got)
		}
	}
}

func TestEmptyProfile(t *testing.T) {
	p := &profile.Profile{Stacks: []profile.Stack{{}}}
	for _, k := range view.Kinds() {
		tls, err := view.Timelines(p, k)
		if err != nil {
			t.Fatal(err)
		}
		for _, tl := range tls {
			if len(tl.Segments) != 0 {
				t.Errorf("%s: segments in an empty profile", k)
			}
		}
	}
	if _, err := view.Timelines(p, "flame"); err == nil {
		t.Error("unknown view accepted")
	}
}

func TestOverheadWaitsNotFollowed(t *testing.T) {
	p := &profile.Profile{
		Name: "req", Duration: 3 * ms,
		Frames: []profile.Frame{
			{Func: "main.main"}, {Func: "github.com/reqprof/reqprof.Do"},
			{Func: "github.com/reqprof/reqprof/capture.(*Manager).Start"}, {Func: "sync.(*Mutex).Lock"},
			{Func: "main.otherRequest"}, {Func: "github.com/reqprof/reqprof/capture.Run"},
		},
		Stacks: []profile.Stack{
			{}, {Frames: []profile.FrameID{0}},
			{Frames: []profile.FrameID{0, 1, 2, 3}},
			{Frames: []profile.FrameID{4}},
			{Frames: []profile.FrameID{0, 1, 5}},
		},
		Base: 1,
		Work: 4,
		Goroutines: []profile.Goroutine{
			{ID: 1, Member: true, End: 3 * ms, Intervals: []profile.Interval{
				{Start: 0, End: 3 * ms, State: profile.Waiting, Reason: "sync", Stack: 2, Waker: 9},
			}},
			{ID: 9, End: 3 * ms, Intervals: []profile.Interval{{Start: 0, End: 3 * ms, State: profile.Running, Stack: 3}}},
		},
	}
	cp := view.CriticalPath(p)
	covers(t, cp, 0, p.Duration)
	if got := names(cp.Segments[0].Path); got != "[reqprof];[wait: sync]" || len(cp.Segments) != 1 {
		t.Errorf("a wait in the profiler's own code was followed: %s", got)
	}
}

// Under the work's boundary, the delivery code's own calls (wrapping the
// response writer) are the profiler's time too.
func TestDeliveryCallsAreOverhead(t *testing.T) {
	p := &profile.Profile{
		Name: "req", Duration: 2 * ms, Library: []string{"example.com/prof/"},
		Frames: []profile.Frame{{Func: "main.main"}, {Func: "example.com/prof/capture.Run"}, {Func: "example.com/prof/http.wrapWriter"}, {Func: "main.handler"}},
		Stacks: []profile.Stack{{}, {Frames: []profile.FrameID{0}}, {Frames: []profile.FrameID{0, 1}}, {Frames: []profile.FrameID{0, 1, 2}}, {Frames: []profile.FrameID{0, 1, 3}}},
		Base:   1, Work: 2,
		Goroutines: []profile.Goroutine{{ID: 1, Member: true, End: 2 * ms, Intervals: []profile.Interval{
			{Start: 0, End: 1 * ms, State: profile.Running, Stack: 3, Inferred: true},
			{Start: 1 * ms, End: 2 * ms, State: profile.Running, Stack: 4},
		}}},
	}
	cp := view.CriticalPath(p)
	if got := names(cp.Segments[0].Path); got != "[reqprof]" {
		t.Errorf("the delivery code's call: %s, want [reqprof]", got)
	}
	if got := names(cp.Segments[1].Path); got != "main.handler" {
		t.Errorf("the work: %s", got)
	}
}
