package ui

import (
	"context"
	"encoding/json"
	"fmt"
	stdhtml "html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	pprofile "github.com/google/pprof/profile"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render/diff"
	"github.com/reqprof/reqprof/render/html"
	"github.com/reqprof/reqprof/render/text"
	"github.com/reqprof/reqprof/store"
	"github.com/reqprof/reqprof/view"
)

const route = "GET /items/{id}"

// req describes a synthetic request to store.
type req struct {
	route  string // the route attribute
	d      time.Duration
	slow   bool // waits in main.slowQuery instead of main.query
	reason string
	trace  string
}

// mkProfile is a request of one goroutine: running in main.work for a
// quarter of d, then waiting on the network in main.query (or
// main.slowQuery).
func mkProfile(t testing.TB, r req, start time.Time) *profile.Profile {
	t.Helper()
	d := int64(r.d)
	q := profile.FrameID(2)
	if r.slow {
		q = 3
	}
	p := &profile.Profile{
		Name: r.route, Start: start, Duration: d, GoVersion: "go1.26.8", Host: "test",
		Frames: []profile.Frame{
			{Func: "main.handler", File: "/app/main.go", Line: 10},
			{Func: "main.work", File: "/app/main.go", Line: 20},
			{Func: "main.query", File: "/app/db.go", Line: 30},
			{Func: "main.slowQuery", File: "/app/db.go", Line: 40},
		},
		Stacks: []profile.Stack{{}, {Frames: []profile.FrameID{0}}, {Frames: []profile.FrameID{0, 1}}, {Frames: []profile.FrameID{0, q}}},
		Goroutines: []profile.Goroutine{{ID: 1, Member: true, Entry: 1, Start: 0, End: d, Intervals: []profile.Interval{
			{Start: 0, End: d / 4, State: profile.Running, Stack: 2},
			{Start: d / 4, End: d, State: profile.Waiting, Reason: "network", Stack: 3},
		}}},
		Attrs: []profile.Attr{
			{Key: profile.AttrKind, Value: profile.KindHTTP}, {Key: profile.AttrMethod, Value: "GET"},
			{Key: profile.AttrRoute, Value: r.route}, {Key: profile.AttrURL, Value: "/items/1"}, {Key: profile.AttrStatus, Value: "200"},
		},
	}
	if r.reason != "" {
		p.Attrs = append(p.Attrs, profile.Attr{Key: profile.AttrReason, Value: r.reason})
	}
	if r.trace != "" {
		p.Attrs = append(p.Attrs, profile.Attr{Key: profile.AttrTraceID, Value: r.trace}, profile.Attr{Key: profile.AttrSpanID, Value: "00f067aa0ba902b7"})
	}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	return p
}

// fill stores the requests, the first the oldest, and returns their ids.
func fill(t testing.TB, st store.Store, rs []req) []string {
	t.Helper()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i, r := range rs {
		p := mkProfile(t, r, t0.Add(time.Duration(i)*time.Second))
		sum := view.Summarize(p)
		m := store.Meta{
			ID: store.NewID(p.Start), Time: p.Start, Name: p.Name,
			Summary: store.Summary{Duration: time.Duration(p.Duration), CPU: time.Duration(sum.CPU), Waiting: time.Duration(sum.Waiting),
				Runnable: time.Duration(sum.Runnable), Syscall: time.Duration(sum.Syscall), Goroutines: sum.Goroutines},
			Labels: store.LabelsOf(p),
		}
		if err := st.Put(context.Background(), m, p); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

func newStore(t testing.TB) store.Store {
	t.Helper()
	st, err := store.OpenDir(t.TempDir(), store.Retention{MaxCount: 100_000, MaxBytes: 1 << 40, MaxAge: 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// typical27slow3 is a route of 27 typical requests (10 to 12.6 ms) and
// 3 slow ones (50 ms, waiting in main.slowQuery).
func typical27slow3() []req {
	var rs []req
	for i := range 27 {
		reason := profile.ReasonSampled
		if i%3 == 0 {
			reason = profile.ReasonRequested
		}
		rs = append(rs, req{route: route, d: 10*time.Millisecond + time.Duration(i)*100*time.Microsecond, reason: reason})
	}
	for range 3 {
		rs = append(rs, req{route: route, d: 50 * time.Millisecond, slow: true, reason: profile.ReasonSlow})
	}
	return rs
}

type resp struct {
	code int
	h    http.Header
	body string
}

func do(t testing.TB, h http.Handler, method, target string) resp {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return resp{rec.Code, rec.Header(), rec.Body.String()}
}

func routeURL(r string) string { return "/route?route=" + url.QueryEscape(r) }

var (
	dataBlock = regexp.MustCompile(`(?s)<script type="application/json" id="reqprof-data">(.*?)</script>`)
	barCount  = regexp.MustCompile(`<rect class="bar"[^>]* data-reason="([^"]*)" data-count="(\d+)"`)
	markNS    = regexp.MustCompile(`<g class="mark" data-q="(p\d\d)" data-ns="(\d+)"`)
	dotLink   = regexp.MustCompile(`<a class="dot" href="p/([^"]+)"`)
	rowLink   = regexp.MustCompile(`<tr data-id="([^"]+)"><td><a href="p/([^"]+)">`)
)

// reportData decodes the merged report's data.
type reportData struct {
	Meta struct {
		Name     string `json:"name"`
		Duration int64  `json:"duration"`
	} `json:"meta"`
	Set *struct {
		Comments []string `json:"comments"`
	} `json:"set"`
	Views []struct {
		Kind  string `json:"kind"`
		Total int64  `json:"total"`
	} `json:"views"`
	Frames [][]any `json:"frames"`
}

func report(t *testing.T, body string) reportData {
	t.Helper()
	m := dataBlock.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no report data on the page")
	}
	var d reportData
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d reportData) hasFrame(name string) bool {
	return slices.ContainsFunc(d.Frames, func(f []any) bool { return f[0] == name })
}

func everyone() func(*http.Request) bool { return func(*http.Request) bool { return true } }

// TestRoutePage: the distribution of every stored profile of the route by
// reason with its percentiles, the merge of all of them (fewer than the
// cap), a link to each and to slow vs typical, under the report's CSP.
func TestRoutePage(t *testing.T) {
	st := newStore(t)
	rs := typical27slow3()
	ids := fill(t, st, rs)
	fill(t, st, []req{{route: "GET /other", d: 5 * time.Millisecond}})
	u := New(Config{Store: st, Authorize: everyone()})

	r := do(t, u, "GET", routeURL(route))
	if r.code != 200 || r.h.Get("Content-Type") != html.ContentType {
		t.Fatalf("%d %s\n%.500s", r.code, r.h.Get("Content-Type"), r.body)
	}
	csp := r.h.Get("Content-Security-Policy")
	if !strings.Contains(csp, html.ScriptSrc()) || !strings.Contains(csp, html.StyleSrc()) || strings.Contains(csp, "unsafe") || r.h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers: CSP %q, X-Frame-Options %q", csp, r.h.Get("X-Frame-Options"))
	}
	// No style attribute: the policy would refuse it.
	if strings.Contains(r.body, ` style="`) {
		t.Error("the page has a style attribute")
	}

	// The histogram counts every profile, by reason.
	byReason := map[string]int{}
	for _, m := range barCount.FindAllStringSubmatch(r.body, -1) {
		n, _ := strconv.Atoi(m[2])
		byReason[m[1]] += n
	}
	if want := map[string]int{"requested": 9, "sampled": 18, "slow": 3}; !mapsEqual(byReason, want) {
		t.Errorf("histogram by reason %v, want %v", byReason, want)
	}
	ds := make([]int64, len(rs))
	for i, q := range rs {
		ds[i] = int64(q.d)
	}
	slices.Sort(ds)
	marks := map[string]int64{}
	for _, m := range markNS.FindAllStringSubmatch(r.body, -1) {
		marks[m[1]], _ = strconv.ParseInt(m[2], 10, 64)
	}
	for q, v := range map[string]float64{"p50": 0.5, "p90": 0.9, "p99": 0.99} {
		if marks[q] != aggregate.Percentile(ds, v) {
			t.Errorf("%s marked at %d, want %d", q, marks[q], aggregate.Percentile(ds, v))
		}
	}
	// A mark per merged profile, a row per profile, each a link to it.
	var dots, rows []string
	for _, m := range dotLink.FindAllStringSubmatch(r.body, -1) {
		dots = append(dots, m[1])
	}
	for _, m := range rowLink.FindAllStringSubmatch(r.body, -1) {
		if m[1] != m[2] {
			t.Errorf("row %s links to %s", m[1], m[2])
		}
		rows = append(rows, m[1])
	}
	slices.Sort(dots)
	slices.Sort(rows)
	if want := slices.Sorted(slices.Values(ids)); !slices.Equal(dots, want) || !slices.Equal(rows, want) {
		t.Errorf("links: %d marks, %d rows, want the %d profiles of the route", len(dots), len(rows), len(ids))
	}
	if !slices.Equal(linkRoutes(r.body, "route/diff?route="), []string{route}) || !strings.Contains(r.body, "All 30 profiles of the route merged") {
		t.Error("no link to slow vs typical, or no merge note")
	}

	// The merged profile: all 30, their summed critical path.
	d := report(t, r.body)
	if d.Set == nil || !strings.Contains(d.Set.Comments[0], "(30 profiles)") || d.Meta.Name != route {
		t.Fatalf("merged report %q %+v", d.Meta.Name, d.Set)
	}
	var sum int64
	for _, v := range ds {
		sum += v
	}
	for _, v := range d.Views {
		if v.Kind == aggregate.Critical && v.Total != sum {
			t.Errorf("merged critical path %d, want the summed durations %d", v.Total, sum)
		}
	}
	if !d.hasFrame("main.slowQuery") || !d.hasFrame("main.query") || d.hasFrame("GET /other") {
		t.Error("the merged profile's frames are not the route's")
	}
}

// linkRoutes returns the routes the page's links beginning with prefix
// carry (the first query parameter), as a browser decodes them.
func linkRoutes(body, prefix string) []string {
	var out []string
	for _, m := range regexp.MustCompile(regexp.QuoteMeta(`href="`+prefix)+`([^"&]*)`).FindAllStringSubmatch(body, -1) {
		v, err := url.QueryUnescape(stdhtml.UnescapeString(m[1]))
		if err != nil {
			v = "invalid: " + m[1]
		}
		out = append(out, v)
	}
	return out
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestRoutePageCap merges the newest MaxMerge profiles only, and says so;
// the histogram and the list still count every one.
func TestRoutePageCap(t *testing.T) {
	st := newStore(t)
	var rs []req
	for i := range 12 {
		rs = append(rs, req{route: route, d: time.Duration(i+1) * time.Millisecond, reason: profile.ReasonSampled})
	}
	ids := fill(t, st, rs)
	u := New(Config{Store: st, Authorize: everyone(), MaxMerge: 5})
	r := do(t, u, "GET", routeURL(route))
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	if !strings.Contains(r.body, "The newest <b>5</b> of the route's 12 profiles are merged (this page merges at most 5)") {
		t.Errorf("no cap note in\n%s", r.body[:min(len(r.body), 3000)])
	}
	d := report(t, r.body)
	if !strings.Contains(d.Set.Comments[0], "(5 profiles)") {
		t.Errorf("merged %q", d.Set.Comments[0])
	}
	var sum int64
	for _, q := range rs[7:] {
		sum += int64(q.d)
	}
	for _, v := range d.Views {
		if v.Kind == aggregate.Critical && v.Total != sum {
			t.Errorf("merged critical path %d, want the newest five's %d", v.Total, sum)
		}
	}
	var dots []string
	for _, m := range dotLink.FindAllStringSubmatch(r.body, -1) {
		dots = append(dots, m[1])
	}
	slices.Sort(dots)
	if !slices.Equal(dots, ids[7:]) {
		t.Errorf("marks of merged profiles %v, want the newest %v", dots, ids[7:])
	}
	if n := len(rowLink.FindAllStringSubmatch(r.body, -1)); n != 12 {
		t.Errorf("%d rows, want every profile", n)
	}
	n := 0
	for _, m := range barCount.FindAllStringSubmatch(r.body, -1) {
		c, _ := strconv.Atoi(m[2])
		n += c
	}
	if n != 12 {
		t.Errorf("histogram counts %d profiles", n)
	}
	// Slow vs typical reads the newest five only: too few.
	if r := do(t, u, "GET", "/route/diff?route="+url.QueryEscape(route)); r.code != 200 || !strings.Contains(r.body, "needs at least 10 profiles") {
		t.Errorf("diff of a capped route: %d %s", r.code, r.body)
	}
}

// TestRouteOneProfile: a route of one profile has its page, and slow vs
// typical says why it cannot be drawn.
func TestRouteOneProfile(t *testing.T) {
	st := newStore(t)
	ids := fill(t, st, []req{{route: route, d: 3 * time.Millisecond}})
	u := New(Config{Store: st, Authorize: everyone()})
	r := do(t, u, "GET", routeURL(route))
	if r.code != 200 || !strings.Contains(r.body, `id="slow-vs-typical-few"`) || !strings.Contains(r.body, "All 1 profile of the route merged") || !strings.Contains(r.body, `href="p/`+ids[0]+`"`) {
		t.Fatalf("%d\n%s", r.code, r.body[:min(len(r.body), 4000)])
	}
	if d := report(t, r.body); d.Meta.Duration != int64(3*time.Millisecond) {
		t.Errorf("merged duration %d", d.Meta.Duration)
	}
	r = do(t, u, "GET", "/route/diff?route="+url.QueryEscape(route))
	if r.code != 200 || !strings.Contains(r.body, "needs at least 10 profiles of the route, and GET /items/{id} has 1.") || !strings.Contains(r.h.Get("Content-Type"), "text/html") {
		t.Errorf("diff of one profile: %d %s", r.code, r.body)
	}
}

// TestRouteNotFound: an unknown route is a 404 page, a missing one a 400.
func TestRouteNotFound(t *testing.T) {
	st := newStore(t)
	fill(t, st, []req{{route: route, d: time.Millisecond}})
	u := New(Config{Store: st, Authorize: everyone()})
	for _, target := range []string{routeURL("GET /nope"), "/route/diff?route=" + url.QueryEscape("GET /nope")} {
		r := do(t, u, "GET", target)
		if r.code != 404 || !strings.HasPrefix(r.h.Get("Content-Type"), "text/html") || !strings.Contains(r.body, "No stored profile of the route GET /nope.") || r.h.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: %d %q\n%s", target, r.code, r.h.Get("Content-Type"), r.body)
		}
	}
	for _, target := range []string{"/route", "/route?route=", "/route/diff"} {
		if r := do(t, u, "GET", target); r.code != 400 || !strings.Contains(r.body, "missing route") {
			t.Errorf("%s: %d %s", target, r.code, r.body)
		}
	}
}

// TestRouteHostileName: a route named with markup, quotes and 10 KB is
// escaped everywhere it is shown (list, route page, report, diff, 404),
// and its links lead to its page.
func TestRouteHostileName(t *testing.T) {
	st := newStore(t)
	hostile := `GET /x/"'><script>alert(1)</script><img src=x onerror=alert(2)>` + strings.Repeat("é&<", 3400)
	var rs []req
	for i := range 12 {
		rs = append(rs, req{route: hostile, d: time.Duration(i+1) * time.Millisecond, slow: i == 11})
	}
	fill(t, st, rs)
	u := New(Config{Store: st, Authorize: everyone()})
	bad := []string{"<script>alert", "<img src=x", `"'>`}
	check := func(what string, r resp) {
		t.Helper()
		for _, b := range bad {
			if strings.Contains(r.body, b) {
				t.Errorf("%s holds %q unescaped", what, b)
			}
		}
	}
	// The list links to the route as the store keeps it (labels are cut
	// to store.MaxLabelValue).
	list := do(t, u, "GET", "/")
	check("list", list)
	links := linkRoutes(list.body, "route?route=")
	if len(links) != 12 {
		t.Fatalf("the list has %d route links", len(links))
	}
	key := links[0]
	if !strings.HasPrefix(hostile, strings.TrimSuffix(key, "…")) || len(key) != store.MaxLabelValue {
		t.Fatalf("route link %.80q… (%d bytes)", key, len(key))
	}
	r := do(t, u, "GET", routeURL(key))
	if r.code != 200 {
		t.Fatalf("route page of the hostile route: %d %.300s", r.code, r.body)
	}
	check("route page", r)
	if d := report(t, r.body); d.Meta.Name != key {
		t.Errorf("report named %.80q", d.Meta.Name)
	}
	r = do(t, u, "GET", "/route/diff?route="+url.QueryEscape(key))
	if r.code != 200 || !strings.Contains(r.h.Get("Content-Security-Policy"), diff.ScriptSrc()) {
		t.Fatalf("diff page: %d %.300s", r.code, r.body)
	}
	check("diff page", r)
	// 10 KB of a route nobody has: a short 404 page.
	r = do(t, u, "GET", routeURL(hostile+"nope"))
	if r.code != 404 || len(r.body) > 4000 {
		t.Errorf("unknown hostile route: %d, %d bytes", r.code, len(r.body))
	}
	check("404 page", r)
}

// TestRouteDiff draws slow vs typical: the slow requests' main.slowQuery
// is what differs, under the diff page's CSP, with the UI's navigation.
func TestRouteDiff(t *testing.T) {
	st := newStore(t)
	fill(t, st, typical27slow3())
	u := New(Config{Store: st, Authorize: everyone()})
	r := do(t, u, "GET", "/route/diff?route="+url.QueryEscape(route))
	if r.code != 200 || r.h.Get("Content-Type") != diff.HTMLContentType {
		t.Fatalf("%d %s", r.code, r.body)
	}
	csp := r.h.Get("Content-Security-Policy")
	if !strings.Contains(csp, diff.ScriptSrc()) || !strings.Contains(csp, diff.StyleSrc()) || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	for _, want := range []string{`<nav class="rp-nav"`, "typical: p40–p60", "slow: p90+", "main.slowQuery"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("diff page lacks %q", want)
		}
	}
	if !slices.Equal(linkRoutes(r.body, "../route?route="), []string{route}) {
		t.Errorf("diff page links to the route page of %q", linkRoutes(r.body, "../route?route="))
	}
	// The diff's data: the requests at or above p90 against those
	// between p40 and p60.
	var ds []int64
	for _, q := range typical27slow3() {
		ds = append(ds, int64(q.d))
	}
	ti, si := aggregate.SlowAndTypical(ds)
	m := regexp.MustCompile(`(?s)<script type="application/json" id="data">(.*?)</script>`).FindStringSubmatch(r.body)
	var data struct {
		Sides []struct {
			N int `json:"n"`
		} `json:"sides"`
	}
	if m == nil || json.Unmarshal([]byte(m[1]), &data) != nil || len(data.Sides) != 2 || data.Sides[0].N != len(ti) || data.Sides[1].N != len(si) || len(si) < 3 {
		t.Errorf("diff sides %+v, want %d typical and %d slow", data.Sides, len(ti), len(si))
	}
}

// TestRouteDownloads: the merged profile as pprof and as an aggregate
// file; formats of one profile are refused.
func TestRouteDownloads(t *testing.T) {
	st := newStore(t)
	fill(t, st, typical27slow3())
	u := New(Config{Store: st, Authorize: everyone()})
	r := do(t, u, "GET", routeURL(route)+"&format=pprof")
	if r.code != 200 || !strings.Contains(r.h.Get("Content-Disposition"), "route-merged.pb.gz") {
		t.Fatalf("pprof: %d %v", r.code, r.h)
	}
	pp, err := pprofile.Parse(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if len(pp.Sample) == 0 || !strings.Contains(strings.Join(pp.Comments, "\n"), "30 profiles") {
		t.Errorf("pprof: %d samples, comments %q", len(pp.Sample), pp.Comments)
	}
	r = do(t, u, "GET", routeURL(route)+"&format=reqagg")
	a, err := aggregate.Decode(strings.NewReader(r.body))
	if err != nil || a.N() != 30 {
		t.Fatalf("reqagg: %v", err)
	}
	for _, f := range []string{"html", "speedscope", "nope"} {
		if r := do(t, u, "GET", routeURL(route)+"&format="+f); r.code != 400 || !strings.Contains(r.body, "downloadable as") {
			t.Errorf("format %s: %d %s", f, r.code, r.body)
		}
	}
}

const (
	traceA = "4bf92f3577b34da6a3ce929d0e0e4736"
	traceB = "0af7651916cd43dd8448eb211c80319c"
)

// TestTraceFilter lists a trace's profiles; a bad trace id is a 400.
func TestTraceFilter(t *testing.T) {
	st := newStore(t)
	ids := fill(t, st, []req{
		{route: route, d: time.Millisecond, trace: traceA},
		{route: route, d: 2 * time.Millisecond, trace: traceB},
		{route: route, d: 3 * time.Millisecond, trace: traceB},
		{route: route, d: 4 * time.Millisecond},
	})
	u := New(Config{Store: st, Authorize: everyone()})
	rowsOf := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<tr data-id="([^"]+)">`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		slices.Sort(out)
		return out
	}
	all := do(t, u, "GET", "/")
	if len(rowsOf(all.body)) != 4 || !strings.Contains(all.body, "<th>Trace</th>") || !strings.Contains(all.body, `href="?trace_id=`+traceA+`"`) {
		t.Errorf("list without a filter: %d rows, trace column or link missing", len(rowsOf(all.body)))
	}
	for target, want := range map[string][]string{
		"/?trace_id=" + traceA:                                      {ids[0]},
		"/?trace_id=" + strings.ToUpper(traceB):                     {ids[1], ids[2]},
		"/?trace_id=" + traceB + "&route=" + url.QueryEscape(route): {ids[1], ids[2]},
		"/?trace_id=": ids,
	} {
		r := do(t, u, "GET", target)
		if got := rowsOf(r.body); r.code != 200 || !slices.Equal(got, want) {
			t.Errorf("%s: %d, rows %v, want %v", target, r.code, got, want)
		}
	}
	// Sorting links keep the filter.
	if r := do(t, u, "GET", "/?trace_id="+traceB); !strings.Contains(r.body, "trace_id="+traceB+"&amp;") && !strings.Contains(r.body, "&amp;trace_id="+traceB) {
		t.Error("sort links drop the trace filter")
	}
	r := do(t, u, "GET", "/?trace_id=ffffffffffffffffffffffffffffffff")
	if r.code != 200 || !strings.Contains(r.body, "No stored profile of trace") {
		t.Errorf("unknown trace: %d %s", r.code, r.body)
	}
	for _, bad := range []string{"xyz", traceA + "0", traceA[:31] + "g", strings.Repeat("0", 32), "%3Cscript%3E"} {
		r := do(t, u, "GET", "/?trace_id="+bad)
		if r.code != 400 || !strings.Contains(r.body, "invalid trace_id") || strings.Contains(r.body, "<script") {
			t.Errorf("trace_id=%s: %d %s", bad, r.code, r.body)
		}
	}
}

// TestByTrace leads from a trace id to its profile, or its profiles.
func TestByTrace(t *testing.T) {
	st := newStore(t)
	ids := fill(t, st, []req{
		{route: route, d: time.Millisecond, trace: traceA},
		{route: route, d: 2 * time.Millisecond, trace: traceB},
		{route: route, d: 3 * time.Millisecond, trace: traceB},
	})
	u := New(Config{Store: st, Authorize: everyone()})
	for target, loc := range map[string]string{
		"/p/by-trace/" + traceA:                  "../" + ids[0],
		"/p/by-trace/" + strings.ToUpper(traceA): "../" + ids[0],
		"/p/by-trace/" + traceB:                  "../../?trace_id=" + traceB,
	} {
		if r := do(t, u, "GET", target); r.code != http.StatusSeeOther || r.h.Get("Location") != loc {
			t.Errorf("%s: %d, Location %q, want %q", target, r.code, r.h.Get("Location"), loc)
		}
	}
	// Resolved as a browser does, under a prefix.
	base, _ := url.Parse("http://h/debug/reqprof/p/by-trace/" + traceA)
	if got := base.ResolveReference(&url.URL{Path: "../" + ids[0]}).Path; got != "/debug/reqprof/p/"+ids[0] {
		t.Errorf("redirect resolves to %s", got)
	}
	if r := do(t, u, "GET", "/p/by-trace/ffffffffffffffffffffffffffffffff"); r.code != 404 || !strings.Contains(r.body, "No stored profile of trace") {
		t.Errorf("unknown trace: %d %s", r.code, r.body)
	}
	for _, bad := range []string{"nope", traceA + "ab", strings.Repeat("0", 32)} {
		if r := do(t, u, "GET", "/p/by-trace/"+bad); r.code != 400 || !strings.Contains(r.body, "invalid trace id") {
			t.Errorf("by-trace/%s: %d %s", bad, r.code, r.body)
		}
	}
	// The profile page still serves ids.
	if r := do(t, u, "GET", "/p/"+ids[0]+"?format=text"); r.code != 200 {
		t.Errorf("profile page: %d", r.code)
	}
}

// TestRouteUnauthorized: a client the UI does not authorize learns
// nothing from the new pages: the same plain 404 for an existing route,
// an unknown one, a bad trace id, a known one, and any download.
func TestRouteUnauthorized(t *testing.T) {
	st := newStore(t)
	ids := fill(t, st, append(typical27slow3(), req{route: route, d: time.Millisecond, trace: traceA}))
	u := New(Config{Store: st, Authorize: func(*http.Request) bool { return false }})
	nf := httptest.NewRecorder()
	http.NotFound(nf, httptest.NewRequest("GET", "/", nil))
	for _, target := range []string{
		routeURL(route), routeURL("GET /nope"), "/route", "/route/diff?route=" + url.QueryEscape(route), routeURL(route) + "&format=reqagg",
		"/?trace_id=" + traceA, "/?trace_id=bad", "/p/by-trace/" + traceA, "/p/by-trace/bad", "/p/" + ids[0],
	} {
		r := do(t, u, "GET", target)
		if r.code != 404 || r.body != nf.Body.String() || r.h.Get("Location") != "" || r.h.Get("Content-Security-Policy") != "" {
			t.Errorf("unauthorized %s: %d %v %q", target, r.code, r.h, r.body)
		}
	}
}

// TestHistogram: the scale follows the spread of the durations; ticks
// are round and inside the axis.
func TestHistogram(t *testing.T) {
	metas := func(ds ...time.Duration) []store.Meta {
		var ms []store.Meta
		for i, d := range ds {
			ms = append(ms, store.Meta{ID: fmt.Sprint(i), Summary: store.Summary{Duration: d}})
		}
		return ms
	}
	narrow := buildHistogram(metas(10*time.Millisecond, 11*time.Millisecond, 12*time.Millisecond), nil, [3]time.Duration{})
	wide := buildHistogram(metas(time.Millisecond, 2*time.Millisecond, time.Second), nil, [3]time.Duration{})
	one := buildHistogram(metas(5*time.Millisecond), nil, [3]time.Duration{})
	if narrow.Log || !wide.Log || one.Log {
		t.Errorf("log scale: narrow %v, wide %v, one %v", narrow.Log, wide.Log, one.Log)
	}
	for name, h := range map[string]histogram{"narrow": narrow, "wide": wide, "one": one} {
		if len(h.Ticks) < 2 || len(h.Ticks) > 9 {
			t.Errorf("%s: %d ticks", name, len(h.Ticks))
		}
		n := 0
		for _, b := range h.Bars {
			n += b.Count
			if b.X < h.Left || b.X+b.W > h.W || b.Y < h.Top-0.01 || b.Y+b.H > h.Base+0.01 {
				t.Errorf("%s: bar %+v outside the plot", name, b)
			}
		}
		for _, tk := range h.Ticks {
			if tk.X < h.Left-0.01 || tk.X > h.W {
				t.Errorf("%s: tick %+v outside the axis", name, tk)
			}
		}
		if n == 0 {
			t.Errorf("%s: no bar", name)
		}
	}
	var labels []string
	for _, tk := range wide.Ticks {
		labels = append(labels, tk.Label)
	}
	if want := []string{text.Dur(1e6), text.Dur(1e7), text.Dur(1e8), text.Dur(1e9)}; !slices.Equal(labels, want) {
		t.Errorf("ticks of 1ms to 1s: %v, want %v", labels, want)
	}
}
