package pprof_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	pprofile "github.com/google/pprof/profile"

	"github.com/reqprof/reqprof/internal/golden"
	"github.com/reqprof/reqprof/internal/testprofile"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/pprof"
	"github.com/reqprof/reqprof/view"
)

type renderFunc func(*bytes.Buffer, *profile.Profile, render.Options) error

func full(b *bytes.Buffer, p *profile.Profile, o render.Options) error { return pprof.Render(b, p, o) }
func grouped(b *bytes.Buffer, p *profile.Profile, o render.Options) error {
	return pprof.RenderGrouped(b, p, o)
}

// parse renders p and reads the file back as pprof does, checking it.
func parse(t *testing.T, p *profile.Profile, o render.Options, r renderFunc) *pprofile.Profile {
	t.Helper()
	var b bytes.Buffer
	if err := r(&b, p, o); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte{0x1f, 0x8b}) {
		t.Fatal("output is not gzip-compressed")
	}
	prof, err := pprofile.Parse(&b)
	if err != nil {
		t.Fatal(err)
	}
	if err := prof.CheckValid(); err != nil {
		t.Fatal(err)
	}
	return prof
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    renderFunc
	}{
		{"handler", full},
		{"handler_grouped", grouped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := handlerProfile()
			prof := parse(t, p, render.Options{}, tc.r)
			// String prints the time in the local time zone.
			if prof.TimeNanos != p.Start.UnixNano() {
				t.Errorf("TimeNanos = %d, want %d", prof.TimeNanos, p.Start.UnixNano())
			}
			prof.TimeNanos = 0
			golden.Check(t, filepath.Join("testdata", tc.name+".golden"), []byte(prof.String()))
		})
	}
}

// TestEscaped checks that the comments and names go tool pprof prints
// cannot forge lines or reach the terminal's control sequences.
func TestEscaped(t *testing.T) {
	p := handlerProfile()
	p.Name = "GET /nl\nstatus: 500"
	p.SetAttr("url", "/nl\nstatus: 500\x1b[2J")
	p.Frames[3].Func = "main.render\x1b]0;title\a"
	prof := parse(t, p, render.Options{}, full)
	var names []string
	for _, f := range prof.Function {
		names = append(names, f.Name, f.SystemName, f.Filename)
	}
	for _, s := range append(prof.Comments, names...) {
		if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			t.Errorf("control character in %q", s)
		}
	}
	if !slices.Contains(prof.Comments, `url: /nl\nstatus: 500\x1b[2J`) {
		t.Errorf("comments %q lack the escaped url", prof.Comments)
	}
}

// totals adds the values of each sample type.
func totals(prof *pprofile.Profile) map[string]int64 {
	m := map[string]int64{}
	for i, st := range prof.SampleType {
		for _, s := range prof.Sample {
			m[st.Type] += s.Value[i]
		}
	}
	return m
}

// checkTotals checks that each sample type sums to its view's total, and
// the file's metadata and labels.
func checkTotals(t *testing.T, p *profile.Profile, prof *pprofile.Profile, dflt string) {
	t.Helper()
	all := view.AllGoroutines(p)
	var cpu int64
	for _, s := range all.Segments {
		if s.State == profile.Running {
			cpu += s.End - s.Start
		}
	}
	members := map[int64]bool{}
	for _, g := range p.Goroutines {
		members[g.ID] = g.Member
	}
	var sampled int64
	for _, s := range p.Samples {
		if members[s.Goroutine] {
			sampled += pprof.PeriodOf(p)
		}
	}
	cp := view.CriticalPath(p)
	want := map[string]int64{
		pprof.Wall:       all.Total(),
		pprof.Critical:   cp.Total(),
		pprof.CPU:        cpu,
		pprof.CPUSampled: sampled,
	}
	got := totals(prof)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s sums to %d ns, view total %d ns", k, got[k], v)
		}
	}
	if len(p.Goroutines) > 0 && cp.Total() != p.Duration {
		t.Errorf("critical path %d ns, duration %d ns", cp.Total(), p.Duration)
	}
	var types []string
	for _, st := range prof.SampleType {
		types = append(types, st.Type+"/"+st.Unit)
	}
	if s := strings.Join(types, " "); s != "wall/nanoseconds critical/nanoseconds cpu/nanoseconds cpu_sampled/nanoseconds" {
		t.Errorf("sample types %s", s)
	}
	if prof.DefaultSampleType != dflt {
		t.Errorf("default sample type %q, want %q", prof.DefaultSampleType, dflt)
	}
	if prof.DurationNanos != p.Duration {
		t.Errorf("DurationNanos = %d, want %d", prof.DurationNanos, p.Duration)
	}
	if !p.Start.IsZero() && prof.TimeNanos != p.Start.UnixNano() {
		t.Errorf("TimeNanos = %d, want %d", prof.TimeNanos, p.Start.UnixNano())
	}
	if prof.PeriodType == nil || prof.PeriodType.Unit != "nanoseconds" || prof.Period != 1 {
		t.Errorf("period %d %v", prof.Period, prof.PeriodType)
	}
	if len(prof.Comments) == 0 || !strings.HasPrefix(prof.Comments[0], "reqprof: "+p.Name+" (") {
		t.Errorf("comments %q", prof.Comments)
	}
	// Every sample: a stack, a goroutine, a state; a reason iff waiting;
	// each (stack, labels) once.
	seen := map[string]bool{}
	for _, s := range prof.Sample {
		if len(s.Location) == 0 {
			t.Errorf("sample without locations: %v", s.Value)
		}
		g := s.NumLabel[pprof.LabelGoroutine]
		st := s.Label[pprof.LabelState]
		if len(g) != 1 || len(st) != 1 {
			t.Fatalf("sample labels %v %v", s.Label, s.NumLabel)
		}
		if _, ok := members[g[0]]; !ok {
			t.Errorf("goroutine label %d is not a goroutine of the profile", g[0])
		}
		switch st[0] {
		case "running", "runnable", "syscall":
			if len(s.Label[pprof.LabelReason]) != 0 {
				t.Errorf("%s sample with a reason %v", st[0], s.Label)
			}
		case "waiting":
			if len(s.Label[pprof.LabelReason]) != 1 {
				t.Errorf("waiting sample without a reason")
			}
			if leaf := s.Location[0].Line[0].Function.Name; !strings.HasPrefix(leaf, "[wait: ") {
				t.Errorf("waiting sample's leaf is %q", leaf)
			}
		default:
			t.Errorf("state label %q", st[0])
		}
		k := fmt.Sprint(g[0], st[0], s.Label[pprof.LabelReason])
		for _, l := range s.Location {
			k += fmt.Sprint(" ", l.ID)
		}
		if seen[k] {
			t.Errorf("two samples for %s", k)
		}
		seen[k] = true
		for _, l := range s.Location {
			if len(l.Line) != 1 || l.Line[0].Function.Name == "" {
				t.Errorf("location %d: lines %v", l.ID, l.Line)
			}
			f := l.Line[0].Function
			// Pseudo-frames have neither file nor system name; functions
			// have their name as system name, as in runtime/pprof.
			if strings.HasPrefix(f.Name, "[") && (f.Filename != "" || f.SystemName != "") {
				t.Errorf("pseudo-frame %q has file %q, system name %q", f.Name, f.Filename, f.SystemName)
			}
			if f.Filename != "" && f.SystemName != f.Name {
				t.Errorf("function %q has system name %q", f.Name, f.SystemName)
			}
		}
	}
}

func TestTotals(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    render.Options
		r    renderFunc
		dflt string
	}{
		{"default", render.Options{}, full, pprof.Critical},
		{"critical", render.Options{View: view.Critical}, full, pprof.Critical},
		{"all", render.Options{View: view.All}, full, pprof.Wall},
		{"goroutines", render.Options{View: view.Goroutines}, full, pprof.Wall},
		{"grouped", render.Options{}, grouped, pprof.Critical},
		{"grouped all", render.Options{View: view.All}, grouped, pprof.Wall},
		{"nogroup", render.Options{NoGroup: true}, grouped, pprof.Critical},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := handlerProfile()
			if err := p.CheckValid(); err != nil {
				t.Fatal(err)
			}
			checkTotals(t, p, parse(t, p, tc.o, tc.r), tc.dflt)
		})
	}
}

// funcs returns the names of the functions of the samples with a value of
// type i.
func funcs(prof *pprofile.Profile, i int) map[string]bool {
	m := map[string]bool{}
	for _, s := range prof.Sample {
		if s.Value[i] == 0 {
			continue
		}
		for _, l := range s.Location {
			m[l.Line[0].Function.Name] = true
		}
	}
	return m
}

func TestGrouping(t *testing.T) {
	p := handlerProfile()
	for _, tc := range []struct {
		name string
		o    render.Options
		r    renderFunc
		want bool // net.(*conn).Read, a library frame under another, kept
	}{
		{"Render", render.Options{}, full, true},
		{"Render ignores NoGroup", render.Options{NoGroup: true}, full, true},
		{"RenderGrouped", render.Options{}, grouped, false},
		{"RenderGrouped NoGroup", render.Options{NoGroup: true}, grouped, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := funcs(parse(t, p, tc.o, tc.r), 0)
			if !fs["database/sql.(*DB).QueryContext"] {
				t.Error("the outermost library frame is gone")
			}
			if fs["net.(*conn).Read"] != tc.want {
				t.Errorf("net.(*conn).Read present: %v, want %v", fs["net.(*conn).Read"], tc.want)
			}
		})
	}
}

func TestPseudoFrames(t *testing.T) {
	prof := parse(t, handlerProfile(), render.Options{}, full)
	critical := funcs(prof, 1)
	for _, name := range []string{"[no stack]", "[wait: sleep]", "[wait: chan receive]", "[via goroutine 7: main.queryUser]", "[wait: network]", "[runnable]", "[syscall]", "render page"} {
		if !critical[name] {
			t.Errorf("critical path lacks %q", name)
		}
	}
	for _, f := range prof.Function {
		if f.Name == "render page" && (f.Filename != "" || f.SystemName != "") {
			t.Errorf("region frame has file %q, system name %q", f.Filename, f.SystemName)
		}
	}
	wall := funcs(prof, 0)
	if wall["[via goroutine 7: main.queryUser]"] || wall["[wait: chan receive]"] == false {
		t.Errorf("wall: via frame present or own wait missing")
	}
	// Leaf first.
	for _, s := range prof.Sample {
		if s.Label["state"][0] == "syscall" {
			var names []string
			for _, l := range s.Location {
				names = append(names, l.Line[0].Function.Name)
			}
			if got := strings.Join(names, " < "); got != "[syscall] < syscall.write < main.render < render page < main.handler" {
				t.Errorf("syscall stack %s", got)
			}
		}
	}
}

func TestEmpty(t *testing.T) {
	p := &profile.Profile{Name: "nothing", Stacks: []profile.Stack{{}}}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	for _, v := range view.Kinds() {
		prof := parse(t, p, render.Options{View: v}, full)
		if len(prof.Sample) != 0 || len(prof.Location) != 0 || len(prof.Function) != 0 {
			t.Errorf("%s: %d samples, %d locations, %d functions", v, len(prof.Sample), len(prof.Location), len(prof.Function))
		}
		dflt := pprof.Wall
		if v == view.Critical {
			dflt = pprof.Critical
		}
		checkTotals(t, p, prof, dflt)
	}
}

func TestErrors(t *testing.T) {
	var b bytes.Buffer
	if err := pprof.Render(&b, handlerProfile(), render.Options{View: "flame"}); err == nil || !strings.Contains(err.Error(), `"flame"`) {
		t.Errorf("unknown view: %v", err)
	}
	if err := pprof.Render(&b, nil, render.Options{}); err == nil {
		t.Error("nil profile accepted")
	}
	if b.Len() != 0 {
		t.Errorf("%d bytes written before an error", b.Len())
	}
}

// TestTraceLabels: a profile made inside an OpenTelemetry span labels
// every sample with its trace and span ids, in every view and grouping;
// one without them has no such label.
func TestTraceLabels(t *testing.T) {
	const trace, span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, r := range []renderFunc{full, grouped} {
		for _, v := range []view.Kind{view.Critical, view.All} {
			p := testprofile.Handmade()
			p.Attrs = append(p.Attrs, profile.Attr{Key: profile.AttrTraceID, Value: trace}, profile.Attr{Key: profile.AttrSpanID, Value: span})
			prof := parse(t, p, render.Options{View: v}, r)
			if len(prof.Sample) == 0 {
				t.Fatal("no samples")
			}
			for _, s := range prof.Sample {
				if !slices.Equal(s.Label[pprof.LabelTraceID], []string{trace}) || !slices.Equal(s.Label[pprof.LabelSpanID], []string{span}) {
					t.Fatalf("view %s: sample %v has labels %v", v, s.Location, s.Label)
				}
			}
			// pprof selects them as any tag.
			if !prof.Sample[0].HasLabel("trace_id", trace) {
				t.Error("pprof does not see the trace_id label")
			}
		}
	}
	prof := parse(t, testprofile.Handmade(), render.Options{}, full)
	for _, s := range prof.Sample {
		if _, ok := s.Label[pprof.LabelTraceID]; ok {
			t.Fatalf("a profile without a trace has trace_id labels: %v", s.Label)
		}
		if _, ok := s.Label[pprof.LabelSpanID]; ok {
			t.Fatalf("a profile without a span has span_id labels: %v", s.Label)
		}
	}
}

// TestRenderIsStacksRendered: Render makes the samples as the views'
// segments come, without a stack set; it writes the bytes RenderStacks
// writes of Stacks (trace labels aside: Stacks has none), in every view
// and grouping, on profiles with regions, fan-out, CPU samples and many
// goroutines.
func TestRenderIsStacksRendered(t *testing.T) {
	profiles := map[string]func() *profile.Profile{
		"handmade": testprofile.Handmade,
		"large":    func() *profile.Profile { return testprofile.Large(40, 30, 0) },
		"distinct": func() *profile.Profile { return testprofile.Large(60, 6, 7) },
		"samples": func() *profile.Profile {
			p := testprofile.Large(30, 20, 0)
			for i := range 90 {
				p.Samples = append(p.Samples, profile.Sample{Time: int64(i%20) * 1000, Goroutine: int64(1 + i%30), Stack: profile.StackID(1 + i%60)})
			}
			return p
		},
		"empty": testprofile.Empty,
	}
	for name, mk := range profiles {
		if err := mk().CheckValid(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, k := range []view.Kind{view.Critical, view.Goroutines, view.All} {
			for _, group := range []bool{false, true} {
				p := mk()
				o := render.Options{View: k}
				var direct, stacks bytes.Buffer
				render := pprof.Render
				if group {
					render = pprof.RenderGrouped
				}
				if err := render(&direct, p, o); err != nil {
					t.Fatal(err)
				}
				s, err := pprof.Stacks(p, o, group)
				if err != nil {
					t.Fatal(err)
				}
				if err := pprof.RenderStacks(&stacks, s, o); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(direct.Bytes(), stacks.Bytes()) {
					a, _ := pprofile.ParseData(direct.Bytes())
					b, _ := pprofile.ParseData(stacks.Bytes())
					t.Errorf("%s, view %s, group %v: Render and RenderStacks of Stacks differ:\n%v\n---\n%v", name, k, group, a, b)
				}
			}
		}
	}
}
