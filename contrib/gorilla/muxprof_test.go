package muxprof_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gorilla/mux"

	muxprof "github.com/reqprof/reqprof/contrib/gorilla"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/adaptertest"
)

type app struct {
	p     *httpprof.Profiler
	url   string
	calls atomic.Int64
}

// newApp serves a gorilla/mux application with reqprof around the router
// (outermost) or as its middleware.
func newApp(t *testing.T, outermost bool, opts httpprof.Options, extra func(r *mux.Router)) *app {
	t.Helper()
	a := &app{}
	r := mux.NewRouter()
	r.HandleFunc("/users/{id:[0-9]+}", func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		w.Header().Set("X-App", "1")
		io.WriteString(w, "user "+mux.Vars(r)["id"])
	}).Methods("GET")
	api := r.PathPrefix("/api").Subrouter()
	api.HandleFunc("/items/{item}", func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "created "+mux.Vars(r)["item"])
	}).Methods("POST")
	if extra != nil {
		extra(r)
	}
	opts.Enabled = true
	opts.Dir = t.TempDir()
	opts.Logger = slog.New(slog.DiscardHandler)
	if outermost {
		opts.Route = muxprof.Route(r)
	} else {
		opts.Route = muxprof.Route(nil)
	}
	p, err := httpprof.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	a.p = p
	var h http.Handler = r
	if outermost {
		h = p.Wrap(r)
	} else {
		r.Use(p.Wrap)
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

func send(t *testing.T, method, url string, hdr ...string) response {
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

func TestRouteTemplates(t *testing.T) {
	for _, outermost := range []bool{true, false} {
		t.Run(map[bool]string{true: "outermost", false: "middleware"}[outermost], func(t *testing.T) {
			a := newApp(t, outermost, httpprof.Options{}, nil)
			for _, c := range []struct{ method, path, route string }{
				{"GET", "/users/42", "/users/{id:[0-9]+}"},
				{"POST", "/api/items/pen", "/api/items/{item}"},
			} {
				plain := send(t, c.method, a.url+c.path)
				n := a.calls.Load()
				prof := send(t, c.method, a.url+c.path+"?profile=true")
				if d := a.calls.Load() - n; d != 1 || prof.status != plain.status || prof.body != plain.body || prof.header.Get("X-App") != plain.header.Get("X-App") {
					t.Errorf("%s %s: handler ran %d times; profiled %d %q, plain %d %q", c.method, c.path, d, prof.status, prof.body, plain.status, plain.body)
				}
				p, m := adaptertest.Stored(t, a.p.Core(), a.p.Store(), prof.header.Get(httpprof.HeaderID))
				if m.Route != c.route || p.Name != c.method+" "+c.route || m.Status != plain.status {
					t.Errorf("%s %s: route %q name %q status %d, want %q", c.method, c.path, m.Route, p.Name, m.Status, c.route)
				}
			}
		})
	}
	// Around the router, a request that matches no route has none.
	a := newApp(t, true, httpprof.Options{}, nil)
	for _, path := range []string{"/users/abc", "/nowhere"} {
		r := send(t, "GET", a.url+path+"?profile=true")
		if _, m := adaptertest.Stored(t, a.p.Core(), a.p.Store(), r.header.Get(httpprof.HeaderID)); r.status != 404 || m.Route != "" || m.Name != "GET "+path {
			t.Errorf("%s: %d, route %q, name %q", path, r.status, m.Route, m.Name)
		}
	}
	// A method the route does not allow: no route either.
	r := send(t, "DELETE", a.url+"/users/1?profile=true")
	if _, m := adaptertest.Stored(t, a.p.Core(), a.p.Store(), r.header.Get(httpprof.HeaderID)); r.status != 405 || m.Route != "" {
		t.Errorf("DELETE: %d, route %q", r.status, m.Route)
	}
}

func TestUnknownFormatLimitsAndUI(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	var p *httpprof.Profiler
	a := newApp(t, true, httpprof.Options{
		MaxConcurrent: 1, UIPath: "-",
		ProfileURL: func(id string) string { return "/ops/reqprof/p/" + id },
		Authorize:  func(r *http.Request) bool { return r.Header.Get("X-Ok") == "1" },
	}, func(r *mux.Router) {
		r.HandleFunc("/block", func(w http.ResponseWriter, r *http.Request) { entered <- struct{}{}; <-release })
		r.PathPrefix("/ops/reqprof/").Handler(http.StripPrefix("/ops/reqprof", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.UI().ServeHTTP(w, r)
		})))
	})
	p = a.p
	n := a.calls.Load()
	if bad := send(t, "GET", a.url+"/users/1?profile=true&profile_format=nope", "X-Ok", "1"); bad.status != 400 || a.calls.Load() != n {
		t.Errorf("authorized, unknown format: %d, handler ran %d times", bad.status, a.calls.Load()-n)
	}
	if un := send(t, "GET", a.url+"/users/1?profile=true&profile_format=nope"); un.status != 200 || un.body != "user 1" || un.header.Get(httpprof.HeaderStatus) != "" {
		t.Errorf("unauthorized: %d %q %v", un.status, un.body, un.header)
	}
	var wg sync.WaitGroup
	var first response
	wg.Go(func() { first = send(t, "GET", a.url+"/block?profile=true", "X-Ok", "1") })
	<-entered
	second := send(t, "GET", a.url+"/users/5?profile=true", "X-Ok", "1")
	close(release)
	wg.Wait()
	if s := second.header.Get(httpprof.HeaderStatus); !strings.HasPrefix(s, "skipped:") || second.body != "user 5" {
		t.Errorf("over MaxConcurrent 1: Reqprof-Status %q, body %q", s, second.body)
	}
	page := send(t, "GET", a.url+first.header.Get(httpprof.HeaderURL)+"?format=text", "X-Ok", "1")
	if page.status != 200 || !strings.Contains(page.body, "GET /block") {
		t.Errorf("UI on the router at %q: %d %.200q", first.header.Get(httpprof.HeaderURL), page.status, page.body)
	}
}
