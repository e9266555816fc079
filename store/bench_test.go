package store_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/reqprof/reqprof/internal/cputime"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/store"
)

// BenchmarkDirPut measures one Put into a directory already holding n
// profiles: its cost must not grow with n.
func BenchmarkDirPut(b *testing.B) {
	for _, n := range []int{200, 1000, 4000} {
		b.Run(fmt.Sprintf("stored=%d", n), func(b *testing.B) {
			d, err := store.OpenDir(b.TempDir(), store.Retention{MaxCount: 1 << 30, MaxBytes: 1 << 40})
			if err != nil {
				b.Fatal(err)
			}
			p := tiny("GET /x")
			t0 := time.Now()
			for i := range n {
				at := t0.Add(time.Duration(i) * time.Millisecond)
				if err := d.Put(context.Background(), store.Meta{ID: store.NewID(at), Time: at, Name: "GET /x"}, p); err != nil {
					b.Fatal(err)
				}
			}
			i := n
			start := processCPU()
			for b.Loop() {
				at := t0.Add(time.Duration(i) * time.Millisecond)
				i++
				if err := d.Put(context.Background(), store.Meta{ID: store.NewID(at), Time: at, Name: "GET /x"}, p); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}

// BenchmarkDirPutFull measures what the server's worker does for each
// profile once the store is full: PutEncoded of an encoded profile of a
// realistic size (a 1 ms request's profile encodes to 1-5 KB) with the
// Meta serve computes, into a directory at Retention.MaxCount, so that
// every Put also deletes the oldest profile. cpu-ns/op is the process's
// CPU time (user + system, getrusage) per Put: the store's own work is
// mostly system calls, which the wall time of a loaded machine hides.
func BenchmarkDirPutFull(b *testing.B) {
	const maxCount = 200 // the default
	for _, size := range []int{1 << 10, 4 << 10} {
		b.Run(fmt.Sprintf("size=%dKiB", size>>10), func(b *testing.B) {
			data := encodedOfSize(b, size)
			d, err := store.OpenDir(b.TempDir(), store.Retention{MaxCount: maxCount})
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now().Add(-time.Hour)
			i := 0
			putOne := func() {
				at := t0.Add(time.Duration(i) * time.Microsecond)
				i++
				if err := d.PutEncoded(context.Background(), benchMeta(at, len(data)), data); err != nil {
					b.Fatal(err)
				}
			}
			for range maxCount {
				putOne()
			}
			b.SetBytes(int64(len(data)))
			start := processCPU()
			for b.Loop() {
				putOne()
			}
			reportCPU(b, start)
			b.StopTimer()
			if n := len(list(b, d, store.Filter{})); n != maxCount {
				b.Fatalf("%d profiles stored, want %d", n, maxCount)
			}
		})
	}
}

// benchMeta is a Meta like the one serve stores for an HTTP request.
func benchMeta(at time.Time, size int) store.Meta {
	return store.Meta{
		ID: store.NewID(at), Time: at, Name: "GET /users/{id}", Size: int64(size),
		Summary: store.Summary{Duration: 1200 * time.Microsecond, CPU: 700 * time.Microsecond, Waiting: 400 * time.Microsecond,
			Runnable: 80 * time.Microsecond, Syscall: 20 * time.Microsecond, Goroutines: 3, CPUInferred: 300 * time.Microsecond,
			Overhead: 15 * time.Microsecond, OverheadBefore: 40 * time.Microsecond},
		Labels: map[string]string{
			profile.AttrKind: profile.KindHTTP, profile.AttrMethod: "GET", profile.AttrRoute: "GET /users/{id}",
			profile.AttrURL: "/users/42?verbose=1", profile.AttrStatus: "200",
		},
	}
}

// encodedOfSize returns a profile encoded with profile.Encode, grown until
// its encoding holds at least size bytes: goroutines with intervals on
// distinct stacks, as a request's profile has.
func encodedOfSize(b *testing.B, size int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	p := &profile.Profile{Name: "GET /users/{id}", Start: time.Now(), Duration: 1_200_000, GoVersion: "go1.26", Host: "bench", Stacks: []profile.Stack{{}}}
	var buf bytes.Buffer
	for g := int64(1); ; g++ {
		gr := profile.Goroutine{ID: g, Member: true, End: p.Duration}
		at := int64(0)
		for range 8 {
			var st profile.Stack
			for range 6 {
				fn := fmt.Sprintf("example.com/app/pkg%d.(*T%d).Method%d", r.IntN(40), r.IntN(10), r.IntN(100))
				p.Frames = append(p.Frames, profile.Frame{Func: fn, File: "/src/app/" + fn[:20] + ".go", Line: r.IntN(900) + 1})
				st.Frames = append(st.Frames, profile.FrameID(len(p.Frames)-1))
			}
			p.Stacks = append(p.Stacks, st)
			end := at + int64(r.IntN(20_000)+1)
			gr.Intervals = append(gr.Intervals, profile.Interval{Start: at, End: end, State: profile.Running, Stack: profile.StackID(len(p.Stacks) - 1)})
			at = end
		}
		gr.End = at
		p.Goroutines = append(p.Goroutines, gr)
		buf.Reset()
		if err := p.Encode(&buf); err != nil {
			b.Fatal(err)
		}
		if buf.Len() >= size {
			return buf.Bytes()
		}
	}
}

// processCPU returns the process's CPU time, -1 where it is unknown.
func processCPU() time.Duration {
	if d, ok := cputime.Process(); ok {
		return d
	}
	return -1
}

func reportCPU(b *testing.B, start time.Duration) {
	if start < 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}
