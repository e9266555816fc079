// Package ui is reqprof's profiles UI: a mountable sub-router over a
// [store.Store] and the format registry. It lists the stored profiles
// (filter by route, sort), shows one in any view, serves every format as a
// download, and deletes profiles. It works without JavaScript.
//
// Mount it under a prefix with http.StripPrefix:
//
//	mux.Handle("/debug/reqprof/", http.StripPrefix("/debug/reqprof", ui.New(ui.Config{
//		Store:     st,
//		Authorize: httpprof.LoopbackOnly,
//	})))
//
// Every page carries no-store, no-framing and CSP headers; state changes
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
	"github.com/reqprof/reqprof/render/text"
	"github.com/reqprof/reqprof/store"
	"github.com/reqprof/reqprof/view"
)

//go:embed *.html *.css
var files embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"dur":   func(d time.Duration) string { return text.Dur(int64(d)) },
	"share": share,
	"time":  func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05.000") },
}).ParseFS(files, "*.html"))

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

func (u *ui) css(w http.ResponseWriter, r *http.Request) {
	b, _ := files.ReadFile("style.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write(b)
}

func share(part, total time.Duration) string {
	if total <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(part)/float64(total))
}

// row is a list entry.
type row struct {
	store.Meta
}

func (r row) Method() string { return r.Label(profile.AttrMethod) }
func (r row) Route() string  { return r.Label(profile.AttrRoute) }
func (r row) Status() string { return r.Label(profile.AttrStatus) }
func (r row) Reason() string { return r.Label(profile.AttrReason) }
func (r row) Panic() bool    { return r.Label(profile.AttrPanic) != "" }

// Path is what the work was: the request's URL, else the profile's name.
func (r row) Path() string {
	if u := r.Label(profile.AttrURL); u != "" {
		return u
	}
	return r.Name
}

// StatusCode is the HTTP status, or 0.
func (r row) StatusCode() int { return statusOf(r.Meta) }

func statusOf(m store.Meta) int {
	n, _ := strconv.Atoi(m.Label(profile.AttrStatus))
	return n
}

type listPage struct {
	Rows    []row
	Routes  []string
	Route   string
	Sort    string
	Desc    bool
	Total   int
	Formats []formats.Format
	Query   func(sort string) string
}

var sortKeys = map[string]func(a, b store.Meta) int{
	"time":       func(a, b store.Meta) int { return strings.Compare(a.ID, b.ID) },
	"duration":   func(a, b store.Meta) int { return cmp(a.Duration, b.Duration) },
	"status":     func(a, b store.Meta) int { return cmp(statusOf(a), statusOf(b)) },
	"cpu":        func(a, b store.Meta) int { return cmp(shareOf(a.CPU, a.Duration), shareOf(b.CPU, b.Duration)) },
	"wait":       func(a, b store.Meta) int { return cmp(shareOf(a.Waiting, a.Duration), shareOf(b.Waiting, b.Duration)) },
	"goroutines": func(a, b store.Meta) int { return cmp(a.Goroutines, b.Goroutines) },
	"route":      func(a, b store.Meta) int { return strings.Compare(routeOf(a), routeOf(b)) },
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

func shareOf(x, total time.Duration) float64 {
	if total <= 0 {
		return 0
	}
	return float64(x) / float64(total)
}

func routeOf(m store.Meta) string {
	if r := m.Label(profile.AttrRoute); r != "" {
		return r
	}
	return m.Name
}

func (u *ui) list(w http.ResponseWriter, r *http.Request) {
	ms, err := u.cfg.Store.List(r.Context(), store.Filter{})
	if err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	pg := listPage{Route: q.Get("route"), Sort: q.Get("sort"), Desc: q.Get("order") != "asc", Total: len(ms), Formats: formats.All()}
	seen := map[string]bool{}
	for _, m := range ms {
		if rt := routeOf(m); !seen[rt] {
			seen[rt] = true
			pg.Routes = append(pg.Routes, rt)
		}
	}
	slices.Sort(pg.Routes)
	if pg.Route != "" {
		ms = slices.DeleteFunc(ms, func(m store.Meta) bool { return routeOf(m) != pg.Route })
	}
	key, ok := sortKeys[pg.Sort]
	if !ok {
		pg.Sort, key = "time", sortKeys["time"]
	}
	slices.SortStableFunc(ms, func(a, b store.Meta) int {
		if pg.Desc {
			return key(b, a)
		}
		return key(a, b)
	})
	for _, m := range ms {
		pg.Rows = append(pg.Rows, row{Meta: m})
	}
	pg.Query = func(sort string) string {
		v := url.Values{}
		if pg.Route != "" {
			v.Set("route", pg.Route)
		}
		v.Set("sort", sort)
		if sort == pg.Sort && pg.Desc {
			v.Set("order", "asc")
		}
		return "?" + v.Encode()
	}
	u.page(w, "list.html", pg)
}

type profilePage struct {
	Meta    store.Meta
	Attrs   [][2]string
	Tree    string
	View    view.Kind
	Views   []view.Kind
	Formats []formats.Format
}

func (u *ui) get(w http.ResponseWriter, r *http.Request) (*profile.Profile, store.Meta, bool) {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		http.Error(w, "reqprof: invalid profile id", http.StatusBadRequest)
		return nil, store.Meta{}, false
	}
	// A profile still being extracted is worth a short wait.
	if u.cfg.Pending != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		u.cfg.Pending.Wait(ctx.Done(), id)
		cancel()
	}
	p, m, err := u.cfg.Store.Get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
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
		if q.Has("download") {
			w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "profile-"+m.ID+f.Extension()))
		}
		w.Write(b.Bytes())
		return
	}
	var tree bytes.Buffer
	if err := formats.Write(&tree, p, formats.Text, o); err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	pg := profilePage{Meta: m, Tree: tree.String(), View: o.View, Views: view.Kinds(), Formats: formats.All()}
	if pg.View == "" {
		pg.View = view.Critical
	}
	for _, a := range p.Attrs {
		pg.Attrs = append(pg.Attrs, [2]string{a.Key, a.Value})
	}
	u.page(w, "profile.html", pg)
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
