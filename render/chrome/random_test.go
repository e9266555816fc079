package chrome_test

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/chrome"
	"github.com/reqprof/reqprof/view"
)

// randomProfile builds a valid profile with the awkward cases real ones
// have now and then: 1ns intervals, stacks that grow and shrink, the same
// function at several depths, nested, empty and back-to-back regions of one
// type, logs on interval boundaries, wakers inside and outside the profile.
func randomProfile(r *rand.Rand) *profile.Profile {
	funcs := []profile.Frame{
		{Func: "main.a", File: "/app/a.go", Line: 1},
		{Func: "main.b", File: "/app/b.go", Line: 2},
		{Func: "main.c", File: "/app/c.go", Line: 3},
		{Func: "main.a", File: "/app/a.go", Line: 9},
		{Func: "net.(*conn).Read", File: "/go/net.go", Line: 4},
		{Func: "net.(*netFD).Read", File: "/go/fd.go", Line: 5},
		{Func: "sync.(*Mutex).Lock", File: "/go/mutex.go", Line: 6},
		{Func: "runtime/trace.WithRegion", File: "/go/annotation.go", Line: 7},
		{Func: "github.com/reqprof/reqprof.runFunc", File: "/rp/reqprof.go", Line: 8},
	}
	p := &profile.Profile{Name: "random", Frames: funcs, Stacks: []profile.Stack{{}}}
	p.SetAttr(profile.ModuleAttr, "example.com/app")
	for range 12 {
		n := r.IntN(5)
		var fs []profile.FrameID
		if r.IntN(3) == 0 {
			fs = append(fs, 8) // under the harness
		}
		for range n {
			fs = append(fs, profile.FrameID(r.IntN(8)))
		}
		p.Stacks = append(p.Stacks, profile.Stack{Frames: fs})
	}
	stack := func() profile.StackID { return profile.StackID(r.IntN(len(p.Stacks))) }
	p.Duration = 1 + r.Int64N(2_000_000)

	nMembers, nOthers := 1+r.IntN(4), r.IntN(3)
	ids := r.Perm(50)[:nMembers+nOthers]
	for i, id := range ids {
		g := profile.Goroutine{ID: int64(id + 1), Member: i < nMembers, Entry: stack()}
		if i > 0 && g.Member {
			g.Parent = int64(ids[r.IntN(i)] + 1)
			g.CreatedAt = stack()
		}
		if i > 0 {
			g.Start = r.Int64N(p.Duration)
		}
		g.End = g.Start + r.Int64N(p.Duration-g.Start+1)
		for t := g.Start; t < g.End; {
			d := 1 + r.Int64N(max(1, (g.End-g.Start)/4))
			if r.IntN(4) == 0 {
				d = 1
			}
			iv := profile.Interval{Start: t, End: min(t+d, g.End), State: profile.State(1 + r.IntN(4)), Stack: stack()}
			switch iv.State {
			case profile.Waiting:
				iv.Reason = []string{"sleep", "sync", "chan receive", "network"}[r.IntN(4)]
				if r.IntN(3) > 0 {
					iv.Waker = int64(r.IntN(52)) // maybe not in the profile
				}
			case profile.Runnable:
				if r.IntN(2) == 0 {
					iv.Reason = "preempted"
				}
			case profile.Running:
				iv.Inferred = r.IntN(2) == 0
			}
			g.Intervals = append(g.Intervals, iv)
			t = iv.End
		}
		p.Goroutines = append(p.Goroutines, g)
	}
	for range r.IntN(6) {
		g := p.Goroutines[r.IntN(len(p.Goroutines))]
		if g.End == g.Start {
			continue
		}
		s := g.Start + r.Int64N(g.End-g.Start)
		e := s + r.Int64N(g.End-s+1)
		if r.IntN(4) == 0 {
			e = s
		}
		typ := []string{"q", "q", "SQL: x"}[r.IntN(3)]
		p.Regions = append(p.Regions, profile.Region{Goroutine: g.ID, Type: typ, Start: s, End: e, Stack: stack()})
		if r.IntN(2) == 0 && e < g.End { // a back-to-back twin
			p.Regions = append(p.Regions, profile.Region{Goroutine: g.ID, Type: typ, Start: e, End: e + r.Int64N(g.End-e+1), Stack: stack()})
		}
	}
	for range r.IntN(6) {
		g := p.Goroutines[r.IntN(len(p.Goroutines))]
		t := g.Start + r.Int64N(g.End-g.Start+1)
		if len(g.Intervals) > 0 && r.IntN(2) == 0 {
			t = g.Intervals[r.IntN(len(g.Intervals))].Start // on a boundary
		}
		p.Logs = append(p.Logs, profile.Log{Goroutine: g.ID, Time: t, Message: "log"})
	}
	return p
}

var randomProfiles = flag.Int("random", 500, "how many random profiles TestRandomProfiles renders (100 with -short)")

func TestRandomProfiles(t *testing.T) {
	n := *randomProfiles
	if testing.Short() {
		n = min(n, 100)
	}
	for seed := range uint64(n) {
		r := rand.New(rand.NewPCG(seed, 7))
		p := randomProfile(r)
		if err := p.CheckValid(); err != nil {
			t.Fatalf("seed %d: the generator made an invalid profile: %v", seed, err)
		}
		o := render.Options{NoGroup: r.IntN(2) == 0}
		var a, b bytes.Buffer
		if err := chrome.Render(&a, p, o); err != nil {
			t.Fatal(err)
		}
		tr, err := validate(a.Bytes())
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, a.Bytes())
		}
		// Every nanosecond of every goroutine's life is under a slice at
		// depth 0 (but housekeeping goroutines shown in another's lane).
		each := view.EachGoroutine(p)
		for i, g := range p.Goroutines {
			if each[i].ShownIn != 0 {
				continue
			}
			var covered float64
			for _, s := range tr.Slices[g.ID] {
				if s.Depth == 0 {
					covered += s.End - s.Start
				}
			}
			if want := float64(g.End-g.Start) / 1e3; fmt.Sprintf("%.3f", covered) != fmt.Sprintf("%.3f", want) {
				t.Fatalf("seed %d: goroutine %d: slices cover %vµs of its %vµs", seed, g.ID, covered, want)
			}
		}
		if err := chrome.Render(&b, p, o); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("seed %d: output differs between runs", seed)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	// About a busy request: 20 goroutines, 500 intervals each.
	r := rand.New(rand.NewPCG(1, 2))
	var p *profile.Profile
	for {
		p = randomProfile(r)
		if len(p.Goroutines) >= 4 {
			break
		}
	}
	for len(p.Goroutines) < 20 {
		g := p.Goroutines[1]
		g.ID = int64(100 + len(p.Goroutines))
		g.Parent = p.Goroutines[0].ID
		p.Goroutines = append(p.Goroutines[:1], append([]profile.Goroutine{g}, p.Goroutines[1:]...)...)
	}
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		g.Start, g.End = 0, 500*1000
		g.Intervals = g.Intervals[:0]
		for t := int64(0); t < g.End; t += 1000 {
			iv := profile.Interval{Start: t, End: t + 1000, State: profile.State(1 + r.IntN(4)), Stack: profile.StackID(r.IntN(len(p.Stacks)))}
			if iv.State == profile.Waiting {
				iv.Waker = p.Goroutines[r.IntN(len(p.Goroutines))].ID
			}
			g.Intervals = append(g.Intervals, iv)
		}
	}
	p.Duration = 500 * 1000
	p.Regions, p.Logs = nil, nil
	if err := p.CheckValid(); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := chrome.Render(&buf, p, render.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/op")
}
