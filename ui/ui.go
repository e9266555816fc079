// Package ui is reqprof's profiles UI: a mountable sub-router over a
// [store.Store] and the format registry. It lists the stored profiles
// (filter by route or trace id, sort, each with a bar of how its time
// divides between CPU and waiting), shows one as the HTML report (package
// render/html, with the UI's navigation around it), serves every format
// as a download, and deletes profiles. The list works without JavaScript;
// without it the report falls back to the text tree.
//
// Each route has a page of its own, route?route=METHOD+/pattern (the
// list's route column links to it): the latency distribution of its stored
// profiles by why they were taken (requested, sampled, slow) with p50, p90
// and p99 marked, the merged profile of its newest [Config.MaxMerge]
// profiles as the report's call tree and flame graph (render/html's
// RenderStacks), a link to every profile, and route/diff?route=..., what
// its slow requests (p90 and above) do differently from its typical ones
// (p40 to p60) as render/diff's differential flame graph.
//
// Profiles made inside an OpenTelemetry span carry its trace id
// ([profile.AttrTraceID]): the list shows it, ?trace_id=<32 hex digits>
// lists a trace's profiles, and p/by-trace/<trace id> leads to them.
//
// Mount it under a prefix with http.StripPrefix:
//
//	mux.Handle("/debug/reqprof/", http.StripPrefix("/debug/reqprof", ui.New(ui.Config{
//		Store:     st,
//		Authorize: httpprof.LoopbackOnly,
//	})))
//
// Every page carries no-store, no-framing and CSP headers (the report's
// page adds the hashes of its inline script and style); state changes
// (delete) are refused when a browser sends them on behalf of another site;
// an unauthorized client gets a plain 404, as if nothing were there.
package ui

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reqprof/reqprof/internal/httpsec"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/formats"
	"github.com/reqprof/reqprof/render/html"
	"github.com/reqprof/reqprof/render/text"
	"github.com/reqprof/reqprof/store"
	"github.com/reqprof/reqprof/view"
)

//go:embed *.html *.css
var files embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"dur":  func(d time.Duration) string { return text.Dur(int64(d)) },
	"time": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05.000") },
	// short is the beginning of an id, for a narrow column.
	"short": func(s string) string {
		if len(s) <= 8 {
			return s
		}
		return strings.ToValidUTF8(s[:8], "") + "…"
	},
	"f1": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
}).ParseFS(files, "*.html"))

// pendingWait bounds how long a request for a profile still being
// extracted waits for it before the answer says to retry.
var pendingWait = 10 * time.Second

// Pending is what the UI asks of the code that makes profiles (serve.Core
// implements it): wait for a profile still being extracted, and why one was
// not stored.
type Pending interface {
	Wait(done <-chan struct{}, id string)
	NotStored(id string) string
}

// Config configures the UI.
type Config struct {
	// Store holds the profiles shown. Required.
	Store store.Store
	// Authorize decides who may see the UI. Required: use
	// httpprof.LoopbackOnly or httpprof.TokenAuth.
	Authorize func(*http.Request) bool
	// Pending, when set, lets a page wait for a profile being extracted
	// and say why a profile was not stored.
	Pending Pending
	// DefaultFormat is the format offered first for downloads (default
	// speedscope).
	DefaultFormat formats.Format
	// MaxMerge bounds the profiles a route's page reads and merges: its
	// newest (default DefaultMaxMerge). The page says when it merged
	// fewer than the route has.
	MaxMerge int
}

type ui struct {
	cfg Config
}

// New returns the UI. It panics without a Store or Authorize (a setup
// mistake, not a serving one).
func New(cfg Config) http.Handler {
	if cfg.Store == nil || cfg.Authorize == nil {
		panic("ui: Config.Store and Config.Authorize are required")
	}
	if cfg.DefaultFormat == "" {
		cfg.DefaultFormat = formats.Speedscope
	}
	u := &ui{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", u.list)
	mux.HandleFunc("GET /style.css", u.css)
	mux.HandleFunc("GET /p/{id}", u.profile)
	mux.HandleFunc("GET /p/by-trace/{traceid}", u.byTrace)
	mux.HandleFunc("GET /route", u.route)
	mux.HandleFunc("GET /route/diff", u.routeDiff)
	mux.HandleFunc("DELETE /p/{id}", u.delete)
	mux.HandleFunc("POST /p/{id}/delete", u.delete)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cfg.Authorize(r) {
			http.NotFound(w, r)
			return
		}
		// A path the mux would clean ("//p/ID") would be redirected out of
		// the prefix the UI is mounted under.
		if p := r.URL.Path; p == "" || p != path.Clean(p) && p != path.Clean(p)+"/" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && httpsec.CrossSite(r) {
			http.Error(w, "reqprof: cross-site request refused", http.StatusForbidden)
			return
		}
		httpsec.SetPageHeaders(w.Header())
		mux.ServeHTTP(w, r)
	})
}

// formats lists the formats for downloads, the default first.
func (u *ui) formats() []formats.Format {
	fs := []formats.Format{u.cfg.DefaultFormat}
	for _, f := range formats.All() {
		if f != u.cfg.DefaultFormat {
			fs = append(fs, f)
		}
	}
	return fs
}

func (u *ui) css(w http.ResponseWriter, r *http.Request) {
	b, _ := files.ReadFile("style.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write(b)
}

// row is a list entry: everything the list shows of one profile. rowOf is
// the one place that reads store.Meta's summary fields.
type row struct {
	ID         string
	Time       time.Time
	Method     string
	Path       string
	Route      string // "METHOD /pattern": the filter's key
	Status     int
	Panic      bool
	Duration   time.Duration
	Goroutines int
	Reason     string
	TraceID    string // the OpenTelemetry trace the work ran in
	Split      []splitPart
	// Sampled is the share of the running time that CPU samples observed
	// (the rest is inferred), from 0 to 1; meaningless without CPU time.
	Sampled float64
	// Overhead and OverheadBefore are the profiler's own cost, inside the
	// window (part of Duration) and before it (not part of it).
	Overhead, OverheadBefore time.Duration
}

// splitPart is one part of a row's bar: its share of the duration.
type splitPart struct {
	Class, Label string
	Dur          time.Duration
	Share        float64
	X, W         string // SVG percentages
	Note         string // said after the duration: "34% sampled"
}

// SplitText is the bar's text: "45% CPU (34% sampled) · 53% waiting".
func (r row) SplitText() string {
	var ps []string
	for _, p := range r.Split {
		if p.Share >= 0.005 || p.Class == "s-run" || p.Class == "s-wait" {
			s := fmt.Sprintf("%.0f%% %s", 100*p.Share, p.Label)
			if p.Note != "" {
				s += " (" + p.Note + ")"
			}
			ps = append(ps, s)
		}
	}
	return strings.Join(ps, " · ")
}

// Cost is the profiler's own cost, short: "reqprof 1.2ms · 10µs" (before
// the window · inside it), or "" when the profile records none.
func (r row) Cost() string {
	if r.Overhead <= 0 && r.OverheadBefore <= 0 {
		return ""
	}
	return "reqprof " + text.Dur(int64(r.OverheadBefore)) + " · " + text.Dur(int64(r.Overhead))
}

// CostTitle says what Cost's two numbers are.
func (r row) CostTitle() string {
	return fmt.Sprintf("reqprof's own cost: %s before the window (starting the recorder, admission: the client waited this much longer than the duration), %s inside it ([reqprof], part of the duration)",
		text.Dur(int64(r.OverheadBefore)), text.Dur(int64(r.Overhead)))
}

func rowOf(m store.Meta) row {
	status, _ := strconv.Atoi(m.Label(profile.AttrStatus))
	path := m.Name
	if u := m.Label(profile.AttrURL); u != "" {
		path, _, _ = strings.Cut(u, "?")
	}
	method := m.Label(profile.AttrMethod)
	r := row{
		ID: m.ID, Time: m.Time, Method: method, Path: path, Status: status, Panic: m.Label(profile.AttrPanic) != "",
		Duration: m.Duration, Goroutines: m.Goroutines, Reason: m.Label(profile.AttrReason), TraceID: m.Label(profile.AttrTraceID),
		Route:    routeKey(method, m.Label(profile.AttrRoute), path),
		Overhead: m.Overhead, OverheadBefore: m.OverheadBefore,
	}
	// The critical path's split (view.Summary) as the store keeps it, by
	// state, as in the report's header (which also tells waits by reason),
	// with the share of the running time CPU samples observed.
	cpuNote := ""
	if m.CPU > 0 {
		r.Sampled = float64(m.CPU-m.CPUInferred) / float64(m.CPU)
		cpuNote = fmt.Sprintf("%.0f%% sampled", 100*r.Sampled)
	}
	parts := []splitPart{
		{Class: "s-run", Label: "CPU", Dur: m.CPU, Note: cpuNote},
		{Class: "s-wait", Label: "waiting", Dur: m.Waiting},
		{Class: "s-runnable", Label: "runnable", Dur: m.Runnable},
		{Class: "s-syscall", Label: "syscall", Dur: m.Syscall},
	}
	x := 0.0
	for _, p := range parts {
		if p.Dur <= 0 || m.Duration <= 0 {
			continue
		}
		p.Share = float64(p.Dur) / float64(m.Duration)
		p.X, p.W = fmt.Sprintf("%.2f", 100*x), fmt.Sprintf("%.2f", 100*p.Share)
		x += p.Share
		r.Split = append(r.Split, p)
	}
	return r
}

// routeKey names a route for the filter: the method and the route's path
// ("GET /users/{id}" from http.ServeMux's "GET /users/{id}", chi's
// "/users/{id}", gin's and echo's "/users/:id"), or the request's path when
// no router said which route it was.
func routeKey(method, route, path string) string {
	if route == "" {
		route = path
	} else if i := strings.IndexByte(route, ' '); i >= 0 {
		route = route[i+1:]
	}
	if method == "" {
		return route
	}
	return method + " " + route
}

type listPage struct {
	Rows    []row
	Routes  []string
	Route   string
	TraceID string // the trace filtered by
	// HasTrace says whether a row has a trace id (the column is shown).
	HasTrace bool
	Sort     string
	Desc     bool
	Total    int
	Formats  []formats.Format
	Origin   string // scheme://host of this request, for the empty page's curl line
	Query    func(sort string) string
	// AriaSort is the aria-sort value of a column.
	AriaSort func(sort string) string
}

var sortKeys = map[string]func(a, b row) int{
	"time":       func(a, b row) int { return strings.Compare(a.ID, b.ID) },
	"duration":   func(a, b row) int { return cmp(a.Duration, b.Duration) },
	"status":     func(a, b row) int { return cmp(a.Status, b.Status) },
	"cpu":        func(a, b row) int { return cmp(shareOf(a, "s-run"), shareOf(b, "s-run")) },
	"wait":       func(a, b row) int { return cmp(shareOf(a, "s-wait"), shareOf(b, "s-wait")) },
	"goroutines": func(a, b row) int { return cmp(a.Goroutines, b.Goroutines) },
	"route":      func(a, b row) int { return strings.Compare(a.Route, b.Route) },
}

func cmp[T int | time.Duration | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func shareOf(r row, class string) float64 {
	for _, p := range r.Split {
		if p.Class == class {
			return p.Share
		}
	}
	return 0
}

func (u *ui) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f store.Filter
	tid := ""
	if s := strings.TrimSpace(q.Get("trace_id")); s != "" {
		var err error
		if tid, err = traceID(s); err != nil {
			http.Error(w, "reqprof: invalid trace_id: "+err.Error(), http.StatusBadRequest)
			return
		}
		f.Labels = map[string]string{profile.AttrTraceID: tid}
	}
	ms, err := u.cfg.Store.List(r.Context(), f)
	if err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	pg := listPage{Route: q.Get("route"), TraceID: tid, Sort: q.Get("sort"), Desc: q.Get("order") != "asc", Total: len(ms), Formats: u.formats()}
	pg.Origin = "http://" + r.Host
	if r.TLS != nil {
		pg.Origin = "https://" + r.Host
	}
	rows := make([]row, 0, len(ms))
	seen := map[string]bool{}
	for _, m := range ms {
		rw := rowOf(m)
		if !seen[rw.Route] {
			seen[rw.Route] = true
			pg.Routes = append(pg.Routes, rw.Route)
		}
		if pg.Route == "" || rw.Route == pg.Route {
			rows = append(rows, rw)
			pg.HasTrace = pg.HasTrace || rw.TraceID != ""
		}
	}
	slices.Sort(pg.Routes)
	key, ok := sortKeys[pg.Sort]
	if !ok {
		pg.Sort, key = "time", sortKeys["time"]
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		if pg.Desc {
			return key(b, a)
		}
		return key(a, b)
	})
	pg.Rows = rows
	pg.Query = func(sort string) string {
		v := url.Values{}
		if pg.Route != "" {
			v.Set("route", pg.Route)
		}
		if pg.TraceID != "" {
			v.Set("trace_id", pg.TraceID)
		}
		v.Set("sort", sort)
		if sort == pg.Sort && pg.Desc {
			v.Set("order", "asc")
		}
		return "?" + v.Encode()
	}
	pg.AriaSort = func(sort string) string {
		switch {
		case sort != pg.Sort:
			return "none"
		case pg.Desc:
			return "descending"
		}
		return "ascending"
	}
	u.page(w, "list.html", pg)
}

// navData is the navigation the UI puts above a report.
type navData struct {
	ID      string
	View    view.Kind
	Formats []formats.Format
}

func (u *ui) get(w http.ResponseWriter, r *http.Request) (*profile.Profile, store.Meta, bool) {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		http.Error(w, "reqprof: invalid profile id", http.StatusBadRequest)
		return nil, store.Meta{}, false
	}
	// A profile still being extracted is worth a short wait.
	stillPending := false
	if u.cfg.Pending != nil {
		ctx, cancel := context.WithTimeout(r.Context(), pendingWait)
		u.cfg.Pending.Wait(ctx.Done(), id)
		stillPending = ctx.Err() != nil && r.Context().Err() == nil
		cancel()
	}
	p, m, err := u.cfg.Store.Get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		if stillPending {
			// The wait ended before the extraction did (a busy server):
			// not an absent profile, one to ask for again.
			w.Header().Set("Retry-After", "1")
			http.Error(w, "reqprof: profile "+id+" is still being extracted; retry in a moment", http.StatusServiceUnavailable)
			return nil, m, false
		}
		if u.cfg.Pending != nil {
			if why := u.cfg.Pending.NotStored(id); why != "" {
				http.Error(w, "reqprof: profile "+id+" was made but not stored: "+why, http.StatusNotFound)
				return nil, m, false
			}
		}
		http.Error(w, "reqprof: no profile "+id+" (it may have been removed by retention)", http.StatusNotFound)
		return nil, m, false
	}
	if err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return nil, m, false
	}
	return p, m, true
}

func (u *ui) profile(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f formats.Format
	if s := q.Get("format"); s != "" {
		var err error
		if f, err = formats.Parse(s); err != nil {
			http.Error(w, "reqprof: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	o := render.Options{View: view.Kind(q.Get("view"))}
	if _, err := view.ParseKind(string(o.View)); err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusBadRequest)
		return
	}
	p, m, ok := u.get(w, r)
	if !ok {
		return
	}
	if f != "" {
		// Render fully before the first byte, so errors are clean.
		var b bytes.Buffer
		if err := formats.Write(&b, p, f, o); err != nil {
			http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", f.ContentType())
		if f == formats.HTML {
			allowReport(w.Header())
		}
		if q.Has("download") {
			w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "profile-"+m.ID+f.Extension()))
		}
		w.Write(b.Bytes())
		return
	}
	var nav bytes.Buffer
	if err := templates.ExecuteTemplate(&nav, "nav", navData{ID: m.ID, View: o.View, Formats: u.formats()}); err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	if err := html.RenderPage(&b, p, o, html.Page{Nav: template.HTML(nav.String())}); err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	allowReport(w.Header())
	w.Header().Set("Content-Type", html.ContentType)
	w.Write(b.Bytes())
}

// allowReport adds the report's inline script and style, by hash, to the
// page's Content-Security-Policy.
func allowReport(h http.Header) { allow(h, html.ScriptSrc(), html.StyleSrc()) }

// allow adds a script and a style source to the page's
// Content-Security-Policy.
func allow(h http.Header, script, style string) {
	ds := strings.Split(h.Get("Content-Security-Policy"), ";")
	for i, d := range ds {
		d = strings.TrimSpace(d)
		switch {
		case strings.HasPrefix(d, "script-src "):
			d += " " + script
		case strings.HasPrefix(d, "style-src "):
			d += " " + style
		}
		ds[i] = d
	}
	h.Set("Content-Security-Policy", strings.Join(ds, "; "))
}

func (u *ui) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		http.Error(w, "reqprof: invalid profile id", http.StatusBadRequest)
		return
	}
	err := u.cfg.Store.Delete(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "reqprof: no profile "+id, http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// Relative to the request's own URL, wherever the UI is mounted
	// (http.Redirect would resolve it against the stripped path).
	w.Header().Set("Location", "../../")
	w.WriteHeader(http.StatusSeeOther)
}

func (u *ui) page(w http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}
