package html

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	stdhtml "html"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/internal/fixture"
	"github.com/reqprof/reqprof/internal/testprofile"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

const ms = int64(time.Millisecond)

// rendered is a report, split into its parts.
type rendered struct {
	html, meta, style, script, data string
	m                               decoded
}

// decoded is the JSON model as the script sees it.
type decoded struct {
	Version int `json:"version"`
	Meta    struct {
		Name       string      `json:"name"`
		Duration   int64       `json:"duration"`
		Goroutines int         `json:"goroutines"`
		Outsiders  int         `json:"outsiders"`
		Attrs      [][2]string `json:"attrs"`
	} `json:"meta"`
	Summary struct {
		Total int64 `json:"total"`
		Parts []struct {
			Code  int    `json:"code"`
			Label string `json:"label"`
			NS    int64  `json:"ns"`
		} `json:"parts"`
	} `json:"summary"`
	Kinds  []string `json:"kinds"`
	Frames [][]any  `json:"frames"`
	Views  []struct {
		Kind                                               string `json:"kind"`
		Total                                              int64  `json:"total"`
		Top                                                string `json:"top"`
		Merged, MergedNoGroup, TimeOrder, TimeOrderNoGroup *struct {
			F, D, C, H []int32
			T, S, U    []int64
			HL         [][]int32 `json:"hl"`
			Cut        int64
			Dropped    int
		}
	} `json:"views"`
	Top map[string]struct {
		Funcs, Waits, Regions, Via [][4]int64
	} `json:"top"`
	Timeline struct {
		Duration int64    `json:"duration"`
		Reasons  []string `json:"reasons"`
		Lanes    []struct {
			Name    string    `json:"name"`
			G       []int64   `json:"g"`
			N       int       `json:"n"`
			Member  bool      `json:"member"`
			S       []int64   `json:"s"`
			D       []int64   `json:"d"`
			K       []int16   `json:"k"`
			P       []int32   `json:"p"`
			B       int64     `json:"b"`
			Density [][]int64 `json:"density"`
		} `json:"lanes"`
		Paths struct {
			P, F []int32
		} `json:"paths"`
		Edges struct {
			K        []int8
			From, To []int32
			T        []int64
		} `json:"edges"`
		Critical struct {
			L    []int32
			S, E []int64
		} `json:"critical"`
		Regions struct {
			L    []int32
			S, E []int64
			F    []int32
		} `json:"regions"`
		Bucket int64 `json:"bucket"`
	} `json:"timeline"`
	Notes []string `json:"notes"`
}

var (
	metaCSP   = regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`)
	styleTag  = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	scriptTag = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	dataTag   = regexp.MustCompile(`(?s)<script type="application/json" id="reqprof-data">(.*?)</script>`)
)

func render1(t *testing.T, p *profile.Profile, o render.Options) rendered {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, p, o); err != nil {
		t.Fatal(err)
	}
	return parse(t, b.String())
}

func parse(t *testing.T, s string) rendered {
	t.Helper()
	pg := rendered{html: s}
	for _, x := range []struct {
		re  *regexp.Regexp
		out *string
	}{{metaCSP, &pg.meta}, {styleTag, &pg.style}, {scriptTag, &pg.script}, {dataTag, &pg.data}} {
		ms := x.re.FindAllStringSubmatch(s, -1)
		if len(ms) != 1 {
			t.Fatalf("%s: %d matches in the rendered", x.re, len(ms))
		}
		*x.out = ms[0][1]
	}
	if err := json.Unmarshal([]byte(pg.data), &pg.m); err != nil {
		t.Fatalf("the rendered's data: %v", err)
	}
	return pg
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

// TestSelfContained checks that the rendered carries everything inline, allows
// exactly its own inline script and style, and refers to nothing outside.
func TestSelfContained(t *testing.T) {
	pg := render1(t, testprofile.Handmade(), render.Options{})
	if sha(pg.script) != ScriptSrc() || sha(pg.style) != StyleSrc() {
		t.Errorf("hashes of the inline script and style (%s, %s) are not ScriptSrc, StyleSrc (%s, %s)", sha(pg.script), sha(pg.style), ScriptSrc(), StyleSrc())
	}
	csp := stdhtml.UnescapeString(pg.meta)
	for _, want := range []string{"default-src 'none'", "script-src " + ScriptSrc(), "style-src " + StyleSrc(), "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("meta CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("meta CSP %q allows unsafe sources", csp)
	}
	// Nothing the browser would fetch: no external scripts, styles, images,
	// fonts or requests from the script.
	// (The favicon is empty, so that browsers ask no server for one.)
	rest := strings.Replace(pg.html, `<link rel="icon" href="data:,">`, "", 1)
	for _, bad := range []string{"<link", " src=", "@import", "url(", "@font-face"} {
		if strings.Contains(rest, bad) {
			t.Errorf("the rendered holds %q", bad)
		}
	}
	for _, bad := range []string{"fetch(", "XMLHttpRequest", "WebSocket", "import(", "new Image", "sendBeacon", "innerHTML", "setAttribute(\"style\""} {
		if strings.Contains(pg.script, bad) {
			t.Errorf("report.js uses %q", bad)
		}
	}
	if strings.Contains(pg.data, "</") {
		t.Error(`the data block holds "</"`)
	}
	if pg.m.Version != modelVersion {
		t.Errorf("model version %d", pg.m.Version)
	}
}

// TestRegionNameCannotEscape renders a region whose name is markup: the
// rendered must still parse into exactly one data block.
func TestRegionNameCannotEscape(t *testing.T) {
	p := testprofile.Handmade()
	p.Regions[0].Type = `SQL: </script><script>alert(1)</script><!--`
	p.Name = `</title><script>alert(2)</script>`
	pg := render1(t, p, render.Options{})
	if strings.Contains(pg.html, "<script>alert") {
		t.Error("a region or profile name was written as markup")
	}
	if pg.m.Meta.Name != p.Name {
		t.Errorf("name %q", pg.m.Meta.Name)
	}
}

func (m *decoded) frame(i int32) (name string, kind string) {
	f := m.Frames[i]
	return f[0].(string), m.Kinds[int(f[3].(float64))]
}

func TestHandmadeModel(t *testing.T) {
	p := testprofile.Handmade()
	m := render1(t, p, render.Options{}).m
	if m.Meta.Name != "GET /orders" || m.Meta.Duration != 20*ms || m.Meta.Goroutines != 3 || m.Meta.Outsiders != 1 {
		t.Errorf("meta %+v", m.Meta)
	}
	// The critical path of Handmade's comment, by state: running 1–2 (the
	// outsider), 3–4, 6.1–7, 13–15 (goroutine 8), 16–20; unsampled 0–1;
	// runnable 6–6.1 and 7–7.5 (goroutine 8); syscall 2–3 (the outsider)
	// and 15–16; sleep 4–6; network 7.5–13.
	want := map[string]int64{
		"running": 8*ms + 900_000, "running, unsampled": 1 * ms, "runnable": 600_000, "syscall": 2 * ms,
		"waiting: sleep": 2 * ms, "waiting: network": 5*ms + 500_000,
	}
	got := map[string]int64{}
	var sum int64
	for _, pt := range m.Summary.Parts {
		got[pt.Label] = pt.NS
		sum += pt.NS
	}
	if sum != p.Duration || m.Summary.Total != p.Duration {
		t.Errorf("summary sums to %d of %d", sum, p.Duration)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("summary %s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("summary parts %v", got)
	}

	views := map[string]int{}
	for i, v := range m.Views {
		views[v.Kind] = i
	}
	crit := m.Views[views["critical"]]
	if crit.Total != p.Duration || crit.TimeOrder == nil || m.Views[views["all"]].TimeOrder != nil {
		t.Fatalf("critical view total %d, time order %v; all has time order %v", crit.Total, crit.TimeOrder != nil, m.Views[views["all"]].TimeOrder != nil)
	}
	// Every tree: children's totals never exceed their parent's, roots sum
	// to the view's total (nothing dropped in a small profile).
	for _, v := range m.Views {
		for name, tr := range map[string]*struct {
			F, D, C, H []int32
			T, S, U    []int64
			HL         [][]int32 `json:"hl"`
			Cut        int64
			Dropped    int
		}{"merged": v.Merged, "mergedNoGroup": v.MergedNoGroup, "timeOrder": v.TimeOrder, "timeOrderNoGroup": v.TimeOrderNoGroup} {
			if tr == nil {
				continue
			}
			if tr.Dropped != 0 {
				t.Errorf("%s/%s: %d nodes dropped", v.Kind, name, tr.Dropped)
			}
			var roots int64
			sums := make([]int64, len(tr.F))
			var stack []int
			for i := range tr.F {
				for len(stack) > int(tr.D[i]) {
					stack = stack[:len(stack)-1]
				}
				if len(stack) == 0 {
					roots += tr.T[i]
				} else {
					sums[stack[len(stack)-1]] += tr.T[i]
				}
				stack = append(stack, i)
			}
			for i := range tr.F {
				if sums[i]+tr.S[i] != tr.T[i] {
					n, _ := m.frame(tr.F[i])
					t.Errorf("%s/%s: node %d %q: children %d + self %d != total %d", v.Kind, name, i, n, sums[i], tr.S[i], tr.T[i])
				}
			}
			if v.Kind != "goroutines" && roots != v.Total {
				t.Errorf("%s/%s: roots sum to %d, view total %d", v.Kind, name, roots, v.Total)
			}
		}
	}
	// The critical path's merged tree: the waker outside the work, the SQL
	// region, the wait reasons, the unsampled running time under
	// main.authorize, and database/sql's frames folded.
	tr := crit.Merged
	seen := map[string]string{}
	unsampledUnder := ""
	var path []string
	for i := range tr.F {
		n, k := m.frame(tr.F[i])
		path = append(path[:tr.D[i]], n)
		seen[n] = k
		if k == "unsampled" {
			unsampledUnder = path[len(path)-2]
			if tr.T[i] != 1*ms {
				t.Errorf("[unsampled] under %s: %d", unsampledUnder, tr.T[i])
			}
		}
		if n == "database/sql.(*DB).QueryContext" {
			if tr.H[i] < 0 {
				t.Error("QueryContext hides no frames")
			} else if hl := tr.HL[tr.H[i]]; hl[0] != 1 || len(hl) != 2 {
				t.Errorf("QueryContext hides %v", hl)
			} else if hn, _ := m.frame(hl[1]); hn != "net.(*conn).Read" {
				t.Errorf("QueryContext hides %s", hn)
			}
		}
	}
	for n, k := range map[string]string{
		"[via goroutine 50: main.cacheRefresher]": "via", "[via goroutine 8: main.fetch]": "via",
		"SQL: SELECT id; name\nFROM orders": "sql", "[wait: network]": "wait", "[wait: sleep]": "wait",
		"[syscall]": "syscall", "[runnable]": "runnable", "main.handler": "user", "database/sql.(*DB).QueryContext": "lib",
		"GET /orders": "root",
	} {
		if seen[n] != k {
			t.Errorf("critical tree: %q is %q, want %q", n, seen[n], k)
		}
	}
	if _, ok := seen["net.(*conn).Read"]; ok {
		t.Error("grouped tree shows net.(*conn).Read")
	}
	if unsampledUnder != "main.authorize" {
		t.Errorf("[unsampled] under %q, want main.authorize", unsampledUnder)
	}

	// Top of the critical path: main.handler's total once however often it
	// appears; the waits by reason.
	top := m.Top["critical"]
	find := func(rows [][4]int64, name string) [4]int64 {
		for _, r := range rows {
			if n, _ := m.frame(int32(r[0])); n == name {
				return r
			}
		}
		t.Errorf("top: no row %q", name)
		return [4]int64{}
	}
	// main.handler is every root stack's outermost frame, at two lines: the
	// whole 20 ms, the goroutines that explain its waits nested under it.
	if r := find(top.Funcs, "main.handler"); r[2] != 20*ms || r[1] != 0 {
		t.Errorf("main.handler: self %d, total %d", r[1], r[2])
	}
	if r := find(top.Funcs, "main.render"); r[1] != 4*ms || r[2] != 5*ms {
		t.Errorf("main.render: self %d, total %d", r[1], r[2])
	}
	if r := find(top.Waits, "[wait: network]"); r[2] != 5*ms+500_000 || r[3] != 1 {
		t.Errorf("network waits %v", r)
	}
	// Goroutine 8's region (7.5–13 ms) lies inside the wait it explains.
	if r := find(top.Regions, "SQL: SELECT id; name\nFROM orders"); r[2] != 5*ms+500_000 || r[3] != 1 {
		t.Errorf("SQL region %v", r)
	}

	// Timeline: the root, goroutines 7 and 8, the outsider 50; spawns 1→7,
	// 1→8; wake-ups 50→1 at 3 ms and 8→1 at 15 ms; the critical path hops
	// 1, 50, 1, 8, 1.
	tl := m.Timeline
	var lanes []int64
	for _, l := range tl.Lanes {
		lanes = append(lanes, l.G[0])
		if l.N != 1 || len(l.S) == 0 {
			t.Errorf("lane %q: n %d, %d spans", l.Name, l.N, len(l.S))
		}
	}
	if !slices.Equal(lanes, []int64{1, 7, 8, 50}) || tl.Lanes[3].Member {
		t.Errorf("lanes %v", lanes)
	}
	var edges []string
	for i := range tl.Edges.K {
		edges = append(edges, strings.Join([]string{[]string{"spawn", "wake"}[tl.Edges.K[i]], string(rune('0' + tl.Edges.From[i])), string(rune('0' + tl.Edges.To[i])), time.Duration(tl.Edges.T[i]).String()}, " "))
	}
	slices.Sort(edges)
	if want := []string{"spawn 0 1 7ms", "spawn 0 2 7ms", "wake 2 0 15ms", "wake 3 0 3ms"}; !slices.Equal(edges, want) {
		t.Errorf("edges %q, want %q", edges, want)
	}
	var hops []int32
	for _, l := range tl.Critical.L {
		if len(hops) == 0 || hops[len(hops)-1] != l {
			hops = append(hops, l)
		}
	}
	if !slices.Equal(hops, []int32{0, 3, 0, 2, 0}) {
		t.Errorf("critical path lanes %v", hops)
	}
	// Spans cover each goroutine's life; a span's path ends in its state.
	g8 := tl.Lanes[2]
	var covered int64
	for i := range g8.S {
		covered += g8.D[i]
		var last int32
		for q := g8.P[i]; q > 0; q = tl.Paths.P[q] {
			if last == 0 {
				last = tl.Paths.F[q]
			}
		}
		n, _ := m.frame(last)
		if g8.K[i] >= 4 && n != "[wait: "+tl.Reasons[g8.K[i]-4]+"]" {
			t.Errorf("goroutine 8's waiting span ends in %q", n)
		}
	}
	if covered != 8*ms {
		t.Errorf("goroutine 8's spans cover %d", covered)
	}
	if len(tl.Regions.L) != 1 || tl.Regions.L[0] != 2 || tl.Regions.E[0]-tl.Regions.S[0] != 5*ms+500_000 {
		t.Errorf("regions %+v", tl.Regions)
	}
	if len(m.Notes) != 0 {
		t.Errorf("notes on a small profile: %q", m.Notes)
	}
}

func TestEmptyAndViews(t *testing.T) {
	m := render1(t, testprofile.Empty(), render.Options{}).m
	if len(m.Timeline.Lanes) != 0 || len(m.Summary.Parts) != 0 || len(m.Views) != 3 {
		t.Errorf("empty profile: %d lanes, %d parts, %d views", len(m.Timeline.Lanes), len(m.Summary.Parts), len(m.Views))
	}
	var b bytes.Buffer
	if err := Render(&b, testprofile.Handmade(), render.Options{View: "nope"}); err == nil {
		t.Error("an unknown view rendered")
	}
	pg := render1(t, testprofile.Handmade(), render.Options{View: view.Goroutines, NoGroup: true, Threshold: 0.01})
	if !strings.Contains(pg.data, `"initial":{"view":"goroutines","noGroup":true,"timeOrder":false,"threshold":0.01}`) {
		t.Errorf("initial state not the options': %s", pg.data[strings.Index(pg.data, `"initial"`):][:90])
	}
}

// TestOneGoroutineSharesTrees renders a one-goroutine profile, whose three
// views are the same time: the trees are built once and must be those
// each view would build on its own.
func TestOneGoroutineSharesTrees(t *testing.T) {
	p := fixture.Regions(300)
	m := render1(t, p, render.Options{}).m
	user := render.Options{}.UserCode(p)
	cp, pg, all := view.CriticalPath(p), view.PerGoroutine(p)[0], view.AllGoroutines(p)
	names := []string{p.Name, pg.Name, all.Name}
	for i, segs := range [][]view.Segment{cp.Segments, pg.Segments, all.Segments} {
		ft := &frameTable{user: user, idx: map[frame]int32{}}
		want := ft.encode(grouped(buildTrees([]rootSegs{{"x", [][]view.Segment{segs}}}, false), user, true), true)
		got := m.Views[i].Merged
		if !slices.Equal(got.T, want.T) || !slices.Equal(got.S, want.S) || !slices.Equal(got.D, want.D) || !slices.Equal(got.U, want.U) || !slices.Equal(got.C, want.C) {
			t.Errorf("%s view: totals %v, want %v", m.Views[i].Kind, got.T, want.T)
		}
		if name, kind := m.frame(got.F[0]); kind != "root" || name != names[i] {
			t.Errorf("%s view: root %q (%s)", m.Views[i].Kind, name, kind)
		}
	}
}
