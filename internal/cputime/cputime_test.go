package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestCPUAdvances burns 20 ms of the thread's CPU and checks that both
// clocks saw at least most of it, and the thread's no more than the
// wall time it took.
func TestCPUAdvances(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p0, pok := Process()
	t0, tok := Thread()
	if !pok {
		t.Skip("no process CPU clock on this system")
	}
	w0 := time.Now()
	x := 0
	for {
		for i := range 10000 {
			x += i * i
		}
		if d, _ := Process(); d-p0 >= 20*time.Millisecond {
			break
		}
	}
	wall := time.Since(w0)
	_ = x
	if tok {
		t1, _ := Thread()
		// The loop ran on this thread: most of the process's 20 ms are
		// its (the runtime's other threads may have used a little).
		if got := t1 - t0; got < 10*time.Millisecond || got > wall+time.Millisecond {
			t.Errorf("thread CPU %v over %v of wall time, after the process used 20 ms", got, wall)
		}
	} else if runtime.GOOS == "linux" {
		t.Error("no thread CPU clock on Linux")
	}
}

// TestWaits keeps one thread more than there are CPUs busy for 100 ms:
// the kernel makes them take turns, so the threads waited, in all, for
// much of that time.
func TestWaits(t *testing.T) {
	before, ok := Waits()
	if !ok {
		if runtime.GOOS == "linux" {
			t.Skip("no /proc/self/task/*/schedstat here (a kernel without schedstats)")
		}
		t.Skip("the system does not tell how long a thread waited")
	}
	n := runtime.NumCPU() + 1
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	done := make(chan struct{})
	stop := time.Now().Add(100 * time.Millisecond)
	for range n {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			x := 0
			for time.Now().Before(stop) {
				for i := range 1000 {
					x += i * i
				}
			}
			_ = x
			done <- struct{}{}
		}()
	}
	for range n {
		<-done
	}
	after, _ := Waits()
	var sum time.Duration
	for tid, w := range after {
		sum += w - before[tid]
	}
	if longest := LongestWait(before, after); longest <= 0 || sum < 20*time.Millisecond {
		t.Errorf("%d busy threads on %d CPUs for 100 ms waited %v in all, %v at most for one thread: want ≥ 20 ms in all", n, runtime.NumCPU(), sum, longest)
	}
}
