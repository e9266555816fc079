package ui_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/testprofile"
)

// server runs an app whose GET /work/{n} does real work (computes, sleeps,
// fans out) behind the middleware, with the UI at /debug/reqprof/.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	p, err := httpprof.New(httpprof.Options{Enabled: true, Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	mux := http.NewServeMux()
	mux.HandleFunc("GET /work/{n}", func(w http.ResponseWriter, r *http.Request) {
		testprofile.PhaseSleep()
		testprofile.PhaseFanout(r.Context())
		io.WriteString(w, "done")
	})
	srv := httptest.NewServer(p.Wrap(mux))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestEmptyList shows how to make a profile.
func TestEmptyList(t *testing.T) {
	srv := server(t)
	_, b := get(t, srv.URL+"/debug/reqprof/")
	host := strings.TrimPrefix(srv.URL, "http://")
	if !strings.Contains(string(b), "curl -i 'http://"+host+"/your/path?profile=true'") {
		t.Errorf("empty list page:\n%s", b)
	}
}

// TestRouteFilter filters by routes as each router names them: the
// method and the route's path.
func TestRouteFilter(t *testing.T) {
	srv := server(t)
	for _, n := range []string{"1", "2"} {
		resp, _ := get(t, srv.URL+"/work/"+n+"?profile=true")
		get(t, srv.URL+resp.Header.Get(httpprof.HeaderURL)+"?format=text")
	}
	_, b := get(t, srv.URL+"/debug/reqprof/?route="+url.QueryEscape("GET /work/{n}"))
	if c := strings.Count(string(b), `<tr data-id=`); c != 2 {
		t.Errorf("route GET /work/{n}: %d rows", c)
	}
	_, b = get(t, srv.URL+"/debug/reqprof/?route="+url.QueryEscape("GET /other"))
	if c := strings.Count(string(b), `<tr data-id=`); c != 0 || !strings.Contains(string(b), "No profile of GET /other") {
		t.Errorf("route GET /other: %d rows", c)
	}
}
