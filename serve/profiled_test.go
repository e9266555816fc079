package serve_test

import (
	"context"
	"testing"
	"time"

	"github.com/reqprof/reqprof/serve"
	"github.com/reqprof/reqprof/store"
)

func TestProfiledAndKept(t *testing.T) {
	st, err := store.OpenDir(t.TempDir(), store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan serve.Result, 4)
	core, err := serve.New(serve.Config{Store: st, CaptureSlowerThan: time.Hour, OnProfile: func(r serve.Result) { results <- r }})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	if serve.Profiled(context.Background()) {
		t.Error("Profiled(Background) = true")
	}

	if why := core.Admit(); why != "" {
		t.Fatal(why)
	}
	u, err := core.Begin(context.Background(), serve.Info{Name: "requested"})
	if err != nil {
		t.Fatal(err)
	}
	type key struct{}
	var inside bool
	u.Run(func(ctx context.Context) error {
		inside = serve.Profiled(context.WithValue(ctx, key{}, 1)) // derived contexts too
		return nil
	})
	if !inside || u.Kept() {
		t.Errorf("requested unit before End: Profiled %v (want true), Kept %v (want false)", inside, u.Kept())
	}
	u.End(serve.Info{})
	if serve.Profiled(u.Context()) || !u.Kept() {
		t.Errorf("requested unit after End: Profiled %v (want false), Kept %v (want true)", serve.Profiled(u.Context()), u.Kept())
	}
	<-results

	// A slow-capture candidate faster than the threshold is discarded.
	s, err := core.BeginSlow(context.Background(), serve.Info{Name: "fast"})
	if err != nil {
		t.Fatal(err)
	}
	if !serve.Profiled(s.Context()) {
		t.Error("a slow-capture candidate's context is not Profiled")
	}
	s.End(serve.Info{})
	if s.Kept() || serve.Profiled(s.Context()) {
		t.Errorf("discarded candidate: Kept %v, Profiled %v, want false, false", s.Kept(), serve.Profiled(s.Context()))
	}
	select {
	case r := <-results:
		t.Errorf("a discarded candidate made a result: %+v", r)
	default:
	}
}

func TestProfiledAllocatesNothing(t *testing.T) {
	type other struct{}
	ctx := context.WithValue(context.Background(), other{}, 1)
	if n := testing.AllocsPerRun(1000, func() { serve.Profiled(ctx) }); n != 0 {
		t.Errorf("Profiled: %v allocations, want 0", n)
	}
}

// A slow candidate that outlives MaxDuration is stored when the capture
// ends; its End, with the slow rate spent by then, must not end it again
// (it closed an already closed channel).
func TestTruncatedSlowCandidateEndsOnce(t *testing.T) {
	st, err := store.OpenDir(t.TempDir(), store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan serve.Result, 4)
	core, err := serve.New(serve.Config{Store: st, CaptureSlowerThan: time.Millisecond, SlowPerMinute: 1,
		MaxDuration: 20 * time.Millisecond, OnProfile: func(r serve.Result) { results <- r }})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	u, err := core.BeginSlow(context.Background(), serve.Info{Name: "long"})
	if err != nil {
		t.Fatal(err)
	}
	r := <-results // stored at the maximum duration, the slow rate's one token spent
	if r.Err != nil || r.ID != u.ID() {
		t.Fatalf("truncated candidate: %+v", r)
	}
	u.End(serve.Info{})
	if !u.Kept() {
		t.Error("a truncated candidate is not Kept")
	}
	core.Close()
	select {
	case r := <-results:
		t.Errorf("a second result: %+v", r)
	default:
	}
}
