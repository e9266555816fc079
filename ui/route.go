package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/diff"
	"github.com/reqprof/reqprof/render/formats"
	"github.com/reqprof/reqprof/render/html"
	"github.com/reqprof/reqprof/render/text"
	"github.com/reqprof/reqprof/store"
)

// DefaultMaxMerge is Config.MaxMerge's default.
const DefaultMaxMerge = 500

// maxRouteShown bounds how much of a route name a page repeats (a route
// that matches nothing can be any query string).
const maxRouteShown = 200

// routeMetas returns the stored profiles of a route (as rowOf names
// routes), newest first.
func (u *ui) routeMetas(ctx context.Context, route string) ([]store.Meta, error) {
	ms, err := u.cfg.Store.List(ctx, store.Filter{})
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		if rowOf(m).Route == route {
			out = append(out, m)
		}
	}
	return out, nil
}

// routeOf reads the route of a route page's request, answering 400 for a
// request without one and a 404 page for a route without profiles. It
// returns the route's profiles, newest first.
func (u *ui) routeOf(w http.ResponseWriter, r *http.Request, base string) (string, []store.Meta, bool) {
	route := r.URL.Query().Get("route")
	if route == "" {
		http.Error(w, "reqprof: missing route: use ?route=METHOD+/pattern, as the list names routes", http.StatusBadRequest)
		return "", nil, false
	}
	ms, err := u.routeMetas(r.Context(), route)
	if err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return "", nil, false
	}
	if len(ms) == 0 {
		u.message(w, http.StatusNotFound, base, "No such route", "No stored profile of the route "+shorten(route)+".")
		return "", nil, false
	}
	return route, ms, true
}

// shorten cuts s to maxRouteShown bytes, for messages.
func shorten(s string) string {
	if len(s) <= maxRouteShown {
		return s
	}
	return strings.ToValidUTF8(s[:maxRouteShown], "") + "…"
}

type messagePage struct {
	Base, Title, Text string
}

// message writes a short page of the UI's with a status.
func (u *ui) message(w http.ResponseWriter, status int, base, title, msg string) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, "message.html", messagePage{Base: base, Title: title, Text: msg}); err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// merged is the merge of a route's newest profiles.
type merged struct {
	agg        *aggregate.Aggregate
	ids        map[string]bool // the profiles merged
	unreadable int             // profiles listed but not read (removed since, corrupt)
}

// merge merges the profiles of ms into one aggregate named name, reading
// each from the store. Profiles that cannot be read are counted, not
// fatal: retention may remove one while the page is made.
func (u *ui) merge(ctx context.Context, ms []store.Meta, name string) (merged, error) {
	mg := aggregate.NewMerger(aggregate.Options{})
	out := merged{ids: map[string]bool{}}
	for _, m := range ms {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		p, _, err := u.cfg.Store.Get(ctx, m.ID)
		if err == nil {
			err = mg.AddProfile(p, m.ID)
		}
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			out.unreadable++
			continue
		}
		out.ids[m.ID] = true
	}
	out.agg = mg.Aggregate()
	out.agg.Name = name
	return out, nil
}

// capped returns the newest MaxMerge of ms (newest first).
func (u *ui) capped(ms []store.Meta) []store.Meta {
	n := u.cfg.MaxMerge
	if n <= 0 {
		n = DefaultMaxMerge
	}
	return ms[:min(len(ms), n)]
}

// routeNav is the navigation of the route's pages.
type routeNav struct {
	Base, Route, On string
	Downloads       []download
}

type download struct {
	Format, Extension string
}

// mergedFormats are the downloads of a route's merged profile: the
// formats that draw stack sets, and the aggregate file.
func mergedFormats() []download {
	var ds []download
	for _, f := range formats.All() {
		if f.Takes() == render.Stacks {
			ds = append(ds, download{string(f), f.Extension()})
		}
	}
	return append(ds, download{aggFormat, aggregate.Extension})
}

// aggFormat is the aggregate file's name in ?format= (as the command line
// names it).
const aggFormat = "reqagg"

// routePage is the route page's own part, above the merged report.
type routePage struct {
	Route                   string
	Stored, Merged, Cap     int
	Unreadable              int
	Oldest                  time.Time // the oldest profile merged
	P50, P90, P99, Min, Max time.Duration
	Reasons                 []reasonCount
	Hist                    histogram
	Rows                    []row
	HasTrace                bool
	SlowTypical             bool
	NeedForDiff             int
}

type reasonCount struct {
	Reason, Color string
	Count         int
}

// route is the route page: the latency distribution of the route's
// stored profiles, the merged profile of the newest MaxMerge of them as
// the HTML report's tree and flame graph, the way to slow vs typical, and
// every profile of the route.
func (u *ui) route(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var dl string
	if s := q.Get("format"); s != "" {
		if !slices.ContainsFunc(mergedFormats(), func(d download) bool { return d.Format == strings.ToLower(strings.TrimSpace(s)) }) {
			names := []string{}
			for _, d := range mergedFormats() {
				names = append(names, d.Format)
			}
			http.Error(w, fmt.Sprintf("reqprof: a route's merged profile is downloadable as %s, not %q", strings.Join(names, ", "), shorten(s)), http.StatusBadRequest)
			return
		}
		dl = strings.ToLower(strings.TrimSpace(s))
	}
	route, ms, ok := u.routeOf(w, r, "./")
	if !ok {
		return
	}
	cms := u.capped(ms)
	mg, err := u.merge(r.Context(), cms, route)
	if err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if dl != "" {
		u.downloadMerged(w, mg.agg, dl)
		return
	}
	pg := routePage{Route: route, Stored: len(ms), Merged: mg.agg.N(), Cap: len(cms), Unreadable: mg.unreadable, NeedForDiff: 10}
	if len(cms) > 0 {
		pg.Oldest = cms[len(cms)-1].Time
	}
	ds := make([]int64, len(ms))
	for i, m := range ms {
		ds[i] = int64(m.Duration)
	}
	slices.Sort(ds)
	pct := func(q float64) time.Duration { return time.Duration(aggregate.Percentile(ds, q)) }
	pg.P50, pg.P90, pg.P99, pg.Min, pg.Max = pct(0.5), pct(0.9), pct(0.99), time.Duration(ds[0]), time.Duration(ds[len(ds)-1])
	counts := map[string]int{}
	for _, m := range ms {
		rw := rowOf(m)
		pg.Rows = append(pg.Rows, rw)
		counts[reasonClass(rw.Reason)]++
		pg.HasTrace = pg.HasTrace || rw.TraceID != ""
	}
	for _, rc := range reasonClasses {
		if n := counts[rc.Reason]; n > 0 {
			pg.Reasons = append(pg.Reasons, reasonCount{rc.Reason, rc.Color, n})
		}
	}
	// The slowest first: the table is where the tail is looked at.
	slices.SortStableFunc(pg.Rows, func(a, b row) int { return cmp(b.Duration, a.Duration) })
	typical, _ := aggregate.SlowAndTypical(durations(cms))
	pg.SlowTypical = len(typical) > 0
	pg.Hist = buildHistogram(ms, mg.ids, [3]time.Duration{pg.P50, pg.P90, pg.P99})

	var nav, intro bytes.Buffer
	if err := templates.ExecuteTemplate(&nav, "route-nav", routeNav{Base: "./", Route: route, On: "route", Downloads: mergedFormats()}); err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if err := templates.ExecuteTemplate(&intro, "route-intro", pg); err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	err = html.RenderStacks(&b, mg.agg.StackSet(), render.Options{}, html.Page{Nav: template.HTML(nav.String()), Intro: template.HTML(intro.String())})
	if err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	allowReport(w.Header())
	w.Header().Set("Content-Type", html.ContentType)
	w.Write(b.Bytes())
}

func durations(ms []store.Meta) []int64 {
	ds := make([]int64, len(ms))
	for i, m := range ms {
		ds[i] = int64(m.Duration)
	}
	return ds
}

// downloadMerged writes a route's merged profile in format f (one of
// mergedFormats), rendered fully before the first byte.
func (u *ui) downloadMerged(w http.ResponseWriter, a *aggregate.Aggregate, f string) {
	var b bytes.Buffer
	var err error
	ct, ext := "application/octet-stream", aggregate.Extension
	if f == aggFormat {
		err = a.Encode(&b)
	} else {
		rf := render.Format(f)
		ct, ext = rf.ContentType(), rf.Extension()
		err = render.WriteStacks(&b, a.StackSet(), rf, render.Options{})
	}
	if err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "route-merged"+ext))
	w.Write(b.Bytes())
}

// routeDiff is "slow vs typical": the route's requests at or above the
// 90th percentile of duration against those between the 40th and 60th
// (among the newest MaxMerge), as render/diff's differential flame graph
// and tree, or a page saying why there are too few.
func (u *ui) routeDiff(w http.ResponseWriter, r *http.Request) {
	route, ms, ok := u.routeOf(w, r, "../")
	if !ok {
		return
	}
	cms := u.capped(ms)
	ti, si := aggregate.SlowAndTypical(durations(cms))
	if len(ti) == 0 || len(si) == 0 {
		u.message(w, http.StatusOK, "../", "Slow vs typical: too few profiles",
			fmt.Sprintf("Slow vs typical compares the requests at or above the 90th percentile of duration with those around the median (40th to 60th): it needs at least 10 profiles of the route, and %s has %d.", shorten(route), len(ms)))
		return
	}
	pick := func(idx []int) []store.Meta {
		out := make([]store.Meta, len(idx))
		for i, j := range idx {
			out[i] = cms[j]
		}
		return out
	}
	typical, err := u.merge(r.Context(), pick(ti), route+" (typical: p40–p60)")
	if err == nil {
		var slow merged
		slow, err = u.merge(r.Context(), pick(si), route+" (slow: p90+)")
		if err == nil {
			if typical.agg.N() == 0 || slow.agg.N() == 0 {
				u.message(w, http.StatusOK, "../", "Slow vs typical: profiles unreadable", "The profiles picked for slow vs typical could not be read (removed by retention meanwhile?): reload the page.")
				return
			}
			var d *aggregate.Diff
			if d, err = aggregate.Compare(typical.agg, slow.agg, aggregate.DiffOptions{}); err == nil {
				var nav bytes.Buffer
				if err = templates.ExecuteTemplate(&nav, "route-nav", routeNav{Base: "../", Route: route, On: "diff"}); err == nil {
					var b bytes.Buffer
					if err = diff.HTMLPage(&b, d, diff.Page{Nav: template.HTML(nav.String())}); err == nil {
						allowDiff(w.Header())
						w.Header().Set("Content-Type", diff.HTMLContentType)
						w.Write(b.Bytes())
						return
					}
				}
			}
		}
	}
	status := http.StatusInternalServerError
	if r.Context().Err() != nil {
		status = http.StatusServiceUnavailable
	}
	http.Error(w, "reqprof: "+err.Error(), status)
}

// allowDiff adds the diff page's inline script and style to the CSP.
func allowDiff(h http.Header) { allow(h, diff.ScriptSrc(), diff.StyleSrc()) }

// Reason classes of the route page, in the order shown, with their
// colours (the histogram's and the legend's).
var reasonClasses = []reasonCount{
	{Reason: profile.ReasonRequested, Color: "#4e79a7"},
	{Reason: profile.ReasonSampled, Color: "#59a14f"},
	{Reason: profile.ReasonSlow, Color: "#e15759"},
	{Reason: "other", Color: "#9aa1ad"},
}

func reasonClass(reason string) string {
	switch reason {
	case profile.ReasonRequested, profile.ReasonSampled, profile.ReasonSlow:
		return reason
	}
	return "other"
}

func reasonColor(reason string) string {
	c := reasonClass(reason)
	for _, rc := range reasonClasses {
		if rc.Reason == c {
			return rc.Color
		}
	}
	return "#9aa1ad"
}

// histogram is the route page's latency distribution, laid out in SVG
// user units (the page draws it with presentation attributes only).
type histogram struct {
	W, H, Left, Base, Top float64
	Log                   bool
	Bars                  []histBar
	Marks                 []histMark
	Ticks                 []histTick
	YMax                  int
	Strip                 []histTick // one per profile merged
	StripY                float64
	Label                 string
}

type histBar struct {
	X, Y, W, H float64
	Fill       string
	Reason     string
	Count      int
	Title      string
}

type histMark struct {
	X, LabelY float64
	// Anchor and DX place the label right of the line, or left of it
	// near the right edge.
	Anchor string
	DX     float64
	Label  string
	Q      string
	NS     int64
}

type histTick struct {
	X     float64
	Label string
	ID    string
	Fill  string
}

const histBins = 40

// buildHistogram lays out the durations of ms: bars stacked by reason,
// on a log scale when the durations span more than 20×, the percentiles
// marked, and a strip with one link per merged profile.
func buildHistogram(ms []store.Meta, mergedIDs map[string]bool, ps [3]time.Duration) histogram {
	h := histogram{W: 900, H: 190, Left: 44, Top: 46}
	h.Base = h.H - 46
	h.StripY = h.Base + 5
	right := h.W - 12
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, m := range ms {
		lo, hi = min(lo, int64(m.Duration)), max(hi, int64(m.Duration))
	}
	var x0, x1 float64
	if lo > 0 && hi >= 20*lo {
		h.Log = true
		x0, x1 = math.Log(float64(lo)/1.1), math.Log(float64(hi)*1.1)
	} else {
		x0, x1 = 0, float64(hi)*1.05
		if x1 <= 0 {
			x1 = 1
		}
	}
	scale := func(ns int64) float64 {
		v := float64(ns)
		if h.Log {
			v = math.Log(max(v, 1))
		}
		return (v - x0) / (x1 - x0)
	}
	xOf := func(ns int64) float64 { return h.Left + scale(ns)*(right-h.Left) }
	// Bins equal in the scale's space.
	bw := (right - h.Left) / histBins
	bins := make([]map[string]int, histBins)
	binOf := func(ns int64) int { return min(max(int(scale(ns)*histBins), 0), histBins-1) }
	for _, m := range ms {
		b := binOf(int64(m.Duration))
		if bins[b] == nil {
			bins[b] = map[string]int{}
		}
		bins[b][reasonClass(m.Label(profile.AttrReason))]++
	}
	binNS := func(i int) int64 {
		v := x0 + float64(i)/histBins*(x1-x0)
		if h.Log {
			return int64(math.Exp(v))
		}
		return int64(v)
	}
	for _, b := range bins {
		n := 0
		for _, c := range b {
			n += c
		}
		h.YMax = max(h.YMax, n)
	}
	height := h.Base - h.Top
	for i, b := range bins {
		y := h.Base
		total := 0
		for _, c := range b {
			total += c
		}
		for _, rc := range reasonClasses {
			c := b[rc.Reason]
			if c == 0 {
				continue
			}
			bh := height * float64(c) / float64(h.YMax)
			y -= bh
			h.Bars = append(h.Bars, histBar{
				X: h.Left + float64(i)*bw + 0.5, Y: y, W: bw - 1, H: bh, Fill: rc.Color, Reason: rc.Reason, Count: c,
				Title: fmt.Sprintf("%s – %s: %d of %d %s", text.Dur(binNS(i)), text.Dur(binNS(i+1)), c, total, rc.Reason),
			})
		}
	}
	// Percentile marks, their labels on three rows so that close ones
	// stay legible.
	for i, q := range []string{"p50", "p90", "p99"} {
		mk := histMark{X: xOf(int64(ps[i])), LabelY: 12 + 11*float64(i), Label: q + " " + text.Dur(int64(ps[i])), Q: q, NS: int64(ps[i]), Anchor: "start", DX: 3}
		if mk.X > h.W-100 {
			mk.Anchor, mk.DX = "end", -3
		}
		h.Marks = append(h.Marks, mk)
	}
	for _, v := range ticks(x0, x1, h.Log) {
		h.Ticks = append(h.Ticks, histTick{X: xOf(v), Label: text.Dur(v)})
	}
	for _, m := range ms {
		if mergedIDs[m.ID] {
			h.Strip = append(h.Strip, histTick{X: xOf(int64(m.Duration)), ID: m.ID, Fill: reasonColor(m.Label(profile.AttrReason)),
				Label: fmt.Sprintf("%s, %s (%s)", text.Dur(int64(m.Duration)), m.Time.Local().Format("2006-01-02 15:04:05"), m.Label(profile.AttrReason))})
		}
	}
	scaleName := "linear"
	if h.Log {
		scaleName = "logarithmic"
	}
	h.Label = fmt.Sprintf("Latency histogram of %d profiles (%s scale): p50 %s, p90 %s, p99 %s", len(ms), scaleName, text.Dur(int64(ps[0])), text.Dur(int64(ps[1])), text.Dur(int64(ps[2])))
	return h
}

// ticks returns round durations between two scale values: 1, 2, 5 × 10^k
// nanoseconds on either scale, about five of them.
func ticks(x0, x1 float64, log bool) []int64 {
	lo, hi := x0, x1
	if log {
		lo, hi = math.Exp(x0), math.Exp(x1)
	}
	lo = max(lo, 0)
	var out []int64
	if log {
		for e := math.Floor(math.Log10(max(lo, 1))); e <= math.Ceil(math.Log10(max(hi, 1))); e++ {
			for _, m := range []float64{1, 2, 5} {
				if v := m * math.Pow(10, e); v >= lo && v <= hi {
					out = append(out, int64(v))
				}
			}
		}
		if len(out) > 8 { // many decades: the powers of ten only
			out = slices.DeleteFunc(out, func(v int64) bool { return !isPow10(v) })
		}
		return out
	}
	step := math.Pow(10, math.Floor(math.Log10(max((hi-lo)/5, 1))))
	for _, m := range []float64{1, 2, 5, 10} {
		if (hi-lo)/(m*step) <= 6 {
			step *= m
			break
		}
	}
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		out = append(out, int64(v))
	}
	return out
}

func isPow10(v int64) bool {
	for v >= 10 && v%10 == 0 {
		v /= 10
	}
	return v == 1
}

// traceID checks a trace id given by a user: 32 hexadecimal digits, not
// all zero (W3C Trace Context's invalid id), returned in lowercase, as
// contrib/otel records it.
func traceID(s string) (string, error) {
	if len(s) != 32 {
		return "", errors.New("a trace id is 32 hexadecimal digits")
	}
	s = strings.ToLower(s)
	zero := true
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", errors.New("a trace id is 32 hexadecimal digits")
		}
		zero = zero && c == '0'
	}
	if zero {
		return "", errors.New("the all-zero trace id is invalid")
	}
	return s, nil
}

// byTrace sends to the profile of a trace: to it when there is one, to
// the list filtered by the trace when there are several, a 404 page when
// none.
func (u *ui) byTrace(w http.ResponseWriter, r *http.Request) {
	id, err := traceID(r.PathValue("traceid"))
	if err != nil {
		http.Error(w, "reqprof: invalid trace id: "+err.Error(), http.StatusBadRequest)
		return
	}
	ms, err := u.cfg.Store.List(r.Context(), store.Filter{Labels: map[string]string{profile.AttrTraceID: id}})
	if err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	// Relative to the request's own URL, wherever the UI is mounted.
	switch len(ms) {
	case 0:
		u.message(w, http.StatusNotFound, "../../", "No such trace", "No stored profile of trace "+id+".")
		return
	case 1:
		w.Header().Set("Location", "../"+ms[0].ID)
	default:
		w.Header().Set("Location", "../../?trace_id="+id)
	}
	w.WriteHeader(http.StatusSeeOther)
}
