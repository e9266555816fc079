package tracedec

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	xtrace "golang.org/x/exp/trace"

	"github.com/reqprof/reqprof/profile"
)

// historyTraces returns traces to parse with and without a scratch: the
// recorded fixtures, three captures in three generations, and the
// synthetic request among busy goroutines.
func historyTraces(t *testing.T) map[string][]byte {
	t.Helper()
	traces := map[string][]byte{}
	files, err := filepath.Glob(filepath.Join("testdata", "*.trace"))
	if err != nil || len(files) == 0 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		traces[filepath.Base(f)] = data
	}
	traces["abc"] = record(t, "a", "b", "c")
	busy, err := recordTrace(4, 5*time.Millisecond)
	if err != nil {
		t.Skip(err)
	}
	traces["busy"] = busy
	return traces
}

// dumpTimeline writes out everything a parse keeps of each goroutine, in
// order of goroutine id.
func dumpTimeline(tl *timeline) string {
	var b strings.Builder
	stack := func(s xtrace.Stack) string {
		var fs []string
		for f := range s.Frames() {
			fs = append(fs, fmt.Sprintf("%s:%d", f.Func, f.Line))
		}
		return strings.Join(fs, ";")
	}
	ids := make([]xtrace.GoID, 0, len(tl.gs))
	for id := range tl.gs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		g := tl.gs[id]
		fmt.Fprintf(&b, "g%d parent=%d created=%d/%v exit=%d/%v state=%d since=%d %q %s\n",
			g.id, g.parent, g.created, g.hasCreated, g.exit, g.exited, g.state, g.since, tl.reason(g.reason), stack(g.stack))
		if g.owned || g.idx != 0 || g.nIvs != 0 || g.lastIv != 0 || g.nPts != 0 || g.ptsFrom != 0 {
			fmt.Fprintf(&b, "  scratch bookkeeping left: %v %d %d %d %d %d\n", g.owned, g.idx, g.nIvs, g.lastIv, g.nPts, g.ptsFrom)
		}
		for _, iv := range g.ivs {
			fmt.Fprintf(&b, "  iv %d-%d %d %q waker=%d %s\n", iv.start, iv.end, iv.state, tl.reason(iv.reason), iv.waker, stack(iv.stack))
		}
		for _, pt := range g.points {
			fmt.Fprintf(&b, "  pt %d %d %s\n", pt.t, pt.kind, stack(pt.stack))
		}
		fmt.Fprintf(&b, "  regions %v logs %v\n", len(g.regions), g.logs)
	}
	fmt.Fprintf(&b, "period %d samples %d\n", tl.period, tl.samples)
	return b.String()
}

// TestScratchMatchesDirect checks that a parse through the scratch keeps,
// for every goroutine, exactly the history that appending to its own
// slices keeps, whatever the requests (which decide what history is kept
// and dropped), one scratch serving every parse in turn.
func TestScratchMatchesDirect(t *testing.T) {
	s := new(scratch)
	for name, data := range historyTraces(t) {
		for _, reqs := range [][]Request{nil, {{ID: "1"}}, {{ID: "b"}}, {{ID: "a"}, {ID: "c"}}, {{ID: "none"}}} {
			direct, err := readWith(bytes.NewReader(data), reqs, &testOptions, nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			pooled, err := readWith(bytes.NewReader(data), reqs, &testOptions, s)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if d, p := dumpTimeline(direct), dumpTimeline(pooled); d != p {
				t.Errorf("%s, requests %v: the scratch's history differs from the goroutines' own:\n%s", name, reqs, firstDiff(d, p))
			}
			if len(s.ivs)+len(s.ivOf)+len(s.pts)+len(s.ptOf)+len(s.owners) != 0 {
				t.Fatalf("%s: the scratch is not empty after a parse", name)
			}
		}
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(al), len(bl))
}

// TestScratchReuse parses different traces in a row with one scratch
// (and one that a corrupt trace interrupted): each gives the profiles that
// a fresh parse gives, and a profile built before the next parse stays as
// it was.
func TestScratchReuse(t *testing.T) {
	traces := historyTraces(t)
	names := slices.Sorted(maps.Keys(traces))
	reqs := []Request{{ID: "1"}, {ID: "a"}, {ID: "c"}}
	profiles := func(tl *timeline) string { return dumpProfiles(reqs, tl.build) }
	fresh := map[string]string{}
	for _, name := range names {
		tl, err := readWith(bytes.NewReader(traces[name]), reqs, &testOptions, nil)
		if err != nil {
			t.Fatal(err)
		}
		fresh[name] = profiles(tl)
		if !strings.Contains(fresh[name], "goroutine") {
			t.Fatalf("%s: no profile built:\n%s", name, fresh[name])
		}
	}
	s := new(scratch)
	var kept []*timeline // parsed earlier, with the same scratch
	var keptNames []string
	for round := range 2 {
		for i, name := range names {
			if i == 1 {
				data := traces[names[0]]
				if _, err := readWith(bytes.NewReader(data[:len(data)*2/3]), reqs, &testOptions, s); err == nil {
					t.Fatal("a truncated trace parsed")
				}
			}
			tl, err := readWith(bytes.NewReader(traces[name]), reqs, &testOptions, s)
			if err != nil {
				t.Fatal(err)
			}
			if got := profiles(tl); got != fresh[name] {
				t.Errorf("round %d, %s after %d other parses with the same scratch:\n%s", round, name, len(kept), firstDiff(fresh[name], got))
			}
			kept, keptNames = append(kept, tl), append(keptNames, name)
		}
	}
	for i, tl := range kept {
		if got := profiles(tl); got != fresh[keptNames[i]] {
			t.Errorf("%s, built again after the later parses: %s", keptNames[i], firstDiff(fresh[keptNames[i]], got))
		}
	}
}

// TestConcurrentParses parses traces from several goroutines at once,
// each through the pooled scratches, and checks every profile against a
// fresh parse's (run with -race: the scratches are never shared).
func TestConcurrentParses(t *testing.T) {
	traces := historyTraces(t)
	// No trace has both: Parse reads each whole, as readWith does.
	reqs := []Request{{ID: "1"}, {ID: "c"}}
	want := map[string]string{}
	dump := func(tr *Trace) string { return dumpProfiles(reqs, tr.Build) }
	for name, data := range traces {
		tl, err := readWith(bytes.NewReader(data), reqs, &testOptions, nil)
		if err != nil {
			t.Fatal(err)
		}
		want[name] = dump(&Trace{tl})
	}
	errs := make(chan error, 4*len(traces))
	var wg sync.WaitGroup
	for range 4 {
		for name, data := range traces {
			wg.Go(func() {
				tr, err := Parse(data, reqs, testOptions)
				if err != nil {
					errs <- err
					return
				}
				if got := dump(tr); got != want[name] {
					errs <- fmt.Errorf("%s: %s", name, firstDiff(want[name], got))
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestParser parses different traces in a row with one Parser, twice
// over: each gives the profiles a fresh parse gives, including a trace the
// Parser reads in part (its last generations) and a truncated one between.
func TestParser(t *testing.T) {
	traces := historyTraces(t)
	names := slices.Sorted(maps.Keys(traces))
	for _, reqs := range [][]Request{{{ID: "1"}, {ID: "c"}}, {{ID: "c"}}, {{ID: "1"}}} {
		dump := func(tr *Trace) string { return dumpProfiles(reqs, tr.Build) }
		want := map[string]string{}
		for _, name := range names {
			tr, err := parse(traces[name], reqs, &testOptions, new(scratch))
			if err != nil {
				t.Fatal(err)
			}
			want[name] = dump(tr)
		}
		var p Parser
		for round := range 2 {
			for _, name := range names {
				tr, err := p.Parse(traces[name], reqs, testOptions)
				if err != nil {
					t.Fatal(err)
				}
				if got := dump(tr); got != want[name] {
					t.Errorf("requests %v, round %d, %s: %s", reqs, round, name, firstDiff(want[name], got))
				}
				// Half a trace: usually an error mid-parse, which must
				// leave nothing behind for the next.
				data := traces[name]
				_, _ = p.Parse(data[:len(data)/2], reqs, testOptions)

			}
		}
	}
}

// TestParserBusy checks that a Parser refuses to parse for a second
// goroutine while it parses for one (simulated: marked busy).
func TestParserBusy(t *testing.T) {
	var p Parser
	p.busy.Store(true)
	defer func() {
		if recover() == nil {
			t.Error("a busy Parser parsed")
		}
	}()
	p.Parse(nil, nil, testOptions)
}

// TestScratchTrim checks that a scratch keeps arrays sized for the parses
// since the last trim, and drops those more than four times too large.
func TestScratchTrim(t *testing.T) {
	s := &scratch{ivs: make([]rawInterval, 10000), ivOf: make([]int32, 10000), pts: make([]point, 3000), ptOf: make([]int32, 3000)}
	s.reset() // a parse that needed them all
	s.trim()
	if cap(s.ivs) != 10000 || cap(s.pts) != 3000 {
		t.Fatalf("trimmed after a parse that used it all: %d %d", cap(s.ivs), cap(s.pts))
	}
	s.ivs, s.pts = s.ivs[:2000], s.pts[:1000] // a parse a fifth and a third as large
	s.reset()
	s.trim()
	if s.ivs != nil || s.ivOf != nil || cap(s.pts) != 3000 {
		t.Errorf("after a parse a fifth as large: intervals' array %d (want dropped), points' %d (want kept)", cap(s.ivs), cap(s.pts))
	}
}

// dumpProfiles is the text of each request's profile, or its error, as
// build gives them: what the comparisons of parses compare.
func dumpProfiles(reqs []Request, build func(Request) (*profile.Profile, error)) string {
	var b strings.Builder
	for _, r := range reqs {
		if p, err := build(r); err == nil {
			b.WriteString(p.String())
		} else {
			fmt.Fprintf(&b, "%s: %v\n", r.ID, err)
		}
	}
	return b.String()
}
