package capture

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/reqprof/reqprof/internal/cputime"
)

// Busy by CPU
//
// The linger pays off for a developer's requests, one after another: it
// spares each the recorder's start. It costs every other request the
// tracer's overhead (3–7% of their latency and throughput here) for as
// long as it lasts. So a process whose other work uses the CPU does not
// linger: after each batch the worker measures the process's CPU time
// since its last measurement, less what it exempts (the background work's
// steps and the profiled units' own wall time, as if each used one CPU),
// and while that is above busyCPU CPUs, Linger does not keep the recorder
// on, and a running linger ends. The verdict is remade at each batch, from
// a window of at least cpuWindowMin, and every lingerCheck while the
// manager lingers (from the linger's start on the first time), so that it
// follows the load both ways within a profile or a quarter of a second.

// busyCPU is the CPU use of the process's other work, in CPUs, above which
// it does not linger: half a CPU is far beyond what serving a developer's
// requests takes, and what a server with traffic of its own reaches.
const busyCPU = 0.5

// cpuWindowMin is the shortest window the CPU use is measured over; a
// batch sooner after the last measurement keeps its verdict.
const cpuWindowMin = 100 * time.Millisecond

// cpuJudge measures the process's CPU use apart from reqprof's work.
type cpuJudge struct {
	exempt atomic.Int64 // nanoseconds of wall time exempted so far
	busy   atomic.Bool  // the last verdict

	mu sync.Mutex // guards the last measurement
	// The last measurement.
	at      time.Time
	used    time.Duration // process CPU then
	exempt0 int64         // exempt then

	// The clocks, nil for the real ones (tests set them).
	now func() time.Time
	cpu func() (time.Duration, bool)
}

// exemptSince exempts the wall time since t0 (a background step's, or a
// profiled unit's).
func (j *cpuJudge) exemptSince(t0 time.Time) { j.exempt.Add(int64(j.clock().Sub(t0))) }

func (j *cpuJudge) clock() time.Time {
	if j.now != nil {
		return j.now()
	}
	return time.Now()
}

// judge remakes the verdict, and reports it.
func (j *cpuJudge) judge() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	cpu := cputime.Process
	if j.cpu != nil {
		cpu = j.cpu
	}
	used, ok := cpu()
	if !ok {
		return false
	}
	now, ex := j.clock(), j.exempt.Load()
	if !j.at.IsZero() {
		el := now.Sub(j.at)
		if el < cpuWindowMin {
			return j.busy.Load()
		}
		other := float64(used-j.used) - float64(ex-j.exempt0)
		j.busy.Store(other/float64(el) > busyCPU)
	}
	j.at, j.used, j.exempt0 = now, used, ex
	return j.busy.Load()
}
