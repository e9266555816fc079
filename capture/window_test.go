package capture

import (
	"bytes"
	"context"
	"runtime/trace"
	"testing"
	"time"

	"github.com/reqprof/reqprof/internal/tracedec"
)

// TestWindowKeepsTheCapturesGenerations snapshots a flight recorder whose
// window holds several generations (each snapshot closes one), the whole
// window and then only the generations after the previous snapshot's
// newest (the one its generation switch closed): the filtered snapshot is the window's header and a suffix of its
// generations, smaller, and still holds a task begun after the previous
// snapshot.
func TestWindowKeepsTheCapturesGenerations(t *testing.T) {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if err := fr.Start(); err != nil {
		t.Skipf("cannot start a flight recorder: %v", err)
	}
	defer fr.Stop()
	var scratch bytes.Buffer
	var prev window
	for range 3 {
		ctx, task := trace.NewTask(context.Background(), "old")
		trace.Log(ctx, idCategory, "old")
		task.End()
		scratch.Reset()
		prev = window{buf: &scratch}
		if _, err := fr.WriteTo(&prev); err != nil {
			t.Fatal(err)
		}
		if prev.all || prev.last == 0 {
			t.Fatalf("the snapshot was not read batch by batch (all %v, last generation %d)", prev.all, prev.last)
		}
	}
	ctx, task := trace.NewTask(context.Background(), "new")
	trace.Log(ctx, idCategory, "new")
	task.End()

	// One snapshot, filtered twice: whole and from the generation after
	// the previous snapshot's newest on (the one it closed).
	var ws writes
	if _, err := fr.WriteTo(&ws); err != nil {
		t.Fatal(err)
	}
	var full, part bytes.Buffer
	wf := window{buf: &full}
	wp := window{buf: &part, from: prev.last + 1}
	for _, p := range ws {
		wf.Write(p)
		wp.Write(p)
	}
	if wp.all || wp.dropped == 0 || wf.dropped != 0 {
		t.Fatalf("dropped %d bytes of the whole window, %d filtered (all %v)", wf.dropped, wp.dropped, wp.all)
	}
	if part.Len()+wp.dropped != full.Len() || !bytes.Equal(part.Bytes()[:rawHeaderLen], full.Bytes()[:rawHeaderLen]) ||
		!bytes.HasSuffix(full.Bytes(), part.Bytes()[rawHeaderLen:]) {
		t.Fatalf("the filtered snapshot (%d bytes) is not the window's header and a suffix of its %d bytes", part.Len(), full.Len())
	}
	tr, err := tracedec.Parse(part.Bytes(), []tracedec.Request{{ID: "new"}}, decodeOptions)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tr.Build(tracedec.Request{ID: "new"})
	if err != nil {
		t.Fatalf("the task begun after the previous snapshot: %v", err)
	}
	if p.Name != "new" {
		t.Errorf("profile %q", p.Name)
	}
}

// TestBatchGen reads batch headers and refuses what is not one batch.
func TestBatchGen(t *testing.T) {
	b := []byte{rawEventBatch, 7, 1, 99, 3, 'a', 'b', 'c'}
	if g, ok := batchGen(b); !ok || g != 7 {
		t.Errorf("batchGen = %d, %v; want 7, true", g, ok)
	}
	for _, bad := range [][]byte{nil, b[:5], append(b, 'd'), {rawEndOfGeneration}, {0x80}} {
		if _, ok := batchGen(bad); ok {
			t.Errorf("batchGen(%q) accepted", bad)
		}
	}
}

// writes records a snapshot's writes (the recorder's own batches, not
// copies).
type writes [][]byte

func (w *writes) Write(p []byte) (int, error) {
	*w = append(*w, p)
	return len(p), nil
}

// TestWindowKnownGenerations replays a snapshot's writes through a window
// that knows the generations of an earlier snapshot of the same recorder
// and one that reads every batch: both keep the same bytes.
func TestWindowKnownGenerations(t *testing.T) {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if err := fr.Start(); err != nil {
		t.Skipf("cannot start a flight recorder: %v", err)
	}
	defer fr.Stop()
	var runs genRuns
	var from uint64
	for i := range 6 {
		ctx, task := trace.NewTask(context.Background(), "work")
		trace.Log(ctx, idCategory, "work")
		for range 50 {
			go func() {}()
		}
		task.End()
		var ws writes
		if _, err := fr.WriteTo(&ws); err != nil {
			t.Fatal(err)
		}
		var a, b bytes.Buffer
		wa := window{buf: &a, from: from, runs: &runs}
		wb := window{buf: &b, from: from}
		for _, p := range ws {
			wa.Write(p)
			wb.Write(p)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) || wa.dropped != wb.dropped || wa.last != wb.last || wa.all || wb.all {
			t.Fatalf("snapshot %d: with known generations %d bytes kept, %d dropped (all %v); reading every batch %d kept, %d dropped (all %v)",
				i, a.Len(), wa.dropped, wa.all, b.Len(), wb.dropped, wb.all)
		}
		wa.finish()
		// What it remembers is each generation's first batch and count,
		// read batch by batch.
		var want []genRun
		for _, p := range ws[1:] {
			if len(p) == 1 && p[0] == rawEndOfGeneration {
				want[len(want)-1].n++
				continue
			}
			g, ok := batchGen(p)
			if !ok {
				t.Fatalf("snapshot %d: a write is not one batch", i)
			}
			if len(want) == 0 || want[len(want)-1].gen != g {
				want = append(want, genRun{first: &p[0], gen: g})
			}
			want[len(want)-1].n++
		}
		if len(runs.known) != len(want) {
			t.Fatalf("snapshot %d: %d generations remembered, the snapshot has %d", i, len(runs.known), len(want))
		}
		for _, g := range want {
			if got := runs.known[g.first]; got != g {
				t.Fatalf("snapshot %d: generation %d remembered as %+v, want %+v", i, g.gen, got, g)
			}
		}
		if i > 0 && wa.skips == 0 {
			t.Fatalf("snapshot %d: every batch was read again", i)
		}
		if i == 2 {
			from = wa.last // later snapshots drop the first generations
		}
	}
}

// TestHeldRecorderMarksItsGenerations holds a recorder with no capture:
// the manager learns its newest generation every markEvery with an empty
// snapshot, so a capture begun later asks for recent generations only,
// and its profile still has its task. Nothing is kept meanwhile, and the
// marks stop with the last Release.
func TestHeldRecorderMarksItsGenerations(t *testing.T) {
	defer func(d time.Duration) { markEvery = d }(markEvery)
	markEvery = 20 * time.Millisecond
	m := NewManager(Config{NoCPU: true})
	if err := m.Hold(); err != nil {
		t.Fatal(err)
	}
	held := true
	defer func() {
		if held {
			m.Release()
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); m.marks.Load() < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d marks in 10 s, one due every %v", m.marks.Load(), markEvery)
		}
	}
	gen := m.snapGen.Load()
	if gen < 3 {
		t.Fatalf("after %d marks the newest generation known is %d", m.marks.Load(), gen)
	}
	ctx, c, err := m.Start(context.Background(), "after the marks")
	if err != nil {
		t.Fatal(err)
	}
	if c.fromGen <= gen {
		t.Errorf("a capture begun after the marks asks for generations from %d, the newest known %d: want a later one", c.fromGen, gen)
	}
	Run(ctx, func(context.Context) error { time.Sleep(time.Millisecond); return nil })
	p, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "after the marks" || len(p.Goroutines) == 0 {
		t.Errorf("the capture's profile is %q with %d goroutines", p.Name, len(p.Goroutines))
	}
	m.Release()
	held = false
	// A mark under way holds the recorder until it ends; none begins
	// after the last Release.
	for deadline := time.Now().Add(10 * time.Second); m.Active(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the recorder runs 10 s after the last Release")
		}
	}
	n := m.marks.Load()
	time.Sleep(5 * markEvery)
	if got := m.marks.Load(); got != n {
		t.Errorf("%d marks after the last Release", got-n)
	}
}
