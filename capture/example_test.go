package capture_test

import (
	"context"
	"fmt"
	"log"
	"runtime/trace"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/profile"
)

// Start a capture, run the work with its context through Run, and Stop the
// capture to get the profile. Regions the work opens with runtime/trace
// become part of it.
func ExampleManager_Start() {
	ctx, c, err := capture.Default.Start(context.Background(), "nightly report")
	if err != nil {
		log.Fatal(err) // another flight recorder is active in the process
	}
	capture.Run(ctx, func(ctx context.Context) error {
		trace.WithRegion(ctx, "load", func() {
			time.Sleep(5 * time.Millisecond)
		})
		return nil
	})
	p, err := c.Stop()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("name:", p.Name)
	fmt.Println("root goroutine is a member:", p.Goroutines[0].Member)
	for _, r := range p.Regions {
		fmt.Println("region:", r.Type)
	}
	// Output:
	// name: nightly report
	// root goroutine is a member: true
	// region: load
}

// StartNow is for work whose latency matters more than CPU samples in
// its first milliseconds, a request: when the capture starts the
// recorder, the work begins without waiting for CPU sampling's start, and
// Linger keeps both running for the next capture, which then waits for
// neither.
func ExampleManager_StartNow() {
	m := capture.NewManager(capture.Config{})
	defer m.EndLinger()
	for _, name := range []string{"GET /users/{id}", "GET /users/{id} again"} {
		ctx, c, err := m.StartNow(context.Background(), name)
		if err != nil {
			log.Fatal(err)
		}
		capture.Run(ctx, func(ctx context.Context) error {
			time.Sleep(time.Millisecond)
			return nil
		})
		m.Linger(5 * time.Second) // before Stop, while the capture holds the recorder
		p, err := c.Stop()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(p.Name, "- recorder still running:", m.Active())
	}
	// Output:
	// GET /users/{id} - recorder still running: true
	// GET /users/{id} again - recorder still running: true
}

// StopFunc returns at once and hands the profile to a callback on the
// background worker: what a server does, so that extracting the profile
// never delays the response.
func ExampleCapture_StopFunc() {
	ctx, c, err := capture.Default.Start(context.Background(), "GET /")
	if err != nil {
		log.Fatal(err)
	}
	handle(ctx)

	done := make(chan *profile.Profile, 1)
	c.StopFunc(func(p *profile.Profile, err error) {
		if err != nil {
			log.Print(err)
		}
		done <- p // store it, in a real server
	})
	// ... the response is already on its way ...
	if p := <-done; p != nil {
		fmt.Println(p.Name, "profiled:", p.Duration > 0)
	}
	// Output:
	// GET / profiled: true
}

func handle(ctx context.Context) {
	trace.Log(ctx, "step", "work")
	time.Sleep(time.Millisecond)
}

// A Manager with its own bounds, for work longer than the default window,
// without CPU sampling (for a process that takes its own CPU profiles).
// Only one Manager may be capturing at a time in a process.
func ExampleNewManager() {
	m := capture.NewManager(capture.Config{
		MaxBytes: 256 << 20,
		MinAge:   10 * time.Minute,
		NoCPU:    true,
	})
	ctx, c, err := m.Start(context.Background(), "batch import")
	if err != nil {
		log.Fatal(err)
	}
	handle(ctx)
	p, err := c.Stop()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Name)
	// Output:
	// batch import
}

// An adapter for a framework (gin, echo, gRPC, ...) starts a capture per
// unit of work and runs the framework's handler through Run, in a closure:
// in the profile, the handler is the work, and everything around it (the
// framework, the adapter, starting and stopping the capture) is not.
func ExampleRun() {
	type frameworkContext struct{ ctx context.Context }
	next := func(c *frameworkContext) { time.Sleep(time.Millisecond) }

	middleware := func(c *frameworkContext) (*profile.Profile, error) {
		ctx, capt, err := capture.Default.Start(c.ctx, "GET /orders")
		if err != nil {
			return nil, err
		}
		c.ctx = ctx
		capture.Run(ctx, func(context.Context) error {
			next(c)
			return nil
		})
		return capt.Stop()
	}
	p, err := middleware(&frameworkContext{ctx: context.Background()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Name, "has a work boundary:", p.Work != 0)
	// Output:
	// GET /orders has a work boundary: true
}
