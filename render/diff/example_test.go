package diff_test

import (
	"github.com/reqprof/reqprof/profile"
	"os"
	"time"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/render/diff"
)

const ms = int64(time.Millisecond)

// request builds the profile of one request: authorize (CPU), query the
// database (a network wait of query), render (CPU).
func request(start time.Time, query int64) *profile.Profile {
	t1, t2 := 2*ms, 2*ms+query
	end := t2 + 3*ms
	return &profile.Profile{
		Name: "GET /x", Start: start, Duration: end,
		Attrs: []profile.Attr{{Key: profile.ModuleAttr, Value: "example.com/app"}},
		Frames: []profile.Frame{
			{Func: "example.com/app.handler", File: "/app/main.go", Line: 20},
			{Func: "example.com/app.authorize", File: "/app/main.go", Line: 31},
			{Func: "example.com/app.query", File: "/app/db.go", Line: 38},
			{Func: "example.com/app.render", File: "/app/main.go", Line: 45},
		},
		Stacks: []profile.Stack{{}, {Frames: []profile.FrameID{0}}, {Frames: []profile.FrameID{0, 1}}, {Frames: []profile.FrameID{0, 2}}, {Frames: []profile.FrameID{0, 3}}},
		Goroutines: []profile.Goroutine{{
			ID: 1, Member: true, Entry: 1, End: end,
			Intervals: []profile.Interval{
				{Start: 0, End: t1, State: profile.Running, Stack: 2},
				{Start: t1, End: t2, State: profile.Waiting, Reason: "network", Stack: 3},
				{Start: t2, End: end, State: profile.Running, Stack: 4},
			},
		}},
	}
}

// merged returns the aggregate of n requests whose query takes query.
func merged(n int, query int64) *aggregate.Aggregate {
	var as []*aggregate.Aggregate
	for i := range n {
		a, err := aggregate.From(request(time.Unix(int64(i), 0), query), aggregate.Options{})
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

// Compare 10 requests with 20 whose database query takes twice as long,
// and print what changed, per request.
func ExampleText() {
	before, after := merged(10, 5*ms), merged(20, 10*ms)
	d, err := aggregate.Compare(before, after, aggregate.DiffOptions{})
	if err != nil {
		panic(err)
	}
	if err := diff.Text(os.Stdout, d, diff.Options{Top: 1}); err != nil {
		panic(err)
	}
	// Output:
	// reqprof diff  before: GET /x (10 requests)   after: GET /x (20 requests)
	// Times per request (each side's total divided by its number of requests); call tree of critical time.
	//
	//                          before      after     change
	//   duration mean         10.00ms    15.00ms    +5.00ms   +50.0%
	//   duration p50          10.00ms    15.00ms    +5.00ms   +50.0%
	//   duration p90          10.00ms    15.00ms    +5.00ms   +50.0%
	//   duration p99          10.00ms    15.00ms    +5.00ms   +50.0%
	//   CPU                    5.00ms     5.00ms          0    +0.0%
	//   waiting                5.00ms    10.00ms    +5.00ms  +100.0%
	//     network              5.00ms    10.00ms    +5.00ms  +100.0%
	//
	// Call tree, per request (nodes whose time changed by 1% of the total or more, and their callers):
	//       before      after     change             requests  node
	//      10.00ms    15.00ms    +5.00ms   +50.0%       10→20  GET /x
	//      10.00ms    15.00ms    +5.00ms   +50.0%       10→20  `- app.handler  main.go
	//       5.00ms    10.00ms    +5.00ms  +100.0%       10→20     `- app.query  db.go
	//       5.00ms    10.00ms    +5.00ms  +100.0%       10→20        `- [wait: network]
	//
	// Largest changes of self time per request (flat), with cumulative time:
	//       self A     self B     change               cum A      cum B  function
	//       5.00ms    10.00ms    +5.00ms  +100.0%     5.00ms    10.00ms  [wait: network]
}
