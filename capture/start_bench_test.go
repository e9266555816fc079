package capture

import (
	"runtime/trace"
	"slices"
	"testing"
	"time"
)

// BenchmarkColdStart splits what an isolated profiled request waits for
// before its work runs: the flight recorder's start (the runtime's
// StartTrace: a stop of the world and every goroutine's status) and
// reqprof's CPU sampling start (pprof.StartCPUProfile, then the wait, at
// most raiseWait, for the rate to be raised). Each iteration starts and
// stops both, as a capture of a process with nothing else profiled does;
// the medians are reported.
func BenchmarkColdStart(b *testing.B) {
	var rec, cpu []time.Duration
	for b.Loop() {
		t0 := time.Now()
		fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: time.Minute, MaxBytes: 64 << 20})
		if err := fr.Start(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		var s cpuSampler
		own := s.start()
		t2 := time.Now()
		if own {
			s.stop()
		}
		fr.Stop()
		rec, cpu = append(rec, t1.Sub(t0)), append(cpu, t2.Sub(t1))
	}
	med := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2])
	}
	b.ReportMetric(med(rec), "ns/recorder-start")
	b.ReportMetric(med(cpu), "ns/cpu-start")
}
