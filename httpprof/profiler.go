package httpprof

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/formats"
	"github.com/reqprof/reqprof/serve"
	"github.com/reqprof/reqprof/store"
	"github.com/reqprof/reqprof/ui"
)

// Profiler is the HTTP middleware with its UI and store. Create it with
// New; Middleware is the one-line form.
type Profiler struct {
	opts      Options
	enabled   bool
	uiPath    string
	authorize func(*http.Request) bool
	redact    redactor
	core      *serve.Core
	store     store.Store
	ui        http.Handler
}

// Middleware returns net/http (and chi) middleware that profiles requests
// asking for it (?profile=true, or the X-Reqprof: 1 header) and serves the
// profiles UI at Options.UIPath. It panics on invalid options; use New to
// get errors, the UI handler, and Close.
func Middleware(opts Options) func(http.Handler) http.Handler {
	p, err := New(opts)
	if err != nil {
		panic(err)
	}
	return p.Wrap
}

// New validates opts and returns the middleware. When profiling is not
// enabled it returns a Profiler whose Wrap returns the handler unchanged.
func New(opts Options) (*Profiler, error) {
	p := &Profiler{opts: opts, redact: redactor{extra: opts.RedactParams}}
	p.enabled = opts.Enabled || envEnabled()
	p.uiPath = opts.UIPath
	if p.uiPath == "" {
		p.uiPath = DefaultUIPath
	}
	if p.uiPath != "-" && (!strings.HasPrefix(p.uiPath, "/") || !strings.HasSuffix(p.uiPath, "/") || len(p.uiPath) < 2) {
		return nil, fmt.Errorf("reqprof: UIPath %q must start and end with / and not be the root", p.uiPath)
	}
	if p.opts.DefaultFormat == "" {
		p.opts.DefaultFormat = formats.Speedscope
	}
	if _, err := formats.Parse(string(p.opts.DefaultFormat)); err != nil {
		return nil, fmt.Errorf("reqprof: DefaultFormat: %w", err)
	}
	p.authorize = opts.Authorize
	if p.authorize == nil {
		p.authorize = loopbackWith(opts.AllowedHosts)
	}
	if !p.enabled {
		return p, nil
	}
	p.store = opts.Store
	if p.store == nil {
		d, err := store.OpenDir(opts.Dir, opts.Retention)
		if err != nil {
			return nil, fmt.Errorf("reqprof: %w", err)
		}
		p.store = d
	}
	core, err := serve.New(serve.Config{
		Store: p.store, MaxConcurrent: opts.MaxConcurrent, PerMinute: opts.PerMinute,
		MaxProfileBytes: opts.MaxProfileBytes, MaxDuration: opts.MaxDuration, Linger: opts.Linger,
		CaptureSlowerThan: opts.CaptureSlowerThan, SlowPerMinute: opts.SlowPerMinute, Sample: opts.Sample,
		Manager: opts.Manager, Logger: opts.Logger, OnProfile: opts.OnProfile,
	})
	if err != nil {
		return nil, fmt.Errorf("reqprof: %w", err)
	}
	p.core = core
	p.ui = ui.New(ui.Config{Store: p.store, Authorize: p.authorize, Pending: core, DefaultFormat: p.opts.DefaultFormat})
	return p, nil
}

func envEnabled() bool {
	v := strings.ToLower(os.Getenv("REQPROF_ENABLED"))
	return v == "1" || v == "true" || v == "yes" || v == "on"
}

// Enabled reports whether profiling is on.
func (p *Profiler) Enabled() bool { return p.enabled }

// Store returns the store profiles are kept in (nil when disabled).
func (p *Profiler) Store() store.Store { return p.store }

// Core returns the delivery core (nil when disabled), for adapters.
func (p *Profiler) Core() *serve.Core { return p.core }

// Authorize reports whether r may profile and see the UI.
func (p *Profiler) Authorize(r *http.Request) bool { return p.authorize(r) }

// UI returns the profiles UI, to mount under a path of your choice with
// http.StripPrefix; it is protected by Options.Authorize. When profiling
// is disabled it answers 404.
func (p *Profiler) UI() http.Handler {
	if p.ui == nil {
		return http.NotFoundHandler()
	}
	return p.ui
}

// Close waits for the profiles being extracted to be stored, stops
// slow-request capture and ends the recorder's linger (Options.Linger).
// Requests served after Close run unprofiled.
func (p *Profiler) Close() error {
	if p.core == nil {
		return nil
	}
	return p.core.Close()
}

// Wrap returns next wrapped by the middleware.
func (p *Profiler) Wrap(next http.Handler) http.Handler {
	if !p.enabled {
		return next
	}
	x := &wrapped{p: p, next: next, queryOnly: p.opts.QueryOnly,
		plain: !p.core.SlowCapture() && p.opts.Hooks.Sample == nil && p.opts.Sample == nil}
	if p.uiPath != "-" {
		x.uiRoot = strings.TrimSuffix(p.uiPath, "/")
	}
	return x
}

type wrapped struct {
	p    *Profiler
	next http.Handler
	// plain: nothing but a request's own asking or the UI's path makes the
	// middleware do more than call next (no slow-request capture, no
	// sampling), settled when the Profiler was made.
	plain     bool
	queryOnly bool
	uiRoot    string // the UI's path without its final slash; "" for none
}

func (x *wrapped) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The fast path: no defers, no allocations, no query parsing. It is
	// coarse (a query that mentions profile, any X-Reqprof header, a path
	// beginning like the UI's go the whole way), so that a request that
	// asks for nothing costs two substring tests and a header lookup.
	if x.plain {
		q := r.URL.RawQuery
		if (q == "" || !strings.Contains(q, "profile")) &&
			(x.queryOnly || len(r.Header[HeaderTrigger]) == 0) &&
			(x.uiRoot == "" || !strings.HasPrefix(r.URL.Path, x.uiRoot)) {
			x.next.ServeHTTP(w, r)
			return
		}
	}
	x.p.Handle(w, r, x.next)
}

// Intercepts reports whether Handle would do anything for r but call next:
// r asks for a profile, Hooks.Sample or Options.Sample picks it,
// slow-request capture is on, or r is for the UI. It is cheap and does not
// allocate (with no Hooks.Sample, or a Sample that does not, and no
// Options.Sample or a request whose r.Pattern is set): adapters call it
// first, and call Handle only when it is true.
func (p *Profiler) Intercepts(r *http.Request) bool {
	if !p.enabled || p.core.Closed() {
		return false
	}
	if p.core.SlowCapture() || wants(r, p.opts.QueryOnly) || p.isUI(r) {
		return true
	}
	if p.opts.Sample != nil && !isUpgrade(r) && p.opts.Sample.Due(preRoute(r)) {
		return true
	}
	return p.opts.Hooks.Sample != nil && p.opts.Hooks.Sample(r.Context()) != ""
}

// wants reports whether r asks for a profile, cheaply: the query string is
// parsed only when it mentions profile.
func wants(r *http.Request, queryOnly bool) bool {
	if q := r.URL.RawQuery; q != "" && strings.Contains(q, "profile") && truthy(r.URL.Query().Get("profile")) {
		return true
	}
	if queryOnly {
		return false
	}
	v := r.Header[HeaderTrigger]
	return len(v) > 0 && truthy(v[0])
}

func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func (p *Profiler) isUI(r *http.Request) bool {
	if p.uiPath == "-" {
		return false
	}
	path := r.URL.Path
	return strings.HasPrefix(path, p.uiPath) || path == p.uiPath[:len(p.uiPath)-1]
}

// Handle serves r with next, profiling it when it asks and may, and serves
// the UI under Options.UIPath: the middleware's whole behaviour, for
// adapters whose frameworks call handlers their own way. An unauthorized
// client's request goes to next untouched, UI paths included.
func (p *Profiler) Handle(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !p.enabled || p.core.Closed() {
		next.ServeHTTP(w, r)
		return
	}
	if p.isUI(r) {
		if !p.authorize(r) {
			next.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == p.uiPath[:len(p.uiPath)-1] {
			http.Redirect(w, r, p.uiPath, http.StatusMovedPermanently)
			return
		}
		http.StripPrefix(strings.TrimSuffix(p.uiPath, "/"), p.ui).ServeHTTP(w, r)
		return
	}
	if wants(r, p.opts.QueryOnly) && p.authorize(r) && !crossSite(r) {
		p.serveRequested(w, r, next)
		return
	}
	if p.opts.Hooks.Sample != nil {
		if reason := p.opts.Hooks.Sample(r.Context()); reason != "" {
			p.serveSampled(w, r, next, reason)
			return
		}
	}
	if p.core.SlowCapture() && !isUpgrade(r) {
		p.serveSlow(w, r, next)
		return
	}
	if p.opts.Sample != nil && !isUpgrade(r) && p.opts.Sample.Take(preRoute(r)) {
		p.serveSampled(w, r, next, profile.ReasonSampled)
		return
	}
	next.ServeHTTP(w, r)
}

func isUpgrade(r *http.Request) bool { return r.Header.Get("Upgrade") != "" }

// serveRequested profiles an authorized request that asked for it.
func (p *Profiler) serveRequested(w http.ResponseWriter, r *http.Request, next http.Handler) {
	format, respond := p.opts.DefaultFormat, false
	q := r.URL.Query()
	if s := q.Get("profile_format"); s != "" {
		f, err := formats.Parse(s)
		if err != nil {
			http.Error(w, "reqprof: "+err.Error(), http.StatusBadRequest)
			return
		}
		format = f
	}
	respond = truthy(q.Get("profile_response"))
	p.serveProfiled(w, r, next, "", true, respond, format)
}

// serveSampled profiles a request that Hooks.Sample picked, telling the
// client only if it is authorized; over a limit it runs unprofiled,
// silently.
func (p *Profiler) serveSampled(w http.ResponseWriter, r *http.Request, next http.Handler, reason string) {
	p.serveProfiled(w, r, next, reason, p.authorize(r) && !crossSite(r), false, "")
}

// serveProfiled profiles r (reason "" is the core's "requested"), telling
// the client in headers if tell, replacing the response by the profile in
// format if respond.
func (p *Profiler) serveProfiled(w http.ResponseWriter, r *http.Request, next http.Handler, reason string, tell, respond bool, format formats.Format) {
	if why := p.core.Admit(); why != "" {
		if tell {
			w.Header().Set(HeaderStatus, why)
		}
		if p.core.SlowCapture() {
			p.serveSlow(w, r, next)
			return
		}
		next.ServeHTTP(w, r)
		return
	}
	// Everything that need not be in the profile's window happens first.
	u, err := p.core.Begin(r.Context(), serve.Info{Name: r.Method + " " + r.URL.Path})
	if err != nil {
		if tell {
			w.Header().Set(HeaderStatus, "error: "+oneLine(err.Error()))
		}
		next.ServeHTTP(w, r)
		return
	}
	var out http.ResponseWriter = w
	if respond {
		out = &bufferedWriter{header: http.Header{}}
	} else if tell {
		w.Header().Set(HeaderID, u.ID())
		if url := p.ProfileURL(u.ID()); url != "" {
			w.Header().Set(HeaderURL, url)
		}
		w.Header().Set(HeaderStatus, "profiled")
	}
	rec := &recorder{w: out}
	r2 := r.WithContext(u.Context())
	if h := p.opts.Hooks.OnProfiled; h != nil {
		h(r2.Context(), u.ID(), p.ProfileURL(u.ID()))
	}
	finished := false
	defer func() {
		if !finished { // a panic or runtime.Goexit: store what was captured
			u.End(p.describe(r2, rec, u.Panicked(), reason))
		}
	}()
	u.Run(func(context.Context) error { next.ServeHTTP(wrapWriter(rec), r2); return nil })
	finished = true
	info := p.describe(r2, rec, false, reason)
	if !respond {
		u.End(info)
		return
	}
	// profile_response=1: the rendered profile replaces the body.
	prof, err := u.EndWait(info)
	if err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var body bytes.Buffer
	if err := formats.Write(&body, prof, format, render.Options{}); err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set(HeaderID, u.ID())
	if url := p.ProfileURL(u.ID()); url != "" {
		w.Header().Set(HeaderURL, url)
	}
	status := "profiled"
	if why := p.core.NotStored(u.ID()); why != "" {
		status = "profiled, not stored: " + oneLine(why)
		w.Header().Del(HeaderURL)
	}
	w.Header().Set(HeaderStatus, status)
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", "profile-"+u.ID()+format.Extension()))
	w.Write(body.Bytes())
}

// serveSlow runs r in a task while slow-request capture holds the recorder,
// and keeps its profile only if it was slow.
func (p *Profiler) serveSlow(w http.ResponseWriter, r *http.Request, next http.Handler) {
	u, err := p.core.BeginSlow(r.Context(), serve.Info{Name: r.Method + " " + r.URL.Path})
	if err != nil {
		next.ServeHTTP(w, r)
		return
	}
	rec := &recorder{w: w}
	r2 := r.WithContext(u.Context())
	finished := false
	defer func() {
		if !finished {
			u.End(p.describe(r2, rec, u.Panicked(), ""))
			p.keptSlow(r2, u)
		}
	}()
	u.Run(func(context.Context) error { next.ServeHTTP(wrapWriter(rec), r2); return nil })
	finished = true
	// Most candidates are discarded: describe only a kept one.
	u.EndFunc(p.route(r2), func() serve.Info { return p.describe(r2, rec, false, "") })
	p.keptSlow(r2, u)
}

// keptSlow calls Hooks.OnProfiled for an ended slow candidate that is kept.
func (p *Profiler) keptSlow(r *http.Request, u *serve.Unit) {
	if h := p.opts.Hooks.OnProfiled; h != nil && u.Kept() {
		h(r.Context(), u.ID(), p.ProfileURL(u.ID()))
	}
}

// ProfileURL returns the URL of profile id that clients are given:
// Options.ProfileURL's, else UIPath + "p/" + id, or "" when there is none.
func (p *Profiler) ProfileURL(id string) string {
	if p.opts.ProfileURL != nil {
		return p.opts.ProfileURL(id)
	}
	if p.uiPath == "-" {
		return ""
	}
	return p.uiPath + "p/" + id
}

// UIPath returns where the middleware serves the UI ("-" for nowhere).
func (p *Profiler) UIPath() string { return p.uiPath }

// describe is what the profile's metadata needs from a request, read on the
// request's goroutine (routers such as chi recycle their state afterwards).
func (p *Profiler) describe(r *http.Request, rec *recorder, panicked bool, reason string) serve.Info {
	route := p.route(r)
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	if panicked {
		status = http.StatusInternalServerError
	}
	in := serve.Info{Name: r.Method + " " + r.URL.Path, Attrs: make([]profile.Attr, 0, 12)}
	if route != "" {
		in.Name = r.Method + " " + routePath(route)
		in.Set(profile.AttrRoute, route)
	}
	in.Set(profile.AttrMethod, r.Method)
	in.Set(profile.AttrURL, boundTo(p.redact.url(r.URL), maxURL))
	in.Set(profile.AttrStatus, strconv.Itoa(status))
	in.Set(profile.AttrBytes, strconv.FormatInt(rec.bytes, 10))
	in.Set(profile.AttrRemote, r.RemoteAddr)
	in.Set(profile.AttrKind, profile.KindHTTP)
	if !panicked && errors.Is(r.Context().Err(), context.Canceled) {
		in.Set(profile.AttrOutcome, "client disconnected")
	}
	if reason != "" {
		in.Set(profile.AttrReason, reason)
	}
	if h := p.opts.Hooks.Annotate; h != nil {
		for _, a := range h(r.Context()) {
			in.Set(a.Key, a.Value)
		}
	}
	return in
}

// route is the request's route pattern: Options.Route's, else the
// ServeMux's; "" when neither knows it.
func (p *Profiler) route(r *http.Request) string {
	if p.opts.Route != nil {
		return p.opts.Route(r)
	}
	return r.Pattern
}

// maxURL bounds the URL kept in a profile's metadata.
const maxURL = 8 << 10

// routePath turns a ServeMux pattern "GET /users/{id}" into its path part.
func routePath(route string) string {
	if i := strings.IndexByte(route, ' '); i >= 0 {
		return route[i+1:]
	}
	return route
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }
