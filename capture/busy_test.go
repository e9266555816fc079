package capture

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCPUJudge checks the verdict on a simulated clock: the first
// measurement is a baseline; the process's CPU less the background steps'
// time and the profiled units' time within the window, over the window,
// is compared with busyCPU; a window shorter than cpuWindowMin keeps the
// last verdict; a long unit is exempted window by window, not all at its
// end; a discarded unit is not exempted for its last stretch.
func TestCPUJudge(t *testing.T) {
	now := time.Unix(1000, 0)
	var used time.Duration
	j := &cpuJudge{now: func() time.Time { return now }, cpu: func() (time.Duration, bool) { return used, true }}
	step := func(wall, cpu, steps time.Duration) bool {
		t.Helper()
		now = now.Add(wall)
		used += cpu
		j.mu.Lock()
		j.steps += steps
		j.mu.Unlock()
		return j.judge()
	}
	if step(0, 0, 0) {
		t.Fatal("busy at the first measurement (no window yet)")
	}
	if !step(time.Second, 1500*time.Millisecond, 200*time.Millisecond) {
		t.Error("1.3 CPUs of other work: not busy")
	}
	calls := 0
	cpu := j.cpu
	j.cpu = func() (time.Duration, bool) { calls++; return cpu() }
	if !step(50*time.Millisecond, 0, 0) {
		t.Error("a window shorter than cpuWindowMin changed the verdict")
	}
	if calls != 0 {
		t.Error("the process's CPU read within the shortest window (a system call on the request's path)")
	}
	j.cpu = cpu
	if step(time.Second, 1200*time.Millisecond, 900*time.Millisecond) {
		t.Error("0.3 CPU of other work (most of the CPU the background steps'): busy")
	}
	if !step(time.Second, 600*time.Millisecond, 0) {
		t.Error("0.6 CPU of other work: not busy")
	}
	if step(200*time.Millisecond, 20*time.Millisecond, 0) {
		t.Error("the verdict did not follow the load down")
	}

	// A profiled unit running through three windows, using a CPU: each
	// window exempts its share, and its end the rest.
	u := new(liveUnit)
	j.begin(u, now)
	for range 3 {
		if step(time.Second, 1200*time.Millisecond, 0) {
			t.Error("a profiled unit's CPU (1 of 1.2 CPUs) counted as other work")
		}
	}
	now = now.Add(500 * time.Millisecond)
	used += 600 * time.Millisecond
	j.end(u, true)
	if step(0, 0, 0) { // a window of 500 ms: its unit's end exempts them
		t.Error("a profiled unit's last stretch counted as other work")
	}
	// Load beside a unit that waits: only its time in each window is
	// exempted, not all of it at its end.
	u = new(liveUnit)
	j.begin(u, now)
	if !step(time.Second, 1800*time.Millisecond, 0) {
		t.Error("1.8 CPUs beside a waiting unit (exempted as 1): not busy")
	}
	now = now.Add(time.Second)
	used += 1800 * time.Millisecond
	j.end(u, false) // discarded: its last second is the process's traffic
	if !step(0, 0, 0) {
		t.Error("a discarded unit's last stretch was exempted")
	}

	j.cpu = func() (time.Duration, bool) { return 0, false }
	now = now.Add(time.Second)
	if j.judge() {
		t.Error("busy without a CPU clock")
	}
}

// TestNoLingerWhenCPUBusy keeps the process's CPU busy with work of its
// own (not profiled) and checks that a running linger then ends, that a
// capture does not linger unless the last one ended less than
// lingerFrequent before, and that it lingers again once the work stops.
//
// Tolerances: two spinning goroutines use about 1 CPU even beside two
// CPU-burning processes on 2 cores (their share of the machine), twice
// busyCPU; each capture runs 300 ms later than the last, past
// cpuWindowMin and lingerFrequent (then four 50 ms apart); a linger's checks come every 250 ms, and the test waits
// 3 s for one to end it.
func TestNoLingerWhenCPUBusy(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs 2 CPUs")
	}
	m := NewManager(Config{NoCPU: true})
	defer m.EndLinger()
	// The two spinners below get about one CPU between them beside two
	// CPU-burning processes, but half a CPU beside six (measured:
	// 0.43–0.51), which is busyCPU itself and failed the test one run in
	// forty: a quarter of a CPU keeps the verdict clear of them, and of the
	// quiet windows' 0.01.
	m.cpuj.limit = busyCPU / 2
	capture := func() { t.Helper(); lingeringUnit(t, m, time.Hour) }
	capture() // the process is quiet: it lingers
	if !m.Active() {
		t.Fatal("the recorder does not linger in a quiet process")
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	t.Cleanup(func() { stop.Store(true); wg.Wait() })
	for range 2 {
		wg.Go(func() {
			x := 0
			for !stop.Load() {
				for i := range 1000 {
					x += i
				}
			}
			_ = x
		})
	}
	// The running linger ends at one of its checks, every lingerCheck.
	for deadline := time.Now().Add(3 * time.Second); m.Active(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the linger goes on 3 s after the process's other work began to keep the CPU busy")
		}
	}
	for range 3 {
		capture()
		time.Sleep(lingerFrequent + 50*time.Millisecond)
	}
	capture()
	busy := m.Active()
	// Profiles every 50 ms: starting the recorder for each would cost
	// more than keeping it on.
	for range 4 {
		time.Sleep(50 * time.Millisecond)
		capture()
	}
	frequent := m.Active()
	stop.Store(true)
	wg.Wait()
	if busy {
		t.Error("the recorder lingers while the process's other work keeps 2 goroutines on the CPU")
	}
	if !frequent {
		t.Error("the recorder does not linger for profiles 50 ms apart in a busy process")
	}
	time.Sleep(150 * time.Millisecond)
	capture() // its batch sees the quiet window: the verdict is remade
	capture()
	if !m.Active() {
		t.Error("the recorder does not linger once the process is quiet again")
	}
}

// TestMarksWhileBusyLinger checks that a manager lingering for frequent
// profiles in a busy process learns the trace's newest generation every
// markBusy, that one lingering in a quiet process does not, and that a
// capture after the marks asks only for later generations.
func TestMarksWhileBusyLinger(t *testing.T) {
	defer func(d time.Duration) { markBusy = d }(markBusy)
	markBusy = 5 * time.Millisecond
	m := NewManager(Config{NoCPU: true})
	defer func() {
		// A mark or a batch under way holds the recorder until it ends:
		// the package's next test starts one of its own.
		m.EndLinger()
		for deadline := time.Now().Add(10 * time.Second); m.Active(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the recorder runs 10 s after the linger ended")
			}
		}
	}()
	capture := func() { t.Helper(); lingeringUnit(t, m, time.Minute) }
	capture() // quiet: it lingers, with no marks
	time.Sleep(20 * markBusy)
	if n := m.marks.Load(); n != 0 {
		t.Fatalf("%d marks while lingering in a quiet process", n)
	}
	makeBusy(m)
	for range 4 { // frequent profiles: the linger goes on
		capture()
		time.Sleep(markBusy)
	}
	if !m.Active() || !m.cpuj.busy.Load() {
		t.Fatalf("active %v, busy %v: want a linger for frequent profiles in a busy process", m.Active(), m.cpuj.busy.Load())
	}
	for deadline := time.Now().Add(10 * time.Second); m.marks.Load() < 3; time.Sleep(markBusy) {
		if time.Now().After(deadline) {
			t.Fatalf("%d marks in 10 s of a busy linger, one due every %v", m.marks.Load(), markBusy)
		}
	}
	gen := m.snapGen.Load()
	_, c, err := m.Start(context.Background(), "after the marks")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Discard()
	if c.fromGen <= gen {
		t.Errorf("a capture after the marks asks for generations from %d, the newest known %d", c.fromGen, gen)
	}
}

// makeBusy makes m's judge see a busy process from now on: one that uses
// two CPUs.
func makeBusy(m *Manager) {
	start := time.Now()
	m.mu.Lock()
	m.cpuj.mu.Lock()
	m.cpuj.cpu = func() (time.Duration, bool) { return 2 * time.Since(start), true }
	m.cpuj.at = time.Time{}
	m.cpuj.mu.Unlock()
	m.cpuj.judge()
	m.mu.Unlock()
	time.Sleep(cpuWindowMin)
}

// TestEndLingerWaitsForMark checks that once EndLinger returns, the
// recorder no longer runs for a busy linger's empty snapshot: the
// delivery core's Close ends with EndLinger, and its caller may start a
// recorder of its own at once.
func TestEndLingerWaitsForMark(t *testing.T) {
	defer func(d time.Duration) { markBusy = d }(markBusy)
	markBusy = time.Millisecond // marks back to back: EndLinger often meets one
	m := NewManager(Config{NoCPU: true})
	defer m.EndLinger()
	makeBusy(m)
	for i := range 50 {
		for range 4 { // frequent profiles: the linger goes on in a busy process
			lingeringUnit(t, m, time.Minute)
		}
		time.Sleep(time.Duration(i%5) * markBusy / 2)
		m.EndLinger()
		if m.Active() {
			t.Fatalf("round %d: the recorder runs after EndLinger returned (%d marks so far)", i, m.marks.Load())
		}
	}
	if m.marks.Load() == 0 {
		t.Error("no mark ran: the test did not meet the case it is for")
	}
}

// lingeringUnit runs an empty unit on m that asks for a linger of d before
// it stops, as the delivery core does.
func lingeringUnit(t *testing.T, m *Manager, d time.Duration) {
	t.Helper()
	ctx, c, err := m.Start(context.Background(), "unit")
	if err != nil {
		t.Fatal(err)
	}
	Run(ctx, func(context.Context) error { return nil })
	m.Linger(d)
	if _, err := c.Stop(); err != nil {
		t.Fatal(err)
	}
}
