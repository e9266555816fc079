package capture

import (
	"bytes"
	"context"
	"crypto/sha256"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/reqprof/reqprof/internal/cputime"
)

// burn computes for at least d of the calling thread's CPU time.
func burn(d time.Duration) {
	var sum [32]byte
	start, _ := cputime.Thread()
	for {
		for range 200 {
			sum = sha256.Sum256(sum[:])
		}
		if now, _ := cputime.Thread(); now-start >= d {
			return
		}
	}
}

// TestStartNow checks the capture that does not wait for CPU sampling:
// work longer than the delay still gets samples; a capture over before
// the delay, ended by Stop or Discard, never starts sampling (the switch
// is cancelled, not run and undone); a capture that waits (Start) joining
// one whose delay still holds sampling back begins the switch at once;
// and after each, the recorder and sampling are stopped cleanly (someone
// else's CPU profile starts).
func TestStartNow(t *testing.T) {
	m := NewManager(Config{})
	ctx, c, err := m.StartNow(context.Background(), "burn")
	if err != nil {
		t.Fatal(err)
	}
	Run(ctx, func(context.Context) error {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		burn(300 * time.Millisecond)
		return nil
	})
	p, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range p.Samples {
		if s.Goroutine == p.Goroutines[0].ID {
			n++
		}
	}
	// 300 ms of the thread's CPU at the kernel's 250 Hz is about 75
	// samples, less the first 5–8 ms; samples come with CPU time, so a
	// loaded machine loses few. 10 leaves room and still tells sampling
	// from none.
	if n < 10 {
		t.Errorf("%d CPU samples in 300 ms of CPU, want at least 10", n)
	}
	othersProfile(t, m)

	// Held back for an hour: the short captures end long before.
	defer func(d time.Duration) { cpuStartDelay = d }(cpuStartDelay)
	cpuStartDelay = time.Hour
	for _, stop := range []string{"Stop", "Discard"} {
		_, c, err = m.StartNow(context.Background(), "short")
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-switched(m):
			t.Fatalf("%s: CPU sampling's switch ran before its delay", stop)
		default:
		}
		if stop == "Stop" {
			if _, err := c.Stop(); err != nil {
				t.Fatal(err)
			}
		} else {
			c.Discard()
		}
		if m.cpu.owned {
			t.Errorf("%s: the switch ran for a capture over before its delay", stop)
		}
		othersProfile(t, m)
	}

	// Start joins a capture whose delay holds sampling back.
	_, first, err := m.StartNow(context.Background(), "first")
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := m.Start(context.Background(), "second")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-switched(m):
	case <-time.After(10 * time.Second): // raiseWait bounds Start's wait, not the switch
		t.Fatal("Start did not begin the switch that StartNow's delay held back")
	}
	if !m.cpu.owned {
		t.Error("the switch begun by Start does not own CPU profiling")
	}
	first.Discard()
	if _, err := second.Stop(); err != nil {
		t.Fatal(err)
	}
	othersProfile(t, m)
}

// switched returns the channel closed when m's CPU sampling switch is
// done or cancelled.
func switched(m *Manager) <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cpu.done()
}

// othersProfile checks that m's recorder is stopped and that someone
// else's CPU profile starts and stops.
func othersProfile(t *testing.T, m *Manager) {
	t.Helper()
	if m.Active() {
		t.Fatal("the recorder runs after the capture")
	}
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Fatalf("pprof.StartCPUProfile after the capture: %v", err)
	}
	pprof.StopCPUProfile()
}

// TestSamplerStoppedBeforeItsDelay stops a sampler whose switch has not
// begun: stop returns at once, owning nothing.
func TestSamplerStoppedBeforeItsDelay(t *testing.T) {
	var s cpuSampler
	s.start(time.Hour)
	s.stop()
	select {
	case <-s.done():
	default:
		t.Fatal("done is not closed after stop")
	}
	if s.owned {
		t.Error("the sampler owns pprof's CPU profile without having started")
	}
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Fatalf("pprof.StartCPUProfile: %v", err)
	}
	pprof.StopCPUProfile()
}
