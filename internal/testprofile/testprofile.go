// Package testprofile gives format tests profiles to render: small
// hand-built ones, deterministic for golden files, large generated ones
// (Large, LargeCases) for the HTML report's budgets, and a real one
// captured from a synthetic request. The core's tests and the browser tests
// (module internal/browsertest) share them.
//
// It imports package capture, not the root package reqprof, so that the
// tests of a renderer that reqprof registers can use it without an import
// cycle (from an external _test package).
package testprofile

import (
	"context"
	"runtime"
	"runtime/trace"
	"sync"
	"testing"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/profile"
)

const ms = int64(time.Millisecond)

// Handmade returns, built by hand, the 20 ms profile of "GET /orders":
//
//   - 0–1 ms the handler authorizes the caller (running, unsampled);
//   - 1–3 ms it waits for a mutex held by goroutine 50, which is not part
//     of the request (a cache refresher): the critical path explains the
//     wait by what goroutine 50 did ("[via goroutine 50: main.cacheRefresher]");
//   - 3–4 ms it reads the cache, 4–6 ms it sleeps, then waits 0.1 ms for a
//     CPU ("[runnable]");
//   - 6.1–7 ms it loads the orders, starting goroutines 7 and 8, which
//     query the database (network waits; goroutine 8 inside a user region
//     whose name holds a ';' and a newline) and it waits for them on a
//     WaitGroup until 15 ms (woken by goroutine 8);
//   - 15–16 ms a system call, 16–20 ms rendering.
//
// The function main.handler appears at two lines (two frames of the
// profile's table), as it does when a function calls from several places.
// The profile passes [profile.Profile.CheckValid].
func Handmade() *profile.Profile {
	p := &profile.Profile{
		Name:      "GET /orders",
		Start:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Duration:  20 * ms,
		GoVersion: "go1.26.8",
		Host:      "web-1",
		Frames: []profile.Frame{
			0:  {Func: "main.handler", File: "/app/main.go", Line: 20},
			1:  {Func: "main.authorize", File: "/app/main.go", Line: 31},
			2:  {Func: "main.loadOrders", File: "/app/main.go", Line: 40},
			3:  {Func: "main.render", File: "/app/main.go", Line: 50},
			4:  {Func: "main.fetch", File: "/app/db.go", Line: 12},
			5:  {Func: "database/sql.(*DB).QueryContext", File: "/go/src/database/sql/sql.go", Line: 1800},
			6:  {Func: "net.(*conn).Read", File: "/go/src/net/net.go", Line: 196},
			7:  {Func: "sync.(*WaitGroup).Wait", File: "/go/src/sync/waitgroup.go", Line: 118},
			8:  {Func: "time.Sleep", File: "/go/src/runtime/time.go", Line: 300},
			9:  {Func: "main.cacheRefresher", File: "/app/cache.go", Line: 8},
			10: {Func: "sync.(*Mutex).Lock", File: "/go/src/sync/mutex.go", Line: 90},
			11: {Func: "main.readCache", File: "/app/cache.go", Line: 30},
			12: {Func: "syscall.Syscall", File: "/go/src/syscall/syscall_linux.go", Line: 73},
			13: {Func: "main.handler", File: "/app/main.go", Line: 24},
		},
		Stacks: []profile.Stack{
			0:  {},
			1:  {Frames: []profile.FrameID{0}},         // handler
			2:  {Frames: []profile.FrameID{0, 1}},      // handler → authorize
			3:  {Frames: []profile.FrameID{0, 11, 10}}, // handler → readCache → Mutex.Lock
			4:  {Frames: []profile.FrameID{0, 11}},     // handler → readCache
			5:  {Frames: []profile.FrameID{13, 8}},     // handler:24 → time.Sleep
			6:  {Frames: []profile.FrameID{0, 2}},      // handler → loadOrders
			7:  {Frames: []profile.FrameID{0, 2, 7}},   // handler → loadOrders → WaitGroup.Wait
			8:  {Frames: []profile.FrameID{0, 3, 12}},  // handler → render → Syscall
			9:  {Frames: []profile.FrameID{0, 3}},      // handler → render
			10: {Frames: []profile.FrameID{4}},         // fetch
			11: {Frames: []profile.FrameID{4, 5, 6}},   // fetch → QueryContext → Read
			12: {Frames: []profile.FrameID{9}},         // cacheRefresher
			13: {Frames: []profile.FrameID{9, 12}},     // cacheRefresher → Syscall
		},
		Goroutines: []profile.Goroutine{
			{
				ID: 1, Member: true, Entry: 1, Start: 0, End: 20 * ms,
				Intervals: []profile.Interval{
					{Start: 0, End: 1 * ms, State: profile.Running, Stack: 2, Inferred: true},
					{Start: 1 * ms, End: 3 * ms, State: profile.Waiting, Reason: "sync", Stack: 3, Waker: 50},
					{Start: 3 * ms, End: 4 * ms, State: profile.Running, Stack: 4},
					{Start: 4 * ms, End: 6 * ms, State: profile.Waiting, Reason: "sleep", Stack: 5},
					{Start: 6 * ms, End: 6*ms + 100_000, State: profile.Runnable, Stack: 5},
					{Start: 6*ms + 100_000, End: 7 * ms, State: profile.Running, Stack: 6},
					{Start: 7 * ms, End: 15 * ms, State: profile.Waiting, Reason: "sync", Stack: 7, Waker: 8},
					{Start: 15 * ms, End: 16 * ms, State: profile.Syscall, Stack: 8},
					{Start: 16 * ms, End: 20 * ms, State: profile.Running, Stack: 9},
				},
			},
			{
				ID: 7, Parent: 1, Member: true, CreatedAt: 6, Entry: 10, Start: 7 * ms, End: 11 * ms, Exited: true,
				Intervals: []profile.Interval{
					{Start: 7 * ms, End: 7*ms + 500_000, State: profile.Running, Stack: 10},
					{Start: 7*ms + 500_000, End: 10*ms + 500_000, State: profile.Waiting, Reason: "network", Stack: 11},
					{Start: 10*ms + 500_000, End: 11 * ms, State: profile.Running, Stack: 10},
				},
			},
			{
				ID: 8, Parent: 1, Member: true, CreatedAt: 6, Entry: 10, Start: 7 * ms, End: 15 * ms, Exited: true,
				Intervals: []profile.Interval{
					{Start: 7 * ms, End: 7*ms + 500_000, State: profile.Runnable, Stack: 10},
					{Start: 7*ms + 500_000, End: 13 * ms, State: profile.Waiting, Reason: "network", Stack: 11},
					{Start: 13 * ms, End: 15 * ms, State: profile.Running, Stack: 10},
				},
			},
			{
				ID: 50, Entry: 12, Start: 0, End: 20 * ms,
				Intervals: []profile.Interval{
					{Start: 0, End: 2 * ms, State: profile.Running, Stack: 12},
					{Start: 2 * ms, End: 3 * ms, State: profile.Syscall, Stack: 13},
					{Start: 3 * ms, End: 20 * ms, State: profile.Waiting, Reason: "select", Stack: 12},
				},
			},
		},
		Regions: []profile.Region{
			{Goroutine: 8, Type: "SQL: SELECT id; name\nFROM orders", Start: 7*ms + 500_000, End: 13 * ms, Stack: 10},
		},
	}
	p.SetAttr("http.method", "GET")
	p.SetAttr(profile.ModuleAttr, "example.com/app")
	return p
}

// Empty returns a valid profile without goroutines (nothing was captured).
func Empty() *profile.Profile {
	return &profile.Profile{Name: "empty", Duration: 5 * ms, Stacks: []profile.Stack{{}}}
}

// The phases of the synthetic request. Their names are what tests look
// for in rendered profiles (qualified by this package's import path).

//go:noinline
func spin(d time.Duration) int {
	x := 0
	for t := time.Now(); time.Since(t) < d; {
		for i := 0; i < 1000; i++ {
			x += i * i
		}
	}
	return x
}

// PhaseBurn computes for 30 ms of its thread's CPU time where the system
// says (Linux), else of wall time: on a loaded machine, 30 ms of wall
// time can be a few milliseconds of CPU and no CPU sample, and the report
// tests look for the phase's row.
//
//go:noinline
func PhaseBurn() { burn(30 * time.Millisecond) }

// PhaseSleep sleeps 10 ms.
//
//go:noinline
func PhaseSleep() { time.Sleep(10 * time.Millisecond) }

// PhaseMutex waits for mu.
//
//go:noinline
func PhaseMutex(mu *sync.Mutex) {
	mu.Lock()
	//lint:ignore SA2001 waiting for the lock is the point.
	mu.Unlock()
}

// FanoutWorker sleeps d in a region "SQL: SELECT 1", then computes 2 ms.
//
//go:noinline
func FanoutWorker(ctx context.Context, d time.Duration) {
	trace.WithRegion(ctx, "SQL: SELECT 1", func() { time.Sleep(d) })
	spin(2 * time.Millisecond)
}

// PhaseFanout runs three FanoutWorkers (5, 10 and 15 ms) and waits for
// them.
//
//go:noinline
func PhaseFanout(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			FanoutWorker(ctx, time.Duration(5+5*i)*time.Millisecond)
		}()
	}
	wg.Wait()
}

// MutexHolder locks mu, says so on held, and unlocks it d after release
// is closed.
//
//go:noinline
func MutexHolder(mu *sync.Mutex, held chan<- struct{}, release <-chan struct{}, d time.Duration) {
	mu.Lock()
	close(held)
	<-release
	time.Sleep(d)
	mu.Unlock()
}

// Request is the synthetic request: some CPU (PhaseBurn, 30 ms), a sleep
// (PhaseSleep, 10 ms), a wait for a mutex that a goroutine outside the
// request holds for 10 ms more (PhaseMutex; release lets the holder go),
// and a fan-out to three goroutines (PhaseFanout) that each sleep in a
// region "SQL: SELECT 1" and burn 2 ms.
//
//go:noinline
func Request(ctx context.Context, mu *sync.Mutex, release chan<- struct{}) {
	PhaseBurn()
	PhaseSleep()
	close(release)
	PhaseMutex(mu)
	PhaseFanout(ctx)
}

// Name is the name of the profile Capture returns.
const Name = "synthetic request"

// Module is the main module (profile.ModuleAttr) of the profile Capture
// returns: this package's module, so that the synthetic request is user
// code whichever module's test binary captures it (the browser tests are a
// module of their own, internal/browsertest).
const Module = "github.com/reqprof/reqprof"

// Capture profiles Request for real (capture.Default, the execution trace
// and CPU samples) and returns its profile, checked with CheckValid, its
// main module set to [Module]. It fails the test when capturing fails
// (another flight recorder is active).
func Capture(t testing.TB) *profile.Profile {
	t.Helper()
	var mu sync.Mutex
	held, release := make(chan struct{}), make(chan struct{})
	go MutexHolder(&mu, held, release, 10*time.Millisecond)
	<-held
	ctx, c, err := capture.Default.Start(context.Background(), Name)
	if err != nil {
		close(release)
		t.Fatalf("testprofile: %v", err)
	}
	Request(ctx, &mu, release)
	p, err := c.Stop()
	if err != nil {
		t.Fatalf("testprofile: %v", err)
	}
	p.SetAttr(profile.ModuleAttr, Module)
	if err := p.CheckValid(); err != nil {
		t.Fatalf("testprofile: captured profile is invalid: %v", err)
	}
	runtime.KeepAlive(&mu)
	return p
}
