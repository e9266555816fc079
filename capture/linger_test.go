package capture

import (
	"context"
	"testing"
	"time"
)

// TestLinger keeps the recorder running after a capture, checks that the
// next capture reuses it (the same recorder, not a new start), that a
// shorter Linger does not shorten the time, and that EndLinger and the
// linger's end stop it.
func TestLinger(t *testing.T) {
	m := NewManager(Config{NoCPU: true})
	if m.Linger(time.Hour) {
		t.Fatal("Linger reported a running recorder before any capture")
	}
	if m.Active() {
		t.Fatal("Linger started the recorder")
	}

	profileOnce := func() {
		t.Helper()
		ctx, c, err := m.Start(context.Background(), "unit")
		if err != nil {
			t.Fatal(err)
		}
		Run(ctx, func(context.Context) error { time.Sleep(time.Millisecond); return nil })
		if !m.Linger(time.Hour) {
			t.Fatal("Linger during a capture says the recorder is off")
		}
		m.Linger(time.Nanosecond) // must not shorten the hour
		if _, err := c.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	profileOnce()
	if !m.Active() {
		t.Fatal("the recorder stopped with the capture despite Linger")
	}
	m.mu.Lock()
	first := m.fr
	m.mu.Unlock()
	profileOnce()
	m.mu.Lock()
	second, refs := m.fr, m.refs
	m.mu.Unlock()
	if first != second {
		t.Error("the second capture started a new recorder while the first lingered")
	}
	if refs != 1 {
		t.Errorf("%d references while lingering, want the linger's one", refs)
	}
	m.EndLinger()
	if m.Active() {
		t.Fatal("the recorder runs on after EndLinger")
	}
	m.EndLinger() // no linger: nothing to end

	// A linger's end stops the recorder by itself.
	ctx, c, err := m.Start(context.Background(), "unit")
	if err != nil {
		t.Fatal(err)
	}
	Run(ctx, func(context.Context) error { return nil })
	m.Linger(time.Millisecond)
	if _, err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	// Not a timing tolerance: the linger ends a millisecond after it was
	// asked; the deadline only turns a recorder that never stops into a
	// failure rather than a hang.
	deadline := time.Now().Add(10 * time.Second)
	for m.Active() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if m.Active() {
		t.Fatal("the recorder still runs after its linger ended")
	}
}
