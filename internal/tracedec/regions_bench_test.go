package tracedec

import (
	"bytes"
	"context"
	"fmt"
	"runtime/trace"
	"testing"
	"time"
)

// recordRegions records one task that runs n regions (as n SQL statements
// would) and returns the snapshot.
func recordRegions(tb testing.TB, n int) []byte {
	tb.Helper()
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: time.Minute, MaxBytes: 256 << 20})
	if err := fr.Start(); err != nil {
		tb.Skipf("flight recorder unavailable: %v", err)
	}
	defer fr.Stop()
	ctx, task := trace.NewTask(context.Background(), "regions")
	trace.Log(ctx, testOptions.IDCategory, benchReqID)
	for i := range n {
		trace.WithRegion(ctx, "SQL: SELECT 1", func() { benchSink.Add(int64(i)) })
	}
	task.End()
	var buf bytes.Buffer
	if _, err := fr.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkExtractRegions measures extraction as the number of regions in
// one request grows (15,000 regions is what 15,000 SQL statements look
// like): the cost must grow linearly, not quadratically. Here it is about
// 1.5 µs per region.
func BenchmarkExtractRegions(b *testing.B) {
	for _, n := range []int{2000, 5000, 15000} {
		b.Run(fmt.Sprintf("regions=%d", n), func(b *testing.B) {
			data := recordRegions(b, n)
			for b.Loop() {
				if _, err := extractOne(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
