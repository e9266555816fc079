package tracedec

import (
	"bytes"
	"context"
	"io"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reqprof/reqprof/profile"
	xtrace "golang.org/x/exp/trace"
)

// traceTasks runs n tasks of type typ under runtime/trace.Start (as
// go test -trace and /debug/pprof/trace record), each sleeping on a
// goroutine it waits for, and returns the trace.
func traceTasks(t testing.TB, typ string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("tracing unavailable: %v", err)
	}
	for i := range n {
		ctx, task := trace.NewTask(context.Background(), typ)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			trace.WithRegion(ctx, "sleep", func() { time.Sleep(time.Duration(1+i%3) * time.Millisecond) })
		}()
		wg.Wait()
		trace.Log(ctx, "", "done") // an empty category: a log like any other
		task.End()
		if i == n/2 {
			other, end := trace.NewTask(context.Background(), "other")
			trace.Log(other, "x", "y")
			end.End()
		}
	}
	trace.Stop()
	return buf.Bytes()
}

func TestListAndExtractTask(t *testing.T) {
	data := traceTasks(t, "unit", 6)
	var reads []int64
	l, err := List(bytes.NewReader(data), func(n int64) { reads = append(reads, n) })
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) == 0 || reads[len(reads)-1] != int64(len(data)) {
		t.Errorf("progress %v, want it to end at %d bytes", reads, len(data))
	}
	var units []TaskInfo
	for _, tk := range l.Tasks {
		if tk.Type == "unit" {
			units = append(units, tk)
		}
	}
	if len(units) != 6 || l.Events == 0 || len(l.Goroutines) == 0 {
		t.Fatalf("listing: %d units of %d tasks, %d events, %d goroutines", len(units), len(l.Tasks), l.Events, len(l.Goroutines))
	}
	// Batch extraction (the whole trace in memory) is the reference.
	batch, err := ExtractTasks(data, "unit", testOptions)
	if err != nil || len(batch) != 6 {
		t.Fatalf("batch: %d profiles, %v", len(batch), err)
	}
	for i, tk := range units {
		if !tk.Complete() || tk.Duration() < time.Millisecond {
			t.Errorf("task %+v: not complete or too short", tk)
		}
		p, err := ExtractTask(bytes.NewReader(data), tk.ID, testOptions, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.CheckValid(); err != nil {
			t.Fatal(err)
		}
		if p.Name != "unit" || p.Duration != int64(tk.Duration()) {
			t.Errorf("task %d: profile %q of %v, listed %v", tk.ID, p.Name, time.Duration(p.Duration), tk.Duration())
		}
		if got, want := p.String(), batch[i].String(); got != want {
			t.Errorf("task %d: streamed profile differs from the batch one:\n%s\nbatch:\n%s", tk.ID, got, want)
		}
		if len(p.Logs) != 1 || p.Logs[0].Message != "done" {
			t.Errorf("task %d: logs %+v", tk.ID, p.Logs)
		}
	}
	// Every unit, one at a time, as each ends.
	var each []*profile.Profile
	n, err := EachTask(bytes.NewReader(data), "unit", testOptions, nil, func(p *profile.Profile) error {
		each = append(each, p)
		return nil
	})
	if err != nil || n != 6 {
		t.Fatalf("EachTask: %d, %v", n, err)
	}
	for i, p := range each {
		if p.String() != batch[i].String() {
			t.Errorf("EachTask's profile %d differs from the batch one:\n%s\nbatch:\n%s", i, p.String(), batch[i].String())
		}
	}
	if _, err := ExtractTask(bytes.NewReader(data), 999999, testOptions, nil); err == nil || !strings.Contains(err.Error(), "no complete task 999999") {
		t.Errorf("unknown task: %v", err)
	}
}

func TestExtractGoroutine(t *testing.T) {
	data := traceTasks(t, "unit", 2)
	l, err := List(bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	var g GoroutineInfo
	for _, gi := range l.Goroutines {
		if gi.Created && gi.Exited && strings.Contains(gi.Entry, "traceTasks") {
			g = gi
			break
		}
	}
	if g.ID == 0 {
		t.Fatalf("no goroutine of traceTasks in %+v", l.Goroutines)
	}
	p, err := ExtractGoroutine(bytes.NewReader(data), g, testOptions, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	if p.Goroutines[0].ID != g.ID || p.Duration != int64(g.End-g.Start) || !strings.HasPrefix(p.Name, "goroutine ") {
		t.Errorf("profile %q of goroutine %d over %v, want %d over %v", p.Name, p.Goroutines[0].ID, time.Duration(p.Duration), g.ID, g.End-g.Start)
	}
	var sleep int64
	for _, iv := range p.Goroutines[0].Intervals {
		if iv.Reason == "sleep" {
			sleep += iv.Duration()
		}
	}
	if sleep < int64(time.Millisecond) {
		t.Errorf("the goroutine slept %v, want at least 1ms", time.Duration(sleep))
	}
	if _, err := ExtractGoroutine(bytes.NewReader(data), GoroutineInfo{ID: 1 << 40, End: time.Hour}, testOptions, nil); err == nil {
		t.Error("no error for an unknown goroutine")
	}
}

func TestTraceErrors(t *testing.T) {
	data := traceTasks(t, "unit", 2)
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"garbage", []byte("not a trace at all"), "not an execution trace"},
		{"empty", nil, "not an execution trace"},
		{"truncated", data[:len(data)*2/3], "execution trace"},
	} {
		_, err := List(bytes.NewReader(c.data), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: List: %v, want %q", c.name, err, c.want)
		}
		_, err = EachTask(bytes.NewReader(c.data), "", testOptions, nil, func(*profile.Profile) error { return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: EachTask: %v, want %q", c.name, err, c.want)
		}
	}
	stop := io.ErrClosedPipe
	if _, err := EachTask(bytes.NewReader(data), "unit", testOptions, nil, func(*profile.Profile) error { return stop }); err != stop {
		t.Errorf("an error of each: %v", err)
	}
}

// TestScanForgets checks that a scan keeps no history once no wanted task
// is open: after 40 tasks, it holds a small part of what a parse of the
// whole trace holds, and fewer goroutines.
func TestScanForgets(t *testing.T) {
	data := traceTasks(t, "unit", 40)
	held := func(tl *timeline) (ivs, gs int) {
		for _, g := range tl.gs {
			ivs += len(g.ivs) + len(g.points) + len(g.regions) + len(g.logs)
		}
		return ivs, len(tl.gs)
	}
	whole, err := read(bytes.NewReader(data), nil, &testOptions)
	if err != nil {
		t.Fatal(err)
	}
	wholeIvs, wholeGs := held(whole)
	var scanIvs, scanGs int
	err = scan(bytes.NewReader(data), &testOptions, nil, scanHooks{
		want:   func(tk xtrace.Task) bool { return tk.Type == "unit" },
		ended:  func(*timeline, *task) (bool, error) { return false, nil },
		finish: func(tl *timeline) error { scanIvs, scanGs = held(tl); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("whole trace: %d records over %d goroutines; scan: %d over %d", wholeIvs, wholeGs, scanIvs, scanGs)
	if scanIvs*10 > wholeIvs || scanGs >= wholeGs {
		t.Errorf("the scan holds %d records of %d goroutines at the end, the whole parse %d of %d", scanIvs, scanGs, wholeIvs, wholeGs)
	}
}
