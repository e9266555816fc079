// Package adaptertest holds what the tests of reqprof's delivery adapters
// (outcall and the contrib modules: gin, echo, gRPC, chi, gorilla/mux,
// OpenTelemetry) share: reading a stored profile back and finding frames in
// its critical path.
package adaptertest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/store"
	"github.com/reqprof/reqprof/view"
)

// Pending is what Stored waits on (serve.Core implements it).
type Pending interface {
	Wait(done <-chan struct{}, id string)
	NotStored(id string) string
}

// Stored waits for profile id to be extracted and returns it with its
// summary, failing the test if it is not stored within a minute (the
// extraction of a small request takes milliseconds; a minute covers a
// loaded machine with the race detector).
func Stored(t testing.TB, c Pending, st store.Store, id string) (*profile.Profile, Meta) {
	t.Helper()
	if id == "" {
		t.Fatal("no profile id")
	}
	done := make(chan struct{})
	timer := time.AfterFunc(time.Minute, func() { close(done) })
	defer timer.Stop()
	c.Wait(done, id)
	p, m, err := st.Get(context.Background(), id)
	if errors.Is(err, store.ErrNotFound) {
		t.Fatalf("profile %s not stored: %q", id, c.NotStored(id))
	}
	if err != nil {
		t.Fatal(err)
	}
	return p, MetaOf(m)
}

// Meta is what the adapters' tests read of a stored profile's metadata,
// from its labels.
type Meta struct {
	store.Meta
	Method, Route, Path, Reason string
	Status                      int
	Panic                       bool
}

// MetaOf reads m's labels.
func MetaOf(m store.Meta) Meta {
	status, _ := strconv.Atoi(m.Label(profile.AttrStatus))
	path, _, _ := strings.Cut(m.Label(profile.AttrURL), "?")
	return Meta{Meta: m,
		Method: m.Label(profile.AttrMethod), Route: m.Label(profile.AttrRoute), Path: path,
		Reason: m.Label(profile.AttrReason), Status: status, Panic: m.Label(profile.AttrPanic) != ""}
}

// Count returns how many profiles st holds.
func Count(t testing.TB, st store.Store) int {
	t.Helper()
	ms, err := st.List(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// Tree returns the profile's critical-path call tree, every frame kept.
func Tree(t testing.TB, p *profile.Profile) *view.Node {
	t.Helper()
	_, trees, err := render.Options{NoGroup: true}.Trees(p)
	if err != nil {
		t.Fatal(err)
	}
	return trees[0]
}

// Find returns the first node under n (n included), depth first, whose
// frame name has the prefix, or nil.
func Find(n *view.Node, prefix string) *view.Node {
	if strings.HasPrefix(n.Frame.Name, prefix) {
		return n
	}
	for _, c := range n.Children {
		if f := Find(c, prefix); f != nil {
			return f
		}
	}
	return nil
}

// Names returns the frame names under n (n included) that have the prefix.
func Names(n *view.Node, prefix string) []string {
	var out []string
	if strings.HasPrefix(n.Frame.Name, prefix) {
		out = append(out, n.Frame.Name)
	}
	for _, c := range n.Children {
		out = append(out, Names(c, prefix)...)
	}
	return out
}

// Dump is the tree as indented frame names with their totals, for failure
// messages.
func Dump(n *view.Node) string {
	var b strings.Builder
	var walk func(n *view.Node, depth int)
	walk = func(n *view.Node, depth int) {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(n.Frame.Name)
		b.WriteString("  ")
		b.WriteString(time.Duration(n.Total).String())
		b.WriteByte('\n')
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

// Attribution is where a profile's running time on the critical path went,
// for the rule every adapter must keep: a short handler's time shows under
// the handler and the functions that did the work, never as a framework's
// own ("[self]").
type Attribution struct {
	// Running is the work's running time on the critical path (the
	// profiler's own, "[reqprof]", left out); InWork the part of it under
	// a frame of the work (a function named in CheckAttributed).
	Running, InWork int64
	// Framework is the unsampled running time under no user frame: what
	// ran between two points inside the framework's own code.
	Framework int64
	// Runtime is the running time whose innermost function is the
	// runtime's (mallocgc and its GC assists, morestack), left out of
	// Running.
	Runtime int64
	// SelfInferred lists the paths of unsampled running time shown as a
	// function's own time instead of under "[running, unsampled]"; never
	// any.
	SelfInferred []string
	// Samples is the profile's CPU sample count, Sampled the share of its
	// running time they observed.
	Samples int
	Sampled float64
}

// Attribute measures p's attribution; work reports whether a frame's
// function is the work's (the handler or what it calls).
func Attribute(p *profile.Profile, work func(fn string) bool) Attribution {
	user := view.ProfileUserCode(p)
	var a Attribution
	for _, s := range view.CriticalPath(p).Segments {
		if s.State != profile.Running {
			continue
		}
		d := s.End - s.Start
		n := len(s.Path)
		if n > 0 && s.Path[n-1].Kind == view.Overhead {
			continue
		}
		if inRuntime(s.Path) {
			// The runtime's own machinery (a GC assist in mallocgc, a
			// stack growth): real running time, wherever it allocated,
			// neither the handler's nor the framework's own.
			a.Runtime += d
			continue
		}
		a.Running += d
		if slices.ContainsFunc(s.Path, func(f view.Frame) bool { return f.Kind == view.Func && work(f.Name) }) {
			a.InWork += d
		}
		if s.Inferred && n > 0 && s.Path[n-1].Kind != view.Unsampled {
			var names []string
			for _, f := range s.Path {
				names = append(names, f.Name)
			}
			a.SelfInferred = append(a.SelfInferred, strings.Join(names, ";"))
		}
		if s.Inferred && !slices.ContainsFunc(s.Path, func(f view.Frame) bool { return f.Kind == view.Func && user(f.Name) }) {
			a.Framework += d
		}
	}
	sum := view.Summarize(p)
	a.Samples, a.Sampled = sum.Samples, sum.SampledShare()
	return a
}

// inRuntime reports whether the innermost function of path is the
// runtime's.
func inRuntime(path []view.Frame) bool {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i].Kind == view.Func {
			return strings.HasPrefix(path[i].Name, "runtime.")
		}
	}
	return false
}

// CheckAttributed fails the test unless at least 80% of p's running time
// on the critical path (outside the runtime's own machinery: a GC assist
// inside an allocation is real, wherever the allocation was) is under one
// of the work functions (frames whose
// name ends in one of the suffixes, e.g. ".listUsers"), at most 20% is
// unsampled time under the framework alone, and no unsampled time is a
// function's own. The threshold is issue 10's: the rest is the router's
// own running time (microseconds, or up to an OS time slice when a loaded
// machine deschedules the thread inside it: the trace counts that as
// running) and a CPU sample's share spilling over the handler's edges (at
// most half a sample period on each side), far less than 20% of a handler
// with milliseconds of CPU on an idle machine.
func CheckAttributed(t testing.TB, p *profile.Profile, suffixes ...string) Attribution {
	t.Helper()
	a := Attribute(p, func(fn string) bool {
		return slices.ContainsFunc(suffixes, func(s string) bool { return strings.HasSuffix(fn, s) })
	})
	share := float64(a.InWork) / float64(max(a.Running, 1))
	t.Logf("%v of running time (and %v in the runtime's machinery), %.0f%% under %v, %v unsampled under the framework alone, %d samples (%.0f%% sampled)",
		time.Duration(a.Running), time.Duration(a.Runtime), 100*share, suffixes, time.Duration(a.Framework), a.Samples, 100*a.Sampled)
	if share < 0.80 {
		t.Errorf("%.0f%% of the running time under %v, want at least 80%%:\n%s", 100*share, suffixes, Dump(Tree(t, p)))
	}
	if a.Framework*5 > a.Running {
		t.Errorf("%v of %v of running time unsampled under the framework alone:\n%s", time.Duration(a.Framework), time.Duration(a.Running), Dump(Tree(t, p)))
	}
	for _, path := range a.SelfInferred {
		t.Errorf("unsampled running time shown as a function's own: %s", path)
	}
	return a
}

// Calibrate returns the n for which work(n) takes about d of CPU: the
// fastest of 20 probes of 2^18 (on a loaded machine, the least disturbed
// is the closest to the CPU time). work is the test's own function, so
// that its frame is the application's.
func Calibrate(d time.Duration, work func(n int)) int {
	const probe = 1 << 18
	best := time.Hour
	for range 20 {
		t0 := time.Now()
		work(probe)
		best = min(best, time.Since(t0))
	}
	return int(float64(probe) * float64(d) / float64(max(best, 1)))
}
