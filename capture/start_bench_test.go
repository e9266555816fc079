package capture

import (
	"io"
	"runtime/trace"
	"slices"
	"testing"
	"time"

	"github.com/reqprof/reqprof/internal/cputime"
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

// BenchmarkColdCycleCPU measures the process CPU time (getrusage) of what
// a cold profile costs apart from reqprof's extraction: the runtime's
// flight recorder started, snapshot (to io.Discard) and stopped around a
// 2 ms sleep, with and without reqprof's CPU sampling start and stop. It
// is the floor of a profiled request that starts the recorder, paid by a
// server that profiles under load (where the recorder does not linger).
func BenchmarkColdCycleCPU(b *testing.B) {
	for _, withCPU := range []bool{false, true} {
		name := "recorder"
		if withCPU {
			name = "recorder+cpu-sampling"
		}
		b.Run(name, func(b *testing.B) {
			c0, ok := cputime.Process()
			if !ok {
				b.Skip("no process CPU clock")
			}
			for b.Loop() {
				fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: time.Minute, MaxBytes: 64 << 20})
				if err := fr.Start(); err != nil {
					b.Fatal(err)
				}
				var s cpuSampler
				if withCPU {
					s.start(0)
				}
				time.Sleep(2 * time.Millisecond)
				if _, err := fr.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
				if withCPU {
					s.stop()
				}
				fr.Stop()
			}
			c1, _ := cputime.Process()
			b.ReportMetric(float64(c1-c0)/float64(b.N), "cpu-ns/op")
		})
	}
}
