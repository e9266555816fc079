package chrome_test

import (
	"os"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/chrome"
)

// A 3ms job: goroutine 1 starts goroutine 2, which fetches something over
// the network, and waits on a channel until goroutine 2 sends the result.
func ExampleRender() {
	const ms = int64(time.Millisecond)
	p := &profile.Profile{
		Name:     "job",
		Duration: 3 * ms,
		Frames: []profile.Frame{
			{Func: "main.job", File: "/app/main.go", Line: 10},
			{Func: "main.fetch", File: "/app/main.go", Line: 20},
		},
		Stacks: []profile.Stack{{}, {Frames: []profile.FrameID{0}}, {Frames: []profile.FrameID{1}}},
		Goroutines: []profile.Goroutine{
			{ID: 1, Member: true, Entry: 1, End: 3 * ms, Intervals: []profile.Interval{
				{Start: 0, End: ms / 2, State: profile.Running, Stack: 1},
				{Start: ms / 2, End: 2 * ms, State: profile.Waiting, Reason: "chan receive", Stack: 1, Waker: 2},
				{Start: 2 * ms, End: 2*ms + 50_000, State: profile.Runnable, Stack: 1},
				{Start: 2*ms + 50_000, End: 3 * ms, State: profile.Running, Stack: 1},
			}},
			{ID: 2, Parent: 1, Member: true, CreatedAt: 1, Entry: 2, Start: ms / 4, End: 2 * ms, Exited: true, Intervals: []profile.Interval{
				{Start: ms / 4, End: ms / 2, State: profile.Running, Stack: 2},
				{Start: ms / 2, End: 1900_000, State: profile.Waiting, Reason: "network", Stack: 2},
				{Start: 1900_000, End: 2 * ms, State: profile.Running, Stack: 2},
			}},
		},
	}
	if err := chrome.Render(os.Stdout, p, render.Options{}); err != nil {
		panic(err)
	}
	// Output:
	// {"traceEvents":[
	// {"name":"process_name","ph":"M","ts":10000,"pid":1,"tid":1,"args":{"name":"job"}},
	// {"name":"thread_name","ph":"M","ts":10000,"pid":1,"tid":1,"args":{"name":"goroutine 1: job (root)"}},
	// {"name":"thread_sort_index","ph":"M","ts":10000,"pid":1,"tid":1,"args":{"sort_index":0}},
	// {"name":"thread_name","ph":"M","ts":10000,"pid":1,"tid":2,"args":{"name":"goroutine 2: main.fetch"}},
	// {"name":"thread_sort_index","ph":"M","ts":10000,"pid":1,"tid":2,"args":{"sort_index":1}},
	// {"name":"main.job","cat":"function","ph":"B","ts":10000,"pid":1,"tid":1,"args":{"file":"/app/main.go"}},
	// {"name":"[wait: chan receive]","cat":"state","ph":"B","ts":10500,"pid":1,"tid":1,"args":{"state":"waiting","reason":"chan receive","woken_by":2,"at":"/app/main.go:10"}},
	// {"name":"[wait: chan receive]","cat":"state","ph":"E","ts":12000,"pid":1,"tid":1,"args":{"state":"waiting","reason":"chan receive","woken_by":2,"at":"/app/main.go:10"}},
	// {"name":"[runnable]","cat":"state","ph":"B","ts":12000,"pid":1,"tid":1,"args":{"state":"runnable","at":"/app/main.go:10"}},
	// {"name":"[runnable]","cat":"state","ph":"E","ts":12050,"pid":1,"tid":1,"args":{"state":"runnable","at":"/app/main.go:10"}},
	// {"name":"main.job","cat":"function","ph":"E","ts":13000,"pid":1,"tid":1,"args":{"file":"/app/main.go"}},
	// {"name":"main.fetch","cat":"function","ph":"B","ts":10250,"pid":1,"tid":2,"args":{"file":"/app/main.go"}},
	// {"name":"[wait: network]","cat":"state","ph":"B","ts":10500,"pid":1,"tid":2,"args":{"state":"waiting","reason":"network","at":"/app/main.go:20"}},
	// {"name":"[wait: network]","cat":"state","ph":"E","ts":11900,"pid":1,"tid":2,"args":{"state":"waiting","reason":"network","at":"/app/main.go:20"}},
	// {"name":"main.fetch","cat":"function","ph":"E","ts":12000,"pid":1,"tid":2,"args":{"file":"/app/main.go"}},
	// {"name":"spawn","cat":"flow","ph":"s","id":1,"ts":10250,"pid":1,"tid":1},
	// {"name":"spawn","cat":"flow","ph":"f","bp":"e","id":1,"ts":10250,"pid":1,"tid":2},
	// {"name":"wakeup","cat":"flow","ph":"s","id":2,"ts":11900,"pid":1,"tid":2},
	// {"name":"wakeup","cat":"flow","ph":"f","bp":"e","id":2,"ts":12000,"pid":1,"tid":1}
	// ],
	// "displayTimeUnit":"ns",
	// "metadata":{"producer":"reqprof","name":"job","ts_origin_us":10000,"time_origin":"the window starts at ts ts_origin_us; ts are microseconds","duration_ns":3000000,"goroutines":2,"summary":{"cpu_ns":1550000,"cpu_inferred_ns":0,"runnable_ns":50000,"syscall_ns":0,"waiting_ns":1400000,"waiting_ns_by_reason":{"network":1400000},"followed_ns":1500000},"library_frames":"grouped"}}
}
