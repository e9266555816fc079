// Package adaptertest holds what the tests of reqprof's delivery adapters
// (outcall and the contrib modules: gin, echo, gRPC, chi, gorilla/mux,
// OpenTelemetry) share: reading a stored profile back and finding frames in
// its critical path.
package adaptertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/internal/cputime"
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
	// Stray is the sampled running time outside the work: CPU samples
	// that landed elsewhere (the router's dispatch, the framework's code
	// around the handler) and carry the running time around them, up to
	// the nearest point where the code was somewhere else.
	Stray int64
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
		} else if !s.Inferred {
			a.Stray += d
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
// running; [CheckAttributedRequest] tells that case apart) and a CPU
// sample's share spilling over the handler's edges (at most half a sample
// period on each side), far less than 20% of a handler with milliseconds
// of CPU on an idle machine.
func CheckAttributed(t testing.TB, p *profile.Profile, suffixes ...string) Attribution {
	t.Helper()
	a, m := check(p, suffixes)
	t.Log(a.summary(suffixes))
	for _, msg := range m.problems {
		t.Error(msg)
	}
	return a
}

// miss is how a profile misses CheckAttributed's bounds.
type miss struct {
	problems []string
	// share is the running time by which the work's share falls short of
	// 80%, framework the running time by which the framework's unsampled
	// time exceeds 20%.
	share, framework time.Duration
	// hard: a problem that no amount of time explains (unsampled time
	// shown as a function's own).
	hard bool
}

// check measures p's attribution and says how it misses the bounds.
func check(p *profile.Profile, suffixes []string) (Attribution, miss) {
	a := Attribute(p, func(fn string) bool {
		return slices.ContainsFunc(suffixes, func(s string) bool { return strings.HasSuffix(fn, s) })
	})
	var m miss
	if share := float64(a.InWork) / float64(max(a.Running, 1)); share < 0.80 {
		m.problems = append(m.problems, fmt.Sprintf("%.0f%% of the running time under %v, want at least 80%%:\n%s", 100*share, suffixes, dump(p)))
		m.share = time.Duration(0.8*float64(a.Running) - float64(a.InWork))
	}
	if a.Framework*5 > a.Running {
		m.problems = append(m.problems, fmt.Sprintf("%v of %v of running time unsampled under the framework alone:\n%s", time.Duration(a.Framework), time.Duration(a.Running), dump(p)))
		m.framework = time.Duration(a.Framework - a.Running/5)
	}
	for _, path := range a.SelfInferred {
		m.problems = append(m.problems, "unsampled running time shown as a function's own: "+path)
		m.hard = true
	}
	return a, m
}

// CheckAttributedRequest makes a profiled request with do (which returns
// its profile) and checks the profile as CheckAttributed does, making the
// request again (three times at most) when the miss has one of two causes
// that no attribution can avoid, and fails at once on any other:
//
//   - A loaded machine takes the CPU from a thread anywhere, for up to an
//     OS time slice, and the trace counts that time as running where the
//     goroutine was (inside the router, say): the framework's unsampled
//     time exceeds its bound by no more than one of the process's threads
//     waited for a CPU meanwhile, by the kernel's count ([cputime.Waits]).
//   - A CPU sample lands in the framework's own code (its odds are that
//     code's CPU time over the sample period: a few microseconds in 4 ms)
//     and carries the running time up to the nearest point where the code
//     was elsewhere, which for a handler that computes without a pause is
//     its end: the work's share falls short by no more than such stray
//     samples carry, plus that wait.
func CheckAttributedRequest(t testing.TB, do func() *profile.Profile, suffixes ...string) Attribution {
	t.Helper()
	const attempts = 3
	for i := 1; ; i++ {
		w0, _ := cputime.Waits()
		p := do()
		w1, _ := cputime.Waits()
		a, m := check(p, suffixes)
		t.Log(a.summary(suffixes))
		if m.problems == nil {
			return a
		}
		wait := cputime.LongestWait(w0, w1)
		if !m.hard && i < attempts && m.framework <= wait && m.share <= wait+time.Duration(a.Stray) {
			t.Logf("attempt %d missed the bounds (work's share by %v, framework's by %v), explained by %v of stray samples and a thread's wait for a CPU of %v (the kernel's count): once more.\n%s",
				i, m.share, m.framework, time.Duration(a.Stray), wait, strings.Join(m.problems, "\n"))
			continue
		}
		for _, msg := range m.problems {
			t.Error(msg)
		}
		return a
	}
}

// dump is Dump of p's tree, or why there is none.
func dump(p *profile.Profile) string {
	_, trees, err := render.Options{NoGroup: true}.Trees(p)
	if err != nil {
		return "(no tree: " + err.Error() + ")"
	}
	return Dump(trees[0])
}

func (a Attribution) summary(suffixes []string) string {
	share := float64(a.InWork) / float64(max(a.Running, 1))
	return fmt.Sprintf("%v of running time (and %v in the runtime's machinery), %.0f%% under %v, %v unsampled under the framework alone, %v sampled outside the work, %d samples (%.0f%% sampled)",
		time.Duration(a.Running), time.Duration(a.Runtime), 100*share, suffixes, time.Duration(a.Framework), time.Duration(a.Stray), a.Samples, 100*a.Sampled)
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
