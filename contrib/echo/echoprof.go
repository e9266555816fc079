// Package echoprof is reqprof's adapter for echo (v4): middleware that
// profiles the requests asking for it (?profile=true, or the header
// X-Reqprof: 1), names them by their echo route (c.Path()), and serves the
// profiles UI, with the options, limits and authorization of the net/http
// middleware (package httpprof).
//
//	e := echo.New()
//	e.Use(echoprof.Middleware(httpprof.Options{Enabled: true}))
//
// e.Start, e.StartServer and your own http.Server all work. The UI is at
// /debug/reqprof/ (Options.UIPath), or on a group of your choice:
//
//	p, err := echoprof.New(httpprof.Options{Enabled: true, UIPath: "-"})
//	e.Use(p.Middleware())
//	p.MountUI(e.Group("/ops/reqprof", opsAuth))
//
// Register it with e.Use (echo then runs it for unmatched routes too, which
// is how it serves the UI at Options.UIPath), first to have the profile
// hold the other middleware, or with e.Pre to hold echo's routing as well.
//
// A handler's error is handed to echo's HTTPErrorHandler inside the
// profile (so that the status it sends is the one recorded), then returned
// up the chain as echo's RequestLogger does with HandleError: an error
// handler of your own should return early when c.Response().Committed, as
// echo's default one does.
//
// The handlers get the profiled context in c.Request().Context(): pass it
// to the code that should be profiled, such as outcall's transport or
// sqlprof.
package echoprof

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/reqprof/reqprof/httpprof"
)

// Profiler is the echo middleware with its UI and store.
type Profiler struct {
	hp     *httpprof.Profiler
	uiPath string
	mount  atomic.Pointer[string] // where MountUI put the UI, ending in /
}

// Middleware returns echo middleware that profiles requests asking for it;
// see the package documentation. It panics on invalid options; use New to
// get errors, MountUI and Close.
func Middleware(opts httpprof.Options) echo.MiddlewareFunc {
	p, err := New(opts)
	if err != nil {
		panic(err)
	}
	return p.Middleware()
}

// New validates opts and returns the profiler. Options.Route, when nil,
// defaults to the echo route (c.Path()); Options.ProfileURL, when nil, to
// the UI mounted by MountUI, else Options.UIPath.
func New(opts httpprof.Options) (*Profiler, error) {
	p := &Profiler{uiPath: opts.UIPath}
	if p.uiPath == "" {
		p.uiPath = httpprof.DefaultUIPath
	}
	if opts.Route == nil {
		opts.Route = routeOf
	}
	if opts.ProfileURL == nil {
		opts.ProfileURL = p.profileURL
	}
	hp, err := httpprof.New(opts)
	if err != nil {
		return nil, err
	}
	p.hp = hp
	return p, nil
}

// HTTP returns the underlying net/http middleware (its Store, Core, UI).
func (p *Profiler) HTTP() *httpprof.Profiler { return p.hp }

// Close waits for the profiles being extracted to be stored and stops
// slow-request capture.
func (p *Profiler) Close() error { return p.hp.Close() }

func (p *Profiler) profileURL(id string) string {
	if m := p.mount.Load(); m != nil {
		return *m + "p/" + id
	}
	if p.uiPath == "-" {
		return ""
	}
	return p.uiPath + "p/" + id
}

type ctxKey struct{}

// routeOf is the echo route of the request's echo.Context, which the
// middleware put in the request's context; it is read after the handler
// (with e.Pre, routing happens inside the profile).
func routeOf(r *http.Request) string {
	if c, ok := r.Context().Value(ctxKey{}).(echo.Context); ok {
		return c.Path()
	}
	return ""
}

// Middleware returns the middleware.
func (p *Profiler) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if !p.hp.Enabled() {
			return next
		}
		return func(c echo.Context) error {
			// The fast path: nothing but this check for a request that
			// does not ask for a profile.
			if !p.hp.Intercepts(c.Request()) {
				return next(c)
			}
			return p.handle(c, next)
		}
	}
}

func (p *Profiler) handle(c echo.Context, next echo.HandlerFunc) error {
	req, res := c.Request(), c.Response()
	r := req.WithContext(context.WithValue(req.Context(), ctxKey{}, c))
	var err error
	called := false
	p.hp.Handle(res, r, http.HandlerFunc(func(w http.ResponseWriter, r2 *http.Request) {
		called = true
		// The handlers write to a Response of their own over reqprof's
		// recorder, which writes to echo's: both keep their books.
		c.SetResponse(echo.NewResponse(w, c.Echo()))
		c.SetRequest(r2)
		defer func() {
			c.SetResponse(res)
			c.SetRequest(req)
		}()
		if err = next(c); err != nil {
			c.Error(err)
		}
	}))
	if !called {
		return nil // reqprof answered: the UI, an unknown profile format
	}
	return err
}

// MountUI serves the profiles UI on the group g (at its prefix and below),
// behind Options.Authorize and any middleware of g; the Reqprof-Url header
// then points there (unless Options.ProfileURL is set). An unauthorized
// client gets echo's ErrNotFound, as for a path that does not exist. Set
// Options.UIPath to "-" to serve the UI on the group only.
func (p *Profiler) MountUI(g *echo.Group) {
	var ui http.Handler
	var base string
	h := func(c echo.Context) error {
		if !p.hp.Enabled() || !p.hp.Authorize(c.Request()) {
			return echo.ErrNotFound
		}
		if c.Request().URL.Path == base {
			return c.Redirect(http.StatusMovedPermanently, base+"/")
		}
		ui.ServeHTTP(c.Response(), c.Request())
		return nil
	}
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete} {
		rt := g.Add(m, "/*", h)
		base = strings.TrimSuffix(rt.Path, "/*")
		g.Add(m, "", h)
	}
	ui = http.StripPrefix(base, p.hp.UI())
	mount := base + "/"
	p.mount.Store(&mount)
}
