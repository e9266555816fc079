package html

import (
	"bytes"
	"encoding/json"
	"html/template"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/internal/testprofile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

type decodedSet struct {
	Set *struct {
		Comments []string `json:"comments"`
		Split    string   `json:"split"`
	} `json:"set"`
	Initial struct {
		View string `json:"view"`
	} `json:"initial"`
}

// mergedHandmade is the aggregate of n copies of the handmade profile,
// the i-th i ms longer at its end (running in main.render).
func mergedHandmade(t *testing.T, n int) *aggregate.Aggregate {
	t.Helper()
	m := aggregate.NewMerger(aggregate.Options{})
	for i := range n {
		p := testprofile.Handmade()
		extra := int64(i) * ms
		p.Duration += extra
		for gi := range p.Goroutines {
			g := &p.Goroutines[gi]
			if g.ID == 1 || g.ID == 50 {
				g.End += extra
				g.Intervals[len(g.Intervals)-1].End += extra
			}
		}
		if err := p.CheckValid(); err != nil {
			t.Fatal(err)
		}
		if err := m.AddProfile(p, "p"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	return m.Aggregate()
}

func renderStacks(t *testing.T, s *view.StackSet, o render.Options, pg Page) (rendered, decodedSet) {
	t.Helper()
	var b bytes.Buffer
	if err := RenderStacks(&b, s, o, pg); err != nil {
		t.Fatal(err)
	}
	r := parse(t, b.String())
	var ds decodedSet
	if err := json.Unmarshal([]byte(r.data), &ds); err != nil {
		t.Fatal(err)
	}
	return r, ds
}

// TestRenderStacks renders an aggregate's stack set: one view per type,
// each tree's total the type's total, the header's split the critical
// path's, classified as one profile's is, no timeline, the set's comments.
func TestRenderStacks(t *testing.T) {
	a := mergedHandmade(t, 3)
	s := a.StackSet()
	r, ds := renderStacks(t, s, render.Options{}, Page{Intro: template.HTML(`<section class="rp-intro"><h1>intro</h1></section>`)})
	m := r.m
	if ds.Set == nil || ds.Set.Split != aggregate.Critical || len(ds.Set.Comments) != len(s.Comments) || !strings.Contains(ds.Set.Comments[0], "3 profiles") {
		t.Fatalf("set info %+v", ds.Set)
	}
	if ds.Initial.View != s.Types[s.Default] {
		t.Errorf("initial view %q, want the default type %q", ds.Initial.View, s.Types[s.Default])
	}
	if len(m.Views) != len(s.Types) {
		t.Fatalf("%d views for types %v", len(m.Views), s.Types)
	}
	for i, v := range m.Views {
		if v.Kind != s.Types[i] || v.Total != s.Total(i) || v.Top != s.Types[i] {
			t.Errorf("view %d: %s total %d top %q, want %s %d", i, v.Kind, v.Total, v.Top, s.Types[i], s.Total(i))
		}
		if v.TimeOrder != nil || v.TimeOrderNoGroup != nil {
			t.Errorf("view %s has a time order", v.Kind)
		}
		if v.Merged == nil || len(v.Merged.T) == 0 || v.Merged.T[0] != v.Total || v.MergedNoGroup.T[0] != v.Total {
			t.Errorf("view %s: tree roots %v / %v, want %d", v.Kind, v.Merged.T[:1], v.MergedNoGroup.T[:1], v.Total)
		}
		if _, ok := m.Top[v.Top]; !ok {
			t.Errorf("view %s: no top tables", v.Kind)
		}
	}
	// The split: the critical path summed over the profiles, by state, as
	// each profile's report classifies it (the aggregate keeps every
	// profile's split).
	ci, _ := a.Type(aggregate.Critical)
	var total, running, waits int64
	for _, p := range m.Summary.Parts {
		total += p.NS
		switch {
		case p.Code == codeRunning || p.Code == codeUnsampled:
			running += p.NS
		case p.Code >= codeWait:
			waits += p.NS
		}
	}
	var wantRun, wantWait int64
	for _, in := range a.Profiles {
		wantRun += in.CPU
		wantWait += in.Waiting
	}
	if m.Summary.Total != a.Total(ci) || total != a.Total(ci) || a.Total(ci) != a.Wall() {
		t.Errorf("split total %d, parts %d, critical %d, wall %d", m.Summary.Total, total, a.Total(ci), a.Wall())
	}
	if running != wantRun || waits != wantWait {
		t.Errorf("split: running %d waiting %d, the profiles' %d %d (%+v)", running, waits, wantRun, wantWait, m.Summary.Parts)
	}
	if len(m.Timeline.Lanes) != 0 {
		t.Errorf("a stack set's page has %d timeline lanes", len(m.Timeline.Lanes))
	}
	if !strings.Contains(r.html, `<section class="rp-intro"><h1>intro</h1></section><div id="rp-report"`) {
		t.Error("the intro is not above the report")
	}
	if !strings.Contains(r.html, "main.loadOrders") {
		t.Error("the noscript text tree lacks the merged stacks")
	}
	// The same inline script and style as a profile's report: one CSP.
	if sha(r.script) != ScriptSrc() || sha(r.style) != StyleSrc() {
		t.Error("the set's page has other inline script or style than the report's")
	}
}

// TestRenderStacksOptions: o.View naming a type is shown first; bad sets
// are errors; names cannot escape the data block.
func TestRenderStacksOptions(t *testing.T) {
	s := mergedHandmade(t, 1).StackSet()
	if _, ds := renderStacks(t, s, render.Options{View: "cpu"}, Page{}); ds.Initial.View != "cpu" {
		t.Errorf("initial view %q, want cpu", ds.Initial.View)
	}
	if _, ds := renderStacks(t, s, render.Options{View: view.Goroutines}, Page{}); ds.Initial.View != s.Types[s.Default] {
		t.Errorf("initial view %q for a view the set lacks", ds.Initial.View)
	}
	var b bytes.Buffer
	if err := RenderStacks(&b, nil, render.Options{}, Page{}); err == nil {
		t.Error("a nil set rendered")
	}
	bad := view.NewStackSet("x", "wall")
	bad.Default = 3
	if err := RenderStacks(&b, bad, render.Options{}, Page{}); err == nil {
		t.Error("a set with a bad default rendered")
	}
	s.Name = `</title></script><script>alert(1)</script>`
	s.Comments = append(s.Comments, `</script><script>alert(2)</script>`)
	r, ds := renderStacks(t, s, render.Options{}, Page{})
	if strings.Contains(r.html, "<script>alert") || r.m.Meta.Name != s.Name || ds.Set.Comments[len(ds.Set.Comments)-1] != s.Comments[len(s.Comments)-1] {
		t.Errorf("a hostile name: %q", r.m.Meta.Name)
	}
	// An empty set (an aggregate of nothing) still renders.
	empty, err := aggregate.Merge()
	if err != nil {
		t.Fatal(err)
	}
	r, _ = renderStacks(t, empty.StackSet(), render.Options{}, Page{})
	if len(r.m.Views) != len(aggregate.Types) || r.m.Summary.Total != 0 {
		t.Errorf("empty set: %d views, total %d", len(r.m.Views), r.m.Summary.Total)
	}
	// A profile's own stack set (one profile, no timeline) renders too.
	one := view.NewStackSet("one", "critical")
	p := testprofile.Handmade()
	cp := view.CriticalPath(p)
	one.AddTimeline(0, &cp)
	r, _ = renderStacks(t, one, render.Options{}, Page{})
	if r.m.Summary.Total != p.Duration {
		t.Errorf("one profile's set: split total %d, want %d", r.m.Summary.Total, p.Duration)
	}
}
