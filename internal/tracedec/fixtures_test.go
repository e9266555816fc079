package tracedec_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/internal/golden"
	"github.com/reqprof/reqprof/internal/tracedec"
	"github.com/reqprof/reqprof/view"
)

// The fixtures are execution traces recorded once, with known work inside a
// capture-like task, and committed: extracting a fixed trace is
// deterministic, so a change in how the decoder attributes time shows as a
// diff of its golden dump (go test -update rewrites the dumps; go test
// -record records the traces again, on this machine, then -update).
var record = flag.Bool("record", false, "record the fixture traces in testdata/ again")

// fixtureOptions are the options capture extracts with (capture's
// categories and harness prefixes).
var fixtureOptions = tracedec.Options{
	IDCategory:   "reqprof.capture",
	MarkCategory: "reqprof.mark",
	Harness: []string{
		"github.com/reqprof/reqprof.", "github.com/reqprof/reqprof/capture.", "github.com/reqprof/reqprof/serve.",
		"github.com/reqprof/reqprof/httpprof.", "github.com/reqprof/reqprof/sqlprof.",
	},
	Module:  "github.com/reqprof/reqprof",
	Library: []string{"github.com/reqprof/reqprof.", "github.com/reqprof/reqprof/capture."},
}

// A fixture is a unit of known work. setup runs before the task begins
// (to start goroutines outside the work) and returns the work.
type fixture struct {
	name  string
	setup func() func(context.Context)
}

var fixtures = []fixture{
	{"cpu", func() func(context.Context) { return cpuWork }},
	{"sleep", func() func(context.Context) { return sleepWork }},
	{"mutex", func() func(context.Context) { return mutexWork }},
	{"chan", func() func(context.Context) {
		ch := make(chan int)
		go producer(ch) // outside the work: it wakes the work up
		return func(context.Context) { consumer(ch) }
	}},
	{"fanout", func() func(context.Context) { return fanoutWork }},
	{"region", func() func(context.Context) { return regionWork }},
	{"convoy", convoySetup},
}

var sink int

// spin keeps the CPU busy for about d.
//
//go:noinline
func spin(d time.Duration) {
	x := 0
	for start := time.Now(); time.Since(start) < d; {
		for i := range 1000 {
			x += i * i
		}
	}
	sink += x
}

// cpuWork burns 30 ms of CPU: CPU samples, and inference between them.
func cpuWork(context.Context) { spin(30 * time.Millisecond) }

// sleepWork sleeps 5 ms: a wait that explains itself.
func sleepWork(context.Context) { time.Sleep(5 * time.Millisecond) }

// mutexWork waits 3 ms for a mutex a goroutine of the work holds: the wait
// is explained by the holder (the critical path follows the waker).
func mutexWork(context.Context) {
	var mu sync.Mutex
	locked := make(chan struct{})
	mu.Lock()
	go holder(&mu, locked)
	<-locked
	mu.Lock()
	sink++
	mu.Unlock()
}

// holder takes over the locked mutex, works 3 ms, and unlocks it.
func holder(mu *sync.Mutex, locked chan<- struct{}) {
	close(locked)
	time.Sleep(3 * time.Millisecond)
	mu.Unlock()
}

// producer, started before the work, sleeps 3 ms and sends: the work's
// receive is woken by a goroutine outside it.
func producer(ch chan<- int) {
	time.Sleep(3 * time.Millisecond)
	ch <- 1
}

// consumer receives from the producer.
func consumer(ch <-chan int) { sink += <-ch }

// fanoutWork starts four goroutines (1, 2, 3, 4 ms of sleep) and waits for
// them all.
func fanoutWork(context.Context) {
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { leg(time.Duration(i+1) * time.Millisecond) })
	}
	wg.Wait()
}

// leg is one branch of the fan-out.
func leg(d time.Duration) { time.Sleep(d) }

// regionWork runs a region around a 2 ms sleep, with a log inside, and a
// nested region of 1 ms spinning.
func regionWork(ctx context.Context) {
	trace.WithRegion(ctx, "SQL: SELECT 1", func() {
		trace.Log(ctx, "sql", "SELECT 1")
		time.Sleep(2 * time.Millisecond)
		trace.WithRegion(ctx, "decode", func() { spin(time.Millisecond) })
	})
}

// convoySetup queues three other requests (each a task of its own) on a
// lock held by setup, then lets them through one after the other: the
// work, which takes the lock too, waits for all of them — a convoy of
// other requests.
func convoySetup() func(context.Context) {
	mu := new(sync.Mutex)
	mu.Lock()
	queued := make(chan struct{})
	for k := range 3 {
		go otherRequest(k, mu, queued)
		<-queued
		time.Sleep(time.Millisecond) // in order
	}
	go func() {
		time.Sleep(2 * time.Millisecond) // the work is waiting by then
		mu.Unlock()
	}()
	return func(context.Context) { convoyWork(mu) }
}

// otherRequest is another profiled request that takes the lock and holds
// it for 1 ms of work.
func otherRequest(k int, mu *sync.Mutex, queued chan<- struct{}) {
	_, task := trace.NewTask(context.Background(), fmt.Sprintf("GET /other/%d", k))
	defer task.End()
	queued <- struct{}{}
	mu.Lock()
	spin(time.Millisecond)
	mu.Unlock()
}

// convoyWork takes the lock behind the other requests.
func convoyWork(mu *sync.Mutex) {
	mu.Lock()
	sink++
	mu.Unlock()
}

// recordFixture runs f in a task tagged like a capture's, under a flight
// recorder with CPU profiling on (as capture does), and returns the
// snapshot.
func recordFixture(t *testing.T, f fixture) []byte {
	t.Helper()
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no GC events at random
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: time.Second, MaxBytes: 16 << 20})
	if err := fr.Start(); err != nil {
		t.Fatalf("flight recorder: %v", err)
	}
	defer fr.Stop()
	if pprof.StartCPUProfile(io.Discard) == nil {
		defer pprof.StopCPUProfile()
	}
	work := f.setup()
	ctx, task := trace.NewTask(context.Background(), "fixture "+f.name)
	trace.Log(ctx, fixtureOptions.IDCategory, "1")
	capture.Run(ctx, func(ctx context.Context) error {
		work(ctx)
		return nil
	})
	task.End()
	var buf bytes.Buffer
	if _, err := fr.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFixtures extracts each recorded trace and compares the profile's text
// dump with its golden file.
func TestFixtures(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			file := filepath.Join("testdata", f.name+".trace")
			if *record {
				if err := os.WriteFile(file, recordFixture(t, f), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (go test -record records it)", err)
			}
			res, err := tracedec.Extract(data, []tracedec.Request{{ID: "1"}}, fixtureOptions)
			if err != nil {
				t.Fatal(err)
			}
			p := res[0].Profile
			if res[0].Err != nil {
				t.Fatal(res[0].Err)
			}
			if err := p.CheckValid(); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", f.name+".golden"), []byte(p.String()))
			// Twice from the same bytes, the same profile.
			again, err := tracedec.Extract(data, []tracedec.Request{{ID: "1"}}, fixtureOptions)
			if err != nil || again[0].Err != nil {
				t.Fatalf("second extraction: %v %v", err, again[0].Err)
			}
			if again[0].Profile.String() != p.String() {
				t.Error("extracting the same trace twice gave different profiles")
			}
		})
	}
}

// TestConvoyFixture checks, on the recorded convoy, that the goroutines of
// the other requests are named with their requests, that the critical
// path says so and collapses their queue, and that the summary counts the
// time as the work's wait on the lock, as the tree's wait node has it.
func TestConvoyFixture(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "convoy.trace"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := tracedec.Extract(data, []tracedec.Request{{ID: "1"}}, fixtureOptions)
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res[0].Err)
	}
	p := res[0].Profile
	tasks := 0
	for _, g := range p.Goroutines {
		if strings.HasPrefix(g.Task, "GET /other/") {
			tasks++
		}
	}
	if tasks != 3 {
		t.Errorf("%d goroutines of other requests, want 3", tasks)
	}
	cp := view.CriticalPath(p)
	var via, convoy bool
	for _, s := range cp.Segments {
		for _, f := range s.Path {
			via = via || f.Kind == view.Via && strings.Contains(f.Name, ", request GET /other/")
			convoy = convoy || f.Kind == view.Via && strings.HasPrefix(f.Name, "[via a convoy of ")
		}
	}
	if !via || !convoy {
		t.Errorf("critical path: via a request %v, convoy %v", via, convoy)
	}
	tree := view.Tree(p.Name, cp.Segments, false)
	var lock *view.Node
	tree.Walk(func(n *view.Node, depth int) {
		if lock == nil && n.Frame.Name == "[wait: sync]" {
			lock = n
		}
	})
	sum := view.Summarize(p)
	if lock == nil || len(sum.Waits) == 0 || sum.Waits[0] != (view.WaitTime{Reason: "sync", Time: lock.Total, Count: 1}) {
		t.Errorf("summary waits %+v, the tree's first lock wait %+v", sum.Waits, lock)
	}
}
