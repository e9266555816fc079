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
	lingeringUnit(t, m, time.Millisecond)
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

// TestNoLingerWhenBusy: for a while after a large snapshot of a running
// recorder (a busy process), Linger ends the linger and does not start
// one; a recorder's first snapshot does not count, however large.
func TestNoLingerWhenBusy(t *testing.T) {
	m := NewManager(Config{NoCPU: true})
	ctx, c, err := m.Start(context.Background(), "unit")
	if err != nil {
		t.Fatal(err)
	}
	Run(ctx, func(context.Context) error { return nil })
	m.Linger(time.Hour)
	m.busyUntil.Store(time.Now().Add(time.Hour).UnixNano())
	if !m.Linger(time.Hour) {
		t.Error("Linger says the recorder is off while a capture holds it")
	}
	if _, err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if m.Active() {
		t.Fatal("the recorder lingers while the process is busy")
	}

	m.busyUntil.Store(0)
	m.frStarted.Store(time.Now().UnixNano())
	m.lastSnapAt = 0
	m.noteSnapshot(lingerMaxSnapshot + 1) // the recorder's first
	if m.busyUntil.Load() != 0 {
		t.Error("a recorder's first snapshot made the process busy")
	}
	m.noteSnapshot(lingerMaxSnapshot) // running, not too large
	if m.busyUntil.Load() != 0 {
		t.Error("a snapshot of lingerMaxSnapshot bytes made the process busy")
	}
	m.noteSnapshot(lingerMaxSnapshot + 1)
	m.noteSnapshot(lingerMaxSnapshot)
	if m.busyUntil.Load() != 0 {
		t.Error("a small snapshot after a large one left the process busy")
	}
	m.noteSnapshot(lingerMaxSnapshot + 1)
	if d := time.Until(time.Unix(0, m.busyUntil.Load())); d < busyFor-time.Second || d > busyFor { // the second: between noteSnapshot and Until
		t.Errorf("busy for %v after a large snapshot, want %v", d, busyFor)
	}
}
