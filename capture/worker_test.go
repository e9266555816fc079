package capture_test

import (
	"context"
	"testing"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/profile"
)

// TestSlowProfileDoesNotHoldOthers stops a capture whose consumer is slow
// (as the middleware summarising and storing a profile of 15,000 regions
// is: seconds) and, while that consumer still works, profiles an unrelated
// short unit on the same manager: its profile must not wait for the slow
// one. The slow consumer is a channel, so the test does not depend on
// timing.
func TestSlowProfileDoesNotHoldOthers(t *testing.T) {
	m := capture.NewManager(capture.Config{NoCPU: true})
	_, slow, err := m.Start(context.Background(), "slow")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	slowDone := make(chan error, 1)
	slow.StopFunc(func(p *profile.Profile, err error) {
		<-release // still busy with its profile
		slowDone <- err
	})
	defer func() {
		close(release)
		if err := <-slowDone; err != nil {
			t.Errorf("slow capture: %v", err)
		}
	}()

	type result struct {
		p   *profile.Profile
		err error
	}
	got := make(chan result, 1)
	go func() {
		ctx, c, err := m.Start(context.Background(), "quick")
		if err != nil {
			got <- result{nil, err}
			return
		}
		capture.Run(ctx, func(context.Context) error { time.Sleep(time.Millisecond); return nil })
		p, err := c.Stop()
		got <- result{p, err}
	}()
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.p.Name != "quick" {
			t.Errorf("got the profile of %q", r.p.Name)
		}
	case <-time.After(30 * time.Second):
		// Not a timing tolerance: with the slow consumer blocked forever,
		// a quick profile held behind it never comes.
		t.Fatal("the quick unit's profile waits for the slow one's consumer")
	}
}
