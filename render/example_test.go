package render_test

import (
	"fmt"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// A renderer asks the options for the view's call trees, already grouped
// and pruned; here, one tree per goroutine.
func ExampleOptions_Trees() {
	p := &profile.Profile{
		Name:     "job",
		Duration: 3000,
		Frames:   []profile.Frame{{Func: "main.job"}, {Func: "main.worker"}},
		Stacks:   []profile.Stack{{}, {Frames: []profile.FrameID{0}}, {Frames: []profile.FrameID{1}}},
		Goroutines: []profile.Goroutine{
			{ID: 1, Member: true, End: 3000, Intervals: []profile.Interval{
				{Start: 0, End: 1000, State: profile.Running, Stack: 1},
				{Start: 1000, End: 3000, State: profile.Waiting, Reason: "sync", Stack: 1, Waker: 2},
			}},
			{ID: 2, Parent: 1, Member: true, CreatedAt: 1, Entry: 2, Start: 1000, End: 3000, Intervals: []profile.Interval{
				{Start: 1000, End: 3000, State: profile.Running, Stack: 2},
			}},
		},
	}
	tls, trees, err := render.Options{View: view.Goroutines}.Trees(p)
	if err != nil {
		panic(err)
	}
	for i, t := range trees {
		fmt.Printf("%s: %d ns\n", tls[i].Name, t.Total)
	}
	// Output:
	// goroutine 1: job (root): 3000 ns
	// goroutine 2: main.worker: 2000 ns
}
