package folded_test

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/reqprof/reqprof/internal/golden"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/internal/testprofile"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/folded"
	"github.com/reqprof/reqprof/view"
)

func renderUnit(t *testing.T, p *profile.Profile, o render.Options, unit time.Duration) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := folded.RenderUnit(&b, p, o, unit); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var lineRE = regexp.MustCompile(`^(.*) ([0-9]+)$`)

// parse reads folded stacks strictly (as the shared folded-lint does:
// speedscope and flamegraph.pl silently skip malformed lines) and returns
// the value of each stack.
func parse(t *testing.T, data []byte) (map[string]int64, []string) {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("no final newline")
	}
	stacks := map[string]int64{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		m := lineRE.FindStringSubmatch(l)
		if m == nil || strings.ContainsRune(l, '\r') {
			t.Errorf("line %d: not 'STACK COUNT': %q", n, l)
			continue
		}
		v, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil || v <= 0 {
			t.Errorf("line %d: count %q is not positive", n, m[2])
		}
		if strings.TrimSpace(m[1]) != m[1] {
			t.Errorf("line %d: stack has surrounding spaces: %q", n, l)
		}
		for _, f := range strings.Split(m[1], ";") {
			if f == "" || strings.TrimSpace(f) != f {
				t.Errorf("line %d: bad frame %q", n, f)
			}
		}
		if _, dup := stacks[m[1]]; dup {
			t.Errorf("line %d: stack listed twice: %q", n, m[1])
		}
		stacks[m[1]] = v
		order = append(order, m[1])
	}
	return stacks, order
}

// exact returns the view's time per folded stack, in nanoseconds, built
// independently of the renderer.
func exact(t *testing.T, p *profile.Profile, o render.Options) (map[string]int64, int64) {
	t.Helper()
	tls, err := o.Timelines(p)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	var total int64
	for _, tl := range tls {
		for _, s := range tl.Segments {
			names := []string{folded.Sanitize(p.Name)}
			if o.View == view.Goroutines {
				names = append(names, tl.Name)
			}
			for _, f := range s.Path {
				names = append(names, folded.Sanitize(f.Name))
			}
			out[strings.Join(names, ";")] += s.End - s.Start
			total += s.End - s.Start
		}
	}
	return out, total
}

// checkTotals parses a rendering and checks it against the view: each
// line within one unit of its exact time, the file's total equal to the
// view's total rounded to the unit, and no stack missing but those under
// one unit.
func checkTotals(t *testing.T, p *profile.Profile, o render.Options, unit time.Duration, data []byte) {
	t.Helper()
	got, order := parse(t, data)
	for i := 1; i < len(order); i++ {
		if order[i-1] >= order[i] {
			t.Errorf("lines not sorted: %q before %q", order[i-1], order[i])
		}
	}
	want, total := exact(t, p, o)
	u := int64(unit)
	var sum int64
	for s, v := range got {
		sum += v
		ns, ok := want[s]
		if !ok {
			t.Errorf("stack %q is not in the view", s)
			continue
		}
		if d := v*u - ns; d <= -u || d >= u {
			t.Errorf("stack %q: %d × %v, exact %d ns: off by more than one unit", s, v, unit, ns)
		}
	}
	for s, ns := range want {
		if _, ok := got[s]; !ok && ns >= u {
			t.Errorf("stack %q (%d ns) is missing", s, ns)
		}
	}
	if wantSum := (total + u/2) / u; sum != wantSum {
		t.Errorf("file total %d, want the view's %d ns rounded to %v = %d", sum, total, unit, wantSum)
	}
}

var goldens = []struct {
	name string
	p    func() *profile.Profile
	o    render.Options
	unit time.Duration
}{
	{"critical", testprofile.Handmade, render.Options{}, time.Microsecond},
	{"nogroup", testprofile.Handmade, render.Options{NoGroup: true}, time.Microsecond},
	{"goroutines", testprofile.Handmade, render.Options{View: view.Goroutines}, time.Microsecond},
	{"all", testprofile.Handmade, render.Options{View: view.All, NoGroup: true}, time.Microsecond},
	{"critical-ms", testprofile.Handmade, render.Options{}, time.Millisecond},
	{"empty", testprofile.Empty, render.Options{}, time.Microsecond},
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			p := g.p()
			got := renderUnit(t, p, g.o, g.unit)
			checkTotals(t, p, g.o, g.unit, got)
			file := filepath.Join("testdata", g.name+folded.Extension)
			golden.Check(t, file, got)
		})
	}
}

func TestRenderIsMicroseconds(t *testing.T) {
	p := testprofile.Handmade()
	var b bytes.Buffer
	if err := folded.Render(&b, p, render.Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), renderUnit(t, p, render.Options{}, time.Microsecond)) {
		t.Error("Render is not RenderUnit in microseconds")
	}
	// The critical path sums to the duration: 20 ms.
	got, _ := parse(t, b.Bytes())
	var sum int64
	for _, v := range got {
		sum += v
	}
	if sum != 20_000 {
		t.Errorf("total %d µs, want 20000", sum)
	}
	if v := got["GET /orders;main.handler;main.readCache;sync.(*Mutex).Lock;[wait: sync];[via goroutine 50: main.cacheRefresher];main.cacheRefresher"]; v != 1000 {
		t.Errorf("the mutex holder's running time: %d µs, want 1000", v)
	}
	// The region's name lost its ';' and its newline.
	if v := got["GET /orders;main.handler;main.loadOrders;sync.(*WaitGroup).Wait;[wait: sync];[via goroutine 8: main.fetch];main.fetch;SQL: SELECT id, name FROM orders;database/sql.(*DB).QueryContext;[wait: network]"]; v != 5500 {
		t.Errorf("the region's network wait: %d µs, want 5500\n%s", v, b.String())
	}
}

// Cumulative rounding keeps the total exact however many small stacks
// there are: 1000 stacks of 0.6 µs each render as 600 µs, not 1000 × 1.
func TestRoundingDoesNotDrift(t *testing.T) {
	p := &profile.Profile{Name: "many", Stacks: []profile.Stack{{}}}
	g := profile.Goroutine{ID: 1, Member: true}
	var at int64
	for i := range 1000 {
		p.Frames = append(p.Frames, profile.Frame{Func: fmt.Sprintf("main.f%04d", i), File: "/m.go", Line: 1})
		p.Stacks = append(p.Stacks, profile.Stack{Frames: []profile.FrameID{profile.FrameID(i)}})
		g.Intervals = append(g.Intervals, profile.Interval{Start: at, End: at + 600, State: profile.Running, Stack: profile.StackID(i + 1)})
		at += 600
	}
	g.End, p.Duration = at, at
	p.Goroutines = []profile.Goroutine{g}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	data := renderUnit(t, p, render.Options{NoGroup: true}, time.Microsecond)
	checkTotals(t, p, render.Options{NoGroup: true}, time.Microsecond, data)
	got, _ := parse(t, data)
	if len(got) < 500 || len(got) > 700 {
		t.Errorf("%d lines for 1000 stacks of 0.6 µs", len(got))
	}
	// Exact values with nanoseconds.
	checkTotals(t, p, render.Options{NoGroup: true}, time.Nanosecond, renderUnit(t, p, render.Options{NoGroup: true}, time.Nanosecond))
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"main.f":               "main.f",
		"SQL: a; b":            "SQL: a, b",
		"line\nbreak\r\tx":     "line break  x",
		"  padded ":            "padded",
		"":                     "?",
		";":                    ",",
		"\n":                   "?",
		"[wait: chan receive]": "[wait: chan receive]",
	} {
		if got := folded.Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrors(t *testing.T) {
	p := testprofile.Handmade()
	if err := folded.RenderUnit(new(bytes.Buffer), p, render.Options{}, 0); err == nil {
		t.Error("unit 0 accepted")
	}
	if err := folded.Render(new(bytes.Buffer), p, render.Options{View: "nope"}); err == nil || !strings.Contains(err.Error(), "unknown view") {
		t.Errorf("unknown view: %v", err)
	}
}

// A real profile: the critical path in nanoseconds sums to the duration
// exactly; in microseconds, to the duration rounded (internal/browsertest's
// foldedtest opens the file in the Speedscope app).
func TestRealProfile(t *testing.T) {
	p := testprofile.Capture(t)
	ns := renderUnit(t, p, render.Options{}, time.Nanosecond)
	checkTotals(t, p, render.Options{}, time.Nanosecond, ns)
	got, _ := parse(t, ns)
	var sum int64
	for _, v := range got {
		sum += v
	}
	if sum != p.Duration {
		t.Errorf("critical path in ns sums to %d, profile lasts %d", sum, p.Duration)
	}
	for _, o := range []render.Options{{}, {View: view.Goroutines}, {View: view.All, NoGroup: true}} {
		checkTotals(t, p, o, time.Microsecond, renderUnit(t, p, o, time.Microsecond))
	}
}

// TestRenderIsStacksRendered: Render sums the view's segments into lines
// without a stack set; it writes what RenderStacks writes of Stacks, in
// every view, on profiles with regions, fan-out and many goroutines.
func TestRenderIsStacksRendered(t *testing.T) {
	profiles := map[string]func() *profile.Profile{
		"handmade": testprofile.Handmade,
		"large":    func() *profile.Profile { return testprofile.Large(40, 30, 0) },
		"distinct": func() *profile.Profile { return testprofile.Large(60, 6, 7) },
		"empty":    testprofile.Empty,
	}
	for name, mk := range profiles {
		for _, k := range []view.Kind{view.Critical, view.Goroutines, view.All} {
			for _, nogroup := range []bool{false, true} {
				p := mk()
				o := render.Options{View: k, NoGroup: nogroup}
				var direct, stacks bytes.Buffer
				if err := folded.Render(&direct, p, o); err != nil {
					t.Fatal(err)
				}
				s, err := folded.Stacks(p, o)
				if err != nil {
					t.Fatal(err)
				}
				if err := folded.RenderStacks(&stacks, s, o); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(direct.Bytes(), stacks.Bytes()) {
					t.Errorf("%s, view %s, nogroup %v: Render wrote\n%s\nRenderStacks of Stacks wrote\n%s", name, k, nogroup, direct.Bytes(), stacks.Bytes())
				}
				if name != "empty" && direct.Len() == 0 {
					t.Errorf("%s, view %s: nothing written", name, k)
				}
			}
		}
	}
}
