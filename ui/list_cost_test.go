package ui

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/store"
)

// Each row of the list says how much of its running time CPU samples
// observed, in the bar's text and the CPU part's title, and the profiler's
// own cost before and inside the window, from the stored summary.
func TestListSampledShareAndCost(t *testing.T) {
	st := newStore(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	put := func(at time.Time, name string, s store.Summary) string {
		m := store.Meta{ID: store.NewID(at), Time: at, Name: name, Summary: s}
		if err := st.Put(context.Background(), m, mkProfile(t, req{route: name, d: s.Duration}, at)); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	costly := put(t0, "GET /costly", store.Summary{
		Duration: 10 * time.Millisecond, CPU: 4 * time.Millisecond, CPUInferred: 3 * time.Millisecond, Waiting: 6 * time.Millisecond,
		Goroutines: 1, Overhead: 10 * time.Microsecond, OverheadBefore: 1200 * time.Microsecond,
	})
	plain := put(t0.Add(time.Second), "GET /plain", store.Summary{Duration: 10 * time.Millisecond, Waiting: 10 * time.Millisecond, Goroutines: 1})

	r := do(t, New(Config{Store: st, Authorize: everyone()}), "GET", "/")
	if r.code != 200 {
		t.Fatalf("%d\n%.500s", r.code, r.body)
	}
	rows := map[string]string{}
	for _, m := range regexp.MustCompile(`(?s)<tr data-id="([^"]+)">(.*?)</tr>`).FindAllStringSubmatch(r.body, -1) {
		rows[m[1]] = m[2]
	}
	c := rows[costly]
	for _, want := range []string{
		`<span class="dim">40% CPU (25% sampled) · 60% waiting</span>`,
		`<title>CPU: 4.00ms, 25% sampled</title>`,
		`>reqprof 1.20ms · 10.0µs</span>`,
		`title="reqprof&#39;s own cost: 1.20ms before the window`,
	} {
		if !strings.Contains(c, want) {
			t.Errorf("row of the costly profile lacks %s:\n%s", want, c)
		}
	}
	// Without running time there is no share; without a cost, no cost.
	p := rows[plain]
	if p == "" || strings.Contains(p, "sampled") || strings.Contains(p, `class="over dim cost"`) {
		t.Errorf("row of a profile without CPU time or cost:\n%s", p)
	}
}
