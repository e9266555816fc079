package echoprof_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	echoprof "github.com/reqprof/reqprof/contrib/echo"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/adaptertest"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/serve"
)

// app is an echo application with reqprof's middleware, served by echo's
// own Start on a loopback listener.
type app struct {
	p        *echoprof.Profiler
	url      string
	calls    atomic.Int64 // handler runs
	profiled atomic.Int64 // ... that had a profiled context
}

func newApp(t *testing.T, opts httpprof.Options, setup func(e *echo.Echo, a *app)) *app {
	t.Helper()
	opts.Enabled = true
	if opts.Dir == "" && opts.Store == nil {
		opts.Dir = t.TempDir()
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	p, err := echoprof.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	a := &app{p: p}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard)
	e.Use(middleware.Recover(), p.Middleware())
	e.GET("/users/:id", func(c echo.Context) error {
		a.calls.Add(1)
		if serve.Profiled(c.Request().Context()) {
			a.profiled.Add(1)
		}
		c.Response().Header().Set("X-App", "1")
		return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id")})
	})
	e.GET("/teapot", func(c echo.Context) error {
		a.calls.Add(1)
		return echo.NewHTTPError(http.StatusTeapot, "short and stout")
	})
	e.GET("/panic", func(c echo.Context) error { a.calls.Add(1); panic("boom") })
	if setup != nil {
		setup(e, a)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.Listener = ln
	go e.Start("")
	t.Cleanup(func() { e.Close() })
	a.url = "http://" + ln.Addr().String()
	return a
}

type response struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, method, url string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// withoutReqprof is h without reqprof's headers and Date.
func withoutReqprof(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if !strings.HasPrefix(k, "Reqprof") && k != "Date" {
			out[k] = v
		}
	}
	return out
}

func same(a, b response) bool {
	ha, hb := withoutReqprof(a.header), withoutReqprof(b.header)
	if a.status != b.status || a.body != b.body || len(ha) != len(hb) {
		return false
	}
	for k, v := range ha {
		if strings.Join(v, "\x00") != strings.Join(hb[k], "\x00") {
			return false
		}
	}
	return true
}

func TestProfiledOnceIdenticalWithRoute(t *testing.T) {
	a := newApp(t, httpprof.Options{}, nil)
	plain := get(t, "GET", a.url+"/users/42")
	n := a.calls.Load()
	prof := get(t, "GET", a.url+"/users/42?profile=true")
	if got := a.calls.Load() - n; got != 1 || a.profiled.Load() != 1 {
		t.Fatalf("the handler ran %d times for one profiled request, %d times with a profiled context", got, a.profiled.Load())
	}
	if !same(prof, plain) {
		t.Errorf("profiled response differs:\n%d %v %q\nunprofiled:\n%d %v %q", prof.status, prof.header, prof.body, plain.status, plain.header, plain.body)
	}
	id := prof.header.Get(httpprof.HeaderID)
	if prof.header.Get(httpprof.HeaderStatus) != "profiled" || prof.header.Get(httpprof.HeaderURL) != httpprof.DefaultUIPath+"p/"+id {
		t.Fatalf("headers %v", prof.header)
	}
	p, m := adaptertest.Stored(t, a.p.HTTP().Core(), a.p.HTTP().Store(), id)
	if m.Route != "/users/:id" || p.Name != "GET /users/:id" || m.Status != 200 || m.Path != "/users/42" {
		t.Errorf("stored: route %q, name %q, status %d, path %q", m.Route, p.Name, m.Status, m.Path)
	}
	h := get(t, "GET", a.url+"/users/7", "X-Reqprof", "1")
	ui := get(t, "GET", a.url+h.header.Get(httpprof.HeaderURL)+"?format=text")
	if ui.status != 200 || !strings.Contains(ui.body, "GET /users/:id") {
		t.Errorf("UI at %s: %d %.200q", h.header.Get(httpprof.HeaderURL), ui.status, ui.body)
	}
}

func TestErrorsAndStatus(t *testing.T) {
	a := newApp(t, httpprof.Options{}, nil)
	plain := get(t, "GET", a.url+"/teapot")
	prof := get(t, "GET", a.url+"/teapot?profile=true")
	if !same(prof, plain) || prof.status != http.StatusTeapot {
		t.Fatalf("profiled error response differs:\n%d %v %q\nunprofiled:\n%d %v %q", prof.status, prof.header, prof.body, plain.status, plain.header, plain.body)
	}
	_, m := adaptertest.Stored(t, a.p.HTTP().Core(), a.p.HTTP().Store(), prof.header.Get(httpprof.HeaderID))
	if m.Status != http.StatusTeapot || m.Route != "/teapot" {
		t.Errorf("stored status %d route %q, echo sent %d", m.Status, m.Route, prof.status)
	}
	nfPlain := get(t, "GET", a.url+"/nowhere")
	nf := get(t, "GET", a.url+"/nowhere?profile=true")
	if !same(nf, nfPlain) || nf.status != 404 {
		t.Fatalf("unmatched: %d %q, unprofiled %d %q", nf.status, nf.body, nfPlain.status, nfPlain.body)
	}
	_, m = adaptertest.Stored(t, a.p.HTTP().Core(), a.p.HTTP().Store(), nf.header.Get(httpprof.HeaderID))
	if m.Status != 404 {
		t.Errorf("unmatched: stored status %d", m.Status)
	}
}

func TestPanicRecordedAndRecovered(t *testing.T) {
	a := newApp(t, httpprof.Options{}, nil)
	r := get(t, "GET", a.url+"/panic?profile=true")
	if r.status != 500 {
		t.Fatalf("status %d", r.status)
	}
	p, m := adaptertest.Stored(t, a.p.HTTP().Core(), a.p.HTTP().Store(), r.header.Get(httpprof.HeaderID))
	if p.Attr(profile.AttrPanic) != "boom" || !m.Panic {
		t.Errorf("panic %q, status %d", p.Attr(profile.AttrPanic), m.Status)
	}
}

func TestUnknownFormat(t *testing.T) {
	a := newApp(t, httpprof.Options{Authorize: func(r *http.Request) bool { return r.Header.Get("X-Ok") == "1" }}, nil)
	n := a.calls.Load()
	bad := get(t, "GET", a.url+"/users/1?profile=true&profile_format=nope", "X-Ok", "1")
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "nope") || a.calls.Load() != n {
		t.Errorf("authorized, unknown format: %d %q, handler runs %d (want 400 before the handler)", bad.status, bad.body, a.calls.Load()-n)
	}
	plain := get(t, "GET", a.url+"/users/1")
	un := get(t, "GET", a.url+"/users/1?profile=true&profile_format=nope")
	if !same(un, plain) || len(withoutReqprof(un.header)) != len(un.header)-1 {
		t.Errorf("unauthorized: %d %v %q; want the plain response", un.status, un.header, un.body)
	}
	if c := adaptertest.Count(t, a.p.HTTP().Store()); c != 0 {
		t.Errorf("%d profiles stored", c)
	}
}

func TestUIOnAGroup(t *testing.T) {
	var opsCalls atomic.Int64
	a := newApp(t, httpprof.Options{UIPath: "-", Authorize: func(r *http.Request) bool { return r.Header.Get("X-Ok") == "1" }}, func(e *echo.Echo, a *app) {
		ops := e.Group("/ops", func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error { opsCalls.Add(1); return next(c) }
		})
		a.p.MountUI(ops.Group("/reqprof"))
	})
	r := get(t, "GET", a.url+"/users/3?profile=true", "X-Ok", "1")
	id := r.header.Get(httpprof.HeaderID)
	if r.header.Get(httpprof.HeaderURL) != "/ops/reqprof/p/"+id {
		t.Fatalf("Reqprof-Url %q, want the group's", r.header.Get(httpprof.HeaderURL))
	}
	page := get(t, "GET", a.url+"/ops/reqprof/p/"+id+"?format=text", "X-Ok", "1")
	if page.status != 200 || !strings.Contains(page.body, "/users/:id") {
		t.Errorf("the profile on the group: %d %.200q", page.status, page.body)
	}
	list := get(t, "GET", a.url+"/ops/reqprof/", "X-Ok", "1")
	if list.status != 200 || !strings.Contains(list.body, id) || opsCalls.Load() == 0 {
		t.Errorf("the list on the group: %d, has the id %v, group middleware ran %d times", list.status, strings.Contains(list.body, id), opsCalls.Load())
	}
	if bare := get(t, "GET", a.url+"/ops/reqprof", "X-Ok", "1"); bare.status != 200 || !strings.Contains(bare.body, id) {
		t.Errorf("/ops/reqprof: %d", bare.status)
	}
	un := get(t, "GET", a.url+"/ops/reqprof/p/"+id)
	none := get(t, "GET", a.url+"/nothing/here")
	if !same(un, none) || un.status != 404 {
		t.Errorf("unauthorized on the UI: %d %v %q; a missing page: %d %v %q", un.status, un.header, un.body, none.status, none.header, none.body)
	}
	if d := get(t, "GET", a.url+"/debug/reqprof/", "X-Ok", "1"); d.status != 404 {
		t.Errorf("/debug/reqprof/ with UIPath -: %d", d.status)
	}
}

func TestLimitsHonoured(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	a := newApp(t, httpprof.Options{MaxConcurrent: 1}, func(e *echo.Echo, a *app) {
		e.GET("/block", func(c echo.Context) error {
			entered <- struct{}{}
			<-release
			return c.String(200, "done")
		})
	})
	var wg sync.WaitGroup
	var first response
	wg.Go(func() { first = get(t, "GET", a.url+"/block?profile=true") })
	<-entered
	second := get(t, "GET", a.url+"/users/5?profile=true")
	close(release)
	wg.Wait()
	if first.header.Get(httpprof.HeaderStatus) != "profiled" {
		t.Errorf("first: %q", first.header.Get(httpprof.HeaderStatus))
	}
	if s := second.header.Get(httpprof.HeaderStatus); !strings.HasPrefix(s, "skipped:") || second.header.Get(httpprof.HeaderID) != "" || second.status != 200 {
		t.Errorf("second, over MaxConcurrent 1: status %d, Reqprof-Status %q", second.status, s)
	}
}

func TestPreMiddlewareHoldsRouting(t *testing.T) {
	p, err := echoprof.New(httpprof.Options{Enabled: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Pre(p.Middleware())
	e.GET("/items/:id", func(c echo.Context) error { return c.String(200, c.Param("id")) })
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	e.Listener = ln
	go e.Start("")
	defer e.Close()
	r := get(t, "GET", "http://"+ln.Addr().String()+"/items/9?profile=true")
	if r.body != "9" {
		t.Fatalf("body %q", r.body)
	}
	if _, m := adaptertest.Stored(t, p.HTTP().Core(), p.HTTP().Store(), r.header.Get(httpprof.HeaderID)); m.Route != "/items/:id" {
		t.Errorf("with e.Pre: route %q", m.Route)
	}
}

func TestStreamAndHijack(t *testing.T) {
	a := newApp(t, httpprof.Options{}, func(e *echo.Echo, a *app) {
		e.GET("/stream", func(c echo.Context) error {
			for i := range 3 {
				c.Response().Write([]byte(strings.Repeat("x", i+1) + "\n"))
				c.Response().Flush()
			}
			return nil
		})
		e.GET("/hijack", func(c echo.Context) error {
			conn, buf, err := c.Response().Hijack()
			if err != nil {
				return err
			}
			defer conn.Close()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nraw ok")
			return buf.Flush()
		})
	})
	plain := get(t, "GET", a.url+"/stream")
	prof := get(t, "GET", a.url+"/stream?profile=true")
	if !same(prof, plain) || prof.body != "x\nxx\nxxx\n" {
		t.Errorf("stream: profiled %q %v, plain %q %v", prof.body, prof.header, plain.body, plain.header)
	}
	h := get(t, "GET", a.url+"/hijack?profile=true")
	if h.status != 200 || h.body != "raw ok" {
		t.Errorf("hijack: %d %q", h.status, h.body)
	}
}

// echo applies the middleware to the handler on every request: each
// middleware's closure is one allocation, reqprof's like any other.
func TestUnprofiledAllocatesNothingMore(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what echo's per-request middleware closures allocate")
	}
	noop := func(next echo.HandlerFunc) echo.HandlerFunc { return func(c echo.Context) error { return next(c) } }
	for _, enabled := range []bool{false, true} {
		p, err := echoprof.New(httpprof.Options{Enabled: enabled, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		base, wrapped := echo.New(), echo.New()
		if enabled {
			base.Use(noop)
		}
		wrapped.Use(p.Middleware())
		for _, e := range []*echo.Echo{base, wrapped} {
			e.GET("/x/:id", func(c echo.Context) error { return c.NoContent(204) })
		}
		req, _ := http.NewRequest("GET", "/x/1", nil)
		w := &discard{h: http.Header{}}
		allocs := func(e *echo.Echo) float64 {
			return testing.AllocsPerRun(200, func() { e.ServeHTTP(w, req) })
		}
		if b, x := allocs(base), allocs(wrapped); x != b {
			t.Errorf("enabled=%v: %v allocations per request with reqprof's middleware, %v with a no-op one (or none when disabled)", enabled, x, b)
		}
	}
}

// raceEnabled is set by race_test.go under the race detector.
var raceEnabled bool

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
