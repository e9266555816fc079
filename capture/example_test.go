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

// Start a capture, run the work with its context, and Stop it to get the
// profile. Regions the work opens with runtime/trace become part of it.
func ExampleManager_Start() {
	ctx, c, err := capture.Default.Start(context.Background(), "nightly report")
	if err != nil {
		log.Fatal(err) // another flight recorder is active in the process
	}
	trace.WithRegion(ctx, "load", func() {
		time.Sleep(5 * time.Millisecond)
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
