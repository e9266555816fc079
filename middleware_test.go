package reqprof_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/store"
)

// newServer serves mux behind the middleware and returns the server and
// the middleware handle.
func newServer(t *testing.T, opts reqprof.Options, h http.Handler) (*httptest.Server, *reqprof.Handler) {
	t.Helper()
	opts.Enabled = true
	if opts.Dir == "" && opts.Store == nil {
		opts.Dir = t.TempDir()
	}
	mw, err := reqprof.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw.Wrap(h))
	t.Cleanup(func() {
		srv.Close()
		mw.Close()
	})
	return srv, mw
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// fetchProfile reads a profile's text tree through the UI.
func fetchProfile(t *testing.T, srv *httptest.Server, resp *http.Response) string {
	t.Helper()
	u := resp.Header.Get(reqprof.HeaderURL)
	if u == "" {
		t.Fatalf("no %s header (status %q)", reqprof.HeaderURL, resp.Header.Get(reqprof.HeaderStatus))
	}
	// The UI waits 10s for a profile still being extracted, then answers
	// 503: under the race detector on a loaded machine, 20 concurrent
	// profiles can take longer than that to extract two at a time.
	for deadline := time.Now().Add(2 * time.Minute); ; {
		r, body := get(t, srv.URL+u+"?format=text")
		if r.StatusCode == http.StatusServiceUnavailable && time.Now().Before(deadline) {
			continue
		}
		if r.StatusCode != 200 {
			t.Fatalf("GET %s: %s: %s", u, r.Status, body)
		}
		return string(body)
	}
}

//go:noinline
func slowHandlerWork() { time.Sleep(15 * time.Millisecond) }

func TestMiddlewareRunsHandlerOnceAndKeepsResponse(t *testing.T) {
	var calls atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		slowHandlerWork()
		w.Header().Set("X-Custom", "yes")
		w.Header().Set("Content-Type", "application/x-test")
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprintf(w, "method=%s body=%s query=%s", r.Method, body, r.URL.Query().Get("q"))
	})
	srv, _ := newServer(t, reqprof.Options{}, h)

	type result struct {
		status int
		header http.Header
		body   string
	}
	run := func(method, target, body string, hdr ...string) result {
		req, _ := http.NewRequest(method, srv.URL+target, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		before := calls.Load()
		resp, b := do(t, req)
		if n := calls.Load() - before; n != 1 {
			t.Errorf("%s %s: handler ran %d times", method, target, n)
		}
		hd := resp.Header.Clone()
		for k := range hd {
			if strings.HasPrefix(k, "Reqprof-") || k == "Date" {
				delete(hd, k)
			}
		}
		return result{resp.StatusCode, hd, string(b)}
	}
	for _, method := range []string{"GET", "POST"} {
		plain := run(method, "/x?q=1", "payload")
		for _, trig := range []struct {
			target string
			hdr    []string
		}{
			{"/x?q=1&profile=true", nil},
			{"/x?q=1&profile=1", nil},
			{"/x?q=1", []string{reqprof.HeaderTrigger, "1"}},
		} {
			got := run(method, trig.target, "payload", trig.hdr...)
			if got.status != plain.status || got.body != plain.body || fmt.Sprint(got.header) != fmt.Sprint(plain.header) {
				t.Errorf("%s %s %v: response differs from the unprofiled one:\n%+v\n%+v", method, trig.target, trig.hdr, got, plain)
			}
		}
	}
	// profile=false, 0 and empty do not profile.
	for _, q := range []string{"profile=false", "profile=0", "profile="} {
		resp, _ := get(t, srv.URL+"/x?"+q)
		if resp.Header.Get(reqprof.HeaderID) != "" {
			t.Errorf("?%s was profiled", q)
		}
	}
}

func TestMiddlewareProfileContent(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		slowHandlerWork()
		w.Write([]byte("item " + r.PathValue("id")))
	})
	srv, _ := newServer(t, reqprof.Options{}, mux)
	resp, body := get(t, srv.URL+"/items/42?profile=true&api_key=hunter2&page=3&profile_format=text")
	if string(body) != "item 42" {
		t.Fatalf("body %q", body)
	}
	id := resp.Header.Get(reqprof.HeaderID)
	if !store.ValidID(id) {
		t.Fatalf("bad id %q", id)
	}
	if got := resp.Header.Get(reqprof.HeaderURL); got != "/debug/reqprof/p/"+id {
		t.Errorf("%s = %q", reqprof.HeaderURL, got)
	}
	tree := fetchProfile(t, srv, resp)
	for _, want := range []string{"GET /items/{id}", "slowHandlerWork", "[wait: sleep]", "route: GET /items/{id}", "status: 200", "page=3"} {
		if !strings.Contains(tree, want) {
			t.Errorf("profile lacks %q:\n%s", want, tree)
		}
	}
	if strings.Contains(tree, "hunter2") {
		t.Errorf("a sensitive query value reached the profile:\n%s", tree)
	}
	if !strings.Contains(tree, "api_key=REDACTED") {
		t.Errorf("the sensitive parameter is not marked redacted:\n%s", tree)
	}
	if strings.Contains(tree, "profile=true") || strings.Contains(tree, "profile_format") {
		t.Errorf("profile parameters kept in the URL:\n%s", tree)
	}
}

func TestMiddlewareUnknownFormat(t *testing.T) {
	var calls atomic.Int64
	srv, _ := newServer(t, reqprof.Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	resp, body := get(t, srv.URL+"/?profile=true&profile_format=svg")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if !strings.Contains(string(body), "svg") || !strings.Contains(string(body), "speedscope") {
		t.Errorf("error body %q does not name the format and list the valid ones", body)
	}
	if calls.Load() != 0 {
		t.Errorf("handler ran %d times for a bad format", calls.Load())
	}
}

func TestMiddlewareProfileResponse(t *testing.T) {
	var calls atomic.Int64
	srv, _ := newServer(t, reqprof.Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		slowHandlerWork()
		w.Write([]byte("handler body"))
	}))
	resp, body := get(t, srv.URL+"/?profile=true&profile_response=1&profile_format=text")
	if calls.Load() != 1 {
		t.Errorf("handler ran %d times", calls.Load())
	}
	if strings.Contains(string(body), "handler body") || !strings.Contains(string(body), "slowHandlerWork") {
		t.Errorf("profile_response=1 body:\n%s", body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("content type %q", ct)
	}
	resp, body = get(t, srv.URL+"/?profile=true&profile_response=1")
	if !strings.Contains(string(body), `"$schema"`) || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("default format is not speedscope: %s %.100s", resp.Header.Get("Content-Type"), body)
	}
}

func TestMiddlewareStreaming(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			http.Error(w, "no flusher", 500)
			return
		}
		for i := range 3 {
			fmt.Fprintf(w, "chunk %d\n", i)
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("flush: %v", err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	srv, _ := newServer(t, reqprof.Options{}, h)
	_, plain := get(t, srv.URL+"/")
	resp, prof := get(t, srv.URL+"/?profile=1")
	if !bytes.Equal(plain, prof) || string(plain) != "chunk 0\nchunk 1\nchunk 2\n" {
		t.Errorf("streamed bodies differ: %q vs %q", plain, prof)
	}
	if resp.Header.Get(reqprof.HeaderID) == "" {
		t.Error("streamed request not profiled")
	}
}

func TestMiddlewareHijack(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		buf.Flush()
	})
	srv, _ := newServer(t, reqprof.Options{}, h)
	_, body := get(t, srv.URL+"/?profile=1")
	if string(body) != "hijacked" {
		t.Errorf("body %q", body)
	}
}

func TestMiddlewarePanic(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowHandlerWork()
		panic("handler exploded")
	})
	opts := reqprof.Options{Enabled: true, Dir: t.TempDir()}
	mw, err := reqprof.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	wrapped := mw.Wrap(h)
	req := httptest.NewRequest("GET", "/boom?profile=true", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	req.Host = "127.0.0.1:5555"
	rec := httptest.NewRecorder()
	func() {
		defer func() {
			if r := recover(); r != "handler exploded" {
				t.Errorf("recovered %v, want the handler's panic", r)
			}
		}()
		wrapped.ServeHTTP(rec, req)
	}()
	mw.Close() // flushes pending profiles
	ms, err := mw.Store().List(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Label(profile.AttrPanic) == "" {
		t.Fatalf("stored %+v, want one profile marked as panicked", ms)
	}
}

func TestMiddlewareAuthorization(t *testing.T) {
	var calls atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); w.Write([]byte("ok")) })
	serve := func(opts reqprof.Options, remote string, hdr ...string) *httptest.ResponseRecorder {
		opts.Enabled = true
		opts.Dir = t.TempDir()
		mw, err := reqprof.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		defer mw.Close()
		req := httptest.NewRequest("GET", "/?profile=true", nil)
		req.RemoteAddr = remote
		req.Host = "127.0.0.1:8080"
		for i := 0; i+1 < len(hdr); i += 2 {
			if hdr[i] == "Host" {
				req.Host = hdr[i+1]
				continue
			}
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		mw.Wrap(h).ServeHTTP(rec, req)
		return rec
	}
	// Default: loopback only. A refused client learns nothing: no reqprof
	// header, its request served as if reqprof were absent.
	if rec := serve(reqprof.Options{}, "203.0.113.9:4000"); len(reqprofHeaders(rec.Header())) != 0 || rec.Body.String() != "ok" {
		t.Errorf("remote client: headers %v, body %q", reqprofHeaders(rec.Header()), rec.Body.String())
	}
	if rec := serve(reqprof.Options{}, "[::1]:4000", "Host", "[::1]:8080"); rec.Header().Get(reqprof.HeaderID) == "" {
		t.Errorf("IPv6 loopback refused: %q", rec.Header().Get(reqprof.HeaderStatus))
	}
	tok := reqprof.Options{Authorize: reqprof.TokenAuth("s3cret")}
	if rec := serve(tok, "203.0.113.9:4000", "Authorization", "Bearer s3cret"); rec.Header().Get(reqprof.HeaderID) == "" {
		t.Errorf("token refused: %q", rec.Header().Get(reqprof.HeaderStatus))
	}
	if rec := serve(tok, "127.0.0.1:4000", "X-Reqprof-Token", "wrong"); rec.Header().Get(reqprof.HeaderID) != "" {
		t.Error("wrong token accepted")
	}
	// The UI is behind the same check: a remote client's request goes to
	// the application, which knows nothing of it.
	mw, _ := reqprof.New(reqprof.Options{Enabled: true, Dir: t.TempDir()})
	defer mw.Close()
	req := httptest.NewRequest("GET", "/debug/reqprof/", nil)
	req.RemoteAddr = "203.0.113.9:4000"
	rec := httptest.NewRecorder()
	mw.Wrap(h).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "ok" {
		t.Errorf("UI from a remote client: %d %q", rec.Code, rec.Body.String())
	}
}

// reqprofHeaders returns the response headers that name reqprof.
func reqprofHeaders(h http.Header) []string {
	var out []string
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "reqprof") {
			out = append(out, k)
		}
	}
	return out
}

func TestMiddlewareLimits(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("block") != "" {
			started <- struct{}{}
			<-release
		}
		w.Write([]byte("ok"))
	})
	srv, _ := newServer(t, reqprof.Options{MaxConcurrent: 1, PerMinute: 3}, h)
	done := make(chan struct{})
	go func() {
		defer close(done)
		get(t, srv.URL+"/?profile=1&block=1")
	}()
	<-started
	resp, body := get(t, srv.URL+"/?profile=1")
	if resp.Header.Get(reqprof.HeaderID) != "" || !strings.Contains(resp.Header.Get(reqprof.HeaderStatus), "in flight") || string(body) != "ok" {
		t.Errorf("over the concurrency limit: id=%q status=%q", resp.Header.Get(reqprof.HeaderID), resp.Header.Get(reqprof.HeaderStatus))
	}
	close(release)
	<-done
	// The slot is held until the profile is stored: waiting for it (the
	// UI waits for profiles being stored) frees it.
	waitStored(t, srv)
	// The rate: 3 per minute, one used.
	for i := range 3 {
		resp, _ := get(t, srv.URL+"/?profile=1")
		limited := strings.Contains(resp.Header.Get(reqprof.HeaderStatus), "rate limit")
		if limited != (i == 2) {
			t.Errorf("request %d: status %q", i, resp.Header.Get(reqprof.HeaderStatus))
		}
		if !limited {
			fetchProfile(t, srv, resp)
		}
	}
}

// Twenty handlers with distinct names.
//
//go:noinline
func work00() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work01() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work02() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work03() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work04() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work05() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work06() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work07() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work08() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work09() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work10() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work11() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work12() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work13() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work14() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work15() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work16() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work17() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work18() { time.Sleep(3 * time.Millisecond) }

//go:noinline
func work19() { time.Sleep(3 * time.Millisecond) }

var works = []func(){work00, work01, work02, work03, work04, work05, work06, work07, work08, work09,
	work10, work11, work12, work13, work14, work15, work16, work17, work18, work19}

func TestMiddlewareConcurrent(t *testing.T) {
	mux := http.NewServeMux()
	for i, f := range works {
		mux.HandleFunc(fmt.Sprintf("/w/%d", i), func(w http.ResponseWriter, r *http.Request) {
			// A goroutine of its own too.
			done := make(chan struct{})
			go func() { f(); close(done) }()
			f()
			<-done
		})
	}
	srv, _ := newServer(t, reqprof.Options{MaxConcurrent: 20, PerMinute: 1000}, mux)
	var wg sync.WaitGroup
	resps := make([]*http.Response, len(works))
	for i := range works {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps[i], _ = get(t, fmt.Sprintf("%s/w/%d?profile=true", srv.URL, i))
		}()
	}
	wg.Wait()
	for i, resp := range resps {
		tree := fetchProfile(t, srv, resp)
		for j := range works {
			name := fmt.Sprintf("work%02d", j)
			if has := strings.Contains(tree, name); has != (i == j) {
				t.Errorf("profile of request %d: contains %s = %v\n%s", i, name, has, tree)
			}
		}
	}
}

func TestMiddlewareSlowCapture(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/fast", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("fast")) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(60 * time.Millisecond)
		w.Write([]byte("slow"))
	})
	srv, mw := newServer(t, reqprof.Options{CaptureSlowerThan: 40 * time.Millisecond}, mux)
	for range 5 {
		get(t, srv.URL+"/fast")
	}
	resp, body := get(t, srv.URL+"/slow")
	if string(body) != "slow" || resp.Header.Get(reqprof.HeaderID) != "" {
		t.Errorf("slow request: body %q, id header %q", body, resp.Header.Get(reqprof.HeaderID))
	}
	for range 3 {
		get(t, srv.URL+"/fast")
	}
	mw.Close()
	ms, err := mw.Store().List(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Label(profile.AttrURL) != "/slow" || ms[0].Label(profile.AttrReason) != profile.ReasonSlow || ms[0].Duration < 60*time.Millisecond {
		t.Fatalf("stored %+v, want only the slow request", ms)
	}
	p, _, err := mw.Store().Get(context.Background(), ms[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	(&reqprof.Profile{Profile: p}).Write(&b, reqprof.FormatText)
	if !strings.Contains(b.String(), "[wait: sleep]") {
		t.Errorf("slow profile:\n%s", b.String())
	}
}

func TestUI(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /a", func(w http.ResponseWriter, r *http.Request) { slowHandlerWork() })
	mux.HandleFunc("GET /b", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", http.StatusServiceUnavailable) })
	srv, _ := newServer(t, reqprof.Options{}, mux)
	ra, _ := get(t, srv.URL+"/a?profile=1")
	rb, _ := get(t, srv.URL+"/b?profile=1")
	fetchProfile(t, srv, ra) // waits for them to be stored
	fetchProfile(t, srv, rb)

	resp, body := get(t, srv.URL+"/debug/reqprof/")
	page := string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, "/a") || !strings.Contains(page, "GET /b") || !strings.Contains(page, "503") {
		t.Errorf("list page:\n%s", page)
	}
	_, body = get(t, srv.URL+"/debug/reqprof/?route="+url.QueryEscape("GET /b"))
	if strings.Contains(string(body), ">/a<") || !strings.Contains(string(body), "503") {
		t.Errorf("route filter:\n%s", body)
	}
	// Every format downloads with its content type.
	u := srv.URL + ra.Header.Get(reqprof.HeaderURL)
	for _, f := range reqprof.Formats() {
		r, b := get(t, u+"?format="+string(f))
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != f.ContentType() || len(b) == 0 {
			t.Errorf("format %s: %s %q (%d bytes)", f, r.Status, r.Header.Get("Content-Type"), len(b))
		}
	}
	r, b := get(t, u)
	if r.StatusCode != 200 || !strings.Contains(string(b), "slowHandlerWork") {
		t.Errorf("profile page: %s\n%s", r.Status, b)
	}
	// Path tricks never reach the file system.
	for _, p := range []string{"p/..%2f..%2fetc%2fpasswd", "p/../../etc/passwd", "p/%2e%2e", "p/0000000000000000-0000000g", "p/" + strings.Repeat("a", 300)} {
		r, _ := get(t, srv.URL+"/debug/reqprof/"+p)
		if r.StatusCode == 200 {
			t.Errorf("%s: %s", p, r.Status)
		}
	}
	// Delete.
	req, _ := http.NewRequest("DELETE", u, nil)
	if r, _ := do(t, req); r.StatusCode != http.StatusNoContent {
		t.Errorf("delete: %s", r.Status)
	}
	if r, _ := get(t, u); r.StatusCode != http.StatusNotFound {
		t.Errorf("after delete: %s", r.Status)
	}
}

// waitStored waits until the listed profiles are all stored: the UI's
// profile page waits for a profile still being extracted.
func waitStored(t *testing.T, srv *httptest.Server) {
	t.Helper()
	for range 200 {
		_, body := get(t, srv.URL+"/debug/reqprof/")
		ids := regexp.MustCompile(`p/([0-9a-f]{16}-[0-9a-f]{8})`).FindAllStringSubmatch(string(body), -1)
		if len(ids) > 0 {
			for _, m := range ids {
				get(t, srv.URL+"/debug/reqprof/p/"+m[1]+"?format=text")
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no profile stored")
}
