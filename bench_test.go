package reqprof_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/profile"
)

// benchTrivial is the work of the Do benchmarks: nothing.
func benchTrivial(context.Context) error { return nil }

// benchDo runs reqprof.Do on the trivial function and checks its profile.
func benchDo(b *testing.B) {
	p, err := reqprof.Do(context.Background(), "trivial", benchTrivial)
	if err != nil {
		b.Fatal(err)
	}
	if p == nil || p.Profile == nil || len(p.Goroutines) == 0 {
		b.Fatal("reqprof.Do returned an empty profile")
	}
}

// BenchmarkDoTrivial measures the whole cost of profiling an empty unit of
// work when nothing else is being profiled: every call starts the flight
// recorder and CPU profiling, runs the task, snapshots, extracts, and stops
// them (the reference count drops to zero each time).
func BenchmarkDoTrivial(b *testing.B) {
	if capture.Default.Active() {
		b.Fatal("the default capture manager is already active")
	}
	b.ReportAllocs()
	for b.Loop() {
		benchDo(b)
	}
	// The recorder stops just after the last profile is delivered.
	for range 5000 {
		if !capture.Default.Active() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatal("the recorder is still running after the last Do")
}

// BenchmarkDoTrivialRecorderWarm is BenchmarkDoTrivial while a long-running
// capture keeps the flight recorder (and CPU profiling) running: each call
// pays for the task, the snapshot of the recorder's whole window, and the
// extraction, but not for starting and stopping the recorder.
func BenchmarkDoTrivialRecorderWarm(b *testing.B) {
	// Start from an idle heap: a background sweep of earlier garbage would
	// fill the recorder's window with scheduler events.
	runtime.GC()
	// Start the long capture on its own goroutine, so that its task's root
	// goroutine does not create the Do calls' goroutines: its final
	// extraction stays small.
	type started struct {
		c   *capture.Capture
		err error
	}
	ch := make(chan started, 1)
	go func() {
		_, c, err := capture.Default.Start(context.Background(), "warm")
		ch <- started{c, err}
	}()
	s := <-ch
	if s.err != nil {
		b.Fatal(s.err)
	}
	stopped := false
	b.Cleanup(func() {
		if !stopped { // a failed iteration: release the recorder anyway
			s.c.StopFunc(func(*profile.Profile, error) {})
		}
	})
	b.ReportAllocs()
	// Each call snapshots the recorder's whole window, which grows while
	// the benchmark runs: report the mean time of the first and the last
	// quarter of the calls too.
	var took []time.Duration
	for b.Loop() {
		t0 := time.Now()
		benchDo(b)
		took = append(took, time.Since(t0))
	}
	if q := len(took) / 4; q > 0 {
		b.ReportMetric(float64(mean(took[:q])), "ns/op-q1")
		b.ReportMetric(float64(mean(took[len(took)-q:])), "ns/op-q4")
	}
	// Stop the long capture and wait until the recorder is released. Its
	// own profile is not what is measured; a window that outgrew the
	// recorder is only logged.
	stopped = true
	if _, err := s.c.Stop(); err != nil {
		b.Logf("long-running capture: %v", err)
	}
	if capture.Default.Active() {
		b.Fatal("the recorder is still running after the long capture stopped")
	}
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}
