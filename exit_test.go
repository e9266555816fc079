package reqprof_test

import (
	"context"
	"io"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"testing"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/capture"
)

// TestDoReleasesOnGoexit runs Do with work that leaves by runtime.Goexit,
// directly and through t.SkipNow (t.Fatal and t.FailNow leave the same
// way): the capture must be released, so that the recorder is off and the
// CPU profiler and the flight recorder are free for anyone after.
func TestDoReleasesOnGoexit(t *testing.T) {
	check := func(t *testing.T) {
		t.Helper()
		if capture.Default.Active() {
			t.Fatal("the recorder is still running after the work called runtime.Goexit")
		}
		if err := pprof.StartCPUProfile(io.Discard); err != nil {
			t.Fatalf("CPU profiling after the work called runtime.Goexit: %v", err)
		}
		pprof.StopCPUProfile()
		fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
		if err := fr.Start(); err != nil {
			t.Fatalf("a flight recorder after the work called runtime.Goexit: %v", err)
		}
		fr.Stop()
	}

	t.Run("Goexit", func(t *testing.T) {
		returned := false
		done := make(chan struct{})
		go func() {
			defer close(done)
			reqprof.Do(context.Background(), "exits", func(context.Context) error {
				runtime.Goexit()
				return nil
			})
			returned = true
		}()
		<-done
		if returned {
			t.Fatal("Do returned after runtime.Goexit")
		}
		check(t)
	})

	var ran bool
	t.Run("SkipNow", func(t *testing.T) {
		reqprof.Do(context.Background(), "skips", func(context.Context) error {
			ran = true
			t.SkipNow()
			return nil
		})
		t.Error("Do returned after t.SkipNow")
	})
	if !ran {
		t.Fatal("the work did not run")
	}
	check(t)
}
