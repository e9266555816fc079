package uitest

// The route page in Chromium. Self-contained (its own profiles, store and
// server, names prefixed route*), so that it can move with the other
// browser tests.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/browsertest"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/store"
	"github.com/reqprof/reqprof/ui"
	"github.com/reqprof/reqprof/view"
)

const routeBrowserRoute = "GET /items/{id}"

// routeBrowserProfile is a request of one goroutine that computes in
// main.work for a quarter of d, then waits on the network in main.query,
// or, when slow, in main.slowQuery.
func routeBrowserProfile(t *testing.T, start time.Time, d time.Duration, slow bool, reason string) *profile.Profile {
	t.Helper()
	q := profile.FrameID(2)
	if slow {
		q = 3
	}
	n := int64(d)
	p := &profile.Profile{
		Name: routeBrowserRoute, Start: start, Duration: n, GoVersion: "go1.26.8", Host: "web-1",
		Frames: []profile.Frame{
			{Func: "main.handler", File: "/app/main.go", Line: 10},
			{Func: "main.work", File: "/app/main.go", Line: 20},
			{Func: "main.query", File: "/app/db.go", Line: 30},
			{Func: "main.slowQuery", File: "/app/db.go", Line: 40},
		},
		Stacks: []profile.Stack{{}, {Frames: []profile.FrameID{0}}, {Frames: []profile.FrameID{0, 1}}, {Frames: []profile.FrameID{0, q}}},
		Goroutines: []profile.Goroutine{{ID: 1, Member: true, Entry: 1, End: n, Intervals: []profile.Interval{
			{Start: 0, End: n / 4, State: profile.Running, Stack: 2},
			{Start: n / 4, End: n, State: profile.Waiting, Reason: "network", Stack: 3},
		}}},
		Attrs: []profile.Attr{
			{Key: profile.AttrKind, Value: profile.KindHTTP}, {Key: profile.AttrMethod, Value: "GET"}, {Key: profile.AttrRoute, Value: routeBrowserRoute},
			{Key: profile.AttrURL, Value: "/items/42"}, {Key: profile.AttrStatus, Value: "200"}, {Key: profile.AttrReason, Value: reason},
		},
	}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	return p
}

// routeBrowserServer serves the UI at /debug/reqprof/ over a store of 40
// profiles of one route: typical requests of 8 to 16 ms, sampled or
// requested, and 4 slow ones of 40 to 70 ms kept by slow-request capture.
func routeBrowserServer(t *testing.T) *httptest.Server {
	t.Helper()
	st, err := store.OpenDir(t.TempDir(), store.Retention{MaxCount: 1000, MaxBytes: 1 << 30, MaxAge: 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Hour)
	for i := range 40 {
		d, slow, reason := 8*time.Millisecond+time.Duration(i*i%37)*220*time.Microsecond, false, profile.ReasonSampled
		switch {
		case i%10 == 9:
			d, slow, reason = 40*time.Millisecond+time.Duration(i)*700*time.Microsecond, true, profile.ReasonSlow
		case i%4 == 0:
			reason = profile.ReasonRequested
		}
		p := routeBrowserProfile(t, t0.Add(time.Duration(i)*time.Minute), d, slow, reason)
		sum := view.Summarize(p)
		m := store.Meta{ID: store.NewID(p.Start), Time: p.Start, Name: p.Name, Labels: store.LabelsOf(p), Summary: store.Summary{
			Duration: d, CPU: time.Duration(sum.CPU), Waiting: time.Duration(sum.Waiting), Goroutines: sum.Goroutines,
		}}
		if err := st.Put(context.Background(), m, p); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/reqprof/", http.StripPrefix("/debug/reqprof", ui.New(ui.Config{Store: st, Authorize: httpprof.LoopbackOnly})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestRoutePageInChromium follows the list's route link to the route
// page, checks that the histogram, the merged flame graph and the
// profiles' links are drawn under the UI's CSP with no console error and
// no request besides the page, then follows the slow-vs-typical link and
// a profile's link. With REQPROF_SCREENSHOT_DIR set (relative to the
// repository's root), it saves a picture of the route page of these
// hand-made profiles (the README's is of the demo: scripts/screenshots.sh):
//
//	cd internal/browsertest && REQPROF_SCREENSHOT_DIR=/tmp go test ./uitest -run TestRoutePageInChromium
func TestRoutePageInChromium(t *testing.T) {
	srv := routeBrowserServer(t)
	list := browsertest.OpenPage(t, srv.URL+"/debug/reqprof/")
	href := browsertest.Eval[string](list, `document.querySelector("#profiles tbody tr a.over").href`)
	want := srv.URL + "/debug/reqprof/route?route=" + strings.ReplaceAll(url.QueryEscape(routeBrowserRoute), "+", "%20")
	if !strings.EqualFold(href, want) {
		t.Errorf("the list's route link is %s, want %s", href, want)
	}
	for _, p := range list.Problems() {
		t.Errorf("list page: %s", p)
	}

	pg := browsertest.OpenPage(t, href)
	pg.WaitFor(`document.documentElement.dataset.reqprofReady === "1"`, 20*time.Second)
	type hist struct {
		Bars, Dots, Rows, Marks int
		Counted                 int
		Width, Height           float64
		Reasons                 []string
	}
	h := browsertest.Eval[hist](pg, `(() => {
		const svg = document.getElementById("histogram"), r = svg.getBoundingClientRect();
		const bars = [...svg.querySelectorAll("rect.bar")];
		return {Bars: bars.length, Counted: bars.reduce((n, b) => n + +b.dataset.count, 0),
			Dots: svg.querySelectorAll("a.dot").length, Marks: svg.querySelectorAll("g.mark").length,
			Rows: document.querySelectorAll("#profiles tbody tr").length, Width: r.width, Height: r.height,
			Reasons: [...new Set(bars.map(b => b.dataset.reason))].sort()};
	})()`)
	if h.Counted != 40 || h.Dots != 40 || h.Rows != 40 || h.Marks != 3 || h.Width < 400 || h.Height < 80 || strings.Join(h.Reasons, ",") != "requested,sampled,slow" {
		t.Errorf("histogram %+v", h)
	}
	// Every bar is drawn: a box of its own.
	if n := browsertest.Eval[int](pg, `[...document.querySelectorAll("#histogram rect.bar")].filter(b => { const r = b.getBoundingClientRect(); return r.width > 1 && r.height > 0; }).length`); n != h.Bars {
		t.Errorf("%d of %d bars drawn", n, h.Bars)
	}
	// p50 < p90 < p99, left to right.
	if xs := browsertest.Eval[[]float64](pg, `[...document.querySelectorAll("#histogram g.mark line")].map(l => l.getBoundingClientRect().left)`); len(xs) != 3 || !(xs[0] < xs[1] && xs[1] <= xs[2]) {
		t.Errorf("percentile marks at %v", xs)
	}
	// The merged report: the aggregate of the 40, its flame graph drawn.
	if h1 := browsertest.Eval[string](pg, `document.querySelector(".rp-head").textContent`); !strings.Contains(h1, "40 profiles") {
		t.Errorf("merged report's header %q", h1)
	}
	if tabs := browsertest.Eval[string](pg, `[...document.querySelectorAll(".rp-tabs button")].map(b => b.textContent).join(",")`); tabs != "Call tree,Flame graph,Top functions" {
		t.Errorf("merged report's tabs %q", tabs)
	}
	if rows := browsertest.Eval[string](pg, `document.querySelector(".rp-tree").textContent`); !strings.Contains(rows, "main.slowQuery") || !strings.Contains(rows, "main.query") {
		t.Errorf("merged tree %q", rows)
	}
	browsertest.Eval[bool](pg, `(document.querySelector('[data-tab="flame"]').click(), true)`)
	flame := browsertest.Eval[[]string](pg, `[...document.querySelectorAll(".rp-flame g")].filter(g => +g.querySelector("rect").getAttribute("width") >= 1).map(g => g.textContent)`)
	if len(flame) < 5 || !containsPrefix(flame, "main.slowQuery") || !containsPrefix(flame, "main.work") {
		t.Errorf("merged flame graph: %q", flame)
	}
	if dir := os.Getenv("REQPROF_SCREENSHOT_DIR"); dir != "" {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(browsertest.RepoRoot(), dir)
		}
		pg.Screenshot(dir, "ui-route-handmade.png", true)
	}
	for _, p := range pg.Problems() {
		t.Errorf("route page: %s", p)
	}
	for i, r := range pg.Requests() {
		if i > 0 {
			t.Errorf("route page requested %s", r.URL)
		}
	}

	// Slow vs typical: the differential flame graph names slowQuery.
	diffURL := browsertest.Eval[string](pg, `document.getElementById("slow-vs-typical").href`)
	dp := browsertest.OpenPage(t, diffURL)
	dp.WaitFor(`document.querySelectorAll("#flame div").length > 3`, 20*time.Second)
	if txt := browsertest.Eval[string](dp, `document.getElementById("flame").textContent + " " + document.querySelector("h1").textContent`); !strings.Contains(txt, "slowQuery") || !strings.Contains(txt, "slow: p90+") {
		t.Errorf("slow vs typical shows %q", txt)
	}
	if back := browsertest.Eval[string](dp, `[...document.querySelectorAll("nav.rp-nav a")].map(a => a.href).join(" ")`); !strings.Contains(back, href) {
		t.Errorf("slow vs typical's navigation %q lacks the route page %s", back, href)
	}
	for _, p := range dp.Problems() {
		t.Errorf("slow vs typical page: %s", p)
	}

	// A profile's link opens its report.
	pu := browsertest.Eval[string](pg, `document.querySelector("#profiles tbody a").href`)
	rp := browsertest.OpenPage(t, pu)
	rp.WaitFor(`document.documentElement.dataset.reqprofReady === "1"`, 20*time.Second)
	if name := browsertest.Eval[string](rp, `document.querySelector(".rp-head h1").textContent`); !strings.Contains(name, routeBrowserRoute) {
		t.Errorf("profile page %s: %q", pu, name)
	}
	for _, p := range rp.Problems() {
		t.Errorf("profile page: %s", p)
	}
}

func containsPrefix(ss []string, prefix string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
