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
// reqprof's CPU sampling start (start returns at once; the switch to
// cpuRate, pprof.StartCPUProfile then the rate change, goes on in the
// background, reported apart as cpu-switch). Each iteration starts and
// stops both, as a capture of a process with nothing else profiled does;
// the medians are reported.
func BenchmarkColdStart(b *testing.B) {
	var rec, cpu, sw []time.Duration
	for b.Loop() {
		t0 := time.Now()
		fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: time.Minute, MaxBytes: 64 << 20})
		if err := fr.Start(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		var s cpuSampler
		s.start(0)
		t2 := time.Now()
		<-s.done()
		t3 := time.Now()
		if !s.owned {
			b.Fatal("CPU profiling is in use")
		}
		s.stop()
		fr.Stop()
		rec, cpu, sw = append(rec, t1.Sub(t0)), append(cpu, t2.Sub(t1)), append(sw, t3.Sub(t1))
	}
	med := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2])
	}
	b.ReportMetric(med(rec), "ns/recorder-start")
	b.ReportMetric(med(cpu), "ns/cpu-start")
	b.ReportMetric(med(sw), "ns/cpu-switch")
}
