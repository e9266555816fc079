// Package chiprof is reqprof's adapter for chi: the net/http middleware
// (package httpprof) with chi's route patterns, wherever it is placed.
//
// Outermost, so that the profile holds every middleware and the routing:
//
//	r := chi.NewRouter()
//	r.Use(middleware.Logger)
//	r.Get("/users/{id}", getUser)
//	http.ListenAndServe(":8080", chiprof.Middleware(httpprof.Options{Enabled: true})(r))
//
// or as chi middleware, r.Use(chiprof.Middleware(opts)), before the routes.
// Either way the route is chi's pattern ("/users/{id}", mounted routers'
// prefixes included), and the UI is at /debug/reqprof/ (Options.UIPath),
// or mounted on a router of your choice:
//
//	p, err := chiprof.New(httpprof.Options{Enabled: true, UIPath: "-",
//		ProfileURL: func(id string) string { return "/ops/reqprof/p/" + id }})
//	r.Mount("/ops/reqprof", http.StripPrefix("/ops/reqprof", p.UI()))
//
// Why an adapter: chi's router creates its routing context (which holds the
// pattern) when it is called, in a request that middleware around it never
// sees; with plain httpprof outermost, Options.Route finds no pattern. For
// the requests reqprof profiles (and only those), chiprof creates chi's
// routing context before the router runs, so that it is there to read
// afterwards; chi uses a routing context it finds in the request.
package chiprof

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/reqprof/reqprof/httpprof"
)

// Profiler is the net/http middleware with chi's routes. Its methods other
// than Wrap are httpprof.Profiler's (UI, Store, Close, ...).
type Profiler struct {
	*httpprof.Profiler
}

// Middleware returns the middleware; see the package documentation. It
// panics on invalid options; use New to get errors, the UI and Close.
func Middleware(opts httpprof.Options) func(http.Handler) http.Handler {
	p, err := New(opts)
	if err != nil {
		panic(err)
	}
	return p.Wrap
}

// New validates opts and returns the profiler. Options.Route, when nil, is
// Route.
func New(opts httpprof.Options) (*Profiler, error) {
	if opts.Route == nil {
		opts.Route = Route
	}
	hp, err := httpprof.New(opts)
	if err != nil {
		return nil, err
	}
	return &Profiler{hp}, nil
}

// Route returns the chi route pattern of r ("/api/users/{id}"), read after
// the router ran, or "" when no route matched (or no chi routing context is
// in r's context).
func Route(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		return rc.RoutePattern()
	}
	return ""
}

// Wrap returns next wrapped by the middleware: the chi router itself
// (outermost), or the rest of a router's chain (r.Use). Around something
// else that wraps a router, the route is not known.
func (p *Profiler) Wrap(next http.Handler) http.Handler {
	if !p.Enabled() {
		return next
	}
	routes, _ := next.(chi.Routes)
	return &wrapped{p: p.Profiler, inner: p.Profiler.Wrap(next), routes: routes}
}

type wrapped struct {
	p      *httpprof.Profiler
	inner  http.Handler
	routes chi.Routes
}

func (x *wrapped) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if x.routes != nil && x.p.Intercepts(r) && chi.RouteContext(r.Context()) == nil {
		rc := chi.NewRouteContext()
		rc.Routes = x.routes
		r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rc))
	}
	x.inner.ServeHTTP(w, r)
}
