package capture_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/capture/internal/fakeadapter"
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
	if p.Work == 0 {
		t.Fatal("the profile has no work boundary")
	}
	const work = "github.com/reqprof/reqprof/capture_test.sleepWork"
	var inWork, overhead int64
	for _, s := range view.CriticalPath(p).Segments {
		if len(s.Path) == 0 {
			continue
		}
		switch top := s.Path[0]; {
		case top.Name == work:
			inWork += s.End - s.Start
		case top.Kind == view.Overhead:
			overhead += s.End - s.Start
		default:
			t.Errorf("segment [%d,%d) under %s, want %s or %s", s.Start, s.End, top.Name, work, view.OverheadName)
		}
		for _, f := range s.Path {
			if strings.Contains(f.Name, "fakeadapter") {
				t.Errorf("the adapter's frame %s is shown as part of the work", f.Name)
			}
		}
	}
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
