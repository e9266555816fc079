package capture

import (
	"context"
	"runtime"
	"runtime/trace"
	"strings"
	"testing"
	"time"
)

// heapAfterGC returns the live heap after a full collection.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC() // a second cycle frees what the first one's finalizers let go
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSnapshotBufferReleasedWhenIdle profiles work that fills the recorder
// with tens of megabytes of trace, and checks that once the manager has
// been idle a while, the heap is back near where it was: the snapshot
// buffer (as large as the snapshot) is not kept forever.
func TestSnapshotBufferReleasedWhenIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 32 MB of trace")
	}
	m := NewManager(Config{NoCPU: true})
	m.keep = 10 * time.Millisecond
	base := heapAfterGC()

	// The tracer keeps 1 KiB of a log message: 32 Ki logs of 1000 bytes
	// make 32 MB of trace.
	const logs, size = 32 << 10, 1000
	msg := strings.Repeat("x", size)
	ctx, c, err := m.Start(context.Background(), "fill")
	if err != nil {
		t.Fatal(err)
	}
	Run(ctx, func(ctx context.Context) error {
		for range logs {
			trace.Log(ctx, "fill", msg)
		}
		return nil
	})
	p, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Logs) != logs {
		t.Fatalf("the profile has %d logs, want %d: the snapshot did not hold the work", len(p.Logs), logs)
	}
	p = nil

	// The snapshot held the logs: the buffer was at least 32 MB.
	deadline := time.Now().Add(10 * time.Second) // the release is due after 10ms
	for {
		m.mu.Lock()
		held := m.buf.Cap()
		m.mu.Unlock()
		if held == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the snapshot buffer (%d bytes) is still held after the manager was idle for 10s", held)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The work produced 32 MB of trace, snapshotted into a buffer at
	// least as large; what remains must be far less. 8 MiB is generous:
	// the test binary's own allocations (timers, the runtime's tracer
	// tables) are a few hundred KiB.
	if after := heapAfterGC(); after > base+8<<20 {
		t.Errorf("heap after profiling: %d MiB, before: %d MiB (want within 8 MiB)", after>>20, base>>20)
	}
	runtime.KeepAlive(m) // a live manager, as Default is
}
