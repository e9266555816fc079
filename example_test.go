package reqprof_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/profile"
)

// Profile a unit of work and print its critical path. The timings differ
// from run to run, so this example only prints facts that do not.
func ExampleDo() {
	p, err := reqprof.Do(context.Background(), "fan-out", func(ctx context.Context) error {
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(10 * time.Millisecond)
			}()
		}
		wg.Wait()
		return nil
	})
	if p == nil {
		log.Fatal(err) // profiling failed; err says why
	}

	fmt.Println(p.Name, "took at least 10ms:", time.Duration(p.Duration) >= 10*time.Millisecond)

	var tree strings.Builder
	if err := p.Write(&tree, reqprof.FormatText); err != nil {
		log.Fatal(err)
	}
	// p.Write(os.Stdout, reqprof.FormatText) prints the tree; here we only
	// look for the wait on the WaitGroup, explained by the goroutine that
	// ended it, which was sleeping.
	for _, frame := range []string{"[wait: sync]", "[via goroutine", "[wait: sleep]"} {
		fmt.Println(frame, strings.Contains(tree.String(), frame))
	}
	// Output:
	// fan-out took at least 10ms: true
	// [wait: sync] true
	// [via goroutine true
	// [wait: sleep] true
}

// Save a profile in the native format, load it back and render another
// view of it.
func ExampleLoad() {
	p := &reqprof.Profile{Profile: sleepProfile()}

	var file bytes.Buffer // an *os.File in real use
	if err := p.Write(&file, reqprof.FormatReqprof); err != nil {
		log.Fatal(err)
	}

	loaded, err := reqprof.Load(&file)
	if err != nil {
		log.Fatal(err)
	}
	noColor := false
	err = loaded.WriteWith(os.Stdout, reqprof.FormatText, reqprof.WriteOptions{
		View:  reqprof.ViewGoroutines,
		Color: &noColor,
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// reqprof  job
	// Duration: 5.00ms   CPU: 1.00ms (20%; 100% sampled, 0% unsampled)   Waiting: 4.00ms (80%)   Goroutines: 1
	// Waits: sleep 4.00ms
	// CPU samples: 0
	// View: per goroutine
	//
	// 5.00ms 100.0%  job
	// `- 5.00ms 100.0%  main.job  main.go:10
	//    |- 4.00ms  80.0%  time.Sleep  time.go:363
	//    |  `- 4.00ms  80.0%  [wait: sleep]
	//    `- 1.00ms  20.0%  main.prepare  main.go:20
}

// A format named by a user (a query parameter, a flag) is checked before
// any work is profiled.
func ExampleParseFormat() {
	f, err := reqprof.ParseFormat("Text")
	fmt.Println(f, f.Extension(), err)

	_, err = reqprof.ParseFormat("docx")
	fmt.Println(err != nil)
	// Output:
	// text .txt <nil>
	// true
}

// sleepProfile builds, by hand, the profile of a job that ran for 1ms, then
// slept for 4ms.
func sleepProfile() *profile.Profile {
	const ms = int64(time.Millisecond)
	return &profile.Profile{
		Name:     "job",
		Duration: 5 * ms,
		Frames: []profile.Frame{
			{Func: "main.job", File: "/app/main.go", Line: 10},
			{Func: "main.prepare", File: "/app/main.go", Line: 20},
			{Func: "time.Sleep", File: "/go/src/runtime/time.go", Line: 363},
		},
		Stacks: []profile.Stack{
			{},
			{Frames: []profile.FrameID{0}},
			{Frames: []profile.FrameID{0, 1}},
			{Frames: []profile.FrameID{0, 2}},
		},
		Goroutines: []profile.Goroutine{{
			ID: 1, Member: true, Entry: 1, Start: 0, End: 5 * ms,
			Intervals: []profile.Interval{
				{Start: 0, End: 1 * ms, State: profile.Running, Stack: 2},
				{Start: 1 * ms, End: 5 * ms, State: profile.Waiting, Reason: "sleep", Stack: 3},
			},
		}},
	}
}
