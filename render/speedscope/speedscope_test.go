package speedscope_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/internal/golden"
	"github.com/reqprof/reqprof/internal/testprofile"
	"github.com/reqprof/reqprof/internal/version"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/speedscope"
	"github.com/reqprof/reqprof/view"
)

func render1(t *testing.T, p *profile.Profile, o render.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := speedscope.Render(&b, p, o); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func decode(t *testing.T, data []byte) *speedscope.File {
	t.Helper()
	if !json.Valid(data) {
		t.Fatalf("not JSON:\n%s", data)
	}
	f, err := speedscope.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CheckValid(); err != nil {
		t.Fatal(err)
	}
	return f
}

var goldens = []struct {
	name string
	p    func() *profile.Profile
	o    render.Options
}{
	{"critical", testprofile.Handmade, render.Options{}},
	{"nogroup", testprofile.Handmade, render.Options{NoGroup: true}},
	{"goroutines", testprofile.Handmade, render.Options{View: view.Goroutines}},
	{"all", testprofile.Handmade, render.Options{View: view.All, NoGroup: true}},
	{"empty", testprofile.Empty, render.Options{}},
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			p := g.p()
			if err := p.CheckValid(); err != nil {
				t.Fatal(err)
			}
			f, err := speedscope.Build(p, g.o)
			if err != nil {
				t.Fatal(err)
			}
			if want := version.Producer; f.Exporter != want {
				t.Errorf("exporter %q, want %q", f.Exporter, want)
			}
			// The golden files do not follow the version.
			f.Exporter = "reqprof"
			var b bytes.Buffer
			if err := f.Encode(&b); err != nil {
				t.Fatal(err)
			}
			got := b.Bytes()
			decode(t, got)
			file := filepath.Join("testdata", g.name+speedscope.Extension)
			golden.Check(t, file, got)
		})
	}
}

// stretch is a time range spent in one stack of frame names.
type stretch struct {
	start, end int64
	stack      string
}

// replay turns an evented profile back into the stretches it shows:
// between two consecutive event times, the stack of open frames.
func replay(t *testing.T, f *speedscope.File, p speedscope.Profile) []stretch {
	t.Helper()
	var out []stretch
	var stack []string
	last := p.StartValue
	for _, e := range p.Events {
		if e.At > last && len(stack) > 0 {
			out = appendStretch(out, stretch{last, e.At, strings.Join(stack, ";")})
		}
		last = e.At
		if e.Type == speedscope.OpenFrame {
			stack = append(stack, f.Shared.Frames[e.Frame].Name)
		} else {
			stack = stack[:len(stack)-1]
		}
	}
	return out
}

func appendStretch(out []stretch, s stretch) []stretch {
	if n := len(out); n > 0 && out[n-1].end == s.start && out[n-1].stack == s.stack {
		out[n-1].end = s.end
		return out
	}
	return append(out, s)
}

// display is a frame name as the file holds it: one line.
func display(name string) string {
	return strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(name)
}

// expected returns the stretches of a timeline, as the evented profile
// must show them.
func expected(tl view.Timeline) []stretch {
	var out []stretch
	for _, s := range tl.Segments {
		if s.End <= s.Start || len(s.Path) == 0 {
			continue
		}
		names := make([]string, len(s.Path))
		for i, f := range s.Path {
			names[i] = display(f.Name)
		}
		out = appendStretch(out, stretch{s.Start, s.End, strings.Join(names, ";")})
	}
	return out
}

// checkStructure checks a file against the views it was made from: every
// evented profile replays to exactly its timeline's stretches, with the
// right time range; the sampled one adds up to the view's total, stack by
// stack.
func checkStructure(t *testing.T, p *profile.Profile, o render.Options, f *speedscope.File) {
	t.Helper()
	if f.Schema != speedscope.Schema || f.Name != p.Name || f.Exporter != version.Producer {
		t.Errorf("header: schema %q name %q exporter %q", f.Schema, f.Name, f.Exporter)
	}
	timelines := func(k view.Kind) []view.Timeline {
		oo := o
		oo.View = k
		tls, err := oo.Timelines(p)
		if err != nil {
			t.Fatal(err)
		}
		return tls
	}
	want := []view.Timeline{timelines(view.Critical)[0]}
	if o.View == view.All {
		want = append(want, timelines(view.All)[0])
	} else {
		want = append(want, timelines(view.Goroutines)...)
	}
	if len(f.Profiles) != len(want) {
		t.Fatalf("%d profiles, want %d", len(f.Profiles), len(want))
	}
	activeWant := 0
	if o.View == view.All || (o.View == view.Goroutines && len(want) > 1) {
		activeWant = 1
	}
	if f.ActiveProfileIndex != activeWant {
		t.Errorf("activeProfileIndex %d, want %d", f.ActiveProfileIndex, activeWant)
	}
	if f.Profiles[0].Name != speedscope.CriticalPathName || f.Profiles[0].StartValue != 0 || f.Profiles[0].EndValue != p.Duration {
		t.Errorf("profile 0: %q [%d, %d], want %q [0, %d]", f.Profiles[0].Name, f.Profiles[0].StartValue, f.Profiles[0].EndValue, speedscope.CriticalPathName, p.Duration)
	}
	life := map[int64]profile.Goroutine{}
	for _, g := range p.Goroutines {
		life[g.ID] = g
	}
	for i, tl := range want {
		sp := f.Profiles[i]
		if sp.Unit != speedscope.Nanoseconds {
			t.Errorf("profile %d: unit %q", i, sp.Unit)
		}
		if sp.Type == speedscope.Sampled {
			if sp.Name != speedscope.AllGoroutinesName {
				t.Errorf("sampled profile named %q", sp.Name)
			}
			got, exp := map[string]int64{}, map[string]int64{}
			var sum int64
			for j, s := range sp.Samples {
				names := make([]string, len(s))
				for k, id := range s {
					names[k] = f.Shared.Frames[id].Name
				}
				got[strings.Join(names, ";")] += sp.Weights[j]
				sum += sp.Weights[j]
			}
			for _, s := range tl.Segments {
				var names []string
				for _, fr := range s.Path {
					names = append(names, display(fr.Name))
				}
				exp[strings.Join(names, ";")] += s.End - s.Start
			}
			if sum != tl.Total() || sp.EndValue-sp.StartValue != tl.Total() {
				t.Errorf("sampled: weights add up to %d, range %d, view total %d", sum, sp.EndValue-sp.StartValue, tl.Total())
			}
			if fmt.Sprint(got) != fmt.Sprint(exp) {
				t.Errorf("sampled: per-stack weights differ from the view:\n got %v\nwant %v", got, exp)
			}
			continue
		}
		if sp.Type != speedscope.Evented {
			t.Fatalf("profile %d: type %q", i, sp.Type)
		}
		if i > 0 {
			g := life[tl.Goroutine]
			if sp.Name != tl.Name || !strings.HasPrefix(sp.Name, fmt.Sprintf("goroutine %d", g.ID)) {
				t.Errorf("profile %d named %q, want %q", i, sp.Name, tl.Name)
			}
			if sp.StartValue != g.Start || sp.EndValue != g.End {
				t.Errorf("profile %d: [%d, %d], goroutine lives [%d, %d]", i, sp.StartValue, sp.EndValue, g.Start, g.End)
			}
		}
		got, exp := replay(t, f, sp), expected(tl)
		if !slices.Equal(got, exp) {
			t.Errorf("profile %d (%s) replays to\n%v\nwant\n%v", i, sp.Name, got, exp)
		}
	}
	// Every function frame has a file; pseudo-frames have only a name.
	for _, fr := range f.Shared.Frames {
		pseudo := strings.HasPrefix(fr.Name, "[") || strings.HasPrefix(fr.Name, "SQL")
		if pseudo && (fr.File != "" || fr.Line != 0) {
			t.Errorf("pseudo-frame %+v has a location", fr)
		}
	}
}

func TestStructure(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			p := g.p()
			checkStructure(t, p, g.o, decode(t, render1(t, p, g.o)))
		})
	}
}

// One frame per function: main.handler seen at lines 20 and 24 is one
// frame, at the lowest line.
func TestFramePerFunction(t *testing.T) {
	f := decode(t, render1(t, testprofile.Handmade(), render.Options{NoGroup: true}))
	var handlers []speedscope.Frame
	seen := map[string]bool{}
	for _, fr := range f.Shared.Frames {
		if fr.Name == "main.handler" {
			handlers = append(handlers, fr)
		}
		if seen[fr.Name] {
			t.Errorf("frame %q twice", fr.Name)
		}
		seen[fr.Name] = true
	}
	if len(handlers) != 1 || handlers[0].Line != 20 || handlers[0].File != "/app/main.go" {
		t.Errorf("main.handler frames: %+v", handlers)
	}
	for _, want := range []string{"[wait: sleep]", "[wait: sync]", "[via goroutine 50: main.cacheRefresher]", "[via goroutine 8: main.fetch]", "[runnable]", "[syscall]", "[wait: network]", "SQL: SELECT id; name FROM orders"} {
		if !seen[want] {
			t.Errorf("no frame %q", want)
		}
	}
}

// The critical path's events, exactly, for the first milliseconds of the
// hand-built profile.
func TestEvents(t *testing.T) {
	f := decode(t, render1(t, testprofile.Handmade(), render.Options{NoGroup: true}))
	var got []string
	for _, e := range f.Profiles[0].Events {
		if e.At > 4_000_000 {
			break
		}
		got = append(got, fmt.Sprintf("%s %d %s", e.Type, e.At, f.Shared.Frames[e.Frame].Name))
	}
	want := []string{
		"O 0 main.handler",
		"O 0 main.authorize",
		"O 0 [running, unsampled]",
		"C 1000000 [running, unsampled]",
		"C 1000000 main.authorize",
		"O 1000000 main.readCache",
		"O 1000000 sync.(*Mutex).Lock",
		"O 1000000 [wait: sync]",
		"O 1000000 [via goroutine 50: main.cacheRefresher]",
		"O 1000000 main.cacheRefresher",
		"O 2000000 syscall.Syscall",
		"O 2000000 [syscall]",
		"C 3000000 [syscall]",
		"C 3000000 syscall.Syscall",
		"C 3000000 main.cacheRefresher",
		"C 3000000 [via goroutine 50: main.cacheRefresher]",
		"C 3000000 [wait: sync]",
		"C 3000000 sync.(*Mutex).Lock",
		"C 4000000 main.readCache",
		"O 4000000 time.Sleep",
		"O 4000000 [wait: sleep]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	last := f.Profiles[0].Events[len(f.Profiles[0].Events)-1]
	if last.Type != speedscope.CloseFrame || last.At != 20_000_000 || f.Shared.Frames[last.Frame].Name != "main.handler" {
		t.Errorf("last event %+v, want main.handler closed at the end", last)
	}
}

func TestEmpty(t *testing.T) {
	f := decode(t, render1(t, testprofile.Empty(), render.Options{}))
	if len(f.Profiles) != 1 || f.Profiles[0].Events == nil || len(f.Profiles[0].Events) != 0 || f.Profiles[0].EndValue != testprofile.Empty().Duration {
		t.Errorf("empty profile: %+v", f.Profiles)
	}
	for _, k := range view.Kinds() {
		decode(t, render1(t, testprofile.Empty(), render.Options{View: k}))
	}
}

func TestUnknownView(t *testing.T) {
	err := speedscope.Render(new(bytes.Buffer), testprofile.Handmade(), render.Options{View: "nope"})
	if err == nil || !strings.Contains(err.Error(), "unknown view") {
		t.Errorf("error %v", err)
	}
}

func TestCheckValidRejects(t *testing.T) {
	good := func() *speedscope.File {
		return decode(t, render1(t, testprofile.Handmade(), render.Options{}))
	}
	for name, breakIt := range map[string]func(f *speedscope.File){
		"schema":   func(f *speedscope.File) { f.Schema = "x" },
		"active":   func(f *speedscope.File) { f.ActiveProfileIndex = len(f.Profiles) },
		"order":    func(f *speedscope.File) { f.Profiles[0].Events[3].At = -1 },
		"nesting":  func(f *speedscope.File) { ev := f.Profiles[0].Events; ev[2].Frame = ev[0].Frame },
		"unclosed": func(f *speedscope.File) { f.Profiles[0].Events = f.Profiles[0].Events[:3] },
		"frame":    func(f *speedscope.File) { f.Profiles[0].Events[0].Frame = len(f.Shared.Frames) },
		"unit":     func(f *speedscope.File) { f.Profiles[0].Unit = "ns" },
		"end":      func(f *speedscope.File) { f.Profiles[0].EndValue = 1 },
	} {
		f := good()
		breakIt(f)
		if err := f.CheckValid(); err == nil {
			t.Errorf("%s: broken file passes CheckValid", name)
		}
	}
}

// A real profile's file has the same structure (internal/browsertest's
// speedscopetest opens it in the Speedscope app).
func TestRealProfileStructure(t *testing.T) {
	p := testprofile.Capture(t)
	for _, o := range []render.Options{{}, {View: view.All}} {
		name := string(o.View)
		if name == "" {
			name = "critical"
		}
		t.Run(name, func(t *testing.T) {
			checkStructure(t, p, o, decode(t, render1(t, p, o)))
		})
	}
}

func TestBuildEmptyIsValid(t *testing.T) {
	for _, k := range view.Kinds() {
		f, err := speedscope.Build(testprofile.Empty(), render.Options{View: k})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.CheckValid(); err != nil {
			t.Errorf("view %s: %v", k, err)
		}
	}
}
