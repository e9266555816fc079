package speedscope_test

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/speedscope"
	"github.com/reqprof/reqprof/view"
)

const ms = int64(time.Millisecond)

// pingProfile builds, by hand, the profile of a 3 ms request: the handler
// computes for 1 ms, then starts a goroutine and waits 2 ms on a channel
// until that goroutine, after sleeping, answers.
func pingProfile() *profile.Profile {
	p := &profile.Profile{
		Name:     "GET /ping",
		Duration: 3 * ms,
		Frames: []profile.Frame{
			{Func: "main.ping", File: "/app/main.go", Line: 10},
			{Func: "main.pong", File: "/app/main.go", Line: 20},
		},
		Stacks: []profile.Stack{{}, {Frames: []profile.FrameID{0}}, {Frames: []profile.FrameID{1}}},
		Goroutines: []profile.Goroutine{
			{ID: 1, Member: true, Entry: 1, End: 3 * ms, Intervals: []profile.Interval{
				{Start: 0, End: 1 * ms, State: profile.Running, Stack: 1},
				{Start: 1 * ms, End: 3 * ms, State: profile.Waiting, Reason: "chan receive", Stack: 1, Waker: 2},
			}},
			{ID: 2, Parent: 1, Member: true, CreatedAt: 1, Entry: 2, Start: 1 * ms, End: 3 * ms, Exited: true, Intervals: []profile.Interval{
				{Start: 1 * ms, End: 3 * ms, State: profile.Waiting, Reason: "sleep", Stack: 2},
			}},
		},
	}
	p.SetAttr(profile.ModuleAttr, "example.com/app")
	return p
}

// The file: one shared frame table, the critical path as an evented
// profile (its channel wait explained by goroutine 2's sleep), then one
// evented profile per goroutine on the same time axis.
func ExampleRender() {
	if err := speedscope.Render(os.Stdout, pingProfile(), render.Options{}); err != nil {
		panic(err)
	}
	// Output:
	// {"$schema":"https://www.speedscope.app/file-format-schema.json","exporter":"reqprof 0.1.0","name":"GET /ping","activeProfileIndex":0,
	// "shared":{"frames":[
	// {"name":"main.ping","file":"/app/main.go","line":10},
	// {"name":"[wait: chan receive]"},
	// {"name":"[via goroutine 2: main.pong]"},
	// {"name":"main.pong","file":"/app/main.go","line":20},
	// {"name":"[wait: sleep]"}]},
	// "profiles":[
	// {"type":"evented","name":"critical path","unit":"nanoseconds","startValue":0,"endValue":3000000,"events":[
	// {"type":"O","frame":0,"at":0},
	// {"type":"O","frame":1,"at":1000000},
	// {"type":"O","frame":2,"at":1000000},
	// {"type":"O","frame":3,"at":1000000},
	// {"type":"O","frame":4,"at":1000000},
	// {"type":"C","frame":4,"at":3000000},
	// {"type":"C","frame":3,"at":3000000},
	// {"type":"C","frame":2,"at":3000000},
	// {"type":"C","frame":1,"at":3000000},
	// {"type":"C","frame":0,"at":3000000}]},
	// {"type":"evented","name":"goroutine 1: GET /ping (root)","unit":"nanoseconds","startValue":0,"endValue":3000000,"events":[
	// {"type":"O","frame":0,"at":0},
	// {"type":"O","frame":1,"at":1000000},
	// {"type":"C","frame":1,"at":3000000},
	// {"type":"C","frame":0,"at":3000000}]},
	// {"type":"evented","name":"goroutine 2: main.pong","unit":"nanoseconds","startValue":1000000,"endValue":3000000,"events":[
	// {"type":"O","frame":3,"at":1000000},
	// {"type":"O","frame":4,"at":1000000},
	// {"type":"C","frame":4,"at":3000000},
	// {"type":"C","frame":3,"at":3000000}]}]}
}

// With the all-goroutines view, goroutines overlap in time, so that view
// is a sampled profile (weights in nanoseconds), and the one shown first.
func ExampleBuild() {
	f, err := speedscope.Build(pingProfile(), render.Options{View: view.All})
	if err != nil {
		panic(err)
	}
	for i, p := range f.Profiles {
		active := ""
		if i == f.ActiveProfileIndex {
			active = " (shown first)"
		}
		fmt.Printf("%s %q%s\n", p.Type, p.Name, active)
	}
	all := f.Profiles[1]
	for i, s := range all.Samples {
		for _, id := range s {
			fmt.Printf("%s; ", f.Shared.Frames[id].Name)
		}
		fmt.Println(time.Duration(all.Weights[i]))
	}
	var buf bytes.Buffer
	if err := f.Encode(&buf); err != nil {
		panic(err)
	}
	back, err := speedscope.Decode(&buf)
	if err != nil {
		panic(err)
	}
	fmt.Println("valid:", back.CheckValid() == nil)
	// Output:
	// evented "critical path"
	// sampled "all goroutines" (shown first)
	// main.ping; 1ms
	// main.ping; [wait: chan receive]; 2ms
	// main.ping; main.pong; [wait: sleep]; 2ms
	// valid: true
}
