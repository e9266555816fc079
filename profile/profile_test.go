package profile

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/reqprof/reqprof/internal/golden"
)

// testProfile returns a small valid profile with every field of the model
// set somewhere. Its empty slices are nil, as Decode returns them.
func testProfile() *Profile {
	return &Profile{
		Name:      "GET /users/{id}",
		Start:     time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC),
		Duration:  1_000_000,
		GoVersion: "go1.26.0",
		Host:      "web-1",
		Attrs: []Attr{
			{"method", "GET"},
			{"route", "/users/{id}"},
		},
		Goroutines: []Goroutine{
			{
				ID: 1, Member: true, Entry: 1, Start: 0, End: 1_000_000,
				Intervals: []Interval{
					{Start: 0, End: 100_000, State: Running, Stack: 2},
					{Start: 100_000, End: 150_000, State: Running, Stack: 3, Inferred: true},
					{Start: 150_000, End: 600_000, State: Waiting, Reason: "chan receive", Stack: 3, Waker: 7},
					{Start: 600_000, End: 620_000, State: Runnable, Reason: "preempted", Stack: 3},
					{Start: 620_000, End: 700_000, State: Syscall, Stack: 3},
					{Start: 700_000, End: 1_000_000, State: Running, Stack: 2},
				},
			},
			{
				ID: 7, Parent: 1, Member: true, CreatedAt: 2, Entry: 4, Start: 90_000, End: 650_000, Exited: true,
				Intervals: []Interval{
					{Start: 90_000, End: 100_000, State: Runnable, Stack: 4},
					{Start: 100_000, End: 400_000, State: Waiting, Reason: "sleep", Stack: 4, Waker: 20},
					{Start: 400_000, End: 650_000, State: Running, Stack: 4},
				},
			},
			{
				ID: 20, Parent: 3, Entry: 5, Task: "GET /other", Start: 0, End: 400_000,
				Intervals: []Interval{
					{Start: 0, End: 300_000, State: Waiting, Reason: "network", Stack: 5},
					{Start: 300_000, End: 400_000, State: Running, Stack: 5},
				},
			},
		},
		Samples: []Sample{
			{Time: 50_000, Goroutine: 1, Stack: 2},
			{Time: 450_000, Goroutine: 7, Stack: 4},
		},
		Regions: []Region{
			{Goroutine: 1, Type: "db.query", Start: 100_000, End: 600_000, Stack: 3},
		},
		Logs: []Log{
			{Goroutine: 1, Time: 120_000, Category: "sql", Message: "SELECT name FROM users WHERE id = $1"},
		},
		Frames: []Frame{
			{Func: "net/http.(*conn).serve", File: "/go/src/net/http/server.go", Line: 2100},
			{Func: "main.handler", File: "/src/app/main.go", Line: 40},
			{Func: "main.query", File: "/src/app/db.go", Line: 12},
			{Func: "main.handler.func1", File: "/src/app/main.go", Line: 52},
			{Func: "main.poller", File: "/src/app/poll.go", Line: 7},
		},
		Stacks: []Stack{
			{},
			{Frames: []FrameID{0}},
			{Frames: []FrameID{0, 1}},
			{Frames: []FrameID{0, 1, 2}},
			{Frames: []FrameID{3}},
			{Frames: []FrameID{4}},
		},
		Base:         1,
		Work:         2,
		Library:      []string{"example.com/prof.", "example.com/prof/render"},
		SamplePeriod: 4_000_000,
		Warnings:     []string{"goroutine 20 is not part of the work"},
	}
}

func TestCheckValidAccepts(t *testing.T) {
	for name, p := range map[string]*Profile{
		"full":                  testProfile(),
		"minimal":               {Stacks: []Stack{{}}},
		"empty stack 0 not nil": {Stacks: []Stack{{Frames: []FrameID{}}}},
		"zero-length goroutine": {
			Duration:   10,
			Stacks:     []Stack{{}},
			Goroutines: []Goroutine{{ID: 1, Member: true, Start: 10, End: 10}},
		},
		"times at window edges": {
			Duration:   10,
			Stacks:     []Stack{{}},
			Goroutines: []Goroutine{{ID: 1, Member: true, Start: 0, End: 10, Intervals: []Interval{{Start: 0, End: 10, State: Syscall}}}},
			Samples:    []Sample{{Time: 0, Goroutine: 1}, {Time: 10, Goroutine: 1}},
			Regions:    []Region{{Goroutine: 1, Start: 10, End: 10}},
			Logs:       []Log{{Goroutine: 1, Time: 10}},
		},
	} {
		if err := p.CheckValid(); err != nil {
			t.Errorf("%s: CheckValid() = %v, want nil", name, err)
		}
	}
}

func TestCheckValidRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Profile)
		want   string
	}{
		{"negative duration", func(p *Profile) { p.Duration = -1 },
			"profile: negative duration -1"},
		{"no stacks", func(p *Profile) { p.Stacks = nil },
			"profile: no stacks (Stacks[0] must be the empty stack)"},
		{"stack 0 not empty", func(p *Profile) { p.Stacks[0].Frames = []FrameID{0} },
			"profile: stack 0 must be the empty stack, has 1 frames"},
		{"frame ID too large", func(p *Profile) { p.Stacks[3].Frames[2] = 5 },
			"profile: stack 3: frame 2: frame ID 5 out of range (have 5 frames)"},
		{"negative frame ID", func(p *Profile) { p.Stacks[1].Frames[0] = -1 },
			"profile: stack 1: frame 0: frame ID -1 out of range (have 5 frames)"},
		{"base out of range", func(p *Profile) { p.Base = 6 },
			"profile: base stack 6 out of range (have 6 stacks)"},
		{"work out of range", func(p *Profile) { p.Work = -1 },
			"profile: work stack -1 out of range (have 6 stacks)"},
		{"empty library prefix", func(p *Profile) { p.Library[1] = "" },
			"profile: library prefix 1 is empty (it would make every function library code)"},
		{"negative sample period", func(p *Profile) { p.SamplePeriod = -1 },
			"profile: negative sample period -1"},
		{"member with a task", func(p *Profile) { p.Goroutines[1].Task = "GET /x" },
			`profile: goroutine 7: a member of the work has another unit's task "GET /x"`},
		{"zero goroutine ID", func(p *Profile) { p.Goroutines[1].ID = 0 },
			"profile: goroutine at index 1: ID 0 is not positive"},
		{"negative goroutine ID", func(p *Profile) { p.Goroutines[2].ID = -20 },
			"profile: goroutine at index 2: ID -20 is not positive"},
		{"duplicate goroutine ID", func(p *Profile) { p.Goroutines[2].ID = 1 },
			"profile: goroutine 1 listed twice (at index 0 and 2)"},
		{"root not member", func(p *Profile) { p.Goroutines[0].Member = false },
			"profile: goroutine 1: the first goroutine is the root and must be a member"},
		{"root has parent", func(p *Profile) { p.Goroutines[0].Parent = 3 },
			"profile: goroutine 1: the root goroutine has parent 3, want 0"},
		{"member after non-member", func(p *Profile) {
			p.Goroutines = append(p.Goroutines, Goroutine{ID: 30, Parent: 1, Member: true, Start: 5, End: 5})
		}, "profile: goroutine 30: member listed after non-member goroutine 20"},
		{"negative parent", func(p *Profile) { p.Goroutines[2].Parent = -3 },
			"profile: goroutine 20: negative parent -3"},
		{"member parent absent", func(p *Profile) { p.Goroutines[1].Parent = 99 },
			"profile: goroutine 7: parent 99 is not in the profile"},
		{"member parent listed later", func(p *Profile) {
			p.Goroutines[1].Parent = 31
			p.Goroutines = append(p.Goroutines[:2:2], Goroutine{ID: 31, Parent: 1, Member: true, Start: 5, End: 5}, p.Goroutines[2])
		}, "profile: goroutine 7: parent 31 is listed after it (index 2 >= 1)"},
		{"member parent is itself", func(p *Profile) { p.Goroutines[1].Parent = 7 },
			"profile: goroutine 7: parent 7 is listed after it (index 1 >= 1)"},
		{"created-at out of range", func(p *Profile) { p.Goroutines[1].CreatedAt = 40 },
			"profile: goroutine 7: created-at stack 40 out of range (have 6 stacks)"},
		{"entry out of range", func(p *Profile) { p.Goroutines[1].Entry = -1 },
			"profile: goroutine 7: entry stack -1 out of range (have 6 stacks)"},
		{"goroutine ends before start", func(p *Profile) { p.Goroutines[1].End = 80_000 },
			"profile: goroutine 7: life [90000,80000) ends before it starts"},
		{"goroutine starts before window", func(p *Profile) { p.Goroutines[2].Start = -1 },
			"profile: goroutine 20: life [-1,400000) starts before the window"},
		{"goroutine ends after window", func(p *Profile) { p.Goroutines[0].End = 1_000_001 },
			"profile: goroutine 1: life [0,1000001) ends after the window (duration 1000000)"},
		{"no intervals", func(p *Profile) { p.Goroutines[2].Intervals = nil },
			"profile: goroutine 20: no intervals cover its life [0,400000)"},
		{"interval ends before start", func(p *Profile) { p.Goroutines[0].Intervals[3].End = 590_000 },
			"profile: goroutine 1: interval 3 [600000,590000) ends before it starts"},
		{"empty interval", func(p *Profile) { p.Goroutines[0].Intervals[3].End = 600_000 },
			"profile: goroutine 1: interval 3 [600000,600000) is empty"},
		{"interval before goroutine", func(p *Profile) { p.Goroutines[1].Intervals[0].Start = 80_000 },
			"profile: goroutine 7: interval 0 [80000,100000) starts before the goroutine's life [90000,650000)"},
		{"gap at start", func(p *Profile) { p.Goroutines[1].Intervals[0].Start = 95_000 },
			"profile: goroutine 7: gap [90000,95000) between the goroutine's start and interval 0 [95000,100000)"},
		{"overlap", func(p *Profile) { p.Goroutines[0].Intervals[2].Start = 140_000 },
			"profile: goroutine 1: interval 2 [140000,600000) overlaps interval 1 [100000,150000)"},
		{"gap", func(p *Profile) { p.Goroutines[0].Intervals[2].Start = 160_000 },
			"profile: goroutine 1: gap [150000,160000) between interval 1 and interval 2 [160000,600000)"},
		{"out of order", func(p *Profile) {
			ivs := p.Goroutines[0].Intervals
			ivs[1], ivs[2] = ivs[2], ivs[1]
		}, "profile: goroutine 1: gap [100000,150000) between interval 0 and interval 1 [150000,600000)"},
		{"interval after goroutine", func(p *Profile) { p.Goroutines[1].Intervals[2].End = 700_000 },
			"profile: goroutine 7: interval 2 [400000,700000) ends after the goroutine's life [90000,650000)"},
		{"gap at end", func(p *Profile) { p.Goroutines[1].Intervals[2].End = 600_000 },
			"profile: goroutine 7: gap [600000,650000) between interval 2 and the goroutine's end"},
		{"zero state", func(p *Profile) { p.Goroutines[0].Intervals[4].State = 0 },
			"profile: goroutine 1: interval 4 [620000,700000): invalid state State(0)"},
		{"unknown state", func(p *Profile) { p.Goroutines[0].Intervals[4].State = Syscall + 1 },
			"profile: goroutine 1: interval 4 [620000,700000): invalid state State(5)"},
		{"reason on running", func(p *Profile) { p.Goroutines[0].Intervals[0].Reason = "sleep" },
			`profile: goroutine 1: interval 0 [0,100000): running interval has reason "sleep" (only waiting and runnable intervals have reasons)`},
		{"reason on syscall", func(p *Profile) { p.Goroutines[0].Intervals[4].Reason = "read" },
			`profile: goroutine 1: interval 4 [620000,700000): syscall interval has reason "read" (only waiting and runnable intervals have reasons)`},
		{"inferred waiting", func(p *Profile) { p.Goroutines[0].Intervals[2].Inferred = true },
			"profile: goroutine 1: interval 2 [150000,600000): waiting interval is marked inferred (only running intervals are)"},
		{"negative waker", func(p *Profile) { p.Goroutines[0].Intervals[2].Waker = -7 },
			"profile: goroutine 1: interval 2 [150000,600000): negative waker -7"},
		{"interval stack out of range", func(p *Profile) { p.Goroutines[2].Intervals[1].Stack = 6 },
			"profile: goroutine 20: interval 1 [300000,400000): stack 6 out of range (have 6 stacks)"},
		{"sample goroutine", func(p *Profile) { p.Samples[1].Goroutine = 8 },
			"profile: sample 1: goroutine 8 is not in the profile"},
		{"sample time", func(p *Profile) { p.Samples[0].Time = 1_000_001 },
			"profile: sample 0: time 1000001 outside the window [0,1000000]"},
		{"sample negative time", func(p *Profile) { p.Samples[0].Time = -1 },
			"profile: sample 0: time -1 outside the window [0,1000000]"},
		{"sample stack", func(p *Profile) { p.Samples[1].Stack = 100 },
			"profile: sample 1: stack 100 out of range (have 6 stacks)"},
		{"region goroutine", func(p *Profile) { p.Regions[0].Goroutine = 0 },
			`profile: region 0 ("db.query"): goroutine 0 is not in the profile`},
		{"region ends before start", func(p *Profile) { p.Regions[0].End = 10 },
			`profile: region 0 ("db.query"): [100000,10) ends before it starts`},
		{"region outside window", func(p *Profile) { p.Regions[0].End = 2_000_000 },
			`profile: region 0 ("db.query"): [100000,2000000) outside the window [0,1000000]`},
		{"region stack", func(p *Profile) { p.Regions[0].Stack = -2 },
			`profile: region 0 ("db.query"): stack -2 out of range (have 6 stacks)`},
		{"log goroutine", func(p *Profile) { p.Logs[0].Goroutine = 2 },
			"profile: log 0: goroutine 2 is not in the profile"},
		{"log time", func(p *Profile) { p.Logs[0].Time = -5 },
			"profile: log 0: time -5 outside the window [0,1000000]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProfile()
			tt.mutate(p)
			err := p.CheckValid()
			if err == nil {
				t.Fatalf("CheckValid() = nil, want %q", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("CheckValid() error:\n got %s\nwant %s", got, tt.want)
			}
		})
	}

	var nilProfile *Profile
	if err := nilProfile.CheckValid(); err == nil || err.Error() != "profile: nil profile" {
		t.Errorf("nil.CheckValid() = %v, want profile: nil profile", err)
	}
}

// TestCheckValidParents checks that parents are accepted where the rules
// allow: members' parents are earlier members, non-members' anything.
func TestCheckValidParents(t *testing.T) {
	p := &Profile{
		Duration: 10,
		Stacks:   []Stack{{}},
		Goroutines: []Goroutine{
			{ID: 1, Member: true, Start: 5, End: 5},
			{ID: 2, Parent: 1, Member: true, Start: 5, End: 5},
			{ID: 3, Parent: 2, Member: true, Start: 5, End: 5},
			{ID: 4, Parent: 3, Start: 5, End: 5}, // a non-member's parent may be anything
			{ID: 5, Parent: 1000, Start: 5, End: 5},
		},
	}
	if err := p.CheckValid(); err != nil {
		t.Fatalf("CheckValid() = %v", err)
	}
}

func TestString(t *testing.T) {
	checkGolden(t, "string.golden", testProfile().String())
}

func TestStringInvalid(t *testing.T) {
	// String must not panic on an invalid profile.
	p := testProfile()
	p.Stacks = nil
	p.Goroutines[0].Entry = 99
	p.Goroutines[0].Intervals[0].State = 42
	_ = p.String()
	var nilProfile *Profile
	if got := nilProfile.String(); got != "<nil profile>\n" {
		t.Errorf("nil.String() = %q", got)
	}
}

// checkGolden compares got with the golden file testdata/name, or rewrites
// the file when the -update flag is set.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), []byte(got))
}
