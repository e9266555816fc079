package testprofile

import (
	"runtime"
	"syscall"
	"time"
)

// burn computes until its thread has used d of CPU time, or 20×d of wall
// time has passed (a machine so loaded that the goroutine barely runs).
func burn(d time.Duration) int {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const rusageThread = 1 // RUSAGE_THREAD
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if syscall.Getrusage(rusageThread, &ru) != nil {
			return 0
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	x, start, t0 := 0, cpu(), time.Now()
	for cpu()-start < d && time.Since(t0) < 20*d {
		x += spin(200 * time.Microsecond)
	}
	return x
}
