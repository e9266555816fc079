package reqprof_test

import (
	"runtime"
	"time"

	"github.com/reqprof/reqprof/internal/cputime"
)

// spinCPU burns d of the calling thread's CPU time (not wall time: on a
// loaded machine a wall-time spin of 150ms may get a few ms of CPU, and no
// CPU sample).
//
//go:noinline
func spinCPU(d time.Duration) int {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	x := 0
	for start := threadCPU(); threadCPU()-start < d; {
		for i := 0; i < 10000; i++ {
			x += i * i
		}
	}
	return x
}

// threadCPU is the calling thread's CPU time (RUSAGE_THREAD).
func threadCPU() time.Duration {
	d, ok := cputime.Thread()
	if !ok {
		panic("no thread CPU clock")
	}
	return d
}
