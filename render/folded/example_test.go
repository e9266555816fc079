package folded_test

import (
	"os"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/folded"
	"github.com/reqprof/reqprof/view"
)

const ms = int64(time.Millisecond)

// pingProfile builds, by hand, the profile of a 3.0004 ms request: the
// handler computes for 1 ms, then starts a goroutine and waits on a
// channel until that goroutine, after sleeping 2 ms and computing 0.4 µs,
// answers.
func pingProfile() *profile.Profile {
	p := &profile.Profile{
		Name:     "GET /ping",
		Duration: 3*ms + 400,
		Frames: []profile.Frame{
			{Func: "main.ping", File: "/app/main.go", Line: 10},
			{Func: "main.pong", File: "/app/main.go", Line: 20},
		},
		Stacks: []profile.Stack{{}, {Frames: []profile.FrameID{0}}, {Frames: []profile.FrameID{1}}},
		Goroutines: []profile.Goroutine{
			{ID: 1, Member: true, Entry: 1, End: 3*ms + 400, Intervals: []profile.Interval{
				{Start: 0, End: 1 * ms, State: profile.Running, Stack: 1},
				{Start: 1 * ms, End: 3*ms + 400, State: profile.Waiting, Reason: "chan receive", Stack: 1, Waker: 2},
			}},
			{ID: 2, Parent: 1, Member: true, CreatedAt: 1, Entry: 2, Start: 1 * ms, End: 3*ms + 400, Exited: true, Intervals: []profile.Interval{
				{Start: 1 * ms, End: 3 * ms, State: profile.Waiting, Reason: "sleep", Stack: 2},
				{Start: 3 * ms, End: 3*ms + 400, State: profile.Running, Stack: 2},
			}},
		},
	}
	p.SetAttr(profile.ModuleAttr, "example.com/app")
	return p
}

// The critical path in microseconds, the profile's name as the root frame.
// The 0.4 µs that goroutine 2 computed rounds to nothing, so its line is
// dropped; the total, 3000 µs, is the duration rounded.
func ExampleRender() {
	if err := folded.Render(os.Stdout, pingProfile(), render.Options{}); err != nil {
		panic(err)
	}
	// Output:
	// GET /ping;main.ping 1000
	// GET /ping;main.ping;[wait: chan receive];[via goroutine 2: main.pong];main.pong;[wait: sleep] 2000
}

// Nanoseconds keep every stack exactly; here one goroutine per root frame.
func ExampleRenderUnit() {
	o := render.Options{View: view.Goroutines}
	if err := folded.RenderUnit(os.Stdout, pingProfile(), o, time.Nanosecond); err != nil {
		panic(err)
	}
	// Output:
	// GET /ping;goroutine 1: GET /ping (root);main.ping 1000000
	// GET /ping;goroutine 1: GET /ping (root);main.ping;[wait: chan receive] 2000400
	// GET /ping;goroutine 2: main.pong;main.pong 400
	// GET /ping;goroutine 2: main.pong;main.pong;[wait: sleep] 2000000
}
