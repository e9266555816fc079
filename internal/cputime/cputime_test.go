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
