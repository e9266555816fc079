package reqprof

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/reqprof/reqprof/render/text"
	"github.com/reqprof/reqprof/store"
)

//go:embed ui/*.html ui/*.css
var uiFiles embed.FS

var uiTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"dur":   func(d time.Duration) string { return text.Dur(int64(d)) },
	"share": share,
	"time":  func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05.000") },
}).ParseFS(uiFiles, "ui/*.html"))

func share(part, total time.Duration) string {
	if total <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(part)/float64(total))
}

type ui struct {
	h *Handler
}

func newUI(h *Handler) http.Handler {
	u := &ui{h: h}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", u.list)
	mux.HandleFunc("GET /style.css", u.css)
	mux.HandleFunc("GET /p/{id}", u.profile)
	mux.HandleFunc("DELETE /p/{id}", u.delete)
	mux.HandleFunc("POST /p/{id}/delete", u.delete)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.opts.Authorize(r) {
			http.Error(w, "reqprof: not authorized", http.StatusForbidden)
			return
		}
		if h.store == nil {
			http.Error(w, "reqprof: profiling is disabled (set Options.Enabled or REQPROF_ENABLED=1)", http.StatusNotFound)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	})
}

func (u *ui) css(w http.ResponseWriter, r *http.Request) {
	b, _ := uiFiles.ReadFile("ui/style.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write(b)
}

// row is a list entry.
type row struct {
	store.Meta
	Formats []Format
}

type listPage struct {
	Rows    []row
	Routes  []string
	Route   string
	Sort    string
	Desc    bool
	Total   int
	Formats []Format
	Query   func(sort string) string
}

var sortKeys = map[string]func(a, b store.Meta) int{
	"time":       func(a, b store.Meta) int { return strings.Compare(a.ID, b.ID) },
	"duration":   func(a, b store.Meta) int { return cmp(a.Duration, b.Duration) },
	"status":     func(a, b store.Meta) int { return cmp(a.Status, b.Status) },
	"cpu":        func(a, b store.Meta) int { return cmp(shareOf(a.CPU, a.Duration), shareOf(b.CPU, b.Duration)) },
	"wait":       func(a, b store.Meta) int { return cmp(shareOf(a.Wait, a.Duration), shareOf(b.Wait, b.Duration)) },
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
	if m.Route != "" {
		return m.Route
	}
	return m.Method + " " + m.Path
}

func (u *ui) list(w http.ResponseWriter, r *http.Request) {
	ms, err := u.h.store.List(r.Context())
	if err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	pg := listPage{Route: q.Get("route"), Sort: q.Get("sort"), Desc: q.Get("order") != "asc", Total: len(ms), Formats: Formats()}
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
	u.render(w, "list.html", pg)
}

type profilePage struct {
	Meta    store.Meta
	Attrs   [][2]string
	Tree    string
	View    View
	Views   []View
	Formats []Format
}

func (u *ui) get(w http.ResponseWriter, r *http.Request) (*Profile, store.Meta, bool) {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		http.Error(w, "reqprof: invalid profile id", http.StatusBadRequest)
		return nil, store.Meta{}, false
	}
	// A profile still being extracted is worth a short wait.
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	u.h.wait(ctx, id)
	cancel()
	p, m, err := u.h.store.Get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "reqprof: no profile "+id+" (it may have been removed by retention)", http.StatusNotFound)
		return nil, m, false
	}
	if err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return nil, m, false
	}
	return &Profile{p}, m, true
}

func (u *ui) profile(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f Format
	if s := q.Get("format"); s != "" {
		var err error
		if f, err = ParseFormat(s); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	o := WriteOptions{View: View(q.Get("view"))}
	if o.View != "" && !slices.Contains(Views(), o.View) {
		http.Error(w, fmt.Sprintf("reqprof: unknown view %q (valid: critical, goroutines, all)", o.View), http.StatusBadRequest)
		return
	}
	p, m, ok := u.get(w, r)
	if !ok {
		return
	}
	if f != "" {
		// Render fully before the first byte, so errors are clean.
		var b bytes.Buffer
		if err := p.WriteWith(&b, f, o); err != nil {
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
	if err := p.WriteWith(&tree, FormatText, o); err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	pg := profilePage{Meta: m, Tree: tree.String(), View: o.View, Views: Views(), Formats: Formats()}
	if pg.View == "" {
		pg.View = ViewCritical
	}
	for _, a := range p.Attrs {
		pg.Attrs = append(pg.Attrs, [2]string{a.Key, a.Value})
	}
	u.render(w, "profile.html", pg)
}

func (u *ui) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		http.Error(w, "reqprof: invalid profile id", http.StatusBadRequest)
		return
	}
	err := u.h.store.Delete(r.Context(), id)
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

func (u *ui) render(w http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := uiTemplates.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'")
	w.Write(b.Bytes())
}
