package serve_test

import (
	"context"
	"testing"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/serve"
	"github.com/reqprof/reqprof/store"
)

// TestLinger profiles one unit with the default linger and one with none:
// with it, the recorder still runs once the profile is stored, until
// Close; without it, the recorder stops with the capture.
func TestLinger(t *testing.T) {
	for _, tc := range []struct {
		name   string
		linger time.Duration
		after  bool // the recorder runs once the profile is stored
	}{
		{"default", 0, true},
		{"off", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.OpenDir(t.TempDir(), store.Retention{})
			if err != nil {
				t.Fatal(err)
			}
			m := capture.NewManager(capture.Config{NoCPU: true})
			results := make(chan serve.Result, 1)
			core, err := serve.New(serve.Config{Store: st, Manager: m, Linger: tc.linger,
				OnProfile: func(r serve.Result) { results <- r }})
			if err != nil {
				t.Fatal(err)
			}
			defer core.Close()
			if core.Config().Linger <= 0 && tc.linger == 0 {
				t.Fatalf("default Linger %v", core.Config().Linger)
			}
			if why := core.Admit(); why != "" {
				t.Fatal(why)
			}
			u, err := core.Begin(context.Background(), serve.Info{Name: "unit"})
			if err != nil {
				t.Fatal(err)
			}
			u.Run(func(context.Context) error { return nil })
			u.End(serve.Info{})
			if r := <-results; r.Err != nil {
				t.Fatal(r.Err)
			}
			// The capture's reference is dropped before its profile is
			// delivered (capture.Manager.work), so Active is settled here.
			if got := m.Active(); got != tc.after {
				t.Fatalf("recorder running after the profile: %v, want %v", got, tc.after)
			}
			core.Close()
			if m.Active() {
				t.Fatal("the recorder runs on after Close")
			}
		})
	}
}
