package ginprof_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	ginprof "github.com/reqprof/reqprof/contrib/gin"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/adaptertest"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/serve"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// app is a gin application with reqprof's middleware, served by gin's own
// RunListener on a loopback port.
type app struct {
	p        *ginprof.Profiler
	url      string
	calls    atomic.Int64 // handler runs
	profiled atomic.Int64 // ... that had a profiled context
}

func newApp(t *testing.T, opts httpprof.Options, setup func(e *gin.Engine, a *app)) *app {
	t.Helper()
	opts.Enabled = true
	if opts.Dir == "" && opts.Store == nil {
		opts.Dir = t.TempDir()
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	p, err := ginprof.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	a := &app{p: p}
	e := gin.New()
	e.Use(gin.RecoveryWithWriter(io.Discard), p.Handler())
	e.GET("/users/:id", func(c *gin.Context) {
		a.calls.Add(1)
		c.Header("X-App", "1")
		if serve.Profiled(c.Request.Context()) {
			a.profiled.Add(1)
		}
		c.JSON(http.StatusOK, gin.H{"id": c.Param("id")})
	})
	e.POST("/status", func(c *gin.Context) {
		a.calls.Add(1)
		c.Status(http.StatusCreated) // set twice: gin sends the last one
		c.Status(http.StatusAccepted)
		c.String(0, "accepted")
	})
	e.GET("/panic", func(c *gin.Context) { a.calls.Add(1); panic("boom") })
	if setup != nil {
		setup(e, a)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.RunListener(ln)
	t.Cleanup(func() { ln.Close() })
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

// withoutReqprof is h without reqprof's headers and the ones that vary
// between two responses (Date).
func withoutReqprof(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if !strings.HasPrefix(k, "Reqprof") && k != "Date" {
			out[k] = v
		}
	}
	return out
}

func sameHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
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
	if prof.status != plain.status || prof.body != plain.body || !sameHeaders(withoutReqprof(prof.header), withoutReqprof(plain.header)) {
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
	// The header trigger works too, and the default UI serves the profile.
	h := get(t, "GET", a.url+"/users/7", "X-Reqprof", "1")
	ui := get(t, "GET", a.url+h.header.Get(httpprof.HeaderURL)+"?format=text")
	if ui.status != 200 || !strings.Contains(ui.body, "GET /users/:id") {
		t.Errorf("UI at %s: %d %.200q", h.header.Get(httpprof.HeaderURL), ui.status, ui.body)
	}
}

func TestStatusAsGinSendsIt(t *testing.T) {
	a := newApp(t, httpprof.Options{}, nil)
	r := get(t, "POST", a.url+"/status?profile=true")
	if r.status != http.StatusAccepted || r.body != "accepted" {
		t.Fatalf("%d %q", r.status, r.body)
	}
	_, m := adaptertest.Stored(t, a.p.HTTP().Core(), a.p.HTTP().Store(), r.header.Get(httpprof.HeaderID))
	if m.Status != http.StatusAccepted {
		t.Errorf("stored status %d, gin sent %d", m.Status, r.status)
	}
	// An unmatched route: gin answers 404 after the handlers.
	nf := get(t, "GET", a.url+"/nowhere?profile=true")
	if nf.status != 404 || nf.body != "404 page not found" {
		t.Fatalf("unmatched: %d %q", nf.status, nf.body)
	}
	_, m = adaptertest.Stored(t, a.p.HTTP().Core(), a.p.HTTP().Store(), nf.header.Get(httpprof.HeaderID))
	if m.Status != 404 || m.Route != "" || m.Name != "GET /nowhere" {
		t.Errorf("unmatched: stored status %d, route %q, name %q", m.Status, m.Route, m.Name)
	}
}

func TestPanicRecordedAndRecovered(t *testing.T) {
	a := newApp(t, httpprof.Options{}, nil)
	r := get(t, "GET", a.url+"/panic?profile=true")
	if r.status != 500 {
		t.Fatalf("status %d", r.status)
	}
	p, m := adaptertest.Stored(t, a.p.HTTP().Core(), a.p.HTTP().Store(), r.header.Get(httpprof.HeaderID))
	if p.Attr(profile.AttrPanic) != "boom" || m.Status != 500 || !m.Panic {
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
	if un.status != 200 || un.body != plain.body || len(withoutReqprof(un.header)) != len(un.header)-1 {
		t.Errorf("unauthorized: %d %v %q; want the plain response", un.status, un.header, un.body)
	}
	if c := adaptertest.Count(t, a.p.HTTP().Store()); c != 0 {
		t.Errorf("%d profiles stored", c)
	}
}

func TestUIOnAGroup(t *testing.T) {
	var opsCalls atomic.Int64
	a := newApp(t, httpprof.Options{UIPath: "-", Authorize: func(r *http.Request) bool { return r.Header.Get("X-Ok") == "1" }}, func(e *gin.Engine, a *app) {
		ops := e.Group("/ops", func(c *gin.Context) { opsCalls.Add(1) })
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
	// An unauthorized client gets gin's own 404, like for a path that
	// does not exist.
	un := get(t, "GET", a.url+"/ops/reqprof/p/"+id)
	none := get(t, "GET", a.url+"/nothing/here")
	if un.status != 404 || un.body != none.body || !sameHeaders(withoutReqprof(un.header), withoutReqprof(none.header)) {
		t.Errorf("unauthorized on the UI: %d %v %q; a missing page: %d %v %q", un.status, un.header, un.body, none.status, none.header, none.body)
	}
	// With UIPath "-" the default path serves nothing.
	if d := get(t, "GET", a.url+"/debug/reqprof/", "X-Ok", "1"); d.status != 404 {
		t.Errorf("/debug/reqprof/ with UIPath -: %d", d.status)
	}
}

func TestLimitsHonoured(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	a := newApp(t, httpprof.Options{MaxConcurrent: 1}, func(e *gin.Engine, a *app) {
		e.GET("/block", func(c *gin.Context) {
			entered <- struct{}{}
			<-release
			c.String(200, "done")
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

// raceEnabled is set by race_test.go under the race detector.
var raceEnabled bool

func TestDisabledAndUnprofiledCostNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what gin's request handling allocates (seen: 1 allocation without the middleware, 0 with it)")
	}
	for _, enabled := range []bool{false, true} {
		p, err := ginprof.New(httpprof.Options{Enabled: enabled, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		bare, wrapped := gin.New(), gin.New()
		wrapped.Use(p.Handler())
		for _, e := range []*gin.Engine{bare, wrapped} {
			e.GET("/x/:id", func(c *gin.Context) { c.Status(204) })
		}
		req, _ := http.NewRequest("GET", "/x/1", nil)
		w := &discard{h: http.Header{}}
		allocs := func(e *gin.Engine) float64 {
			return testing.AllocsPerRun(200, func() { e.ServeHTTP(w, req) })
		}
		if b, x := allocs(bare), allocs(wrapped); x != b {
			t.Errorf("enabled=%v: %v allocations per request with the middleware, %v without", enabled, x, b)
		}
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func TestRunAndShutdown(t *testing.T) {
	// gin's Run family works with the middleware: the tests above serve
	// with RunListener. Here, a plain http.Server's graceful Shutdown.
	p, err := ginprof.New(httpprof.Options{Enabled: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e := gin.New()
	e.Use(p.Handler())
	e.GET("/", func(c *gin.Context) { c.String(200, "ok") })
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: e}
	go srv.Serve(ln)
	r := get(t, "GET", "http://"+ln.Addr().String()+"/?profile=true")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
	p.Close()
	if _, m := adaptertest.Stored(t, p.HTTP().Core(), p.HTTP().Store(), r.header.Get(httpprof.HeaderID)); m.Route != "/" {
		t.Errorf("route %q", m.Route)
	}
}

func TestFlushAndHijackOnProfiledRequests(t *testing.T) {
	a := newApp(t, httpprof.Options{}, func(e *gin.Engine, a *app) {
		e.GET("/stream", func(c *gin.Context) {
			for i := range 3 {
				c.Writer.WriteString(strings.Repeat("x", i+1) + "\n")
				c.Writer.Flush()
			}
		})
		e.GET("/hijack", func(c *gin.Context) {
			conn, buf, err := c.Writer.Hijack()
			if err != nil {
				c.String(500, err.Error())
				return
			}
			defer conn.Close()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nraw ok")
			buf.Flush()
		})
	})
	plain := get(t, "GET", a.url+"/stream")
	prof := get(t, "GET", a.url+"/stream?profile=true")
	if prof.body != plain.body || prof.body != "x\nxx\nxxx\n" || prof.header.Get("Transfer-Encoding") != plain.header.Get("Transfer-Encoding") {
		t.Errorf("stream: profiled %q %v, plain %q %v", prof.body, prof.header, plain.body, plain.header)
	}
	h := get(t, "GET", a.url+"/hijack?profile=true")
	if h.status != 200 || h.body != "raw ok" {
		t.Errorf("hijack: %d %q", h.status, h.body)
	}
}
