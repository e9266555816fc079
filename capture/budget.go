package capture

import (
	"runtime"
	"sync"
	"time"
)

// The background work's CPU budget
//
// Each profile costs the process some milliseconds of CPU after its work
// ended: a snapshot of the recorder and its parsing (once per batch), then
// building the profile and handing it over (encoding and storing it, in
// the delivery core). That work runs on the same CPUs as the requests.
// Under a sustained stream of profiled units (a client asking for profiles
// back to back) it would take whatever the scheduler gives it; the budget
// bounds it instead: a token bucket of running time, refilled at
// Config.MaxBackgroundCPU CPUs and holding at most budgetBurst, that each
// step of the background work (a batch's snapshot and parse; one profile's
// build and delivery) waits on before it begins and pays, by its wall
// time, when it ends. Wall time is at least the CPU time the step used on
// its goroutine (more when the step waits or is descheduled), so the bound
// holds, conservatively, whatever the load. An occasional profile never
// waits: the bucket is full. While steps wait, captures that ended queue
// up, and the delivery core's MaxConcurrent then turns new profiled units
// away ("skipped") rather than let the queue grow.

// budgetBurst is how much running time the bucket holds: a burst of
// profiles after a quiet spell runs at once.
const budgetBurst = 250 * time.Millisecond

// budget is a token bucket of running time.
type budget struct {
	rate float64 // CPUs; 0: unbounded

	mu     sync.Mutex
	credit time.Duration // may go below zero: a step ran past it
	at     time.Time     // when credit was last refilled
	now    func() time.Time
	sleep  func(time.Duration)
}

// newBudget returns a budget of cpus CPUs (<= 0: unbounded), full.
func newBudget(cpus float64) *budget {
	return &budget{rate: max(cpus, 0), credit: budgetBurst, now: time.Now, sleep: time.Sleep}
}

// defaultBackgroundCPU is a quarter of the process's CPUs.
func defaultBackgroundCPU() float64 { return 0.25 * float64(runtime.GOMAXPROCS(0)) }

// refill adds the credit earned since the last refill. b.mu must be held.
func (b *budget) refill() time.Time {
	t := b.now()
	if !b.at.IsZero() {
		b.credit += time.Duration(float64(t.Sub(b.at)) * b.rate)
	}
	b.credit = min(b.credit, budgetBurst)
	b.at = t
	return t
}

// wait blocks until the bucket's credit is not negative, and returns the
// time the step may begin (for spend).
func (b *budget) wait() time.Time {
	if b.rate == 0 {
		return time.Time{}
	}
	for {
		b.mu.Lock()
		t := b.refill()
		short := -b.credit
		b.mu.Unlock()
		if short <= 0 {
			return t
		}
		b.sleep(time.Duration(float64(short) / b.rate))
	}
}

// spend pays for a step that began at start (wait's result).
func (b *budget) spend(start time.Time) {
	if b.rate == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.refill()
	b.credit -= t.Sub(start)
}
