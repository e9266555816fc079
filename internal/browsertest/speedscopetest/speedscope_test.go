package speedscopetest

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/internal/browsertest"
	"github.com/reqprof/reqprof/internal/testprofile"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/speedscope"
	"github.com/reqprof/reqprof/view"
)

// render1 renders p as a speedscope file, and checks that the file decodes
// and passes CheckValid (render/speedscope's tests check its structure
// further, on the same profiles).
func render1(t *testing.T, p *profile.Profile, o render.Options) ([]byte, *speedscope.File) {
	t.Helper()
	var b bytes.Buffer
	if err := speedscope.Render(&b, p, o); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b.Bytes()) {
		t.Fatalf("not JSON:\n%s", b.Bytes())
	}
	f, err := speedscope.Decode(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CheckValid(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), f
}

// The hand-built profiles of render/speedscope's golden files.
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

const pkg = "github.com/reqprof/reqprof/internal/testprofile."

// TestRealProfileInSpeedscope opens a real profile's file (its structure
// is render/speedscope's TestRealProfileStructure) in the Speedscope app.
func TestRealProfileInSpeedscope(t *testing.T) {
	p := testprofile.Capture(t)
	for _, o := range []render.Options{{}, {View: view.All}} {
		name := string(o.View)
		if name == "" {
			name = "critical"
		}
		t.Run(name, func(t *testing.T) {
			data, _ := render1(t, p, o)
			r := browsertest.OpenInSpeedscope(t, "synthetic"+speedscope.Extension, data)
			browsertest.SaveScreenshot(t, r, "speedscope-"+name+".png")
			t.Logf("%d frames in the Sandwich view", len(r.Frames))
			if r.Importer != "speedscope" {
				t.Errorf("imported as %q, want speedscope", r.Importer)
			}
			if r.Title != testprofile.Name {
				t.Errorf("title %q, want %q", r.Title, testprofile.Name)
			}
			want := []string{pkg + "Request", pkg + "PhaseBurn", pkg + "PhaseSleep", pkg + "PhaseMutex", pkg + "PhaseFanout", "[wait: sleep]", "[wait: sync]"}
			if o.View == view.All {
				want = append(want, pkg+"FanoutWorker", "SQL: SELECT 1")
			} else {
				want = append(want, pkg+"MutexHolder")
			}
			for _, w := range want {
				if !r.HasFrame(w) {
					t.Errorf("the Sandwich view lists no %q; it lists %q", w, r.Frames)
				}
			}
			if o.View == "" && !slices.ContainsFunc(r.Frames, func(s string) bool { return strings.HasPrefix(s, "[via goroutine ") }) {
				t.Errorf("no [via goroutine ...] frame in %q", r.Frames)
			}
			if t.Failed() {
				t.Logf("console:\n%s", strings.Join(r.Log, "\n"))
			}
		})
	}
}

func TestHandmadeInSpeedscope(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			p := g.p()
			data, f := render1(t, p, g.o)
			r := browsertest.OpenInSpeedscope(t, g.name+speedscope.Extension, data)
			if r.Importer != "speedscope" || r.Title != p.Name {
				t.Errorf("importer %q title %q", r.Importer, r.Title)
			}
			// The Sandwich view lists exactly the active profile's frames.
			active := f.Profiles[f.ActiveProfileIndex]
			var want []string
			for _, e := range active.Events {
				want = append(want, f.Shared.Frames[e.Frame].Name)
			}
			for _, s := range active.Samples {
				for _, id := range s {
					want = append(want, f.Shared.Frames[id].Name)
				}
			}
			slices.Sort(want)
			want = slices.Compact(want)
			got := slices.Sorted(slices.Values(r.Frames))
			if !slices.Equal(got, want) {
				t.Errorf("Sandwich view lists\n%q\nwant\n%q", got, want)
			}
		})
	}
}
