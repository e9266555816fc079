package capture_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/capture/internal/fakeadapter"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

// sleepWork is the profiled work of the adapter test.
func sleepWork(context.Context) { time.Sleep(20 * time.Millisecond) }

// TestAdapterInAnotherPackage profiles work through an adapter whose names
// reqprof does not know: the work must be attributed to the handler, under
// no frame of the adapter, and not swallowed as the profiler's own time.
func TestAdapterInAnotherPackage(t *testing.T) {
	m := capture.NewManager(capture.Config{NoCPU: true})
	p, err := fakeadapter.Serve(m, context.Background(), "job", sleepWork)
	if err != nil {
		t.Fatal(err)
	}
	inWork, overhead := checkAdapterProfile(t, p)
	// The sleep alone is 20 ms of the work, whatever the machine's load;
	// the adapter's bookkeeping (200 µs of spinning) is the profiler's.
	if inWork < int64(20*time.Millisecond) {
		t.Errorf("the work has %v of the critical path, want at least the 20ms sleep (overhead %v of %v)",
			time.Duration(inWork), time.Duration(overhead), time.Duration(p.Duration))
	}
	if overhead < int64(200*time.Microsecond) {
		t.Errorf("the adapter's bookkeeping is not the profiler's time: overhead %v, want at least 200µs", time.Duration(overhead))
	}
}

// TestAdapterPreemptedByTheCollector profiles the adapter's work while the
// garbage collector keeps running: its stack scans stop the work's
// goroutine at arbitrary points — in the adapter's closure before the
// handler, in capture.Run logging the end mark after it — and the stretches
// around those stops must stay the work's or the profiler's, never the
// adapter's or a foreign frame's.
func TestAdapterPreemptedByTheCollector(t *testing.T) {
	stop := make(chan struct{})
	done := make(chan struct{})
	defer func() { close(stop); <-done }()
	go func() { // garbage, and collections, all the time
		defer close(done)
		var keep [][]byte
		for {
			select {
			case <-stop:
				return
			default:
			}
			if keep = append(keep, make([]byte, 64<<10)); len(keep) > 100 {
				keep = nil
				runtime.GC()
			}
		}
	}()
	runs := 100
	if testing.Short() {
		runs = 20
	}
	for range runs {
		m := capture.NewManager(capture.Config{NoCPU: true})
		p, err := fakeadapter.Serve(m, context.Background(), "job", shortSleepWork)
		if err != nil {
			t.Fatal(err)
		}
		if inWork, _ := checkAdapterProfile(t, p); inWork < int64(2*time.Millisecond) {
			t.Errorf("the work has %v of the critical path, want at least the 2ms sleep", time.Duration(inWork))
		}
		if t.Failed() {
			return
		}
	}
}

// shortSleepWork is the profiled work of the collector test.
func shortSleepWork(context.Context) { time.Sleep(2 * time.Millisecond) }

// checkAdapterProfile checks p's critical path: every segment is the work's
// function's, the work's own with no function known (a state directly
// under the work: preempted in the adapter's closure, say) or the
// profiler's, and no frame of the adapter shows. It returns the time under
// the work's function and the profiler's. (Where the collector stopped the
// goroutine in the end mark's call is tracedec's TestInferAboveUserCode's:
// an order check here, "no work after the profiler's end", failed once in
// CI on 7 µs not explained yet.)
func checkAdapterProfile(t *testing.T, p *profile.Profile) (inWork, overhead int64) {
	t.Helper()
	if p.Work == 0 {
		t.Fatal("the profile has no work boundary")
	}
	for _, s := range view.CriticalPath(p).Segments {
		if len(s.Path) == 0 {
			continue
		}
		switch top := s.Path[0]; {
		case top.Name == sleepWorkName || top.Name == shortSleepWorkName:
			inWork += s.End - s.Start
		case top.Kind == view.Overhead:
			overhead += s.End - s.Start
		case len(s.Path) == 1 && top.Kind != view.Func && top.Kind != view.Via:
			// The work's, where in it unknown.
		default:
			t.Errorf("segment [%d,%d) under %s, want %s or %s", s.Start, s.End, top.Name, sleepWorkName, view.OverheadName)
		}
		for _, f := range s.Path {
			if strings.Contains(f.Name, "fakeadapter") {
				t.Errorf("the adapter's frame %s is shown as part of the work", f.Name)
			}
		}
	}
	return inWork, overhead
}

const (
	sleepWorkName      = "github.com/reqprof/reqprof/capture_test.sleepWork"
	shortSleepWorkName = "github.com/reqprof/reqprof/capture_test.shortSleepWork"
)

func TestRunReturnsTheWorksError(t *testing.T) {
	errWork := errors.New("work failed")
	var got context.Context
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, 1)
	err := capture.Run(ctx, func(ctx context.Context) error { got = ctx; return errWork })
	if err != errWork {
		t.Errorf("Run() = %v, want the work's error", err)
	}
	if got != ctx {
		t.Error("the work did not get Run's context")
	}
}
