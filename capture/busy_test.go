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
// measurement is a baseline; the process's CPU less the exempted time,
// over the window, is compared with busyCPU; a window shorter than
// cpuWindowMin keeps the last verdict; the verdict follows the load down.
func TestCPUJudge(t *testing.T) {
	now := time.Unix(1000, 0)
	var used time.Duration
	j := &cpuJudge{now: func() time.Time { return now }, cpu: func() (time.Duration, bool) { return used, true }}
	step := func(wall, cpu, exempt time.Duration) bool {
		t.Helper()
		now = now.Add(wall)
		used += cpu
		if exempt > 0 {
			j.exemptSince(now.Add(-exempt))
		}
		return j.judge()
	}
	if step(0, 0, 0) {
		t.Fatal("busy at the first measurement (no window yet)")
	}
	if !step(time.Second, 1500*time.Millisecond, 200*time.Millisecond) {
		t.Error("1.3 CPUs of other work: not busy")
	}
	if !step(50*time.Millisecond, 0, 0) {
		t.Error("a window shorter than cpuWindowMin changed the verdict")
	}
	if step(time.Second, 1200*time.Millisecond, 900*time.Millisecond) {
		t.Error("0.3 CPU of other work (most of the CPU exempted): busy")
	}
	if !step(time.Second, 600*time.Millisecond, 0) {
		t.Error("0.6 CPU of other work: not busy")
	}
	if step(200*time.Millisecond, 20*time.Millisecond, 0) {
		t.Error("the verdict did not follow the load down")
	}
	j.cpu = func() (time.Duration, bool) { return 0, false }
	if j.judge() {
		t.Error("busy without a CPU clock")
	}
}

// TestNoLingerWhenCPUBusy keeps the process's CPU busy with work of its
// own (not profiled) and checks that a running linger then ends, that a
// capture does not linger, and that it lingers again once the work stops.
//
// Tolerances: two spinning goroutines use about 1 CPU even beside two
// CPU-burning processes on 2 cores (their share of the machine), twice
// busyCPU; each capture runs 150 ms later than the last, past
// cpuWindowMin; a linger's checks come every 250 ms, and the test waits
// 3 s for one to end it.
func TestNoLingerWhenCPUBusy(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs 2 CPUs")
	}
	m := NewManager(Config{NoCPU: true})
	defer m.EndLinger()
	capture := func() {
		t.Helper()
		ctx, c, err := m.Start(context.Background(), "unit")
		if err != nil {
			t.Fatal(err)
		}
		Run(ctx, func(context.Context) error { return nil })
		m.Linger(time.Hour)
		if _, err := c.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	capture() // the process is quiet: it lingers
	if !m.Active() {
		t.Fatal("the recorder does not linger in a quiet process")
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
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
			stop.Store(true)
			t.Fatal("the linger goes on 3 s after the process's other work began to keep the CPU busy")
		}
	}
	for range 3 {
		capture()
		time.Sleep(150 * time.Millisecond)
	}
	capture()
	busy := m.Active()
	stop.Store(true)
	wg.Wait()
	if busy {
		t.Error("the recorder lingers while the process's other work keeps 2 goroutines on the CPU")
	}
	time.Sleep(150 * time.Millisecond)
	capture() // its batch sees the quiet window: the verdict is remade
	capture()
	if !m.Active() {
		t.Error("the recorder does not linger once the process is quiet again")
	}
}
