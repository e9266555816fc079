package htmltest

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/reqprof/reqprof/internal/browsertest"
	"github.com/reqprof/reqprof/internal/testprofile"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/html"
	"github.com/reqprof/reqprof/render/text"
	"github.com/reqprof/reqprof/view"
)

// screenshots, when set, is where TestScreenshots writes the README's
// pictures (relative to the repository root):
//
//	(cd internal/browsertest && go test ./htmltest -run Screenshots -args -screenshots=docs)
var screenshots = flag.String("screenshots", "", "directory (relative to the repository root) for the README's screenshots")

var (
	realOnce sync.Mutex
	real     []byte // the native file of testprofile's captured request
)

// realProfile captures testprofile's synthetic request once per test
// binary and returns it as read back from its native .reqprof file: the
// report is rendered offline, from the file, as `reqprof convert` would.
func realProfile(t *testing.T) *profile.Profile {
	t.Helper()
	realOnce.Lock()
	defer realOnce.Unlock()
	if real == nil {
		var b bytes.Buffer
		if err := testprofile.Capture(t).Encode(&b); err != nil {
			t.Fatal(err)
		}
		real = b.Bytes()
	}
	p, err := profile.Decode(bytes.NewReader(real))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeReport renders p to a file and returns its file:// URL and bytes.
func writeReport(t *testing.T, p *profile.Profile, o render.Options) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := html.Render(&b, p, o); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "profile"+html.Extension)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return (&url.URL{Scheme: "file", Path: path}).String(), b.Bytes()
}

// open opens a report and waits until its script has drawn it.
func open(t *testing.T, u string) *browsertest.Page {
	t.Helper()
	pg := browsertest.OpenPage(t, u)
	pg.WaitFor(`document.documentElement.dataset.reqprofReady === "1"`, 30*time.Second)
	return pg
}

// offline fails t when the page logged an error (a CSP violation among
// them) or made any request but for its own document.
func offline(t *testing.T, pg *browsertest.Page) {
	t.Helper()
	for _, p := range pg.Problems() {
		t.Errorf("browser: %s", p)
	}
	for i, r := range pg.Requests() {
		if i == 0 && r.URL == pg.URL {
			continue
		}
		t.Errorf("request %d: %s (failed: %q): the page must make none", i, r.URL, r.Failed)
	}
}

func js[T any](pg *browsertest.Page, format string, args ...any) T {
	return browsertest.Eval[T](pg, fmt.Sprintf(format, args...))
}

// rowTexts returns the tree's visible rows: level, % cell and frame text.
type treeRow struct {
	Level int    `json:"level"`
	Pct   string `json:"pct"`
	Name  string `json:"name"`
	Open  string `json:"open"`
}

func rows(pg *browsertest.Page) []treeRow {
	return js[[]treeRow](pg, `[...document.querySelectorAll(".rp-tree .rp-row[data-i]")].map(r => ({
		level: +r.getAttribute("aria-level"), pct: r.children[1].textContent,
		name: r.querySelector(".fn").textContent, open: r.getAttribute("aria-expanded") || ""}))`)
}

func findRow(t *testing.T, rs []treeRow, name string) treeRow {
	t.Helper()
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no row %q in %v", name, rs)
	return treeRow{}
}

func click(pg *browsertest.Page, sel string) {
	browsertest.Eval[bool](pg, fmt.Sprintf(`(document.querySelector(%q).click(), true)`, sel))
}

// criticalTree is the critical path's call tree as the text renderer
// builds it from the same options.
func criticalTree(t *testing.T, p *profile.Profile) *view.Node {
	t.Helper()
	_, trees, err := render.Options{}.Trees(p)
	if err != nil {
		t.Fatal(err)
	}
	return trees[0]
}

func TestReportInChromium(t *testing.T) {
	p := realProfile(t)
	u, _ := writeReport(t, p, render.Options{})
	pg := open(t, u)
	defer offline(t, pg)
	root := criticalTree(t, p)

	// The tree: the request's phases, with their shares of the total.
	rs := rows(pg)
	if r := rs[0]; r.Name != testprofile.Name || r.Pct != "100.0%" || r.Level != 1 {
		t.Errorf("first row %+v", r)
	}
	root.Walk(func(n *view.Node, depth int) {
		if depth != 2 || !strings.Contains(n.Frame.Name, "testprofile.Phase") {
			return
		}
		r := findRow(t, rs, text.ShortFunc(n.Frame.Name))
		got, err := strconv.ParseFloat(strings.TrimSuffix(r.Pct, "%"), 64)
		want := 100 * float64(n.Total) / float64(root.Total)
		if err != nil || math.Abs(got-want) > 0.051 { // the cell's rounding
			t.Errorf("%s: %s, want %.2f%%", n.Frame.Name, r.Pct, want)
		}
	})
	names := map[string]bool{}
	for _, r := range rs {
		names[r.Name] = true
		if strings.HasPrefix(r.Name, "[via goroutine") {
			names["[via goroutine"] = true
		}
	}
	for _, n := range []string{"testprofile.PhaseBurn", "testprofile.PhaseSleep", "testprofile.PhaseMutex", "testprofile.PhaseFanout", "[wait: sleep]", "[wait: sync]", "[via goroutine", "SQL: SELECT 1", "testprofile.MutexHolder"} {
		if !names[n] {
			t.Errorf("the tree shows no %q", n)
		}
	}
	// Pseudo-frames carry a text tag besides their colour.
	tags := js[map[string]string](pg, `Object.fromEntries([...document.querySelectorAll(".rp-tree .rp-row[data-i]")].filter(r => r.querySelector(".rp-tag")).map(r => [r.dataset.kind, r.querySelector(".rp-tag").textContent]))`)
	for k, want := range map[string]string{"wait": "wait", "via": "via", "sql": "SQL"} {
		if tags[k] != want {
			t.Errorf("%s rows tagged %q, want %q (all: %v)", k, tags[k], want, tags)
		}
	}

	// Keyboard: the first row selected, ↓ moves, ← closes, → opens.
	js[bool](pg, `(document.querySelector(".rp-tree .rp-row[data-i]").focus(), true)`)
	pg.Do(chromedp.KeyEvent(kb.ArrowDown))
	if sel := js[string](pg, `document.querySelector('.rp-row[aria-selected="true"] .fn').textContent`); sel != "testprofile.Request" {
		t.Errorf("after ↓ the selection is %q", sel)
	}
	// deeper counts the rows shown under testprofile.Request.
	deeper := func(rs []treeRow) int {
		n, in := 0, false
		for _, r := range rs {
			switch {
			case r.Name == "testprofile.Request":
				in = true
			case in && r.Level <= 2:
				return n
			case in:
				n++
			}
		}
		return n
	}
	pg.Do(chromedp.KeyEvent(kb.ArrowLeft))
	if r := rows(pg); findRow(t, r, "testprofile.Request").Open != "false" || deeper(r) != 0 {
		t.Errorf("after ←: %v", r)
	}
	pg.Do(chromedp.KeyEvent(kb.ArrowRight))
	if r := rows(pg); findRow(t, r, "testprofile.Request").Open != "true" || deeper(r) < 4 {
		t.Errorf("after →: %v", r)
	}
	// Alt-click folds a whole subtree, and opens it all again.
	altClick := func(name string) {
		js[bool](pg, `(%s.dispatchEvent(new MouseEvent("click", {bubbles: true, altKey: true})), true)`, rowJS(name))
	}
	before := len(rows(pg))
	altClick("testprofile.PhaseFanout")
	if r := findRow(t, rows(pg), "testprofile.PhaseFanout"); r.Open != "false" || len(rows(pg)) >= before {
		t.Errorf("alt-click did not fold PhaseFanout: %+v", r)
	}
	altClick("testprofile.PhaseFanout")
	// The subtree of the row clicked (the first PhaseFanout: the frame may
	// appear again elsewhere in a recorded profile, folded or not).
	level := -1
	for _, r := range rows(pg) {
		if level < 0 {
			if r.Name == "testprofile.PhaseFanout" {
				level = r.Level
			}
			continue
		}
		if r.Level <= level {
			break
		}
		if r.Open == "false" {
			t.Errorf("after alt-click, %q under PhaseFanout is folded", r.Name)
		}
	}

	// Search: highlights and counts the frames that match.
	want := 0
	root.Walk(func(n *view.Node, _ int) {
		if strings.Contains(strings.ToLower(n.Frame.Name+" "+n.Frame.File), "fanout") {
			want++
		}
	})
	js[bool](pg, `(s => (s.value = "Fanout", s.dispatchEvent(new Event("input")), true))(document.getElementById("rp-search"))`)
	if got := js[string](pg, `document.querySelector(".rp-bar output.rp-count[for=rp-search]").textContent`); !strings.HasPrefix(got, fmt.Sprintf("%d matching frame", want)) || want < 4 {
		t.Errorf("search count %q, want %d", got, want)
	}
	marks := js[[]string](pg, `[...document.querySelectorAll(".rp-tree mark")].map(m => m.textContent)`)
	if len(marks) < 4 {
		t.Errorf("marks %q", marks)
	}
	for _, m := range marks {
		if !strings.EqualFold(m, "fanout") {
			t.Errorf("mark %q", m)
		}
	}
	js[bool](pg, `(s => (s.value = "", s.dispatchEvent(new Event("input")), true))(document.getElementById("rp-search"))`)

	// The threshold hides small nodes and says how many.
	js[bool](pg, `(s => (s.value = 8, s.dispatchEvent(new Event("input")), true))(document.getElementById("rp-thr"))`)
	for _, r := range rows(pg) {
		if v, _ := strconv.ParseFloat(strings.TrimSuffix(r.Pct, "%"), 64); v < 5 && r.Level > 1 {
			t.Errorf("at 5%%, row %+v is shown", r)
		}
	}
	js[bool](pg, `(s => (s.value = 5, s.dispatchEvent(new Event("input")), true))(document.getElementById("rp-thr"))`)

	// Views: one root per goroutine of the work; all goroutines under one.
	members := 0
	for _, g := range p.Goroutines {
		if g.Member {
			members++
		}
	}
	click(pg, `button[data-view="goroutines"]`)
	var roots []string
	for _, r := range rows(pg) {
		if r.Level == 1 {
			roots = append(roots, r.Name)
		}
	}
	if len(roots) != members || !strings.HasSuffix(roots[0], "(root)") {
		t.Errorf("per-goroutine roots %q, want %d", roots, members)
	}
	click(pg, `button[data-view="all"]`)
	if r := rows(pg); r[0].Name != "all goroutines" || !js[bool](pg, `document.getElementById("rp-time").disabled`) {
		t.Errorf("all goroutines: first row %+v", r[0])
	}
	click(pg, `button[data-view="critical"]`)

	flame(t, pg)
	timeline(t, pg, p)

	// Top functions: sortable tables.
	click(pg, `[data-tab="top"]`)
	funcs := js[[]string](pg, `[...document.querySelectorAll("#rp-top-funcs tbody td:first-child")].map(td => td.textContent)`)
	if !contains(funcs, "testprofile.spin") || !contains(funcs, "testprofile.PhaseSleep") {
		t.Errorf("top functions %q", funcs)
	}
	click(pg, `#rp-top-funcs th:nth-child(4) button`)
	sorted := js[[]string](pg, `[document.querySelector("#rp-top-funcs th:nth-child(4)").getAttribute("aria-sort"), document.querySelector("#rp-top-funcs tbody td:first-child").textContent]`)
	if sorted[0] != "descending" || sorted[1] != "testprofile.Request" {
		t.Errorf("sorted by total: %q", sorted)
	}
	if w := js[[]string](pg, `[...document.querySelectorAll("#rp-top-waits tbody td:first-child")].map(td => td.textContent)`); !contains(w, "[wait: sleep]") {
		t.Errorf("waits %q", w)
	}
	if w := js[[]string](pg, `[...document.querySelectorAll("#rp-top-regions tbody td:first-child")].map(td => td.textContent)`); !contains(w, "SQL: SELECT 1") {
		t.Errorf("regions %q", w)
	}

	// A narrow window, and print: nothing overflows sideways, every panel
	// prints.
	for _, w := range []int64{1280, 420} {
		if _, err := chromedp.Call(pg.Ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: w, Height: 800, DeviceScaleFactor: 1}); err != nil {
			t.Fatal(err)
		}
		for _, tab := range []string{"tree", "flame", "timeline", "top"} {
			click(pg, `[data-tab="`+tab+`"]`)
			if sw := js[int64](pg, `document.documentElement.scrollWidth`); sw > w+1 {
				t.Errorf("%d px wide, the %s tab is %d px wide", w, tab, sw)
			}
		}
	}
	if _, err := chromedp.Call(pg.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	if shown := js[[]string](pg, `[...document.querySelectorAll(".rp-panel")].filter(p => getComputedStyle(p).display !== "none").map(p => p.id)`); len(shown) != 4 {
		t.Errorf("printing shows panels %q", shown)
	}
}

func rowJS(name string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(".rp-tree .rp-row[data-i]")].find(r => r.querySelector(".fn").textContent === %q)`, name)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// flame checks the flame graph of the critical path: one rectangle per
// node at least half a pixel wide, and zooming.
func flame(t *testing.T, pg *browsertest.Page) {
	t.Helper()
	click(pg, `[data-tab="flame"]`)
	type tree struct {
		F, D []int32
		T    []int64
	}
	tr := js[tree](pg, `(m => m.views.find(v => v.kind === "critical").merged)(JSON.parse(document.getElementById("reqprof-data").textContent))`)
	width := js[float64](pg, `+document.querySelector(".rp-flame").getAttribute("width")`)
	// The drawing rule: a node is drawn when its parent is and it is at
	// least half a pixel wide at the root's scale.
	want, drawn := 0, []bool{}
	for i := range tr.F {
		ok := float64(tr.T[i])*width/float64(tr.T[0]) >= 0.5
		if d := int(tr.D[i]); d > 0 {
			for j := i - 1; j >= 0; j-- {
				if int(tr.D[j]) == d-1 {
					ok = ok && drawn[j]
					break
				}
			}
		}
		drawn = append(drawn, ok)
		if ok {
			want++
		}
	}
	count := func() int { return js[int](pg, `document.querySelectorAll(".rp-flame rect").length`) }
	if got := count(); got != want || want < 10 {
		t.Errorf("flame graph: %d rectangles, want %d", got, want)
	}
	if w := js[float64](pg, `+document.querySelector(".rp-flame g[data-i='0'] rect").getAttribute("width")`); math.Abs(w-width) > 1 {
		t.Errorf("root %.1f px wide in %.1f", w, width)
	}
	// Hover: the frame's details.
	tip := js[string](pg, `(g => (g.querySelector("rect").dispatchEvent(new MouseEvent("mousemove", {bubbles: true, clientX: 100, clientY: 400})), document.querySelector(".rp-tip").textContent))(%s)`, flameG("testprofile.PhaseSleep"))
	if !strings.Contains(tip, "github.com/reqprof/reqprof/internal/testprofile.PhaseSleep") || !strings.Contains(tip, "% of critical path") {
		t.Errorf("hover shows %q", tip)
	}
	// Click to zoom: PhaseFanout fills the width, its ancestors above it,
	// the breadcrumb names it.
	before := count()
	js[bool](pg, `(%s.querySelector("rect").dispatchEvent(new MouseEvent("click", {bubbles: true})), true)`, flameG("testprofile.PhaseFanout"))
	zoomed := js[[]string](pg, `[document.querySelector(".rp-crumbs [aria-current]").textContent, document.querySelectorAll(".rp-flame g.anc").length + "",
		[...document.querySelectorAll(".rp-flame g:not(.anc)")][0].querySelector("rect").getAttribute("width")]`)
	if w, _ := strconv.ParseFloat(zoomed[2], 64); zoomed[0] != "testprofile.PhaseFanout" || zoomed[1] != "2" || math.Abs(w-width) > 1 {
		t.Errorf("zoomed into PhaseFanout: breadcrumb %q, %s ancestors, width %s of %.0f", zoomed[0], zoomed[1], zoomed[2], width)
	}
	if after := count(); after >= before {
		t.Errorf("zoomed: %d rectangles, %d before", after, before)
	}
	js[bool](pg, `(document.querySelector(".rp-flame").focus(), true)`)
	pg.Do(chromedp.KeyEvent(kb.Escape))
	if c := js[string](pg, `document.querySelector(".rp-crumbs [aria-current]").textContent`); c != "testprofile.Request" {
		t.Errorf("after Escape the breadcrumb ends at %q", c)
	}
	click(pg, `.rp-crumbs button`)
	if got := count(); got != before {
		t.Errorf("zoomed out: %d rectangles, %d before", got, before)
	}
}

// flameG is JavaScript for the flame graph's first <g> of the function
// whose name ends in suffix.
func flameG(suffix string) string {
	return fmt.Sprintf(`(f => document.querySelector(".rp-flame g[data-f='" + f + "']"))(JSON.parse(document.getElementById("reqprof-data").textContent).frames.findIndex(f => f[0].endsWith(%q)))`, "/"+suffix)
}

type tlStats struct {
	Lanes, Spans, Buckets, Critical, Edges, Regions int
	T0, T1                                          int64
}

func stats(pg *browsertest.Page) tlStats {
	return js[tlStats](pg, `(d => ({Lanes: +d.lanes, Spans: +d.spans, Buckets: +d.buckets, Critical: +d.critical, Edges: +d.edges, Regions: +d.regions, T0: +d.t0, T1: +d.t1}))(document.querySelector(".rp-tl canvas").dataset)`)
}

// timeline checks the timeline: one lane per goroutine, every interval a
// span at full zoom, and zooming and panning by keyboard, wheel and drag.
func timeline(t *testing.T, pg *browsertest.Page, p *profile.Profile) {
	t.Helper()
	click(pg, `[data-tab="timeline"]`)
	// Lanes: every member goroutine (none share an entry function more
	// than 8 times here), the outsiders by entry function; every segment a
	// span at full zoom.
	// A span is a segment of the goroutine's timeline (view.EachGoroutine),
	// which cuts an interval where a region begins or ends inside it.
	lanes, spans := 0, 0
	each := view.EachGoroutine(p)
	outsiders := map[string][]int{}
	for i, g := range p.Goroutines {
		if g.Member {
			lanes++
			spans += len(each[i].Segments)
		} else {
			e := view.EntryName(p, &p.Goroutines[i])
			outsiders[e] = append(outsiders[e], len(each[i].Segments))
		}
	}
	for _, ns := range outsiders {
		lanes++
		if len(ns) == 1 {
			spans += ns[0]
		}
	}
	s := stats(pg)
	if s.Lanes != lanes || s.Spans != spans || s.T0 != 0 || s.T1 != p.Duration || s.Critical == 0 || s.Edges == 0 || s.Regions != 3 {
		t.Errorf("timeline %+v, want %d lanes, %d spans, 3 regions", s, lanes, spans)
	}
	// Hover on the root's lane, in the middle of its longest stretch in a
	// function of the workload (a stretch at a fixed place may be
	// unsampled running time under the work's boundary alone, whose stack
	// shows no function): its state and stack.
	box := js[[]float64](pg, `(r => [r.left, r.top, r.width])(document.querySelector(".rp-tl canvas").getBoundingClientRect())`)
	at := 0.2
	var longest int64
	for _, sg := range each[0].Segments {
		if d := sg.End - sg.Start; d > longest && slices.ContainsFunc(sg.Path, func(f view.Frame) bool { return strings.Contains(f.Name, "testprofile.") }) {
			longest, at = d, float64(sg.Start+d/2)/float64(p.Duration)
		}
	}
	pg.Do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box[0]+box[2]*at, box[1]+24+26*0.5+6))
	tip := js[string](pg, `document.querySelector(".rp-tip").hidden ? "" : document.querySelector(".rp-tip").textContent`)
	if !strings.Contains(tip, "(root)") || !strings.Contains(tip, "testprofile.") {
		t.Errorf("hovering the root lane shows %q", tip)
	}
	// Keyboard zoom: + halves the window around its middle.
	js[bool](pg, `(document.querySelector(".rp-tl canvas").focus(), true)`)
	pg.Do(chromedp.KeyEvent("+"))
	z := stats(pg)
	if w := z.T1 - z.T0; math.Abs(float64(w)-float64(p.Duration)/2) > 2 || z.Spans > s.Spans {
		t.Errorf("after +: %+v", z)
	}
	pg.Do(chromedp.KeyEvent(kb.ArrowRight))
	if r := stats(pg); r.T0 <= z.T0 {
		t.Errorf("→ did not pan: %+v after %+v", r, z)
	}
	// The wheel zooms in at the pointer.
	js[bool](pg, `(c => (c.dispatchEvent(new WheelEvent("wheel", {deltaY: -400, clientX: c.getBoundingClientRect().left + 50, clientY: c.getBoundingClientRect().top + 40, bubbles: true, cancelable: true})), true))(document.querySelector(".rp-tl canvas"))`)
	w := stats(pg)
	if w.T1-w.T0 >= z.T1-z.T0 {
		t.Errorf("the wheel did not zoom in: %+v", w)
	}
	// Dragging left moves later in time.
	x, y := box[0]+box[2]/2, box[1]+40
	pg.Do(chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x, y, chromedp.ButtonLeft), chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x-150, y, chromedp.ButtonLeft), chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x-150, y, chromedp.ButtonLeft))
	if d := stats(pg); d.T0 <= w.T0 || math.Abs(float64((d.T1-d.T0)-(w.T1-w.T0))) > 2 { // the stats are rounded
		t.Errorf("drag: %+v after %+v", d, w)
	}
	pg.Do(chromedp.KeyEvent("0"))
	if r := stats(pg); r.T0 != 0 || r.T1 != p.Duration {
		t.Errorf("0 did not reset: %+v", r)
	}
}

// TestLibraryGroupInChromium expands a "[N frames hidden]" group and turns
// grouping off.
func TestLibraryGroupInChromium(t *testing.T) {
	u, _ := writeReport(t, testprofile.Handmade(), render.Options{})
	pg := open(t, u)
	defer offline(t, pg)
	btn := js[string](pg, `(b => b ? b.textContent : "")(document.querySelector(".rp-tree button.hid"))`)
	if btn != "[1 frame hidden] net" {
		t.Fatalf("library group %q", btn)
	}
	click(pg, ".rp-tree button.hid")
	if l := js[[]string](pg, `[...document.querySelectorAll(".rp-hidden-list li")].map(li => li.textContent)`); len(l) != 1 || !strings.HasPrefix(l[0], "net.(*conn).Read") || !strings.HasSuffix(l[0], "net.go:196") {
		t.Errorf("hidden frames %q", l)
	}
	if e := js[string](pg, `document.querySelector(".rp-tree button.hid").getAttribute("aria-expanded")`); e != "true" {
		t.Errorf("group aria-expanded %q", e)
	}
	// A narrow window: the group, the list and the indentation fit.
	if _, err := chromedp.Call(pg.Ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 360, Height: 800, DeviceScaleFactor: 1}); err != nil {
		t.Fatal(err)
	}
	if sw := js[int64](pg, `document.documentElement.scrollWidth`); sw > 361 {
		t.Errorf("360 px wide, the tree is %d px wide", sw)
	}
	if _, err := chromedp.Call(pg.Ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	click(pg, "#rp-group")
	rs := rows(pg)
	findRow(t, rs, "net.(*conn).Read")
	if n := js[int](pg, `document.querySelectorAll(".rp-tree button.hid").length`); n != 0 {
		t.Errorf("%d groups without grouping", n)
	}
	// The outsider that explains the mutex wait, and the SQL region.
	findRow(t, rs, "[via goroutine 50: main.cacheRefresher]")
	findRow(t, rs, "SQL: SELECT id; name\nFROM orders")
}

// TestEmptyInChromium opens the report of a profile without goroutines.
func TestEmptyInChromium(t *testing.T) {
	u, _ := writeReport(t, testprofile.Empty(), render.Options{})
	pg := open(t, u)
	for _, tab := range []string{"flame", "timeline", "top", "tree"} {
		click(pg, `[data-tab="`+tab+`"]`)
	}
	offline(t, pg)
}

// TestLargeReportInChromium opens the reports of the profiles of
// render/html's TestLargeProfileSize (testprofile.LargeCases) and logs how
// long they take to load (BENCHMARKS.md).
func TestLargeReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: large profiles")
	}
	for _, c := range testprofile.LargeCases {
		t.Run(c.Name, func(t *testing.T) {
			p := c.Profile()
			u, b := writeReport(t, p, render.Options{})
			if len(b) > testprofile.MaxLargeReport {
				t.Errorf("page of %d bytes, over %d", len(b), testprofile.MaxLargeReport)
			}
			pg := open(t, u)
			defer offline(t, pg)
			ready := js[int](pg, `+document.documentElement.dataset.reqprofReadyMs`)
			var draws []string
			for _, tab := range []string{"flame", "timeline", "top", "tree"} {
				start := time.Now()
				click(pg, `[data-tab="`+tab+`"]`)
				draws = append(draws, fmt.Sprintf("%s %v", tab, time.Since(start).Round(time.Millisecond)))
			}
			click(pg, `button[data-view="all"]`)
			click(pg, `[data-tab="timeline"]`)
			s := stats(pg)
			js[bool](pg, `(document.querySelector(".rp-tl canvas").focus(), true)`)
			pg.Do(chromedp.KeyEvent("+"))
			if z := stats(pg); z.T1-z.T0 >= s.T1-s.T0 {
				t.Errorf("timeline did not zoom: %+v", z)
			}
			t.Logf("%s: %.2f MB page, loaded and drawn in %d ms; tabs: %s; %d lanes", c.Name, float64(len(b))/(1<<20), ready, strings.Join(draws, ", "), s.Lanes)
		})
	}
}

// TestScreenshots takes the README's pictures of the report of a real
// profile: the tree, the flame graph and the timeline, at 1280×800.
func TestScreenshots(t *testing.T) {
	dir := ""
	if *screenshots != "" {
		dir = *screenshots
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(browsertest.RepoRoot(), dir)
		}
	}
	u, _ := writeReport(t, realProfile(t), render.Options{})
	pg := open(t, u)
	defer offline(t, pg)
	for _, tab := range []string{"tree", "flame", "timeline"} {
		click(pg, `[data-tab="`+tab+`"]`)
		pg.Screenshot(dir, "html-"+tab+".png", false)
	}
}
