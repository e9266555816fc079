package reqprof_test

import (
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/internal/testprofile"
)

// BenchmarkRenderLarge renders a profile of 1,000 goroutines and 200,000
// intervals to every format; B/op is the memory each format needs.
func BenchmarkRenderLarge(b *testing.B) {
	p := &reqprof.Profile{Profile: testprofile.Large(1000, 200, 0)}
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
