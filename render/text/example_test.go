package text_test

import (
	"os"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/text"
	"github.com/reqprof/reqprof/view"
)

const ms = int64(time.Millisecond)

// handlerProfile builds, by hand, the profile of a 10ms request: the
// handler checks the caller for 2ms (no CPU sample saw it), starts a
// goroutine that queries the database and waits for its answer on a
// channel, then renders the page (CPU samples, one per 4ms of running
// time, saw the rest).
func handlerProfile() *profile.Profile {
	p := &profile.Profile{
		Name:      "GET /users/{id}",
		Duration:  10 * ms,
		GoVersion: "go1.26.8",
		Host:      "web-1",
		Frames: []profile.Frame{
			0: {Func: "main.handler", File: "/app/main.go", Line: 20},
			1: {Func: "main.authorize", File: "/app/main.go", Line: 31},
			2: {Func: "main.loadUser", File: "/app/main.go", Line: 38},
			3: {Func: "main.render", File: "/app/main.go", Line: 45},
			4: {Func: "main.queryUser", File: "/app/db.go", Line: 12},
			5: {Func: "database/sql.(*DB).QueryContext", File: "/go/src/database/sql/sql.go", Line: 1800},
			6: {Func: "net.(*conn).Read", File: "/go/src/net/net.go", Line: 196},
		},
		Stacks: []profile.Stack{
			0: {},                                   // the empty stack
			1: {Frames: []profile.FrameID{0}},       // handler
			2: {Frames: []profile.FrameID{0, 1}},    // handler → authorize
			3: {Frames: []profile.FrameID{0, 2}},    // handler → loadUser
			4: {Frames: []profile.FrameID{0, 3}},    // handler → render
			5: {Frames: []profile.FrameID{4}},       // queryUser
			6: {Frames: []profile.FrameID{4, 5, 6}}, // queryUser → QueryContext → Read
		},
		Goroutines: []profile.Goroutine{
			{
				ID: 1, Member: true, Entry: 1, Start: 0, End: 10 * ms,
				Intervals: []profile.Interval{
					{Start: 0, End: 2 * ms, State: profile.Running, Stack: 2, Inferred: true},
					{Start: 2 * ms, End: 7 * ms, State: profile.Waiting, Reason: "chan receive", Stack: 3, Waker: 7},
					{Start: 7 * ms, End: 7*ms + 200_000, State: profile.Runnable, Stack: 3},
					{Start: 7*ms + 200_000, End: 10 * ms, State: profile.Running, Stack: 4},
				},
			},
			{
				ID: 7, Parent: 1, Member: true, CreatedAt: 3, Entry: 5, Start: 2 * ms, End: 7 * ms, Exited: true,
				Intervals: []profile.Interval{
					{Start: 2 * ms, End: 2*ms + 500_000, State: profile.Running, Stack: 5},
					{Start: 2*ms + 500_000, End: 6*ms + 500_000, State: profile.Waiting, Reason: "network", Stack: 6},
					{Start: 6*ms + 500_000, End: 7 * ms, State: profile.Running, Stack: 5},
				},
			},
		},
		Samples: []profile.Sample{
			{Time: 2*ms + 200_000, Goroutine: 7, Stack: 5},
			{Time: 6*ms + 800_000, Goroutine: 7, Stack: 5},
			{Time: 8 * ms, Goroutine: 1, Stack: 4},
		},
		SamplePeriod: 4 * ms,
	}
	// The main module decides what is user code; the header does not show it.
	p.SetAttr(profile.ModuleAttr, "example.com/app")
	return p
}

// The default rendering: the critical path, library frames folded.
func ExampleRender() {
	if err := text.Render(os.Stdout, handlerProfile(), render.Options{}); err != nil {
		panic(err)
	}
	// Output:
	// reqprof  GET /users/{id}
	// Duration: 10.00ms   CPU: 5.80ms (58%; 66% sampled, 34% unsampled)   Waiting: 4.00ms (40%)   Runnable: 200.0µs (2%)   Goroutines: 2
	// Waits: network 4.00ms   Via other goroutines: 5.00ms (50%)
	// CPU samples: 3 (one per 4.00ms of running time)
	// View: critical path   Go: go1.26.8   Host: web-1
	//
	// 10.00ms 100.0%  GET /users/{id}
	// `- 10.00ms 100.0%  main.handler  main.go:20
	//    |- 5.20ms  52.0%  main.loadUser  main.go:38
	//    |  |- 5.00ms  50.0%  [wait: chan receive]
	//    |  |  `- 5.00ms  50.0%  [via goroutine 7: main.queryUser]
	//    |  |     `- 5.00ms  50.0%  main.queryUser  db.go:12
	//    |  |        |- 4.00ms  40.0%  sql.(*DB).QueryContext  sql.go:1800  [1 frames hidden] net
	//    |  |        |  `- 4.00ms  40.0%  [wait: network]
	//    |  |        `- 1.00ms  10.0%  [self]
	//    |  `- 200.0µs   2.0%  [runnable]
	//    |- 2.80ms  28.0%  main.render  main.go:45
	//    `- 2.00ms  20.0%  main.authorize  main.go:31
	//       `- 2.00ms  20.0%  [running, unsampled]
}

// Options choose the view; here one tree per goroutine, in time order.
func ExampleRender_goroutines() {
	o := render.Options{View: view.Goroutines, TimeOrder: true}
	if err := text.Render(os.Stdout, handlerProfile(), o); err != nil {
		panic(err)
	}
	// Output:
	// reqprof  GET /users/{id}
	// Duration: 10.00ms   CPU: 5.80ms (58%; 66% sampled, 34% unsampled)   Waiting: 4.00ms (40%)   Runnable: 200.0µs (2%)   Goroutines: 2
	// Waits: network 4.00ms   Via other goroutines: 5.00ms (50%)
	// CPU samples: 3 (one per 4.00ms of running time)
	// View: per goroutine   Go: go1.26.8   Host: web-1
	//
	// goroutine 1: GET /users/{id} (root)
	//
	// 10.00ms 100.0%  goroutine 1: GET /users/{id} (root)
	// `- 10.00ms 100.0%  main.handler  main.go:20
	//    |- 2.00ms  20.0%  main.authorize  main.go:31
	//    |  `- 2.00ms  20.0%  [running, unsampled]
	//    |- 5.20ms  52.0%  main.loadUser  main.go:38
	//    |  |- 5.00ms  50.0%  [wait: chan receive]
	//    |  `- 200.0µs   2.0%  [runnable]
	//    `- 2.80ms  28.0%  main.render  main.go:45
	//
	// goroutine 7: main.queryUser
	//
	// 5.00ms 100.0%  goroutine 7: main.queryUser
	// `- 5.00ms 100.0%  main.queryUser  db.go:12
	//    |- 4.00ms  80.0%  sql.(*DB).QueryContext  sql.go:1800  [1 frames hidden] net
	//    |  `- 4.00ms  80.0%  [wait: network]
	//    `- 1.00ms  20.0%  [self]
}
