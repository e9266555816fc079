package reqprof_test

import (
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/profile"
)

// largeProfile builds a profile of g goroutines with n intervals each,
// cycling through running, waiting (woken by the previous goroutine),
// runnable and syscall states over a few dozen distinct stacks.
func largeProfile(g, n int) *profile.Profile {
	p := &profile.Profile{Name: "GET /large", Stacks: []profile.Stack{{}}}
	for i := range 40 {
		p.Frames = append(p.Frames, profile.Frame{Func: fmt.Sprintf("example.com/app/pkg%d.Func%d", i%7, i), File: fmt.Sprintf("/app/pkg%d/f.go", i%7), Line: 10 + i})
	}
	for i := range 60 {
		depth := 3 + i%9
		var fs []profile.FrameID
		for d := range depth {
			fs = append(fs, profile.FrameID((i*7+d*3)%len(p.Frames)))
		}
		fs[0] = 0
		p.Stacks = append(p.Stacks, profile.Stack{Frames: fs})
	}
	const step = 1000 // 1µs per interval
	p.Duration = int64(n * step)
	for gi := range g {
		gr := profile.Goroutine{ID: int64(gi + 1), Member: true, Start: 0, End: p.Duration, Entry: profile.StackID(1 + gi%60)}
		if gi > 0 {
			gr.Parent = 1
			gr.CreatedAt = 1
		}
		for k := range n {
			iv := profile.Interval{Start: int64(k * step), End: int64((k + 1) * step), Stack: profile.StackID(1 + (gi+k)%60)}
			switch k % 4 {
			case 0:
				iv.State = profile.Running
				iv.Inferred = k%8 == 0
			case 1:
				iv.State, iv.Reason = profile.Waiting, []string{"network", "sync", "select", "chan receive"}[k%3]
				if gi > 0 {
					iv.Waker = int64(gi)
				}
			case 2:
				iv.State = profile.Runnable
			case 3:
				iv.State = profile.Syscall
			}
			gr.Intervals = append(gr.Intervals, iv)
		}
		p.Goroutines = append(p.Goroutines, gr)
	}
	return p
}

// BenchmarkRenderLarge renders a profile of 1,000 goroutines and 200,000
// intervals to every format; B/op is the memory each format needs.
func BenchmarkRenderLarge(b *testing.B) {
	p := &reqprof.Profile{Profile: largeProfile(1000, 200)}
	if err := p.CheckValid(); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	base := heapObjects()
	for _, f := range reqprof.Formats() {
		for _, v := range []reqprof.View{reqprof.ViewCritical, reqprof.ViewAll} {
			b.Run(fmt.Sprintf("%s/%s", f, v), func(b *testing.B) {
				b.ReportAllocs()
				var cw countingWriter
				runtime.GC()
				peak := watchHeap()
				for b.Loop() {
					cw = 0
					if err := p.WriteWith(&cw, f, reqprof.WriteOptions{View: v}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cw), "out-bytes")
				b.ReportMetric(float64(peak()-base)/1e6, "peak-heap-MB")
			})
		}
	}
}

// heapObjects returns the bytes of the heap's objects, live or not yet
// swept.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// watchHeap samples the heap's objects every millisecond until the
// returned function is called, which returns the largest value seen: the
// peak memory a rendering needs (the profile rendered included, which
// peak-heap-MB subtracts), to within what a millisecond allocates.
func watchHeap() (stop func() uint64) {
	done := make(chan struct{})
	result := make(chan uint64)
	go func() {
		var peak uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, heapObjects())
			select {
			case <-done:
				result <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-result }
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)
