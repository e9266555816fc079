package capture

import (
	"testing"
	"time"
)

// fakeClock drives a budget without real time: sleeping advances it.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time        { return c.t }
func (c *fakeClock) sleep(d time.Duration) { c.t = c.t.Add(d) }
func (c *fakeClock) work(d time.Duration)  { c.t = c.t.Add(d) }
func fakeBudget(cpus float64) (*budget, *fakeClock) {
	c := &fakeClock{t: time.Unix(1e9, 0)}
	b := newBudget(cpus)
	b.now, b.sleep = c.now, c.sleep
	return b, c
}

// TestBudgetBoundsSustainedWork runs steps back to back, as a stream of
// profiles does, and checks that past the burst the steps' share of the
// time is the budget's rate; and that a full bucket lets a burst through
// without waiting.
func TestBudgetBoundsSustainedWork(t *testing.T) {
	const cpus, step = 0.5, 10 * time.Millisecond
	b, c := fakeBudget(cpus)
	begin := c.now()
	var busy time.Duration
	for i := range 1000 {
		s := b.wait()
		if i < int(budgetBurst/step) && c.now() != begin.Add(busy) {
			t.Fatalf("step %d waited within the burst", i)
		}
		c.work(step)
		busy += step
		b.spend(s)
	}
	wall := c.now().Sub(begin)
	// The bucket's credit, burst included, bounds the work: busy ≤
	// burst + rate × wall, and the budget waits no longer than that
	// needs (one step of slack at the end).
	if busy > budgetBurst+time.Duration(cpus*float64(wall)) {
		t.Errorf("%v of work in %v: more than the burst plus %.2f CPUs", busy, wall, cpus)
	}
	if busy+step < budgetBurst+time.Duration(cpus*float64(wall)) {
		t.Errorf("%v of work in %v: the budget waited longer than its rate asks", busy, wall)
	}
}

// TestBudgetRefills checks that a quiet spell refills the bucket, up to
// its burst only.
func TestBudgetRefills(t *testing.T) {
	b, c := fakeBudget(0.25)
	s := b.wait()
	c.work(budgetBurst + 100*time.Millisecond) // one long step: 100 ms short
	b.spend(s)
	before := c.now()
	b.wait()
	if got, want := c.now().Sub(before), 400*time.Millisecond; got != want {
		t.Errorf("waited %v after overspending 100 ms at 0.25 CPU, want %v", got, want)
	}
	c.sleep(time.Hour)
	b.mu.Lock()
	b.refill()
	credit := b.credit
	b.mu.Unlock()
	if credit != budgetBurst {
		t.Errorf("credit after an hour idle: %v, want the burst %v", credit, budgetBurst)
	}
}

// TestBudgetUnbounded: a negative MaxBackgroundCPU never waits.
func TestBudgetUnbounded(t *testing.T) {
	m := NewManager(Config{MaxBackgroundCPU: -1, NoCPU: true})
	b := m.budget
	c := &fakeClock{t: time.Unix(1e9, 0)}
	b.now, b.sleep = c.now, func(time.Duration) { t.Fatal("an unbounded budget slept") }
	for range 100 {
		s := b.wait()
		c.work(time.Second)
		b.spend(s)
	}
	if d := NewManager(Config{}).cfg.MaxBackgroundCPU; d <= 0 {
		t.Errorf("default MaxBackgroundCPU %v", d)
	}
}
