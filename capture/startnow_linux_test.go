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
// sampling is left to a timer (it has not begun when StartNow returns),
// work longer than the delay still gets samples, and after the capture
// the recorder and sampling are stopped cleanly (someone else's CPU
// profile starts), also when the capture ended before the delay.
func TestStartNow(t *testing.T) {
	m := NewManager(Config{})
	ctx, c, err := m.StartNow(context.Background(), "burn")
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	pending := m.cpu.timer != nil
	m.mu.Unlock()
	if !pending {
		t.Fatal("StartNow began CPU sampling's switch at once, not after cpuStartDelay")
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

	// A capture over before the delay: the switch never runs.
	_, c, err = m.StartNow(context.Background(), "short")
	if err != nil {
		t.Fatal(err)
	}
	c.Discard()
	othersProfile(t, m)
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
