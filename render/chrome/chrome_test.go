package chrome_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/reqprof/reqprof/internal/golden"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/chrome"
	"github.com/reqprof/reqprof/view"
)

const (
	us = int64(time.Microsecond)
	ms = int64(time.Millisecond)
)

// regionType is a region name that needs escaping in JSON.
const regionType = "SQL: SELECT \"name\" FROM users WHERE id = $1 -- <ü> \\ \x01\n"

// handProfile builds, by hand, the profile of a 10ms request:
//
//   - goroutine 1 (the root) runs at no known frame for 100µs (unsampled),
//     authorizes, then in loadUser starts goroutine 7 and waits on a
//     channel until goroutine 7 sends at 5ms; then in cache it waits for a
//     mutex held by goroutine 9, which is not part of the request and
//     unlocks it at 6ms; then it renders. It logs at 1ms.
//   - goroutine 7 queries the database inside a region (network wait and a
//     system call), sends its answer at 5ms, and runs until 5.5ms; it logs
//     exactly when its region begins.
//   - goroutine 9 held the mutex while sleeping, and is in the profile only
//     from 3ms to 6ms, when it woke goroutine 1.
func handProfile() *profile.Profile {
	p := &profile.Profile{
		Name:      "GET /users/{id}",
		Start:     time.Date(2026, 11, 26, 9, 30, 0, 123456789, time.UTC),
		Duration:  10 * ms,
		GoVersion: "go1.26.8",
		Host:      "web-1",
		Frames: []profile.Frame{
			0:  {Func: "main.handler", File: "/app/main.go", Line: 20},
			1:  {Func: "main.authorize", File: "/app/main.go", Line: 31},
			2:  {Func: "main.loadUser", File: "/app/main.go", Line: 38},
			3:  {Func: "main.render", File: "/app/main.go", Line: 45},
			4:  {Func: "main.queryUser", File: "/app/db.go", Line: 12},
			5:  {Func: "database/sql.(*DB).QueryContext", File: "/go/src/database/sql/sql.go", Line: 1800},
			6:  {Func: "net.(*conn).Read", File: "/go/src/net/net.go", Line: 196},
			7:  {Func: "sync.(*Mutex).Lock", File: "/go/src/sync/mutex.go", Line: 90},
			8:  {Func: "main.cache", File: "/app/cache.go", Line: 7},
			9:  {Func: "main.holder", File: "/app/cache.go", Line: 30},
			10: {Func: "time.Sleep", File: "/go/src/runtime/time.go", Line: 300},
			11: {Func: "syscall.Syscall", File: "/go/src/syscall/syscall_linux.go", Line: 70},
			12: {Func: "main.handler", File: "/app/main.go", Line: 24}, // another line of handler
			13: {Func: "main.holder", File: "/app/cache.go", Line: 33},
		},
		Stacks: []profile.Stack{
			0:  {},
			1:  {Frames: []profile.FrameID{0}},        // handler
			2:  {Frames: []profile.FrameID{0, 1}},     // handler → authorize
			3:  {Frames: []profile.FrameID{0, 2}},     // handler → loadUser
			4:  {Frames: []profile.FrameID{0, 3}},     // handler → render
			5:  {Frames: []profile.FrameID{4}},        // queryUser
			6:  {Frames: []profile.FrameID{4, 5, 6}},  // queryUser → QueryContext → Read
			7:  {Frames: []profile.FrameID{12, 8, 7}}, // handler → cache → Lock
			8:  {Frames: []profile.FrameID{13}},       // holder
			9:  {Frames: []profile.FrameID{9, 10}},    // holder → Sleep
			10: {Frames: []profile.FrameID{4, 11}},    // queryUser → Syscall
			11: {Frames: []profile.FrameID{12, 8}},    // handler → cache
		},
		Goroutines: []profile.Goroutine{
			{
				ID: 1, Member: true, Entry: 1, Start: 0, End: 10 * ms,
				Intervals: []profile.Interval{
					{Start: 0, End: 100*us + 7, State: profile.Running, Stack: 0, Inferred: true},
					{Start: 100*us + 7, End: 1500 * us, State: profile.Running, Stack: 2},
					{Start: 1500 * us, End: 2 * ms, State: profile.Running, Stack: 3},
					{Start: 2 * ms, End: 5 * ms, State: profile.Waiting, Reason: "chan receive", Stack: 3, Waker: 7},
					{Start: 5 * ms, End: 5200 * us, State: profile.Runnable, Stack: 3},
					{Start: 5200 * us, End: 5500 * us, State: profile.Running, Stack: 11},
					{Start: 5500 * us, End: 6 * ms, State: profile.Waiting, Reason: "sync", Stack: 7, Waker: 9},
					{Start: 6 * ms, End: 6100 * us, State: profile.Runnable, Stack: 7},
					{Start: 6100 * us, End: 7 * ms, State: profile.Running, Stack: 11},
					{Start: 7 * ms, End: 10 * ms, State: profile.Running, Stack: 4},
				},
			},
			{
				ID: 7, Parent: 1, Member: true, CreatedAt: 3, Entry: 5, Start: 1800 * us, End: 5500 * us, Exited: true,
				Intervals: []profile.Interval{
					{Start: 1800 * us, End: 2050 * us, State: profile.Runnable, Stack: 5},
					{Start: 2050 * us, End: 2500 * us, State: profile.Running, Stack: 5},
					{Start: 2500 * us, End: 4500 * us, State: profile.Waiting, Reason: "network", Stack: 6},
					{Start: 4500 * us, End: 4800 * us, State: profile.Syscall, Stack: 10},
					{Start: 4800 * us, End: 5500 * us, State: profile.Running, Stack: 5},
				},
			},
			{
				ID: 9, Entry: 8, Start: 3 * ms, End: 6 * ms,
				Intervals: []profile.Interval{
					{Start: 3 * ms, End: 5900 * us, State: profile.Waiting, Reason: "sleep", Stack: 9},
					{Start: 5900 * us, End: 6 * ms, State: profile.Running, Stack: 8},
				},
			},
		},
		Regions: []profile.Region{
			{Goroutine: 7, Type: regionType, Start: 2400 * us, End: 4600 * us, Stack: 5},
		},
		Logs: []profile.Log{
			{Goroutine: 1, Time: 1 * ms, Category: "auth", Message: "user=42 ✓"},
			{Goroutine: 7, Time: 2400 * us, Message: "query \"start\""},
		},
		Warnings: []string{"a note for readers"},
	}
	p.SetAttr(profile.ModuleAttr, "example.com/app")
	p.SetAttr("http.status", "200")
	return p
}

func render1(t *testing.T, p *profile.Profile, o render.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := chrome.Render(&b, p, o); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func check(t *testing.T, data []byte) *parsed {
	t.Helper()
	p, err := validate(data)
	if err != nil {
		t.Fatalf("invalid trace:\n%v", err)
	}
	return p
}

func TestGolden(t *testing.T) {
	p := handProfile()
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		o    render.Options
	}{
		{"handler.trace.json.golden", render.Options{}},
		{"handler-nogroup.trace.json.golden", render.Options{NoGroup: true}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := render1(t, p, tc.o)
			check(t, got)
			file := filepath.Join("testdata", tc.file)
			golden.Check(t, file, got)
		})
	}
}

// sliceList renders a thread's slices as "depth name [start,end]" lines.
func sliceList(ss []*vslice) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "%s%s [%v,%v]\n", strings.Repeat("  ", s.Depth), s.Name, s.Start, s.End)
	}
	return b.String()
}

func TestHandProfile(t *testing.T) {
	p := handProfile()
	tr := check(t, render1(t, p, render.Options{}))

	if tr.ProcessName != p.Name {
		t.Errorf("process name %q", tr.ProcessName)
	}
	wantThreads := []string{
		"goroutine 1: GET /users/{id} (root)",
		"goroutine 7: main.queryUser",
		"goroutine 9: main.holder (outside the work; woke goroutine 1)",
	}
	for i, tid := range tr.threads() {
		if i >= len(wantThreads) || tr.ThreadNames[tid] != wantThreads[i] {
			t.Errorf("thread %d (sort index %d) is named %q", tid, tr.SortIndex[tid], tr.ThreadNames[tid])
		}
	}

	// Stacks over time, merged: handler is one slice across lines 20 and
	// 24, a wait is one slice, the region's frames end with it.
	wantSlices := map[int64]string{
		1: `[running, unsampled] [0,100.007]
main.handler [100.007,10000]
  main.authorize [100.007,1500]
  main.loadUser [1500,5200]
    [wait: chan receive] [2000,5000]
    [runnable] [5000,5200]
  main.cache [5200,7000]
    sync.(*Mutex).Lock [5500,6100]
      [wait: sync] [5500,6000]
      [runnable] [6000,6100]
  main.render [7000,10000]
`,
		7: `main.queryUser [1800,5500]
  [runnable] [1800,2050]
  ` + regionType + ` [2400,4600]
    database/sql.(*DB).QueryContext [2500,4500]
      [wait: network] [2500,4500]
    syscall.Syscall [4500,4600]
      [syscall] [4500,4600]
  syscall.Syscall [4600,4800]
    [syscall] [4600,4800]
`,
		9: `main.holder [3000,6000]
  time.Sleep [3000,5900]
    [wait: sleep] [3000,5900]
`,
	}
	for tid, want := range wantSlices {
		if got := sliceList(tr.Slices[tid]); got != want {
			t.Errorf("goroutine %d slices:\n%s\nwant:\n%s", tid, got, want)
		}
	}

	// State slices carry the state, the reason, the waker and the place.
	find := func(tid int64, name string) *vslice {
		for _, s := range tr.Slices[tid] {
			if s.Name == name {
				return s
			}
		}
		t.Fatalf("goroutine %d has no slice %q", tid, name)
		return nil
	}
	for _, c := range []struct {
		tid  int64
		name string
		args string
	}{
		{1, "[running, unsampled]", `{"state":"running","unsampled":true}`},
		{1, "[wait: chan receive]", `{"state":"waiting","reason":"chan receive","woken_by":7,"at":"/app/main.go:38"}`},
		{1, "[wait: sync]", `{"state":"waiting","reason":"sync","woken_by":9,"at":"/app/cache.go:7"}`},
		{7, "[wait: network]", `{"state":"waiting","reason":"network","at":"/app/db.go:12"}`},
		{7, "[syscall]", `{"state":"syscall","at":"/app/db.go:12"}`},
		{1, "main.handler", `{"file":"/app/main.go"}`},
		{7, regionType, ``},
	} {
		if got := string(find(c.tid, c.name).ArgsRaw); got != c.args {
			t.Errorf("goroutine %d %q args %s, want %s", c.tid, c.name, got, c.args)
		}
	}
	if s := find(7, regionType); s.Cat != chrome.CatRegion {
		t.Errorf("region slice category %q", s.Cat)
	}

	// Flows: the spawn, from loadUser (where goroutine 7 was created) to
	// goroutine 7's first slice; the wake-ups, from where the wakers were
	// to the woken goroutine's next slice.
	type fl struct {
		name             string
		fromTID          int64
		from             string
		sTS              float64
		toTID            int64
		to               string
		fTS              float64
		fromStart, toEnd float64
	}
	var got []fl
	for _, f := range tr.Flows {
		got = append(got, fl{f.Name, f.S.TID, f.From.Name, f.S.TS, f.F.TID, f.To.Name, f.F.TS, f.From.Start, f.To.End})
	}
	want := []fl{
		{chrome.FlowSpawn, 1, "main.loadUser", 1800, 7, "[runnable]", 1800, 1500, 2050},
		{chrome.FlowWakeup, 7, "main.queryUser", 5000, 1, "[runnable]", 5000, 1800, 5200},
		// Goroutine 9's window ends when it wakes goroutine 1: the start
		// is at the last moment holder was not in Sleep.
		{chrome.FlowWakeup, 9, "main.holder", 5900, 1, "[runnable]", 6000, 3000, 6100},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("flows:\n got %v\nwant %v", got, want)
	}
	for i, f := range tr.Flows {
		if f.ID != int64(i+1) {
			t.Errorf("flow ids %d at %d", f.ID, i)
		}
	}

	// Logs.
	var logs []string
	for _, e := range tr.Instants {
		logs = append(logs, fmt.Sprintf("%d %v %s %s %v", e.TID, e.TS, e.Name, e.Cat, e.Args))
	}
	wantLogs := []string{
		"1 1000 auth: user=42 ✓ log map[category:auth message:user=42 ✓]",
		`7 2400 query "start" log map[category: message:query "start"]`,
	}
	if fmt.Sprint(logs) != fmt.Sprint(wantLogs) {
		t.Errorf("logs:\n%q\nwant\n%q", logs, wantLogs)
	}

	md := tr.Metadata
	if md["name"] != p.Name || md["start"] != "2026-11-26T09:30:00.123456789Z" || md["duration_ns"] != float64(10*ms) ||
		md["go_version"] != "go1.26.8" || md["host"] != "web-1" || md["goroutines"] != float64(2) || md["goroutines_outside"] != float64(1) {
		t.Errorf("metadata %v", md)
	}
	if a, _ := md["attrs"].(map[string]any); a["http.status"] != "200" {
		t.Errorf("metadata attrs %v", md["attrs"])
	}
}

// A region is never a slice twice: it is a frame of the timelines only.
func TestRegionsOnce(t *testing.T) {
	p := handProfile()
	tr := check(t, render1(t, p, render.Options{}))
	for _, r := range p.Regions {
		var total float64
		n := 0
		for _, s := range tr.Slices[r.Goroutine] {
			if s.Name == r.Type {
				if s.Cat != chrome.CatRegion {
					t.Errorf("region slice with category %q", s.Cat)
				}
				total += s.End - s.Start
				n++
			}
		}
		if n != 1 || total != float64(r.End-r.Start)/1e3 {
			t.Errorf("region %q: %d slices over %vµs, want 1 over %vµs", r.Type, n, total, float64(r.End-r.Start)/1e3)
		}
	}
}

// A zero-length region that begins with another region (listed first, as
// a region ended at once is) does not split that region into two slices:
// chrome once counted zero-length regions as active, where the views do
// not, and gave the other region the zero-length one's identity until the
// next segment.
func TestZeroLengthRegionSplitsNothing(t *testing.T) {
	p := handProfile()
	var outer profile.Region
	for _, r := range p.Regions {
		if r.End-r.Start > outer.End-outer.Start {
			outer = r
		}
	}
	var at int64 = -1
	for _, g := range p.Goroutines {
		if g.ID != outer.Goroutine {
			continue
		}
		for _, iv := range g.Intervals {
			if iv.Start > outer.Start && iv.Start < outer.End {
				at = iv.Start
				break
			}
		}
	}
	if at < 0 {
		t.Fatal("no interval boundary inside the longest region")
	}
	p.Regions = append([]profile.Region{{Goroutine: outer.Goroutine, Type: "zero", Start: outer.Start, End: outer.Start, Stack: outer.Stack}}, p.Regions...)
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	tr := check(t, render1(t, p, render.Options{}))
	n := 0
	for _, s := range tr.Slices[outer.Goroutine] {
		if s.Name == outer.Type {
			n++
		}
		if s.Name == "zero" {
			t.Errorf("a zero-length region is a slice")
		}
	}
	if n != 1 {
		t.Errorf("region %q is %d slices, want 1", outer.Type, n)
	}
}

func TestNoGroup(t *testing.T) {
	tr := check(t, render1(t, handProfile(), render.Options{NoGroup: true}))
	found := false
	for _, s := range tr.Slices[7] {
		if s.Name == "net.(*conn).Read" && s.Parent != nil && s.Parent.Name == "database/sql.(*DB).QueryContext" {
			found = true
		}
	}
	if !found {
		t.Errorf("library frames folded with NoGroup:\n%s", sliceList(tr.Slices[7]))
	}
	if tr.Metadata["library_frames"] != "all" {
		t.Errorf("metadata library_frames %v", tr.Metadata["library_frames"])
	}
}

// The output is the same whatever the view, deterministic, and escapes
// every name so that it reads back unchanged.
func TestDeterministicAndEscaped(t *testing.T) {
	p := handProfile()
	a := render1(t, p, render.Options{})
	for _, k := range view.Kinds() {
		if b := render1(t, p, render.Options{View: k}); !bytes.Equal(a, b) {
			t.Errorf("view %s changes the output", k)
		}
	}
	for range 5 {
		if b := render1(t, handProfile(), render.Options{}); !bytes.Equal(a, b) {
			t.Fatal("output differs between runs")
		}
	}
	for _, c := range a {
		if c >= 0x80 || (c < 0x20 && c != '\n') || c == 0x7f {
			t.Fatalf("byte %#x in the output: want ASCII without control characters", c)
		}
	}
	if !json.Valid(a) {
		t.Fatal("invalid JSON")
	}
	tr := check(t, a)
	if tr.Instants[0].Name != "auth: user=42 ✓" {
		t.Errorf("log name read back as %q", tr.Instants[0].Name)
	}

	// Invalid UTF-8 becomes U+FFFD.
	q := handProfile()
	q.Name = "bad \xff name"
	if tr := check(t, render1(t, q, render.Options{})); tr.ProcessName != "bad \ufffd name" {
		t.Errorf("process name read back as %q", tr.ProcessName)
	}
}

func TestErrors(t *testing.T) {
	var b bytes.Buffer
	if err := chrome.Render(&b, handProfile(), render.Options{View: "flame"}); err == nil || !strings.Contains(err.Error(), `"flame"`) {
		t.Errorf("unknown view: %v", err)
	}
	if err := chrome.Render(&b, nil, render.Options{}); err == nil {
		t.Error("nil profile accepted")
	}
}

// A profile without goroutines is still a valid file, named after the
// profile.
func TestEmptyProfile(t *testing.T) {
	p := &profile.Profile{Name: "empty", Stacks: []profile.Stack{{}}}
	tr := check(t, render1(t, p, render.Options{}))
	if tr.ProcessName != "empty" || len(tr.Slices) != 0 {
		t.Errorf("process %q, %d threads with slices", tr.ProcessName, len(tr.Slices))
	}
	p.Name = ""
	if tr := check(t, render1(t, p, render.Options{})); tr.ProcessName == "" {
		t.Error("unnamed profile gives an unnamed process")
	}
}

// A log at the moment of a spawn, inside the slice the spawn binds to,
// would be the top of Perfetto's stack there: the flow event then goes
// right after the slice's begin.
func TestFlowAfterLog(t *testing.T) {
	p := handProfile()
	p.Logs = append(p.Logs, profile.Log{Goroutine: 1, Time: 1700 * us, Message: "spawning"})
	tr := check(t, render1(t, p, render.Options{}))
	f := tr.Flows[0]
	if f.Name != chrome.FlowSpawn || f.From.Name != "main.loadUser" || f.S.TS != 1500 {
		t.Errorf("spawn flow from %q at %v", f.From.Name, f.S.TS)
	}
}

// The window starts at ts 10^k µs, the smallest not below its duration.
func TestTimeOrigin(t *testing.T) {
	for _, c := range []struct {
		duration int64
		origin   float64
	}{
		{0, 1}, {999, 1}, {1000, 1}, {1001, 10}, {10 * ms, 10_000}, {10*ms + 1, 100_000},
		{2 * int64(time.Hour), 1e10},
	} {
		p := &profile.Profile{Name: "x", Duration: c.duration, Stacks: []profile.Stack{{}, {Frames: []profile.FrameID{0}}},
			Frames: []profile.Frame{{Func: "main.f", File: "/f.go", Line: 1}}}
		if c.duration > 0 {
			p.Goroutines = []profile.Goroutine{{ID: 1, Member: true, End: c.duration, Intervals: []profile.Interval{
				{End: c.duration, State: profile.Running, Stack: 1}}}}
		}
		tr := check(t, render1(t, p, render.Options{}))
		if got := tr.Metadata["ts_origin_us"]; got != c.origin {
			t.Errorf("duration %d: origin %v, want %v", c.duration, got, c.origin)
		}
		if ss := tr.Slices[1]; c.duration > 0 && (len(ss) != 1 || ss[0].Start != 0 || ss[0].End != float64(c.duration)/1e3) {
			t.Errorf("duration %d: slices %s", c.duration, sliceList(ss))
		}
	}
}
