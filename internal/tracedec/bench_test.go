package tracedec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqprof/reqprof/internal/cputime"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/text"
	xtrace "golang.org/x/exp/trace"
)

// benchReqID is the capture id the synthetic request logs under testOptions.IDCategory.
const benchReqID = "1"

// benchFanOut is the number of goroutines the synthetic request starts in
// its fan-out; with the mutex waiter the request has benchFanOut+2 member
// goroutines.
const benchFanOut = 8

var benchSink atomic.Int64

// burn spins on the CPU for about d.
func burn(d time.Duration) {
	x := 0
	for start := time.Now(); time.Since(start) < d; {
		for i := range 1000 {
			x += i * i
		}
	}
	benchSink.Add(int64(x))
}

// syntheticRequest is a typical request: a task tagged like a capture, a
// region around a sleep (a "query"), a CPU burn, a fan-out with a
// WaitGroup, a mutex handoff, and a final sleep that pads the request to
// at least minDur.
func syntheticRequest(minDur time.Duration) {
	start := time.Now()
	ctx, task := trace.NewTask(context.Background(), "GET /bench")
	trace.Log(ctx, testOptions.IDCategory, benchReqID)

	trace.WithRegion(ctx, "SQL: SELECT 1", func() { time.Sleep(3 * time.Millisecond) })
	burn(3 * time.Millisecond)

	var wg sync.WaitGroup
	for range benchFanOut {
		wg.Go(func() {
			burn(500 * time.Microsecond)
			time.Sleep(time.Millisecond)
		})
	}
	wg.Wait()

	var mu sync.Mutex
	done := make(chan struct{})
	mu.Lock()
	go func() {
		mu.Lock() // blocks until the request hands the mutex over
		burn(200 * time.Microsecond)
		mu.Unlock()
		close(done)
	}()
	time.Sleep(time.Millisecond)
	mu.Unlock()
	<-done

	if rest := minDur - time.Since(start); rest > 0 {
		time.Sleep(rest)
	}
	task.End()
}

// background starts n busy goroutines (n even; none when n ≤ 0), in
// pairs: each loops doing a little work, eight round trips with its
// partner on an unbuffered channel, and a short sleep (about 1 ms here).
// The sleep paces them, so the trace grows with n rather than with the CPU
// left over. The returned function stops them all and waits for them.
func background(n int) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for range max(n, 0) / 2 {
		ch := make(chan int)
		for side := range 2 {
			wg.Go(func() {
				x := side
				for iter := 0; ; iter++ {
					for k := range 200 {
						x += k ^ iter
					}
					for turn := range 16 { // 8 round trips
						if turn%2 == side {
							select {
							case ch <- x:
							case <-quit:
								return
							}
						} else {
							select {
							case v := <-ch:
								x ^= v
							case <-quit:
								return
							}
						}
					}
					time.Sleep(200 * time.Microsecond)
				}
			})
		}
	}
	return func() {
		close(quit)
		wg.Wait()
	}
}

// recordTrace runs the synthetic request under a flight recorder (with CPU
// profiling on, as capture does) while bg busy goroutines run (none when
// bg ≤ 0), and returns the snapshot. The background goroutines have
// stopped when it returns.
func recordTrace(bg int, minDur time.Duration) ([]byte, error) {
	// Finish the previous benchmarks' garbage first, and keep the GC off
	// while recording (the recorder's own buffers are on the heap): a
	// background sweep calls runtime.Gosched every few spans and adds up
	// to tens of thousands of events, at random, to the trace.
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: time.Minute, MaxBytes: 64 << 20})
	if err := fr.Start(); err != nil {
		return nil, fmt.Errorf("flight recorder: %w", err)
	}
	defer fr.Stop()
	if pprof.StartCPUProfile(io.Discard) == nil {
		defer pprof.StopCPUProfile()
	}
	stop := background(bg)
	time.Sleep(5 * time.Millisecond) // let the background settle
	syntheticRequest(minDur)
	stop()
	var buf bytes.Buffer
	if _, err := fr.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return buf.Bytes(), nil
}

// countEvents parses data and returns its number of events.
func countEvents(data []byte) (int, error) {
	r, err := xtrace.NewReader(bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		_, err := r.ReadEvent()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// extractOne extracts the synthetic request, failing on any error.
func extractOne(data []byte) (*profile.Profile, error) {
	res, err := Extract(data, []Request{{ID: benchReqID}}, testOptions)
	if err != nil {
		return nil, err
	}
	if len(res) != 1 {
		return nil, fmt.Errorf("got %d results, want 1", len(res))
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	if res[0].Profile == nil {
		return nil, errors.New("nil profile")
	}
	return res[0].Profile, nil
}

// checkProfile checks that p is the synthetic request: its duration
// (roughly: the trace's clock is not time.Now's) and goroutines.
func checkProfile(p *profile.Profile, minDur time.Duration) error {
	if p.Duration < int64(minDur)*9/10 {
		return fmt.Errorf("profile lasts %v, want about %v or more", time.Duration(p.Duration), minDur)
	}
	members := 0
	for _, g := range p.Goroutines {
		if g.Member {
			members++
		}
	}
	if want := benchFanOut + 2; members != want {
		return fmt.Errorf("profile has %d member goroutines, want %d", members, want)
	}
	return nil
}

type benchTrace struct {
	data   []byte
	events int
}

var (
	benchTracesMu sync.Mutex
	benchTraces   = map[int]benchTrace{}
)

// cachedTrace records (once per process and background count) a trace of
// the synthetic request, so that every -count run measures the same data.
func cachedTrace(b *testing.B, bg int, minDur time.Duration) benchTrace {
	b.Helper()
	benchTracesMu.Lock()
	defer benchTracesMu.Unlock()
	if t, ok := benchTraces[bg]; ok {
		return t
	}
	data, err := savedTrace(bg, minDur)
	if err != nil {
		b.Fatal(err)
	}
	n, err := countEvents(data)
	if err != nil {
		b.Fatalf("parse trace: %v", err)
	}
	p, err := extractOne(data)
	if err != nil {
		b.Fatalf("extract: %v", err)
	}
	if err := checkProfile(p, minDur); err != nil {
		b.Fatal(err)
	}
	t := benchTrace{data, n}
	benchTraces[bg] = t
	return t
}

// savedTrace records a trace of the synthetic request (see recordTrace),
// or, when $REQPROF_BENCH_TRACES names a directory, reads the one recorded
// there by an earlier run (recording and saving it the first time): the
// same bytes, so that builds of different commits can be compared on them.
func savedTrace(bg int, minDur time.Duration) ([]byte, error) {
	dir := os.Getenv("REQPROF_BENCH_TRACES")
	if dir == "" {
		return recordTrace(bg, minDur)
	}
	file := filepath.Join(dir, fmt.Sprintf("bg=%d,min=%s.trace", bg, minDur))
	if data, err := os.ReadFile(file); err == nil {
		return data, nil
	}
	data, err := recordTrace(bg, minDur)
	if err != nil {
		return nil, err
	}
	return data, os.WriteFile(file, data, 0o644)
}

// renderText renders p as the default text tree into buf, after setting
// the main module as the capture package does (it decides which frames
// are user code).
func renderText(buf *bytes.Buffer, p *profile.Profile) error {
	p.SetAttr(profile.ModuleAttr, "github.com/reqprof/reqprof")
	buf.Reset()
	if err := text.Render(buf, p, render.Options{}); err != nil {
		return err
	}
	if buf.Len() == 0 {
		return errors.New("empty rendering")
	}
	return nil
}

// idleMinDur is the typical request's length on an idle process.
const idleMinDur = 20 * time.Millisecond

// BenchmarkExtractRenderIdle measures extracting one typical request from
// an idle process's flight-recorder snapshot, rendering its profile as
// text, and both (the DESIGN budget: ≤ 10 ms for extraction + rendering).
func BenchmarkExtractRenderIdle(b *testing.B) {
	tr := cachedTrace(b, -1, idleMinDur) // -1: the idle trace, no background
	b.Run("extract", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(tr.data)))
		for b.Loop() {
			if _, err := extractOne(tr.data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(tr.data)), "trace-bytes")
		b.ReportMetric(float64(tr.events), "events")
	})
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		p, err := extractOne(tr.data)
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		for b.Loop() {
			if err := renderText(&buf, p); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len()), "text-bytes")
	})
	b.Run("extract+render", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			p, err := extractOne(tr.data)
			if err != nil {
				b.Fatal(err)
			}
			if err := renderText(&buf, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkExtractTraceSize measures extraction time as the trace grows:
// the same ~50 ms request recorded while 0, 4, 16 or 64 busy goroutines
// outside the request run.
func BenchmarkExtractTraceSize(b *testing.B) {
	const minDur = 50 * time.Millisecond
	for _, bg := range []int{0, 4, 16, 64} {
		b.Run(fmt.Sprintf("bg=%d", bg), func(b *testing.B) {
			tr := cachedTrace(b, bg, minDur)
			b.ReportAllocs()
			b.SetBytes(int64(len(tr.data)))
			m := startCPU()
			for b.Loop() {
				if _, err := extractOne(tr.data); err != nil {
					b.Fatal(err)
				}
			}
			m.report(b)
			b.ReportMetric(float64(len(tr.data)), "trace-bytes")
			b.ReportMetric(float64(tr.events), "events")
			b.ReportMetric(float64(tr.events)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mevents/s")
		})
	}
}

// cpuMeter reports the process's CPU time per operation of a benchmark
// ("cpu-ns/op"): on a shared machine, less sensitive than the wall time to
// the benchmark being descheduled, and it counts the collector's work on
// other threads, which the wall time does not when a core is free.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuMeter {
	d, ok := cputime.Process()
	return cpuMeter{d, ok}
}

func (m cpuMeter) report(b *testing.B) {
	if d, ok := cputime.Process(); ok && m.ok && b.N > 0 {
		b.ReportMetric(float64(d-m.start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkParseTraceSize splits BenchmarkExtractTraceSize's extraction
// into its parts, on the same traces: readevents is x/exp/trace alone (a
// loop of ReadEvent doing nothing with the events, over the bytes Parse
// reads: these traces are one generation, so all of them), the floor of
// any parse; parse is Parse (x/exp/trace and reqprof's timeline), parser
// the same with one Parser, fresh with a new scratch each time (the pool
// empty, as after collections between batches); build is Build of the
// request's profile from one parsed trace.
func BenchmarkParseTraceSize(b *testing.B) {
	const minDur = 50 * time.Millisecond
	for _, bg := range []int{0, 4, 16, 64} {
		b.Run(fmt.Sprintf("bg=%d", bg), func(b *testing.B) {
			tr := cachedTrace(b, bg, minDur)
			reqs := []Request{{ID: benchReqID}}
			b.Run("readevents", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(tr.data)))
				m := startCPU()
				for b.Loop() {
					if _, err := countEvents(tr.data); err != nil {
						b.Fatal(err)
					}
				}
				m.report(b)
			})
			b.Run("parse", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(tr.data)))
				m := startCPU()
				for b.Loop() {
					if _, err := Parse(tr.data, reqs, testOptions); err != nil {
						b.Fatal(err)
					}
				}
				m.report(b)
			})
			b.Run("parser", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(tr.data)))
				var p Parser
				m := startCPU()
				for b.Loop() {
					if _, err := p.Parse(tr.data, reqs, testOptions); err != nil {
						b.Fatal(err)
					}
				}
				m.report(b)
			})
			b.Run("fresh", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(tr.data)))
				m := startCPU()
				for b.Loop() {
					if _, err := parse(tr.data, reqs, &testOptions, new(scratch)); err != nil {
						b.Fatal(err)
					}
				}
				m.report(b)
			})
			b.Run("build", func(b *testing.B) {
				t, err := Parse(tr.data, reqs, testOptions)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				m := startCPU()
				for b.Loop() {
					if _, err := t.Build(reqs[0]); err != nil {
						b.Fatal(err)
					}
				}
				m.report(b)
			})
		})
	}
}
