package view_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

// builder makes hand-made profiles: frames and stacks by function names.
type builder struct {
	p      *profile.Profile
	frames map[string]profile.FrameID
}

func newBuilder(name string, d int64) *builder {
	return &builder{p: &profile.Profile{Name: name, Duration: d, Stacks: []profile.Stack{{}}}, frames: map[string]profile.FrameID{}}
}

// stack interns the stack of funcs, outermost first; "f@file:line" gives a
// frame its file and line.
func (b *builder) stack(funcs ...string) profile.StackID {
	var fs []profile.FrameID
	for _, f := range funcs {
		id, ok := b.frames[f]
		if !ok {
			fr := profile.Frame{Func: f, File: "/app/main.go", Line: 1}
			if fn, loc, ok := strings.Cut(f, "@"); ok {
				fr.Func = fn
				file, line, _ := strings.Cut(loc, ":")
				fr.File = file
				fmt.Sscan(line, &fr.Line)
			}
			id = profile.FrameID(len(b.p.Frames))
			b.p.Frames = append(b.p.Frames, fr)
			b.frames[f] = id
		}
		fs = append(fs, id)
	}
	b.p.Stacks = append(b.p.Stacks, profile.Stack{Frames: fs})
	return profile.StackID(len(b.p.Stacks) - 1)
}

func (b *builder) goroutine(g profile.Goroutine) *builder {
	if len(g.Intervals) > 0 {
		g.Start, g.End = g.Intervals[0].Start, g.Intervals[len(g.Intervals)-1].End
	}
	b.p.Goroutines = append(b.p.Goroutines, g)
	return b
}

func (b *builder) done(t *testing.T) *profile.Profile {
	t.Helper()
	if err := b.p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	return b.p
}

func run(s, e int64, st profile.StackID) profile.Interval {
	return profile.Interval{Start: s, End: e, State: profile.Running, Stack: st}
}

func unsampled(s, e int64, st profile.StackID) profile.Interval {
	iv := run(s, e, st)
	iv.Inferred = true
	return iv
}

func wait(s, e int64, reason string, st profile.StackID, waker int64) profile.Interval {
	return profile.Interval{Start: s, End: e, State: profile.Waiting, Reason: reason, Stack: st, Waker: waker}
}

// Unsampled running time is an explicit pseudo-frame under the frame
// credibly running, never a function's own time.
func TestUnsampledIsAPseudoFrame(t *testing.T) {
	b := newBuilder("GET /x", 4*ms)
	h := b.stack("main.handler")
	hq := b.stack("main.handler", "main.query")
	p := b.goroutine(profile.Goroutine{ID: 1, Member: true, Intervals: []profile.Interval{
		unsampled(0, 1*ms, h), run(1*ms, 2*ms, hq), unsampled(2*ms, 4*ms, hq),
	}}).done(t)
	cp := view.CriticalPath(p)
	if got := names(cp.Segments[0].Path); got != "main.handler;[running, unsampled]" {
		t.Errorf("unsampled path %s", got)
	}
	if got := names(cp.Segments[1].Path); got != "main.handler;main.query" {
		t.Errorf("sampled path %s", got)
	}
	tree := view.Tree(p.Name, cp.Segments, false)
	tree.Walk(func(n *view.Node, _ int) {
		var under int64
		for _, c := range n.Children {
			under += c.Inferred
		}
		if n.Frame.Kind == view.Func && n.Inferred != under {
			t.Errorf("%s holds %d of unsampled time itself", n.Frame.Name, n.Inferred-under)
		}
	})
	if s := view.Summarize(p); s.CPUInferred != 3*ms || s.CPUSampled() != 1*ms || s.SampledShare() != 0.25 {
		t.Errorf("summary %+v", s)
	}
}

// Waits inside the runtime's timers and scheduler, or ended by its own
// goroutines, are not followed: whoever ended them says nothing about the
// work. A channel receive is.
func TestRuntimeWaitsNotFollowed(t *testing.T) {
	b := newBuilder("GET /x", 3*ms)
	sleep := b.stack("main.handler", "time.Sleep")
	recv := b.stack("main.handler", "runtime.chanrecv1")
	gc := b.stack("main.handler", "runtime.GC")
	other := b.stack("main.other")
	worker := b.stack("runtime.gcBgMarkWorker")
	p := b.goroutine(profile.Goroutine{ID: 1, Member: true, Intervals: []profile.Interval{
		wait(0, 1*ms, "sync", sleep, 9),           // time.Sleep's own lock: not followed
		wait(1*ms, 2*ms, "chan receive", recv, 9), // followed
		wait(2*ms, 3*ms, "GC", gc, 10),            // ended by a GC worker: not followed
	}}).
		goroutine(profile.Goroutine{ID: 9, Intervals: []profile.Interval{run(0, 3*ms, other)}}).
		goroutine(profile.Goroutine{ID: 10, Entry: worker, Intervals: []profile.Interval{run(0, 3*ms, worker)}}).done(t)
	var got []string
	for _, s := range view.CriticalPath(p).Segments {
		got = append(got, names(s.Path))
	}
	want := []string{
		"main.handler;time.Sleep;[wait: sync]",
		"main.handler;runtime.chanrecv1;[wait: chan receive];[via goroutine 9: main.other];main.other",
		"main.handler;runtime.GC;[wait: GC]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("critical path:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// lockProfile is a request that waits 3ms on a lock held, in turn, by the
// goroutines of n other requests, each waiting at the same place for the
// next: a convoy.
func lockProfile(t *testing.T, n int) *profile.Profile {
	b := newBuilder("GET /w/0", int64(n+1)*ms)
	lock := b.stack("main.handler", "main.log", "sync.(*Mutex).Lock")
	work := b.stack("main.handler", "main.log", "main.write")
	b.goroutine(profile.Goroutine{ID: 1, Member: true, Intervals: []profile.Interval{
		wait(0, int64(n)*ms, "sync", lock, 100),
		run(int64(n)*ms, int64(n+1)*ms, work),
	}})
	// Goroutine 100+k waits until k ms, woken by 100+k+1, then holds the
	// lock for 1ms; the last one holds it from the start.
	for k := range n {
		id := int64(100 + k)
		end := int64(n-k) * ms
		g := profile.Goroutine{ID: id, Task: fmt.Sprintf("GET /w/%d", k+1)}
		if k < n-1 {
			g.Intervals = append(g.Intervals, wait(0, end-ms, "sync", lock, id+1))
			g.Intervals = append(g.Intervals, run(end-ms, end, work))
		} else {
			g.Intervals = append(g.Intervals, run(0, end, work))
		}
		b.goroutine(g)
	}
	return b.done(t)
}

// A chain of waits at one place (a convoy of other requests on a lock) is
// one node with the count, their work flat under it: the paths stay short
// however long the chain.
func TestConvoyCollapsed(t *testing.T) {
	p := lockProfile(t, 20)
	cp := view.CriticalPath(p)
	covers(t, cp, 0, p.Duration)
	convoy := "[via a convoy of 20 goroutines on sync.(*Mutex).Lock, 20 of other requests]"
	for _, s := range cp.Segments {
		if len(s.Path) > 8 {
			t.Errorf("path of %d frames: %s", len(s.Path), names(s.Path))
		}
		vias := 0
		for _, f := range s.Path {
			if f.Kind == view.Via {
				vias++
				if f.Name != convoy {
					t.Errorf("via frame %q, want %q", f.Name, convoy)
				}
			}
		}
		if vias > 1 {
			t.Errorf("nested vias: %s", names(s.Path))
		}
	}
	tree := view.Tree(p.Name, cp.Segments, false)
	var lockWait *view.Node
	tree.Walk(func(n *view.Node, _ int) {
		if n.Frame.Name == "[wait: sync]" {
			lockWait = n
		}
	})
	if lockWait == nil || len(lockWait.Children) != 1 || lockWait.Children[0].Frame.Name != convoy {
		t.Fatalf("no convoy node under the wait:\n%s", dump(tree))
	}
	// Header and tree agree: the request waited on the lock, whatever the
	// other requests did meanwhile.
	s := view.Summarize(p)
	if s.Waiting != lockWait.Total || len(s.Waits) != 1 || s.Waits[0] != (view.WaitTime{Reason: "sync", Time: 20 * ms, Count: 1}) || s.CPU != 1*ms {
		t.Errorf("summary %+v, the tree's lock wait %d", s, lockWait.Total)
	}
}

// One other request's goroutine is named with its request.
func TestViaOtherRequestNamed(t *testing.T) {
	p := lockProfile(t, 1)
	cp := view.CriticalPath(p)
	want := "main.handler;main.log;sync.(*Mutex).Lock;[wait: sync];[via goroutine 100, request GET /w/1: main.write];main.handler;main.log;main.write"
	if got := names(cp.Segments[0].Path); got != want {
		t.Errorf("path %s\nwant %s", got, want)
	}
	if s := view.Summarize(p); s.Waiting != 1*ms || s.CPU != 1*ms || s.Followed != 1*ms {
		t.Errorf("summary %+v", s)
	}
}

// Goroutines a library started during the work that never ended one of
// its waits are housekeeping: not counted, one lane per entry function,
// but their time in the all-goroutines view.
func TestHousekeeping(t *testing.T) {
	b := newBuilder("GET /list", 10*ms)
	h := b.stack("main.handler")
	await := b.stack("database/sql.(*Tx).awaitDone@/usr/local/go/src/database/sql/sql.go:2200")
	helper := b.stack("main.fetch")
	recv := b.stack("main.handler", "runtime.chanrecv1")
	b.goroutine(profile.Goroutine{ID: 1, Member: true, Intervals: []profile.Interval{
		run(0, 1*ms, h), wait(1*ms, 9*ms, "chan receive", recv, 5), run(9*ms, 10*ms, h),
	}})
	for id := int64(2); id <= 4; id++ {
		b.goroutine(profile.Goroutine{ID: id, Parent: 1, Member: true, CreatedAt: h, Entry: await, Intervals: []profile.Interval{
			run(id*ms, id*ms+100_000, await), wait(id*ms+100_000, 10*ms, "select", await, 0),
		}})
	}
	p := b.goroutine(profile.Goroutine{ID: 5, Parent: 1, Member: true, CreatedAt: h, Entry: helper, Intervals: []profile.Interval{
		run(1*ms, 9*ms, helper),
	}}).done(t)
	if hk := view.Housekeeping(p); len(hk) != 3 || !hk[2] || !hk[3] || !hk[4] {
		t.Errorf("housekeeping %v", hk)
	}
	if s := view.Summarize(p); s.Goroutines != 2 || s.Housekeeping != 3 {
		t.Errorf("summary: %d goroutines, %d housekeeping", s.Goroutines, s.Housekeeping)
	}
	tls := view.PerGoroutine(p)
	if len(tls) != 3 || tls[1].Name != "database/sql.(*Tx).awaitDone ×3 (housekeeping; goroutine 2 shown)" || len(tls[1].Goroutines) != 3 {
		for _, tl := range tls {
			t.Logf("lane %q %v", tl.Name, tl.Goroutines)
		}
		t.Fatalf("%d lanes", len(tls))
	}
	each := view.EachGoroutine(p)
	if len(each) != len(p.Goroutines) || each[2].ShownIn != 2 || len(each[2].Segments) == 0 || each[1].ShownIn != 0 {
		t.Errorf("EachGoroutine: %+v", each)
	}
	var per int64
	for _, g := range p.Goroutines {
		per += g.End - g.Start
	}
	if all := view.AllGoroutines(p); all.Total() != per {
		t.Errorf("all goroutines: %d, want every goroutine's time %d", all.Total(), per)
	}
}

// Method values show as their method; the library's frames repeated
// between middlewares fold.
func TestFrameNames(t *testing.T) {
	b := newBuilder("GET /x", 1*ms)
	st := b.stack("main.handler", "main.(*S).auth-fm", "main.(*S).auth", "main.(*S).check-fm")
	p := b.goroutine(profile.Goroutine{ID: 1, Member: true, Intervals: []profile.Interval{run(0, 1*ms, st)}}).done(t)
	if got := names(view.CriticalPath(p).Segments[0].Path); got != "main.handler;main.(*S).auth;main.(*S).check" {
		t.Errorf("path %s", got)
	}

	hf := "net/http.HandlerFunc.ServeHTTP@/usr/local/go/src/net/http/server.go:2286"
	b = newBuilder("GET /x", 1*ms)
	st = b.stack("net/http.(*ServeMux).ServeHTTP", hf, "main.mw1.func1", hf, "main.mw2.func1", hf, "main.handler")
	p = b.goroutine(profile.Goroutine{ID: 1, Member: true, Intervals: []profile.Interval{run(0, 1*ms, st)}}).done(t)
	tree := view.Tree(p.Name, view.CriticalPath(p).Segments, false)
	view.GroupLibrary(tree, view.ProfileUserCode(p))
	var chain []string
	for n := tree; ; n = n.Children[0] {
		chain = append(chain, n.Frame.Name)
		if len(n.Children) != 1 {
			break
		}
	}
	if got := strings.Join(chain, ";"); got != "GET /x;net/http.(*ServeMux).ServeHTTP;main.mw1.func1;main.mw2.func1;main.handler" {
		t.Errorf("tree:\n%s", dump(tree))
	}
	path := view.GroupPath(view.CriticalPath(p).Segments[0].Path, view.ProfileUserCode(p))
	if got := names(path); got != "net/http.(*ServeMux).ServeHTTP;main.mw1.func1;main.mw2.func1;main.handler" {
		t.Errorf("grouped path %s", got)
	}
}

// A library's closure inlined into main is named after main, but its
// file says whose it is.
func TestProfileUserCodeByFile(t *testing.T) {
	b := newBuilder("GET /x", 1*ms)
	st := b.stack("main.main.func1@/app/main.go:10",
		"main.main.RemoveTrailingSlashWithConfig.func1.1@/root/go/pkg/mod/github.com/labstack/echo/v4@v4.11.4/middleware/slash.go:118",
		"main.main.AuthMiddleware.func3@/app/users/auth.go:20")
	p := b.goroutine(profile.Goroutine{ID: 1, Member: true, Intervals: []profile.Interval{run(0, 1*ms, st)}}).done(t)
	user := view.ProfileUserCode(p)
	for fn, want := range map[string]bool{
		"main.main.func1": true, "main.main.RemoveTrailingSlashWithConfig.func1.1": false, "main.main.AuthMiddleware.func3": true,
	} {
		if user(fn) != want {
			t.Errorf("user(%q) = %v, want %v", fn, !want, want)
		}
	}
}

func TestShortNames(t *testing.T) {
	fns := []string{"github.com/me/app/http.Serve", "net/http.HandlerFunc.ServeHTTP", "github.com/x/y/db.(*Conn).Query", "main.main"}
	short := view.ShortNames(fns)
	for fn, want := range map[string]string{
		"github.com/me/app/http.Serve":    "app/http.Serve",
		"net/http.HandlerFunc.ServeHTTP":  "net/http.HandlerFunc.ServeHTTP",
		"github.com/x/y/db.(*Conn).Query": "db.(*Conn).Query",
		"main.main":                       "main.main",
		"github.com/z/other.F":            "other.F",
	} {
		if got := short(fn); got != want {
			t.Errorf("short(%q) = %q, want %q", fn, got, want)
		}
	}
}
