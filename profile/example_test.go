package profile_test

import (
	"bytes"
	"fmt"
	"log"
	"time"

	"github.com/reqprof/reqprof/profile"
)

func Example() {
	// A request that ran for 1ms, sleeping in the middle.
	p := &profile.Profile{
		Name:     "GET /hello",
		Start:    time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Duration: 1_000_000,
		Frames:   []profile.Frame{{Func: "main.hello", File: "/src/hello/main.go", Line: 9}},
		Stacks:   []profile.Stack{{}, {Frames: []profile.FrameID{0}}},
		Goroutines: []profile.Goroutine{{
			ID: 1, Member: true, Entry: 1, Start: 0, End: 1_000_000,
			Intervals: []profile.Interval{
				{Start: 0, End: 200_000, State: profile.Running, Stack: 1},
				{Start: 200_000, End: 900_000, State: profile.Waiting, Reason: "sleep", Stack: 1},
				{Start: 900_000, End: 1_000_000, State: profile.Running, Stack: 1},
			},
		}},
	}
	p.SetAttr("method", "GET")

	var file bytes.Buffer
	if err := p.Encode(&file); err != nil {
		log.Fatal(err)
	}
	q, err := profile.Decode(&file)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(q)
	// Output:
	// name: "GET /hello"
	// start: 2025-01-02T03:04:05Z
	// duration: 1000000
	// go_version: ""
	// host: ""
	// base: 0
	// work: 0
	// attr: "method" "GET"
	// frames: 1
	//   0: "main.hello" "/src/hello/main.go":9
	// stacks: 2
	//   0:
	//   1: 0
	// goroutines: 1
	//   goroutine 1 member parent=0 created_at=0 entry=1 [0,1000000)
	//     [0,200000) running stack=1
	//     [200000,900000) waiting stack=1 reason="sleep"
	//     [900000,1000000) running stack=1
	// samples: 0
	// regions: 0
	// logs: 0
}
