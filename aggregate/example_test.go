package aggregate_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/profile"
)

// request is the profile of one request that spends wait sleeping.
func request(start time.Time, wait time.Duration) *profile.Profile {
	return &profile.Profile{
		Name: "GET /report", Start: start, Duration: int64(wait),
		Frames: []profile.Frame{{Func: "main.report", File: "/app/main.go", Line: 9}},
		Stacks: []profile.Stack{{}, {Frames: []profile.FrameID{0}}},
		Goroutines: []profile.Goroutine{{ID: 1, Member: true, Entry: 1, End: int64(wait), Intervals: []profile.Interval{
			{End: int64(wait), State: profile.Waiting, Reason: "sleep", Stack: 1},
		}}},
	}
}

// Merge three requests, and compare them with three slower ones.
func Example() {
	merged := func(waits ...time.Duration) *aggregate.Aggregate {
		var as []*aggregate.Aggregate
		for i, w := range waits {
			a, err := aggregate.From(request(time.Unix(int64(i), 0), w), aggregate.Options{})
			if err != nil {
				panic(err)
			}
			as = append(as, a)
		}
		m, err := aggregate.Merge(as...)
		if err != nil {
			panic(err)
		}
		return m
	}
	before := merged(10*time.Millisecond, 12*time.Millisecond, 14*time.Millisecond)
	after := merged(20*time.Millisecond, 24*time.Millisecond, 28*time.Millisecond)
	fmt.Println(before.Title(), before.N(), "requests, p50", time.Duration(before.Percentile(0.5)))

	d, err := aggregate.Compare(before, after, aggregate.DiffOptions{})
	if err != nil {
		panic(err)
	}
	d.Root.Walk(func(n *aggregate.DiffNode, depth int) {
		fmt.Printf("%*s%s %+v (%+.0f%%)\n", 2*depth, "", n.Frame.Name, time.Duration(n.Delta()), 100*n.Relative())
	})
	// An aggregate is saved and read back like a profile.
	var file bytes.Buffer
	if err := after.Encode(&file); err != nil {
		panic(err)
	}
	back, err := aggregate.Decode(&file)
	fmt.Println(back.N(), "requests read back,", err)
	// Output:
	// GET /report 3 requests, p50 12ms
	// GET /report 12ms (+100%)
	//   main.report 12ms (+100%)
	//     [wait: sleep] 12ms (+100%)
	// 3 requests read back, <nil>
}
