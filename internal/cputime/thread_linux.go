package cputime

import "time"

// Thread returns the CPU time the calling thread has used; ok is false
// where the system cannot tell (anywhere but Linux). Call it from a
// goroutine locked to its thread (runtime.LockOSThread), or the readings
// may be of different threads.
func Thread() (d time.Duration, ok bool) {
	const rusageThread = 1 // RUSAGE_THREAD
	return rusage(rusageThread)
}
