package serve_test

import (
	"context"
	"testing"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/serve"
	"github.com/reqprof/reqprof/store"
)

func TestProfiledAndKept(t *testing.T) {
	core, results := newCore(t, serve.Config{CaptureSlowerThan: time.Hour})
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

// newCore opens a core on a fresh store with cfg, whose results arrive on
// the returned channel; it is closed when the test ends.
func newCore(t *testing.T, cfg serve.Config) (*serve.Core, <-chan serve.Result) {
	t.Helper()
	st, err := store.OpenDir(t.TempDir(), store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan serve.Result, 4)
	cfg.Store = st
	cfg.OnProfile = func(r serve.Result) { results <- r }
	core, err := serve.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { core.Close() })
	return core, results
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
	core, results := newCore(t, serve.Config{CaptureSlowerThan: time.Millisecond, SlowPerMinute: 1, MaxDuration: 20 * time.Millisecond})
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

// EndFunc describes a slow candidate only when its profile is made: slow
// enough, or taken by per-route sampling under the route it is given; a
// candidate's id is known once it is kept.
func TestEndFuncDescribesOnlyKept(t *testing.T) {
	sample := serve.PerRoute(1, time.Hour)
	sample.Take("busy") // its one unit this hour is spent
	core, results := newCore(t, serve.Config{CaptureSlowerThan: 200 * time.Millisecond, Sample: sample})
	end := func(route string, work time.Duration) (described int, u *serve.Unit) {
		u, err := core.BeginSlow(context.Background(), serve.Info{Name: "GET /x"})
		if err != nil {
			t.Fatal(err)
		}
		u.Run(func(context.Context) error { time.Sleep(work); return nil })
		if id := u.ID(); id != "" {
			t.Errorf("a candidate not yet kept has id %q", id)
		}
		u.EndFunc(route, func() serve.Info {
			described++
			return serve.Info{Attrs: []profile.Attr{{Key: "described", Value: "yes"}}}
		})
		return described, u
	}
	check := func(name string, u *serve.Unit, reason string) {
		t.Helper()
		if !u.Kept() || !store.ValidID(u.ID()) {
			t.Fatalf("%s: Kept %v, ID %q", name, u.Kept(), u.ID())
		}
		r := <-results
		if r.Err != nil || r.ID != u.ID() {
			t.Fatalf("%s: result %+v, want id %s", name, r, u.ID())
		}
		if got := r.Profile.Attr(profile.AttrReason); got != reason {
			t.Errorf("%s: reason %q, want %q", name, got, reason)
		}
		if got := r.Profile.Attr("described"); got != "yes" {
			t.Errorf("%s: describe's attribute %q, want yes", name, got)
		}
	}

	if n, u := end("busy", 0); n != 0 || u.Kept() || u.ID() != "" {
		t.Errorf("fast, route not due: described %d times, Kept %v, ID %q; want 0, false, empty", n, u.Kept(), u.ID())
	}
	n, u := end("new", 0)
	if n != 1 {
		t.Errorf("fast, route due: described %d times, want 1", n)
	}
	check("sampled", u, profile.ReasonSampled)
	if sample.Take("new") {
		t.Error("the sampled unit was not counted under the route EndFunc was given")
	}
	n, u = end("busy", 250*time.Millisecond)
	if n != 1 {
		t.Errorf("slow: described %d times, want 1", n)
	}
	check("slow", u, profile.ReasonSlow)
	select {
	case r := <-results:
		t.Errorf("an extra result: %+v", r)
	default:
	}
}

// End counts a sampled candidate under the route Begin's info gave when
// End's has none, as before EndFunc.
func TestEndSamplesUnderBeginsRoute(t *testing.T) {
	sample := serve.PerRoute(1, time.Hour)
	core, results := newCore(t, serve.Config{CaptureSlowerThan: time.Hour, Sample: sample})
	u, err := core.BeginSlow(context.Background(), serve.Info{Name: "GET /items/7", Attrs: []profile.Attr{{Key: profile.AttrRoute, Value: "/items/{id}"}}})
	if err != nil {
		t.Fatal(err)
	}
	u.End(serve.Info{Name: "GET /items/{id}"})
	if !u.Kept() {
		t.Fatal("the route's first candidate was not sampled")
	}
	if r := <-results; r.Err != nil || r.Profile.Attr(profile.AttrReason) != profile.ReasonSampled {
		t.Errorf("result %+v", r)
	}
	if sample.Take("/items/{id}") {
		t.Error("the candidate was not counted under Begin's route")
	}
	if !sample.Take("GET /items/{id}") {
		t.Error("the candidate was counted under End's name, not Begin's route")
	}
}
