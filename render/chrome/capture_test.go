package chrome_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/chrome"
)

// The synthetic request: some CPU, a sleep, a region and a log, then a
// fan-out of goroutines joined by a WaitGroup, two of which hand a mutex
// over (the holder sleeps with it, the waiter blocks on it).

//go:noinline
func spin(d time.Duration) int {
	x := 0
	for t := time.Now(); time.Since(t) < d; {
		for i := range 1000 {
			x += i * i
		}
	}
	return x
}

//go:noinline
func phaseCPU() { spin(15 * time.Millisecond) }

//go:noinline
func phaseSleep() { time.Sleep(10 * time.Millisecond) }

//go:noinline
func mutexHolder(wg *sync.WaitGroup, mu *sync.Mutex, held chan<- struct{}, waiting <-chan struct{}) {
	defer wg.Done()
	mu.Lock()
	close(held)
	<-waiting // the waiter is about to lock
	time.Sleep(20 * time.Millisecond)
	mu.Unlock()
}

//go:noinline
func mutexWaiter(wg *sync.WaitGroup, mu *sync.Mutex, waiting chan<- struct{}) {
	defer wg.Done()
	close(waiting)
	mu.Lock()
	spin(time.Millisecond)
	mu.Unlock()
}

//go:noinline
func fanoutWorker(wg *sync.WaitGroup, d time.Duration) {
	defer wg.Done()
	time.Sleep(d)
	spin(2 * time.Millisecond)
}

//go:noinline
func phaseFanout() {
	var wg sync.WaitGroup
	var mu sync.Mutex
	held, waiting := make(chan struct{}), make(chan struct{})
	wg.Add(2)
	go mutexHolder(&wg, &mu, held, waiting)
	<-held
	go mutexWaiter(&wg, &mu, waiting)
	for i := range 3 {
		wg.Add(1)
		go fanoutWorker(&wg, time.Duration(5+5*i)*time.Millisecond)
	}
	wg.Wait()
}

func capture(t *testing.T) *reqprof.Profile {
	t.Helper()
	p, err := reqprof.Do(context.Background(), "chrome synthetic", func(ctx context.Context) error {
		trace.WithRegion(ctx, "phase: cpu", phaseCPU)
		trace.Log(ctx, "note", "slept next")
		phaseSleep()
		phaseFanout()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRealCapture(t *testing.T) {
	p := capture(t)
	data := render1(t, p.Profile, render.Options{})
	if dir := os.Getenv("REQPROF_CHROME_DIR"); dir != "" {
		// To open the real thing by hand (Perfetto, chrome://tracing).
		if err := os.WriteFile(filepath.Join(dir, "capture"+chrome.Extension), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr := check(t, data)

	// One thread per goroutine: the root, then the five it started.
	threadOf := map[string]int64{} // entry function suffix → thread
	var root int64
	for _, tid := range tr.threads() {
		name := tr.ThreadNames[tid]
		switch {
		case strings.HasSuffix(name, "chrome synthetic (root)"):
			root = tid
		case strings.Contains(name, "(outside the work"):
		default:
			for _, fn := range []string{".mutexHolder", ".mutexWaiter", ".fanoutWorker"} {
				if strings.HasSuffix(name, fn) {
					threadOf[fn] = tid
				}
			}
		}
	}
	if root == 0 || tr.SortIndex[root] != 0 || len(threadOf) != 3 {
		t.Fatalf("threads %v: want the root first, then the holder, waiter and workers", tr.ThreadNames)
	}
	members := 0
	for _, g := range p.Goroutines {
		if g.Member {
			members++
		}
	}
	if members != 6 {
		t.Errorf("%d member goroutines, want 6", members)
	}

	// The root's stack shows the phases, the sleep and the wait for the
	// WaitGroup, the region, the log.
	has := func(tid int64, pred func(s *vslice) bool) *vslice {
		for _, s := range tr.Slices[tid] {
			if pred(s) {
				return s
			}
		}
		return nil
	}
	named := func(suffix string) func(*vslice) bool {
		return func(s *vslice) bool { return strings.HasSuffix(s.Name, suffix) }
	}
	under := func(s *vslice, suffix string) bool {
		for a := s.Parent; a != nil; a = a.Parent {
			if strings.HasSuffix(a.Name, suffix) {
				return true
			}
		}
		return false
	}
	if s := has(root, func(s *vslice) bool { return s.Name == "[wait: sleep]" && under(s, ".phaseSleep") }); s == nil {
		t.Errorf("no [wait: sleep] under phaseSleep on the root:\n%s", sliceList(tr.Slices[root]))
	} else {
		if s.Args["state"] != "waiting" || s.Args["reason"] != "sleep" || !strings.Contains(s.Args["at"].(string), "capture_test.go:") {
			t.Errorf("sleep args %s", s.ArgsRaw)
		}
		if d := time.Duration((s.End - s.Start) * 1e3); d < 9*time.Millisecond {
			t.Errorf("sleep slice lasts %v", d)
		}
	}
	if has(root, func(s *vslice) bool { return s.Cat == chrome.CatRegion && s.Name == "phase: cpu" }) == nil {
		t.Errorf("no region slice on the root:\n%s", sliceList(tr.Slices[root]))
	}
	// Where CPU samples saw phaseCPU, it is a slice under its region
	// (unsampled running time has only the frames known for sure).
	if sampled(p, root, ".phaseCPU") && has(root, func(s *vslice) bool { return strings.HasSuffix(s.Name, ".phaseCPU") && under(s, "phase: cpu") }) == nil {
		t.Errorf("phaseCPU, seen by CPU samples, is not under its region:\n%s", sliceList(tr.Slices[root]))
	}
	wgWait := has(root, func(s *vslice) bool { return s.Name == "[wait: sync]" && under(s, ".phaseFanout") })
	if wgWait == nil {
		t.Errorf("no WaitGroup wait under phaseFanout:\n%s", sliceList(tr.Slices[root]))
	}
	logged := false
	for _, e := range tr.Instants {
		if e.TID == root && e.Name == "note: slept next" {
			logged = true
		}
	}
	if !logged {
		t.Error("the log is not an instant on the root")
	}

	// The workers run their functions, sleep and spin.
	w := threadOf[".fanoutWorker"]
	if has(w, named(".fanoutWorker")) == nil || has(w, func(s *vslice) bool { return s.Name == "[wait: sleep]" }) == nil {
		t.Errorf("worker thread:\n%s", sliceList(tr.Slices[w]))
	}

	// The mutex is handed over: the waiter waits in Lock, woken by the
	// holder, and a wake-up arrow joins them.
	holder, waiter := threadOf[".mutexHolder"], threadOf[".mutexWaiter"]
	lockWait := has(waiter, func(s *vslice) bool { return s.Name == "[wait: sync]" })
	if lockWait == nil {
		t.Fatalf("the waiter never waits on the mutex:\n%s", sliceList(tr.Slices[waiter]))
	}
	if got := lockWait.Args["woken_by"]; got != float64(holder) {
		t.Errorf("the mutex wait was ended by %v, want the holder %d", got, holder)
	}
	flows := map[string]int{}
	for _, f := range tr.Flows {
		key := f.Name + " " + threadName(tr, f.S.TID) + " -> " + threadName(tr, f.F.TID)
		flows[key]++
		// The finish is bound to the slice the goroutine goes on with.
		if f.To.Start != f.F.TS {
			t.Errorf("flow %d finishes at %v inside %q [%v,%v]", f.ID, f.F.TS, f.To.Name, f.To.Start, f.To.End)
		}
	}
	for _, want := range []string{
		"spawn root -> .mutexHolder",
		"spawn root -> .mutexWaiter",
		"spawn root -> .fanoutWorker",
		"wakeup .mutexHolder -> .mutexWaiter",
	} {
		if flows[want] == 0 {
			t.Errorf("no flow %q in %v", want, flows)
		}
	}
	if n := flows["spawn root -> .fanoutWorker"]; n != 3 {
		t.Errorf("%d spawn flows to the workers, want 3", n)
	}
	// The root's WaitGroup wait is ended by the last goroutine to finish.
	if wgWait != nil {
		waker := int64(wgWait.Args["woken_by"].(float64))
		found := false
		for _, f := range tr.Flows {
			if f.Name == chrome.FlowWakeup && f.S.TID == waker && f.F.TID == root && f.F.TS == wgWait.End {
				found = true
			}
		}
		if !found {
			t.Errorf("no wake-up flow from goroutine %d to the root at the end of its WaitGroup wait (%v)", waker, wgWait.End)
		}
	}
}

// sampled reports whether a CPU sample of goroutine g has a function
// ending with suffix in its stack.
func sampled(p *reqprof.Profile, g int64, suffix string) bool {
	for _, s := range p.Samples {
		if s.Goroutine != g {
			continue
		}
		for _, f := range p.Stacks[s.Stack].Frames {
			if strings.HasSuffix(p.Frames[f].Func, suffix) {
				return true
			}
		}
	}
	return false
}

// threadName names a thread for the flow checks: "root" or the entry
// function's last element.
func threadName(tr *parsed, tid int64) string {
	n := tr.ThreadNames[tid]
	if strings.HasSuffix(n, "(root)") {
		return "root"
	}
	if i := strings.LastIndexByte(n, '.'); i >= 0 {
		return n[i:]
	}
	return n
}
