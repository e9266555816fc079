// Package fakeadapter is a delivery adapter such as one for another
// framework would be, in its own module: its functions' names are in no list
// of reqprof's, so a profile made through it must find the work by the
// boundary capture records, not by names.
package fakeadapter

import (
	"context"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/profile"
)

// Handler is the framework's handler type.
type Handler func(ctx context.Context)

// Serve runs h as one profiled unit of work, the way a middleware would:
// start a capture, run the handler through capture.Run in a closure, do
// some bookkeeping of its own, and stop the capture.
func Serve(m *capture.Manager, ctx context.Context, name string, h Handler) (*profile.Profile, error) {
	ctx, c, err := m.Start(ctx, name)
	if err != nil {
		return nil, err
	}
	capture.Run(ctx, func(ctx context.Context) error {
		h(ctx)
		return nil
	})
	bookkeeping()
	return c.Stop()
}

// bookkeeping is the adapter's own work after the handler (describing the
// response, say): the profiler's time, not the work's.
//
//go:noinline
func bookkeeping() {
	for start := time.Now(); time.Since(start) < 200*time.Microsecond; {
	}
}
