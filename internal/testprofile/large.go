package testprofile

import (
	"fmt"

	"github.com/reqprof/reqprof/profile"
)

// Large builds a profile of g goroutines with n intervals each,
// cycling through running, waiting (woken by the previous goroutine),
// runnable and syscall states over a few dozen distinct stacks, with a
// region on every tenth goroutine. With distinct > 0, goroutine i runs
// functions of its own kind i%distinct instead (its entry function, stacks
// and region), for tables of many distinct frames and more entry functions
// than the timeline has lanes.
func Large(g, n, distinct int) *profile.Profile {
	p := &profile.Profile{Name: "GET /large", Stacks: []profile.Stack{{}}}
	p.SetAttr(profile.ModuleAttr, "example.com/app")
	for i := range 40 {
		p.Frames = append(p.Frames, profile.Frame{Func: fmt.Sprintf("example.com/app/pkg%d.Func%d", i%7, i), File: fmt.Sprintf("/app/pkg%d/f.go", i%7), Line: 10 + i})
	}
	for i := range 60 {
		depth := 3 + i%9
		var fs []profile.FrameID
		for d := range depth {
			fs = append(fs, profile.FrameID((i*7+d*3)%len(p.Frames)))
		}
		fs[0] = 0
		p.Stacks = append(p.Stacks, profile.Stack{Frames: fs})
	}
	var kinds [][]profile.StackID // the stacks of each kind of goroutine
	const step = 1000             // 1µs per interval
	p.Duration = int64(n * step)
	for gi := range g {
		gr := profile.Goroutine{ID: int64(gi + 1), Member: true, Start: 0, End: p.Duration, Entry: profile.StackID(1 + gi%60)}
		var own []profile.StackID
		if distinct > 0 {
			kind := gi % distinct
			if len(kinds) <= kind {
				f := profile.FrameID(len(p.Frames))
				for k := range 3 {
					p.Frames = append(p.Frames, profile.Frame{Func: fmt.Sprintf("example.com/app/gen%d.Worker%d_%d", kind%97, kind, k), File: fmt.Sprintf("/app/gen/w%d.go", kind), Line: 1 + k})
				}
				var ss []profile.StackID
				for k := range 3 {
					ss = append(ss, profile.StackID(len(p.Stacks)))
					p.Stacks = append(p.Stacks, profile.Stack{Frames: append([]profile.FrameID{0, f}, f+profile.FrameID(k))[:2+min(k, 1)]})
				}
				kinds = append(kinds, ss)
			}
			own = kinds[kind]
			gr.Entry = own[0]
		}
		if gi > 0 {
			gr.Parent = 1
			gr.CreatedAt = 1
		}
		for k := range n {
			iv := profile.Interval{Start: int64(k * step), End: int64((k + 1) * step), Stack: profile.StackID(1 + (gi+k)%60)}
			if own != nil {
				iv.Stack = own[k%len(own)]
			}
			switch k % 4 {
			case 0:
				iv.State = profile.Running
				iv.Inferred = k%8 == 0
			case 1:
				iv.State, iv.Reason = profile.Waiting, []string{"network", "sync", "select", "chan receive"}[k%3]
				if gi > 0 {
					iv.Waker = int64(gi)
				}
			case 2:
				iv.State = profile.Runnable
			case 3:
				iv.State = profile.Syscall
			}
			gr.Intervals = append(gr.Intervals, iv)
		}
		p.Goroutines = append(p.Goroutines, gr)
		if gi%10 == 0 {
			typ := fmt.Sprintf("SQL: SELECT %d", gi%7)
			if distinct > 0 {
				typ = fmt.Sprintf("SQL: SELECT * FROM t%d WHERE id = $1", gi%distinct)
			}
			p.Regions = append(p.Regions, profile.Region{Goroutine: gr.ID, Type: typ, Start: 0, End: p.Duration / 2, Stack: 1})
		}
	}
	return p
}

// LargeCase is one of the large profiles that the HTML report's tests
// render (its size, in render/html) and open in Chromium (its load time, in
// internal/browsertest/htmltest; BENCHMARKS.md).
type LargeCase struct {
	Name                  string
	Goroutines, Intervals int
	Distinct              int
}

// Profile returns the case's profile, built by [Large].
func (c LargeCase) Profile() *profile.Profile {
	return Large(c.Goroutines, c.Intervals, c.Distinct)
}

// LargeCases are the large profiles of the HTML report's tests.
var LargeCases = []LargeCase{
	{"200k intervals, 1k goroutines", 1000, 200, 0},
	{"50k goroutines", 50_000, 4, 0},
	{"50k goroutines, 400 entry functions", 50_000, 4, 400},
}

// MaxLargeReport bounds the HTML report of each of [LargeCases]: the
// budgets of render/html's data.go keep the embedded data to a few
// megabytes whatever the profile's size.
const MaxLargeReport = 8 << 20
