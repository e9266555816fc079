package chiprof_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	chiprof "github.com/reqprof/reqprof/contrib/chi"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/adaptertest"
	"github.com/reqprof/reqprof/serve"
)

type app struct {
	p        *chiprof.Profiler
	url      string
	calls    atomic.Int64
	profiled atomic.Int64
}

// router is a chi application: middleware that needs chi's routing
// context (GetHead asks it for the routes), a route with a parameter, a
// mounted sub-router.
func (a *app) router(use func(http.Handler) http.Handler, extra func(r chi.Router)) *chi.Mux {
	r := chi.NewRouter()
	if use != nil {
		r.Use(use)
	}
	r.Use(middleware.GetHead)
	if extra != nil {
		extra(r)
	}
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		if serve.Profiled(r.Context()) {
			a.profiled.Add(1)
		}
		w.Header().Set("X-App", "1")
		io.WriteString(w, "user "+chi.URLParam(r, "id"))
	})
	api := chi.NewRouter()
	api.Get("/items/{item}", func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "item "+chi.URLParam(r, "item"))
	})
	r.Mount("/api", api)
	return r
}

// newApp serves the application with reqprof outermost (around the
// router) or inside it (r.Use).
func newApp(t *testing.T, outermost bool, opts httpprof.Options, setup func(r chi.Router, a *app)) *app {
	t.Helper()
	opts.Enabled = true
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	p, err := chiprof.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	a := &app{p: p}
	extra := func(r chi.Router) {
		if setup != nil {
			setup(r, a)
		}
	}
	var h http.Handler
	if outermost {
		h = p.Wrap(a.router(nil, extra))
	} else {
		h = a.router(p.Wrap, extra)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

type response struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, method, url string, hdr ...string) response {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

func same(a, b response) bool {
	strip := func(h http.Header) http.Header {
		out := http.Header{}
		for k, v := range h {
			if !strings.HasPrefix(k, "Reqprof") && k != "Date" {
				out[k] = v
			}
		}
		return out
	}
	ha, hb := strip(a.header), strip(b.header)
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

func TestRoutesOutermostAndInside(t *testing.T) {
	for _, outermost := range []bool{true, false} {
		name := map[bool]string{true: "outermost", false: "inside"}[outermost]
		t.Run(name, func(t *testing.T) {
			a := newApp(t, outermost, httpprof.Options{}, nil)
			for _, c := range []struct{ method, path, route string }{
				{"GET", "/users/42", "/users/{id}"},
				{"GET", "/api/items/7", "/api/items/{item}"},
				{"HEAD", "/users/42", "/users/{id}"}, // GetHead asks chi's routing context for the routes
			} {
				plain := get(t, c.method, a.url+c.path)
				n := a.calls.Load()
				prof := get(t, c.method, a.url+c.path+"?profile=true")
				if d := a.calls.Load() - n; d != 1 {
					t.Errorf("%s %s: the handler ran %d times", c.method, c.path, d)
				}
				if !same(prof, plain) {
					t.Errorf("%s %s: profiled %d %v %q, plain %d %v %q", c.method, c.path, prof.status, prof.header, prof.body, plain.status, plain.header, plain.body)
				}
				p, m := adaptertest.Stored(t, a.p.Core(), a.p.Store(), prof.header.Get(httpprof.HeaderID))
				if m.Route != c.route || p.Name != c.method+" "+c.route || m.Status != plain.status {
					t.Errorf("%s %s: route %q, name %q, status %d; want %q, status %d", c.method, c.path, m.Route, p.Name, m.Status, c.route, plain.status)
				}
			}
			if a.profiled.Load() == 0 {
				t.Error("the handler never had a profiled context")
			}
			// No route: the path names it.
			nf := get(t, "GET", a.url+"/nowhere?profile=true")
			if _, m := adaptertest.Stored(t, a.p.Core(), a.p.Store(), nf.header.Get(httpprof.HeaderID)); nf.status != 404 || m.Route != "" || m.Name != "GET /nowhere" {
				t.Errorf("unmatched: %d, route %q, name %q", nf.status, m.Route, m.Name)
			}
		})
	}
}

func TestUnknownFormatAndLimits(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	a := newApp(t, true, httpprof.Options{MaxConcurrent: 1, Authorize: func(r *http.Request) bool { return r.Header.Get("X-Ok") == "1" }}, func(r chi.Router, a *app) {
		r.Get("/block", func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-release
		})
	})
	n := a.calls.Load()
	bad := get(t, "GET", a.url+"/users/1?profile=true&profile_format=nope", "X-Ok", "1")
	if bad.status != 400 || a.calls.Load() != n {
		t.Errorf("authorized, unknown format: %d, handler ran %d times", bad.status, a.calls.Load()-n)
	}
	un := get(t, "GET", a.url+"/users/1?profile=true&profile_format=nope")
	if un.status != 200 || un.body != "user 1" || un.header.Get(httpprof.HeaderStatus) != "" {
		t.Errorf("unauthorized: %d %q %v", un.status, un.body, un.header)
	}
	var wg sync.WaitGroup
	wg.Go(func() { get(t, "GET", a.url+"/block?profile=true", "X-Ok", "1") })
	<-entered
	second := get(t, "GET", a.url+"/users/5?profile=true", "X-Ok", "1")
	close(release)
	wg.Wait()
	if s := second.header.Get(httpprof.HeaderStatus); !strings.HasPrefix(s, "skipped:") || second.body != "user 5" {
		t.Errorf("over MaxConcurrent 1: Reqprof-Status %q, body %q", s, second.body)
	}
}

func TestUIMountedOnARouter(t *testing.T) {
	a := newApp(t, true, httpprof.Options{UIPath: "-", ProfileURL: func(id string) string { return "/ops/reqprof/p/" + id }}, func(r chi.Router, a *app) {
		r.Route("/ops", func(ops chi.Router) {
			ops.Mount("/reqprof", http.StripPrefix("/ops/reqprof", a.p.UI()))
		})
	})
	r := get(t, "GET", a.url+"/users/3?profile=true")
	page := get(t, "GET", a.url+r.header.Get(httpprof.HeaderURL)+"?format=text")
	if !strings.HasPrefix(r.header.Get(httpprof.HeaderURL), "/ops/reqprof/p/") || page.status != 200 || !strings.Contains(page.body, "GET /users/{id}") {
		t.Errorf("UI at %q: %d %.200q", r.header.Get(httpprof.HeaderURL), page.status, page.body)
	}
}

func TestNoChiContextForUnprofiledRequests(t *testing.T) {
	p, err := chiprof.New(httpprof.Options{Enabled: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r := chi.NewRouter()
	r.Get("/x/{id}", func(w http.ResponseWriter, r *http.Request) {})
	wrapped := p.Wrap(r)
	req := httptest.NewRequest("GET", "/x/1", nil)
	w := httptest.NewRecorder()
	bare := testing.AllocsPerRun(200, func() { r.ServeHTTP(w, req) })
	with := testing.AllocsPerRun(200, func() { wrapped.ServeHTTP(w, req) })
	if with != bare {
		t.Errorf("%v allocations per unprofiled request with the middleware, %v without", with, bare)
	}
}
