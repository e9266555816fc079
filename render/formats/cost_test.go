package formats_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/reqprof/reqprof/internal/fixture"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	runtime.GC()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// records is a profile's size in records.
func records(p *profile.Profile) int {
	n := len(p.Samples) + len(p.Regions) + len(p.Logs) + len(p.Goroutines)
	for _, g := range p.Goroutines {
		n += len(g.Intervals)
	}
	for _, s := range p.Stacks {
		n += len(s.Frames)
	}
	return n
}

// TestRenderCostIsBounded renders profiles shaped like hostile files in
// every format and view and bounds what each rendering allocates: 96 MiB
// (the critical path's fixed allowance, and buffers) and 8 KiB a record.
// The formats that draw one track per goroutine write several kilobytes a
// record (Chrome's slices repeat their names and args), which the bound
// covers; what it does not cover is a cost that grows faster than the
// profile: before views were linear, the text tree of one 20,000-frame
// stack took more than 600 MB (its indentation grew with the depth
// squared), the ping-pong profile's critical path 1 GiB.
func TestRenderCostIsBounded(t *testing.T) {
	const (
		fixed     = 96 << 20
		perRecord = 8 << 10
	)
	n := 5_000
	if testing.Short() {
		n = 1_000
	}
	cases := []struct {
		name string
		p    *profile.Profile
	}{
		{"pingpong", fixture.PingPong(n)},
		{"chain", fixture.WakerChain(25, n/5)},
		{"regions", fixture.Regions(n)},
		{"deep-stack", fixture.DeepStack(128, 10, n/10)},
		{"very-deep-stack", fixture.DeepStack(20_000, 1, 3)},
	}
	for _, c := range cases {
		if err := c.p.CheckValid(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		limit := uint64(fixed + perRecord*records(c.p))
		for _, f := range render.Formats() {
			for _, k := range view.Kinds() {
				t.Run(fmt.Sprintf("%s/%s/%s", c.name, f, k), func(t *testing.T) {
					var w countingWriter
					var err error
					got := allocated(func() { err = render.Write(&w, c.p, f, render.Options{View: k}) })
					if err != nil && fmt.Sprint(f) == "reqprof" && errors.Is(err, profile.ErrLimit) {
						return // the native file refuses what Decode would refuse
					}
					if err != nil {
						t.Fatal(err)
					}
					if got > limit {
						t.Errorf("allocated %d bytes for %d records (%d bytes written), more than %d", got, records(c.p), w, limit)
					}
				})
			}
		}
	}
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)

// A stack far deeper than the runtime records renders as a text tree
// whose lines stop moving right after 64 levels.
func TestDeepTextTree(t *testing.T) {
	var b bytes.Buffer
	if err := render.Write(&b, fixture.DeepStack(1000, 1, 2), "text", render.Options{Threshold: 1e-9}); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(b.Bytes(), []byte("\n"))
	widest := 0
	for _, l := range lines {
		widest = max(widest, len(l))
	}
	if len(lines) < 1000 || widest > 3*64+120 {
		t.Errorf("%d lines, the widest %d bytes: want more than 1000 lines, none wider than the 64-level indentation and a frame", len(lines), widest)
	}
	if !bytes.Contains(b.Bytes(), []byte("+936 ")) {
		t.Errorf("the deepest line does not say how much deeper it is than the indentation shows")
	}
}
