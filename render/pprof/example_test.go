package pprof_test

import (
	"bytes"
	"fmt"
	"time"

	pprofile "github.com/google/pprof/profile"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/pprof"
)

const ms = int64(time.Millisecond)

// handlerProfile builds, by hand, the profile of a 10ms request: the
// handler starts in reqprof's own code (no frame known), checks the caller
// for 1ms (no CPU sample saw it), backs off in a 1ms sleep, starts a
// goroutine that queries the database and waits for its answer on a
// channel, then renders the page in a user region and writes it out in a
// system call.
func handlerProfile() *profile.Profile {
	p := &profile.Profile{
		Name:      "GET /users/{id}",
		Start:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Duration:  10 * ms,
		GoVersion: "go1.26.8",
		Host:      "web-1",
		Attrs:     []profile.Attr{{Key: "http.status", Value: "200"}},
		Frames: []profile.Frame{
			0:  {Func: "main.handler", File: "/app/main.go", Line: 20},
			1:  {Func: "main.authorize", File: "/app/main.go", Line: 31},
			2:  {Func: "main.loadUser", File: "/app/main.go", Line: 38},
			3:  {Func: "main.render", File: "/app/main.go", Line: 45},
			4:  {Func: "main.queryUser", File: "/app/db.go", Line: 12},
			5:  {Func: "database/sql.(*DB).QueryContext", File: "/go/src/database/sql/sql.go", Line: 1800},
			6:  {Func: "net.(*conn).Read", File: "/go/src/net/net.go", Line: 196},
			7:  {Func: "main.backoff", File: "/app/main.go", Line: 50},
			8:  {Func: "time.Sleep", File: "/go/src/runtime/time.go", Line: 300},
			9:  {Func: "syscall.write", File: "/go/src/syscall/zsyscall_linux_amd64.go", Line: 964},
			10: {Func: "main.render", File: "/app/main.go", Line: 47}, // another line
		},
		Stacks: []profile.Stack{
			0: {},                                    // the empty stack
			1: {Frames: []profile.FrameID{0}},        // handler
			2: {Frames: []profile.FrameID{0, 1}},     // handler → authorize
			3: {Frames: []profile.FrameID{0, 2}},     // handler → loadUser
			4: {Frames: []profile.FrameID{0, 3}},     // handler → render
			5: {Frames: []profile.FrameID{4}},        // queryUser
			6: {Frames: []profile.FrameID{4, 5, 6}},  // queryUser → QueryContext → Read
			7: {Frames: []profile.FrameID{0, 7, 8}},  // handler → backoff → Sleep
			8: {Frames: []profile.FrameID{0, 10, 9}}, // handler → render → write
		},
		Goroutines: []profile.Goroutine{
			{
				ID: 1, Member: true, Entry: 1, Start: 0, End: 10 * ms,
				Intervals: []profile.Interval{
					{Start: 0, End: 1 * ms, State: profile.Running, Stack: 0},
					{Start: 1 * ms, End: 2 * ms, State: profile.Running, Stack: 2, Inferred: true},
					{Start: 2 * ms, End: 3 * ms, State: profile.Waiting, Reason: "sleep", Stack: 7},
					{Start: 3 * ms, End: 7 * ms, State: profile.Waiting, Reason: "chan receive", Stack: 3, Waker: 7},
					{Start: 7 * ms, End: 7*ms + 200_000, State: profile.Runnable, Stack: 3},
					{Start: 7*ms + 200_000, End: 9 * ms, State: profile.Running, Stack: 4},
					{Start: 9 * ms, End: 10 * ms, State: profile.Syscall, Stack: 8},
				},
			},
			{
				ID: 7, Parent: 1, Member: true, CreatedAt: 3, Entry: 5, Start: 3 * ms, End: 7 * ms, Exited: true,
				Intervals: []profile.Interval{
					{Start: 3 * ms, End: 3*ms + 500_000, State: profile.Running, Stack: 5},
					{Start: 3*ms + 500_000, End: 6*ms + 500_000, State: profile.Waiting, Reason: "network", Stack: 6},
					{Start: 6*ms + 500_000, End: 7 * ms, State: profile.Running, Stack: 5},
				},
			},
		},
		Samples: []profile.Sample{
			{Time: 3*ms + 200_000, Goroutine: 7, Stack: 5},
			{Time: 8 * ms, Goroutine: 1, Stack: 4},
			{Time: 8*ms + 500_000, Goroutine: 1, Stack: 4},
		},
		Regions: []profile.Region{
			{Goroutine: 1, Type: "render page", Start: 7*ms + 200_000, End: 10 * ms, Stack: 1},
		},
	}
	// The main module decides what is user code.
	p.SetAttr(profile.ModuleAttr, "example.com/app")
	return p
}

// Render writes the file `go tool pprof` reads; here it is parsed back with
// github.com/google/pprof/profile to show its sample types and samples.
func ExampleRender() {
	var file bytes.Buffer // or an *os.File named "req"+pprof.Extension
	if err := pprof.Render(&file, handlerProfile(), render.Options{}); err != nil {
		panic(err)
	}

	prof, err := pprofile.Parse(&file)
	if err != nil {
		panic(err)
	}
	fmt.Println("default:", prof.DefaultSampleType)
	for i, st := range prof.SampleType {
		var total int64
		for _, s := range prof.Sample {
			total += s.Value[i]
		}
		fmt.Printf("%-11s %v\n", st.Type, time.Duration(total))
	}
	// The critical path of the request, leaf frame first.
	for _, s := range prof.Sample {
		if v := s.Value[1]; v > 0 {
			fmt.Printf("%-8v g%d %-8s %s\n", time.Duration(v), s.NumLabel["goroutine"][0], s.Label["state"][0], s.Location[0].Line[0].Function.Name)
		}
	}
	// Output:
	// default: critical
	// wall        14ms
	// critical    10ms
	// cpu         4.8ms
	// cpu_sampled 30ms
	// 1ms      g1 running  [no stack]
	// 1ms      g1 running  [running, unsampled]
	// 1ms      g1 waiting  [wait: sleep]
	// 1ms      g7 running  main.queryUser
	// 3ms      g7 waiting  [wait: network]
	// 200µs    g1 runnable [runnable]
	// 1.8ms    g1 running  main.render
	// 1ms      g1 syscall  [syscall]
}
