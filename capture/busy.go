package capture

import (
	"runtime"
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
// linger. The judge measures the process's CPU time over a window (since
// its last measurement, at least cpuWindowMin), less what it exempts:
// reqprof's background steps (the worker's parse, each profile's build
// and delivery: their thread's CPU time, or their wall time where there
// is no thread clock) and the profiled units (their wall time within the
// window, as if each used one CPU, for as long as they run). While the
// rest is above busyCPU CPUs, Linger does not keep the recorder on, and a
// running linger ends, unless profiles come often (lingerFrequent): each
// one that started and stopped the recorder and CPU sampling would cost
// the process more (11–20 ms of CPU under load) than the tracing of the
// time between them, and the profiled requests would wait for the start.
// The verdict is remade at each Linger call and each
// batch, and every lingerCheck while the manager lingers (from the
// linger's start on the first time), so that it follows the load both
// ways within a profile or a quarter of a second.

// busyCPU is the CPU use of the process's other work, in CPUs, above which
// it does not linger: half a CPU is far beyond what serving a developer's
// requests takes, and what a server with traffic of its own reaches.
const busyCPU = 0.5

// cpuWindowMin is the shortest window the CPU use is measured over; a
// batch sooner after the last measurement keeps its verdict.
const cpuWindowMin = 100 * time.Millisecond

// cpuJudge measures the process's CPU use apart from reqprof's work.
type cpuJudge struct {
	busy atomic.Bool // the last verdict

	mu     sync.Mutex
	steps  time.Duration          // the background steps' time so far
	units  time.Duration          // the profiled units' time so far
	live   map[*liveUnit]struct{} // the units running
	at     time.Time              // the last measurement:
	used   time.Duration          // process CPU then,
	steps0 time.Duration          // steps then,
	units0 time.Duration          // units then

	// The clocks, nil for the real ones (tests set them).
	now func() time.Time
	cpu func() (time.Duration, bool)
	// limit is busyCPU for this judge when not 0 (tests set it).
	limit float64
}

// liveUnit is a running profiled unit; from is when its time stops
// being counted in units (its start, then each measurement).
type liveUnit struct{ from time.Time }

func (j *cpuJudge) clock() time.Time {
	if j.now != nil {
		return j.now()
	}
	return time.Now()
}

// begin exempts the profiled unit u from start until end.
func (j *cpuJudge) begin(u *liveUnit, start time.Time) {
	u.from = start
	j.mu.Lock()
	if j.live == nil {
		j.live = map[*liveUnit]struct{}{}
	}
	j.live[u] = struct{}{}
	j.mu.Unlock()
}

// end ends u's exemption; a unit discarded (its work is the process's
// own traffic, not a profile) is not exempted for its last stretch.
func (j *cpuJudge) end(u *liveUnit, profiled bool) {
	now := j.clock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.live[u]; !ok {
		return
	}
	delete(j.live, u)
	if profiled {
		j.units += now.Sub(u.from)
	}
}

// step runs fn, a step of the background work, and exempts its time: the
// CPU time of its thread (locked to it meanwhile), or its wall time where
// there is no thread clock.
func (j *cpuJudge) step(fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, ok := cputime.Thread()
	w0 := j.clock()
	fn()
	d := j.clock().Sub(w0)
	if t1, ok1 := cputime.Thread(); ok && ok1 {
		d = t1 - t0
	}
	j.mu.Lock()
	j.steps += d
	j.mu.Unlock()
}

// judge remakes the verdict, and reports it.
func (j *cpuJudge) judge() bool {
	cpu := cputime.Process
	if j.cpu != nil {
		cpu = j.cpu
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.clock()
	if !j.at.IsZero() && now.Sub(j.at) < cpuWindowMin {
		// No system call within the window: Linger, on the request's
		// path, mostly finds the last verdict.
		return j.busy.Load()
	}
	used, ok := cpu()
	if !ok {
		return false
	}
	for u := range j.live {
		j.units += now.Sub(u.from)
		u.from = now
	}
	if !j.at.IsZero() {
		other := used - j.used - (j.steps - j.steps0) - (j.units - j.units0)
		limit := busyCPU
		if j.limit > 0 {
			limit = j.limit
		}
		j.busy.Store(float64(other)/float64(now.Sub(j.at)) > limit)
	}
	j.at, j.used, j.steps0, j.units0 = now, used, j.steps, j.units
	return j.busy.Load()
}
