package httpprof_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/store"
)

// newProfiler returns an enabled Profiler over a temporary directory.
func newProfiler(t *testing.T, opts httpprof.Options) *httpprof.Profiler {
	t.Helper()
	opts.Enabled = true
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Dir == "" && opts.Store == nil {
		opts.Dir = t.TempDir()
	}
	p, err := httpprof.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func send(t *testing.T, c *http.Client, method, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func reqprofHeaders(h http.Header) []string {
	var out []string
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "reqprof") {
			out = append(out, k)
		}
	}
	return out
}

// app is the application behind the middleware: it answers "app" and
// knows nothing of reqprof.
var app = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-App", "1")
	io.WriteString(w, "app")
})

// profileOne makes a profile directly (loopback, no proxy) and returns its id.
func profileOne(t *testing.T, base string) string {
	t.Helper()
	resp, body := send(t, http.DefaultClient, "GET", base+"/x?profile=true")
	id := resp.Header.Get(httpprof.HeaderID)
	if id == "" || body != "app" {
		t.Fatalf("direct profile: id %q, status %q, body %q", id, resp.Header.Get(httpprof.HeaderStatus), body)
	}
	// Wait until it is stored.
	send(t, http.DefaultClient, "GET", base+resp.Header.Get(httpprof.HeaderURL)+"?format=text")
	return id
}

// withTrace stores a copy of profile id with an OpenTelemetry trace id, as
// contrib/otel records it, and returns the trace id.
func withTrace(t *testing.T, st store.Store, id string) string {
	t.Helper()
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	pr, m, err := st.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	pr.SetAttr(profile.AttrTraceID, trace)
	m.ID, m.Labels = store.NewID(m.Time), store.LabelsOf(pr)
	if err := st.Put(context.Background(), m, pr); err != nil {
		t.Fatal(err)
	}
	return trace
}

// uiPaths are the UI's pages (GET) about profile id, whose copy carries
// trace, and its route "GET /x": an unauthorized client must learn nothing
// from any of them.
func uiPaths(id, trace string) []string {
	route := url.QueryEscape("GET /x")
	return []string{
		"/debug/reqprof/",
		"/debug/reqprof/?trace_id=" + trace,
		"/debug/reqprof/?route=" + route,
		"/debug/reqprof/p/" + id,
		"/debug/reqprof/p/" + id + "?format=text",
		"/debug/reqprof/p/" + id + "?format=pprof&download=1",
		"/debug/reqprof/p/by-trace/" + trace,
		"/debug/reqprof/route?route=" + route,
		"/debug/reqprof/route?route=" + route + "&format=pprof&download=1",
		"/debug/reqprof/route/diff?route=" + route,
		"/debug/reqprof/style.css",
	}
}

// reachesUI checks that an authorized GET of each path is answered by the
// UI (so that the same path answered "app" is the refusal, not a missing
// page).
func reachesUI(t *testing.T, base string, paths []string, hdr ...string) {
	t.Helper()
	for _, path := range paths {
		resp, body := send(t, noRedirect, "GET", base+path, hdr...)
		if body == "app" || resp.StatusCode >= 400 {
			t.Errorf("GET %s authorized: %s %.200q, want the UI's page", path, resp.Status, body)
		}
	}
}

func TestBehindAProxyNothingIsTrusted(t *testing.T) {
	p := newProfiler(t, httpprof.Options{})
	srv := httptest.NewServer(p.Wrap(app))
	defer srv.Close()
	id := profileOne(t, srv.URL)
	trace := withTrace(t, p.Store(), id)
	target, _ := url.Parse(srv.URL)
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	defer proxy.Close()

	reqs := []struct{ method, path string }{
		{"GET", "/x?profile=true"},
		{"GET", "/x?profile=true&profile_format=nope"},
		{"DELETE", "/debug/reqprof/p/" + id},
		{"POST", "/debug/reqprof/p/" + id + "/delete"},
	}
	paths := uiPaths(id, trace)
	for _, path := range paths {
		reqs = append(reqs, struct{ method, path string }{"GET", path})
	}
	for _, c := range reqs {
		resp, body := send(t, http.DefaultClient, c.method, proxy.URL+c.path, "X-Forwarded-For", "203.0.113.9")
		if body != "app" || len(reqprofHeaders(resp.Header)) != 0 {
			t.Errorf("%s %s through a proxy: %s %q, headers %v", c.method, c.path, resp.Status, body, reqprofHeaders(resp.Header))
		}
	}
	reachesUI(t, srv.URL, paths)
	if _, _, err := p.Store().Get(context.Background(), id); err != nil {
		t.Errorf("the profile did not survive the proxied deletes: %v", err)
	}
	// X-Real-IP and Forwarded, set by other proxies, count as forwarding.
	for _, h := range []string{"X-Real-Ip", "Forwarded"} {
		resp, _ := send(t, http.DefaultClient, "GET", srv.URL+"/x?profile=true", h, "for=203.0.113.9")
		if len(reqprofHeaders(resp.Header)) != 0 {
			t.Errorf("%s: profiled", h)
		}
	}
}

func TestDNSRebindingRefused(t *testing.T) {
	p := newProfiler(t, httpprof.Options{AllowedHosts: []string{"dev.internal"}})
	srv := httptest.NewServer(p.Wrap(app))
	defer srv.Close()
	id := profileOne(t, srv.URL)
	trace := withTrace(t, p.Store(), id)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	for _, path := range append(uiPaths(id, trace), "/x?profile=true") {
		resp, body := send(t, http.DefaultClient, "GET", srv.URL+path, "Host", "evil.example"+port)
		if body != "app" || len(reqprofHeaders(resp.Header)) != 0 {
			t.Errorf("GET %s with Host evil.example: %s %q", path, resp.Status, body)
		}
	}
	for _, host := range []string{"localhost" + port, "127.0.0.1" + port, "[::1]" + port, "dev.internal" + port} {
		resp, body := send(t, http.DefaultClient, "GET", srv.URL+"/debug/reqprof/", "Host", host)
		if resp.StatusCode != 200 || !strings.Contains(body, id) {
			t.Errorf("UI with Host %s: %s", host, resp.Status)
		}
	}
}

func TestCrossSiteRequestsRefused(t *testing.T) {
	p := newProfiler(t, httpprof.Options{})
	srv := httptest.NewServer(p.Wrap(app))
	defer srv.Close()
	id := profileOne(t, srv.URL)
	host := strings.TrimPrefix(srv.URL, "http://")
	cross := [][]string{
		{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "null"},
		{"Origin", "http://evil.example"},
	}
	for _, hdr := range cross {
		resp, body := send(t, http.DefaultClient, "POST", srv.URL+"/debug/reqprof/p/"+id+"/delete", hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site delete %v: %s %q", hdr, resp.Status, body)
		}
		resp, _ = send(t, http.DefaultClient, "GET", srv.URL+"/x?profile=true", hdr...)
		if len(reqprofHeaders(resp.Header)) != 0 {
			t.Errorf("cross-site trigger %v profiled", hdr)
		}
	}
	if _, _, err := p.Store().Get(context.Background(), id); err != nil {
		t.Fatalf("deleted by a cross-site request: %v", err)
	}
	// The UI's own form (same origin) still deletes, also when the browser
	// sends Origin: null as it does under a strict referrer policy.
	id2 := profileOne(t, srv.URL)
	resp, _ := send(t, noRedirect, "POST", srv.URL+"/debug/reqprof/p/"+id2+"/delete", "Origin", "null", "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin delete with Origin null: %s", resp.Status)
	}
	resp, _ = send(t, noRedirect, "POST", srv.URL+"/debug/reqprof/p/"+id+"/delete", "Origin", "http://"+host, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin delete: %s", resp.Status)
	}
	if _, _, err := p.Store().Get(context.Background(), id); err == nil {
		t.Error("same-origin delete did not delete")
	}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestUIHeadersAndPaths(t *testing.T) {
	p := newProfiler(t, httpprof.Options{})
	srv := httptest.NewServer(p.Wrap(app))
	defer srv.Close()
	id := profileOne(t, srv.URL)
	for _, path := range uiPaths(id, withTrace(t, p.Store(), id)) {
		resp, _ := send(t, noRedirect, "GET", srv.URL+path)
		h := resp.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "same-origin" || h.Get("Vary") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: headers %v", path, h)
		}
	}
	// The UI's root without its slash redirects into the UI.
	resp, _ := send(t, noRedirect, "GET", srv.URL+"/debug/reqprof")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/debug/reqprof/" {
		t.Errorf("GET /debug/reqprof: %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	// An unclean path is not redirected out of the UI's prefix.
	resp, _ = send(t, noRedirect, "GET", srv.URL+"/debug/reqprof//p/"+id)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /debug/reqprof//p/ID: %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
}

func TestUnauthorizedLearnsNothing(t *testing.T) {
	p := newProfiler(t, httpprof.Options{Authorize: httpprof.TokenAuth("s3cret")})
	srv := httptest.NewServer(p.Wrap(app))
	defer srv.Close()
	auth := []string{"Authorization", "Bearer s3cret"}
	resp, _ := send(t, http.DefaultClient, "GET", srv.URL+"/x?profile=true", auth...)
	id := resp.Header.Get(httpprof.HeaderID)
	if id == "" {
		t.Fatalf("authorized profile: %v", resp.Header)
	}
	send(t, http.DefaultClient, "GET", srv.URL+resp.Header.Get(httpprof.HeaderURL)+"?format=text", auth...) // waits until it is stored
	paths := uiPaths(id, withTrace(t, p.Store(), id))
	for _, hdr := range [][]string{nil, {"Authorization", "s3cret"}, {"Authorization", "Basic s3cret"}, {"X-Reqprof-Token", "wrong"}} {
		for _, path := range append([]string{"/x?profile=true&profile_format=nope", "/x?profile=true"}, paths...) {
			resp, body := send(t, http.DefaultClient, "GET", srv.URL+path, hdr...)
			if resp.StatusCode != 200 || body != "app" || len(reqprofHeaders(resp.Header)) != 0 {
				t.Errorf("GET %s with %v: %s %q %v", path, hdr, resp.Status, body, reqprofHeaders(resp.Header))
			}
		}
	}
	reachesUI(t, srv.URL, paths, auth...)
	// Authorized: the unknown format is a 400 that lists the formats, and
	// the handler does not run.
	resp, body := send(t, http.DefaultClient, "GET", srv.URL+"/x?profile=true&profile_format=nope", auth...)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "speedscope") {
		t.Errorf("authorized unknown format: %s %q", resp.Status, body)
	}
}

// interfacesOf names the optional interfaces a ResponseWriter has.
func interfacesOf(w http.ResponseWriter) string {
	var s []string
	if _, ok := w.(http.Flusher); ok {
		s = append(s, "Flusher")
	}
	if _, ok := w.(http.Hijacker); ok {
		s = append(s, "Hijacker")
	}
	if _, ok := w.(io.ReaderFrom); ok {
		s = append(s, "ReaderFrom")
	}
	if _, ok := w.(http.Pusher); ok {
		s = append(s, "Pusher")
	}
	if _, ok := w.(io.StringWriter); ok {
		s = append(s, "StringWriter")
	}
	//lint:ignore SA1019 checking that it passes through
	if _, ok := w.(http.CloseNotifier); ok {
		s = append(s, "CloseNotifier")
	}
	return strings.Join(s, ",")
}

func TestWriterHasTheInterfacesOfTheOneUnderneath(t *testing.T) {
	p := newProfiler(t, httpprof.Options{})
	seen := make(chan string, 1)
	h := p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- interfacesOf(w)
		io.WriteString(w, "ok")
	}))
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		srv := httptest.NewUnstartedServer(h)
		client := http.DefaultClient
		if proto == "HTTP/2.0" {
			srv.EnableHTTP2 = true
			srv.StartTLS()
			client = srv.Client()
		} else {
			srv.Start()
		}
		_, _ = send(t, client, "GET", srv.URL+"/x")
		plain := <-seen
		resp, _ := send(t, client, "GET", srv.URL+"/x?profile=true")
		profiled := <-seen
		if resp.Proto != proto {
			t.Errorf("served %s, want %s", resp.Proto, proto)
		}
		if resp.Header.Get(httpprof.HeaderID) == "" {
			t.Errorf("%s: not profiled: %q", proto, resp.Header.Get(httpprof.HeaderStatus))
		}
		if plain != profiled {
			t.Errorf("%s: the profiled writer has %s, an unprofiled one %s", proto, profiled, plain)
		}
		if proto == "HTTP/2.0" && strings.Contains(profiled, "Hijacker") {
			t.Errorf("HTTP/2 writer claims Hijacker")
		}
		srv.Close()
	}
}

func TestGoexitIsNotAPanicAndReleases(t *testing.T) {
	p := newProfiler(t, httpprof.Options{})
	h := p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		runtime.Goexit()
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		req := httptest.NewRequest("GET", "/g?profile=true", nil)
		req.RemoteAddr, req.Host = "127.0.0.1:1", "127.0.0.1:80"
		h.ServeHTTP(httptest.NewRecorder(), req)
	}()
	<-done
	p.Close()
	if capture.Default.Active() {
		t.Fatal("the recorder is still running after a handler called runtime.Goexit")
	}
	ms, _ := p.Store().List(context.Background(), store.Filter{})
	if len(ms) != 1 || ms[0].Label(profile.AttrPanic) != "" {
		t.Fatalf("stored %+v, want one profile, not a panic", ms)
	}
	prof, _, err := p.Store().Get(context.Background(), ms[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if prof.Attr(profile.AttrOutcome) != "goexit" {
		t.Errorf("outcome %q, want goexit", prof.Attr(profile.AttrOutcome))
	}
}

func TestPanicValueAndSiteRecorded(t *testing.T) {
	p := newProfiler(t, httpprof.Options{})
	h := p.Wrap(http.HandlerFunc(explode))
	func() {
		defer func() { recover() }()
		req := httptest.NewRequest("GET", "/boom?profile=true", nil)
		req.RemoteAddr, req.Host = "127.0.0.1:1", "127.0.0.1:80"
		h.ServeHTTP(httptest.NewRecorder(), req)
	}()
	p.Close()
	ms, _ := p.Store().List(context.Background(), store.Filter{})
	if len(ms) != 1 || ms[0].Label(profile.AttrPanic) == "" || ms[0].Label(profile.AttrStatus) != "500" {
		t.Fatalf("stored %+v", ms)
	}
	prof, _, _ := p.Store().Get(context.Background(), ms[0].ID)
	if v := prof.Attr(profile.AttrPanic); v != "handler exploded" {
		t.Errorf("panic value %q", v)
	}
	if at := prof.Attr(profile.AttrPanicAt); !strings.Contains(at, "httpprof_test.explode") || !strings.Contains(at, "security_test.go:") {
		t.Errorf("panic site %q", at)
	}
}

func explode(w http.ResponseWriter, r *http.Request) { panic("handler exploded") }

func TestMaximumDurationEndsTheCapture(t *testing.T) {
	p := newProfiler(t, httpprof.Options{MaxDuration: 50 * time.Millisecond, MaxConcurrent: 1})
	release := make(chan struct{})
	srv := httptest.NewServer(p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			w.(http.Flusher).Flush()
			<-release
		}
		io.WriteString(w, "done")
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/stream?profile=true")
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get(httpprof.HeaderID)
	// The stream is still open: its profile is stored, marked truncated,
	// and the only profiling slot is free again.
	deadline := time.Now().Add(20 * time.Second)
	var prof *profile.Profile
	for time.Now().Before(deadline) {
		if prof, _, err = p.Store().Get(context.Background(), id); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if prof == nil {
		t.Fatalf("no truncated profile while the request runs: %v", err)
	}
	if !strings.Contains(prof.Attr(profile.AttrTruncate), "maximum duration") {
		t.Errorf("truncated attribute %q", prof.Attr(profile.AttrTruncate))
	}
	r2, _ := send(t, http.DefaultClient, "GET", srv.URL+"/other?profile=true")
	if r2.Header.Get(httpprof.HeaderID) == "" {
		t.Errorf("slot still taken after the maximum duration: %q", r2.Header.Get(httpprof.HeaderStatus))
	}
	close(release)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func TestSlowCaptureLeavesUpgradesOut(t *testing.T) {
	p := newProfiler(t, httpprof.Options{CaptureSlowerThan: time.Millisecond})
	h := p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		io.WriteString(w, "ok")
	}))
	for _, up := range []string{"websocket", ""} {
		req := httptest.NewRequest("GET", "/ws", nil)
		if up != "" {
			req.Header.Set("Upgrade", up)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	p.Close()
	ms, _ := p.Store().List(context.Background(), store.Filter{})
	if len(ms) != 1 {
		t.Fatalf("stored %d profiles, want 1 (the request without Upgrade)", len(ms))
	}
}

func TestClientDisconnectRecorded(t *testing.T) {
	p := newProfiler(t, httpprof.Options{})
	ids := make(chan string, 1)
	srv := httptest.NewServer(p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/hang?profile=true", nil)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			ids <- resp.Header.Get(httpprof.HeaderID)
			cancel()
			resp.Body.Close()
		} else {
			ids <- ""
		}
	}()
	id := <-ids
	if id == "" {
		t.Fatal("not profiled")
	}
	var prof *profile.Profile
	for range 500 {
		var err error
		if prof, _, err = p.Store().Get(context.Background(), id); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if prof == nil || prof.Attr(profile.AttrOutcome) != "client disconnected" {
		t.Fatalf("profile %v, outcome not recorded", prof != nil)
	}
}

// fullStore fails every Put, like a full disk.
type fullStore struct{ store.Store }

func (fullStore) Put(context.Context, store.Meta, *profile.Profile) error {
	return io.ErrShortWrite
}

func TestNotStoredIsSaid(t *testing.T) {
	dir, err := store.OpenDir(t.TempDir(), store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opts httpprof.Options
		want string
	}{
		{"too large", httpprof.Options{MaxProfileBytes: 10}, "larger than the size limit"},
		{"store fails", httpprof.Options{Store: fullStore{dir}}, "short write"},
	} {
		p := newProfiler(t, c.opts)
		srv := httptest.NewServer(p.Wrap(app))
		resp, _ := send(t, http.DefaultClient, "GET", srv.URL+"/x?profile=true&profile_response=1&profile_format=text")
		if st := resp.Header.Get(httpprof.HeaderStatus); !strings.Contains(st, "not stored") || !strings.Contains(st, c.want) {
			t.Errorf("%s: status %q", c.name, st)
		}
		resp, _ = send(t, http.DefaultClient, "GET", srv.URL+"/x?profile=true")
		id := resp.Header.Get(httpprof.HeaderID)
		r2, body := send(t, http.DefaultClient, "GET", srv.URL+"/debug/reqprof/p/"+id+"?format=text")
		if r2.StatusCode != 404 || !strings.Contains(body, "not stored") || !strings.Contains(body, c.want) {
			t.Errorf("%s: UI says %s %q", c.name, r2.Status, body)
		}
		srv.Close()
	}
}

func TestRedaction(t *testing.T) {
	u, _ := url.Parse("/x?pass=1&pwd=2&passphrase=3&bearer=4&sid=5&private_key=6&ssn=7&email=8&card=9&cc=10&userPassword=11&access=ok&accept=ok&tenant=t1&profile=true")
	got := httpprof.RedactURL(u)
	for _, v := range []string{"=1&", "=2&", "=3&", "=4&", "=5&", "=6&", "=7&", "=8&", "=9&", "=10&", "=11&", "profile"} {
		if strings.Contains(got+"&", v) {
			t.Errorf("RedactURL kept %q: %s", v, got)
		}
	}
	for _, v := range []string{"access=ok", "accept=ok", "tenant=t1"} {
		if !strings.Contains(got, v) {
			t.Errorf("RedactURL redacted %q: %s", v, got)
		}
	}
}
