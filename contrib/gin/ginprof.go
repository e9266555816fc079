// Package ginprof is reqprof's adapter for gin: middleware that profiles
// the requests asking for it (?profile=true, or the header X-Reqprof: 1),
// names them by their gin route (c.FullPath()), and serves the profiles UI,
// with the options, limits and authorization of the net/http middleware
// (package httpprof).
//
//	router := gin.Default()
//	router.Use(ginprof.Middleware(httpprof.Options{Enabled: true}))
//
// gin's Run, RunListener and your own http.Server all work. The UI is at
// /debug/reqprof/ (Options.UIPath), or on a router group of your choice:
//
//	p, err := ginprof.New(httpprof.Options{Enabled: true, UIPath: "-"})
//	router.Use(p.Handler())
//	p.MountUI(router.Group("/ops/reqprof", opsAuth))
//
// Use the middleware with router.Use (on the engine, before the routes):
// gin then runs it for every request, unmatched ones included, which is how
// it serves the UI at Options.UIPath. Register it first to have the
// profile hold the other middleware too; gin.Recovery may come before it
// (a panic is recorded in the profile, then recovered).
//
// The handlers get the profiled context in c.Request.Context(): pass that
// (not c itself, unless the engine has ContextWithFallback) to the code
// that should be profiled, such as outcall's transport or sqlprof.
package ginprof

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/gin-gonic/gin"

	"github.com/reqprof/reqprof/httpprof"
)

// Profiler is the gin middleware with its UI and store.
type Profiler struct {
	hp     *httpprof.Profiler
	uiPath string
	mount  atomic.Pointer[string] // where MountUI put the UI, ending in /
}

// Middleware returns gin middleware that profiles requests asking for it;
// see the package documentation. It panics on invalid options; use New to
// get errors, MountUI and Close.
func Middleware(opts httpprof.Options) gin.HandlerFunc {
	p, err := New(opts)
	if err != nil {
		panic(err)
	}
	return p.Handler()
}

// New validates opts and returns the profiler. Options.Route, when nil,
// defaults to the gin route (c.FullPath()); Options.ProfileURL, when nil, to
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

type routeKey struct{}

// routeOf is the gin route that handle put in the request's context.
func routeOf(r *http.Request) string {
	s, _ := r.Context().Value(routeKey{}).(string)
	return s
}

// Handler returns the middleware.
func (p *Profiler) Handler() gin.HandlerFunc {
	if !p.hp.Enabled() {
		return func(c *gin.Context) { c.Next() }
	}
	return p.handle
}

func (p *Profiler) handle(c *gin.Context) {
	// The fast path: nothing but this check for a request that does not
	// ask for a profile.
	if !p.hp.Intercepts(c.Request) {
		c.Next()
		return
	}
	orig, req := c.Writer, c.Request
	r := req.WithContext(context.WithValue(req.Context(), routeKey{}, c.FullPath()))
	called := false
	p.hp.Handle(&own{ResponseWriter: orig}, r, http.HandlerFunc(func(w http.ResponseWriter, r2 *http.Request) {
		called = true
		gw := &writer{ResponseWriter: orig, rec: w}
		c.Writer, c.Request = gw, r2
		defer func() { c.Writer, c.Request = orig, req }()
		c.Next()
		gw.settle()
	}))
	if !called {
		// reqprof answered (the UI, an unknown profile format): the other
		// handlers must not run.
		c.Abort()
	}
}

// own is the writer reqprof answers with when it answers itself (the UI,
// an unknown format): its answers have their own status, which gin's
// pending one (404, when no route matched) must not replace. For the
// handlers it is transparent: writer states every status before a write.
type own struct {
	gin.ResponseWriter
	stated bool
}

func (o *own) WriteHeader(code int) {
	o.stated = true
	o.ResponseWriter.WriteHeader(code)
}

// implicit is WriteHeader(200) before a first write without one.
func (o *own) implicit() {
	if !o.stated {
		o.stated = true
		if !o.ResponseWriter.Written() {
			o.ResponseWriter.WriteHeader(http.StatusOK)
		}
	}
}

func (o *own) Write(b []byte) (int, error) {
	o.implicit()
	return o.ResponseWriter.Write(b)
}

func (o *own) WriteString(s string) (int, error) {
	o.implicit()
	return o.ResponseWriter.WriteString(s)
}

func (o *own) Flush() {
	o.implicit()
	o.ResponseWriter.Flush()
}

func (o *own) Unwrap() http.ResponseWriter { return o.ResponseWriter }

// writer is the gin.ResponseWriter the handlers get on a profiled request:
// writes go through reqprof's recorder (rec) to gin's writer underneath.
// gin sends the status only with the first byte (a handler may set it
// several times before), so the status goes to the recorder then, as gin
// sends it.
type writer struct {
	gin.ResponseWriter
	rec http.ResponseWriter
}

// settle tells the recorder the status gin is about to send.
func (w *writer) settle() {
	if !w.ResponseWriter.Written() {
		w.rec.WriteHeader(w.ResponseWriter.Status())
	}
}

func (w *writer) WriteHeader(code int) { w.ResponseWriter.WriteHeader(code) }

func (w *writer) WriteHeaderNow() {
	w.settle()
	w.ResponseWriter.WriteHeaderNow()
}

func (w *writer) Write(b []byte) (int, error) {
	w.settle()
	return w.rec.Write(b)
}

func (w *writer) WriteString(s string) (int, error) {
	w.settle()
	if sw, ok := w.rec.(interface{ WriteString(string) (int, error) }); ok {
		return sw.WriteString(s)
	}
	return w.rec.Write([]byte(s))
}

func (w *writer) Flush() {
	w.settle()
	if f, ok := w.rec.(http.Flusher); ok {
		f.Flush()
		return
	}
	w.ResponseWriter.Flush()
}

// Unwrap serves http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// MountUI serves the profiles UI on the router group g (at g's base path
// and below), behind Options.Authorize and any middleware of g; the
// Reqprof-Url header then points there (unless Options.ProfileURL is set).
// An unauthorized client gets gin's default 404. Set Options.UIPath to "-"
// to serve the UI on the group only.
func (p *Profiler) MountUI(g *gin.RouterGroup) {
	base := strings.TrimSuffix(g.BasePath(), "/")
	mount := base + "/"
	p.mount.Store(&mount)
	ui := http.StripPrefix(base, p.hp.UI())
	h := func(c *gin.Context) {
		if !p.hp.Enabled() || !p.hp.Authorize(c.Request) {
			c.Data(http.StatusNotFound, gin.MIMEPlain, []byte("404 page not found"))
			c.Abort()
			return
		}
		ui.ServeHTTP(c.Writer, c.Request)
	}
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete} {
		g.Handle(m, "/*path", h)
	}
}
