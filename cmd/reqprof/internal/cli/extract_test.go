package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/cmdutil"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// truth is how long each phase of the work took, measured inside it.
type truth map[string]time.Duration

//go:noinline
func phaseSleep() { time.Sleep(20 * time.Millisecond) }

//go:noinline
func phaseCPU() {
	// The yields put a state change, with this function on the stack, at
	// both ends of the running stretch: its boundaries are then known
	// exactly, not only at CPU samples.
	runtime.Gosched()
	spin(30 * time.Millisecond)
	runtime.Gosched()
}

//go:noinline
func phaseWait() {
	done := make(chan struct{})
	go func() { time.Sleep(15 * time.Millisecond); close(done) }()
	<-done
}

// work runs the phases, measuring each.
func work(tr truth) {
	for _, ph := range []struct {
		name string
		fn   func()
	}{{"phaseSleep", phaseSleep}, {"phaseCPU", phaseCPU}, {"phaseWait", phaseWait}} {
		t0 := time.Now()
		ph.fn()
		tr[ph.name] = time.Since(t0)
	}
}

// TestExtractAgreesWithDo runs the same work twice: once in a
// runtime/trace task under trace.Start, extracted with reqprof extract;
// once under reqprof.Do. Both profiles find each phase at its measured
// length.
//
// Tolerance: the repository's usual max(2ms, 10%) of the phase's length
// measured inside the work: the trace's timestamps and time.Now differ by
// the events' own cost and the scheduler's latency around them, which on a
// loaded 2-core machine reaches a millisecond or two.
func TestExtractAgreesWithDo(t *testing.T) {
	global.Lock()
	defer global.Unlock()
	dir := t.TempDir()

	// 1. A trace made by runtime/trace alone, CPU profiling on.
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("tracing unavailable: %v", err)
	}
	cpu := pprof.StartCPUProfile(io.Discard) == nil
	traced := truth{}
	ctx, task := trace.NewTask(context.Background(), "work")
	trace.WithRegion(ctx, "phases", func() { work(traced) })
	task.End()
	if cpu {
		pprof.StopCPUProfile()
	}
	trace.Stop()
	file := filepath.Join(dir, "trace.out")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "work.reqprof")
	ios, _, stdout, stderr := cmdutil.Test()
	if status := run(context.Background(), &cmdutil.Factory{IOStreams: ios}, []string{"extract", "--task", "work", "-o", out, file}); status != 0 {
		t.Fatalf("reqprof extract: status %d: %s%s", status, stdout, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	extracted, err := profile.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}

	// 2. The same work under reqprof.Do.
	done := truth{}
	p, err := reqprof.Do(context.Background(), "work", func(ctx context.Context) error {
		trace.WithRegion(ctx, "phases", func() { work(done) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		p    *profile.Profile
		tr   truth
	}{{"extract", extracted, traced}, {"reqprof.Do", p.Profile, done}} {
		_, trees, err := render.Options{NoGroup: true}.Trees(c.p)
		if err != nil {
			t.Fatal(err)
		}
		root := trees[0]
		for _, phase := range []string{"phaseSleep", "phaseCPU", "phaseWait"} {
			n := findSuffix(root, "."+phase)
			if n == nil {
				t.Errorf("%s: no %s node", c.name, phase)
				continue
			}
			want := c.tr[phase]
			tol := max(2*time.Millisecond, want/10)
			t.Logf("%s: %s %v, measured %v", c.name, phase, time.Duration(n.Total), want)
			if d := time.Duration(n.Total) - want; d > tol || d < -tol {
				t.Errorf("%s: %s is %v, measured %v ± %v", c.name, phase, time.Duration(n.Total), want, tol)
			}
		}
		if findSuffix(root, "phases") == nil {
			t.Errorf("%s: no region frame", c.name)
		}
	}
	if extracted.Name != "work" || len(extracted.Goroutines) < 2 {
		t.Errorf("extracted %q with %d goroutines", extracted.Name, len(extracted.Goroutines))
	}
}

func findSuffix(n *view.Node, suffix string) *view.Node {
	if strings.HasSuffix(n.Frame.Name, suffix) {
		return n
	}
	for _, c := range n.Children {
		if f := findSuffix(c, suffix); f != nil {
			return f
		}
	}
	return nil
}
