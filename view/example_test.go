package view_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

const ms = int64(time.Millisecond)

// handlerProfile builds, by hand, the profile of a 10ms request: the
// handler checks the caller for 2ms, starts a goroutine that queries the
// database and waits for its answer on a channel, then renders the page.
func handlerProfile() *profile.Profile {
	return &profile.Profile{
		Name:     "GET /users/{id}",
		Duration: 10 * ms,
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
					{Start: 0, End: 2 * ms, State: profile.Running, Stack: 2},
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
	}
}

// pathString joins a path's frame names.
func pathString(path []view.Frame) string {
	names := make([]string, len(path))
	for i, f := range path {
		names[i] = f.Name
	}
	return strings.Join(names, " > ")
}

// The critical path is a timeline of the root goroutine where the wait on
// the channel is explained by what goroutine 7 did meanwhile.
func ExampleCriticalPath() {
	p := handlerProfile()
	tl := view.CriticalPath(p)
	for _, s := range tl.Segments {
		fmt.Printf("%4.1fms %-8s %s\n", float64(s.End-s.Start)/1e6, s.State, pathString(s.Path))
	}
	fmt.Printf("total %v of %v\n", time.Duration(tl.Total()), time.Duration(p.Duration))
	// Output:
	//  2.0ms running  main.handler > main.authorize
	//  0.5ms running  main.handler > main.loadUser > [wait: chan receive] > [via goroutine 7: main.queryUser] > main.queryUser
	//  4.0ms waiting  main.handler > main.loadUser > [wait: chan receive] > [via goroutine 7: main.queryUser] > main.queryUser > database/sql.(*DB).QueryContext > net.(*conn).Read > [wait: network]
	//  0.5ms running  main.handler > main.loadUser > [wait: chan receive] > [via goroutine 7: main.queryUser] > main.queryUser
	//  0.2ms runnable main.handler > main.loadUser > [runnable]
	//  2.8ms running  main.handler > main.render
	// total 10ms of 10ms
}

// A call tree merges a timeline's segments by path. GroupLibrary folds the
// library frames (here database/sql and net) into the outermost one; user
// code is package main and the main module, example.com/app.
func ExampleTree() {
	tl := view.CriticalPath(handlerProfile())
	root := view.Tree("GET /users/{id}", tl.Segments, false)
	view.GroupLibrary(root, view.UserModule("example.com/app"))
	root.SortByTotal()
	root.Walk(func(n *view.Node, depth int) {
		fmt.Printf("%s%v %s", strings.Repeat("  ", depth), time.Duration(n.Total), n.Frame.Name)
		if n.Frame.Kind == view.Wait {
			fmt.Printf(" ×%d", n.Count)
		}
		for _, h := range n.Hidden {
			fmt.Printf(" (hides %s)", h.Name)
		}
		fmt.Println()
	})
	// Output:
	// 10ms GET /users/{id}
	//   10ms main.handler
	//     5.2ms main.loadUser
	//       5ms [wait: chan receive] ×1
	//         5ms [via goroutine 7: main.queryUser]
	//           5ms main.queryUser
	//             4ms database/sql.(*DB).QueryContext (hides net.(*conn).Read)
	//               4ms [wait: network] ×1
	//       200µs [runnable]
	//     2.8ms main.render
	//     2ms main.authorize
}

// PerGoroutine gives each goroutine of the work its own timeline.
func ExamplePerGoroutine() {
	for _, tl := range view.PerGoroutine(handlerProfile()) {
		fmt.Printf("%s: %v\n", tl.Name, time.Duration(tl.Total()))
	}
	// Output:
	// goroutine 1: GET /users/{id} (root): 10ms
	// goroutine 7: main.queryUser: 5ms
}

// AllGoroutines nests each goroutine's time under the stack that started
// it, so it sums to goroutine-time: more than the wall time when goroutines
// run side by side.
func ExampleAllGoroutines() {
	tl := view.AllGoroutines(handlerProfile())
	root := view.Tree("all", tl.Segments, false)
	root.SortByTotal()
	root.Walk(func(n *view.Node, depth int) {
		if depth <= 3 {
			fmt.Printf("%s%v %s\n", strings.Repeat("  ", depth), time.Duration(n.Total), n.Frame.Name)
		}
	})
	// Output:
	// 15ms all
	//   15ms main.handler
	//     10.2ms main.loadUser
	//       5ms [wait: chan receive]
	//       5ms main.queryUser
	//       200µs [runnable]
	//     2.8ms main.render
	//     2ms main.authorize
}

// Summarize classifies the critical path's time once: what every header
// and listing shows. The wait on the channel is not waiting time: what
// goroutine 7 did meanwhile is, under "[via goroutine 7]".
func ExampleSummarize() {
	s := view.Summarize(handlerProfile())
	fmt.Printf("duration %v: CPU %v, runnable %v, waiting %v\n",
		time.Duration(s.Duration), time.Duration(s.CPU), time.Duration(s.Runnable), time.Duration(s.Waiting))
	for _, w := range s.Waits {
		fmt.Printf("  %s: %v in %d wait(s)\n", w.Reason, time.Duration(w.Time), w.Count)
	}
	fmt.Printf("explained by other goroutines: %v; goroutines: %d\n", time.Duration(s.Followed), s.Goroutines)
	// Output:
	// duration 10ms: CPU 5.8ms, runnable 200µs, waiting 4ms
	//   network: 4ms in 1 wait(s)
	// explained by other goroutines: 5ms; goroutines: 2
}

// ParseKind checks a view named by a user.
func ExampleParseKind() {
	k, err := view.ParseKind("Goroutines")
	fmt.Println(k, k.Title(), err)
	_, err = view.ParseKind("flame")
	fmt.Println(err)
	// Output:
	// goroutines per goroutine <nil>
	// unknown view "flame" (valid: critical, goroutines, all)
}

// A stack set holds weighted stacks, here the critical paths of two
// requests merged: its tree is what a tree renderer draws, for one profile
// or many.
func ExampleStackSet() {
	merged := view.NewStackSet("GET /users/{id} ×2", "critical")
	for range 2 {
		tl := view.CriticalPath(handlerProfile())
		one := view.NewStackSet("", "critical")
		one.AddTimeline(0, &tl)
		merged.Merge(one)
	}
	root := merged.Tree(0)
	root.SortByTotal()
	root.Walk(func(n *view.Node, depth int) {
		if depth <= 2 {
			fmt.Printf("%s%v %s\n", strings.Repeat("  ", depth), time.Duration(n.Total), n.Frame.Name)
		}
	})
	// Output:
	// 20ms GET /users/{id} ×2
	//   20ms main.handler
	//     10.4ms main.loadUser
	//     5.6ms main.render
	//     4ms main.authorize
}
