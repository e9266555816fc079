package testprofile

import (
	"runtime"
	"time"

	"github.com/reqprof/reqprof/internal/cputime"
)

// burn computes until its thread has used d of CPU time, or 20×d of wall
// time has passed (a machine so loaded that the goroutine barely runs);
// where the system tells no thread's CPU time, for d of wall time.
func burn(d time.Duration) int {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := cputime.Thread()
	if !ok {
		return spin(d)
	}
	x, t0 := 0, time.Now()
	for time.Since(t0) < 20*d {
		if now, _ := cputime.Thread(); now-start >= d {
			break
		}
		x += spin(200 * time.Microsecond)
	}
	return x
}
