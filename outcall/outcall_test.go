package outcall_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/trace"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/internal/adaptertest"
	"github.com/reqprof/reqprof/internal/tracestr"
	"github.com/reqprof/reqprof/outcall"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/serve"
	"github.com/reqprof/reqprof/store"
	"github.com/reqprof/reqprof/view"
)

func TestPathPattern(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"users", "/users"},
		{"/users/42", "/users/{id}"},
		{"/users/42/", "/users/{id}/"},
		{"/v1/users/42/posts/7", "/v1/users/{id}/posts/{id}"},
		{"/api/v2/items", "/api/v2/items"},
		{"/objects/123e4567-e89b-12d3-a456-426614174000", "/objects/{id}"},
		{"/blobs/0123456789abcdef0123", "/blobs/{id}"},
		{"/blobs/deadbeef", "/blobs/deadbeef"}, // 8 hex digits: a word as likely as an id
		{"/t/AbCdEf0123456789XyZw", "/t/{id}"},
		{"/users/jane@example.com/profile", "/users/{id}/profile"},
		{"/static/app.js", "/static/app.js"},
		{"/a//b", "/a//b"},
		{"/7", "/{id}"},
		{"/x/1/2/3", "/x/{id}/{id}/{id}"},
	} {
		if got := outcall.PathPattern(c.in); got != c.want {
			t.Errorf("PathPattern(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRegionName(t *testing.T) {
	for _, c := range []struct{ method, url, want string }{
		{"GET", "http://api.example.com:8080/users/42?token=s3cret#frag", "HTTP: GET api.example.com:8080/users/{id}"},
		{"POST", "https://bob:hunter2@example.com/orders", "HTTP: POST example.com/orders"},
		{"", "http://example.com", "HTTP: GET example.com/"},
	} {
		req, err := http.NewRequest(c.method, c.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.method == "" {
			req.Method = ""
		}
		if got := outcall.RegionName(req); got != c.want {
			t.Errorf("RegionName(%s %s) = %q, want %q", c.method, c.url, got, c.want)
		}
	}
}

// newCore returns a delivery core over a temporary store, and a channel of
// its results.
func newCore(t *testing.T) (*serve.Core, store.Store, chan serve.Result) {
	t.Helper()
	st, err := store.OpenDir(t.TempDir(), store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan serve.Result, 16)
	c, err := serve.New(serve.Config{Store: st, OnProfile: func(r serve.Result) { results <- r }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, st, results
}

// profileUnit runs fn as a profiled unit and returns its profile.
func profileUnit(t *testing.T, c *serve.Core, results chan serve.Result, fn func(ctx context.Context) error) *profile.Profile {
	t.Helper()
	if why := c.Admit(); why != "" {
		t.Fatal(why)
	}
	u, err := c.Begin(context.Background(), serve.Info{Name: "unit"})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Run(fn); err != nil {
		t.Fatal(err)
	}
	u.End(serve.Info{})
	r := <-results
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	return r.Profile
}

func TestTransportNamesCallsOnTheCriticalPath(t *testing.T) {
	dep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte(strings.Repeat("x", 1<<16)))
	}))
	defer dep.Close()
	client := &http.Client{Transport: outcall.Transport(nil)}
	core, _, results := newCore(t)

	host := strings.TrimPrefix(dep.URL, "http://")
	var got []byte
	p := profileUnit(t, core, results, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", dep.URL+"/users/42/orders/123e4567-e89b-12d3-a456-426614174000?api_key=s3cret", nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		got, err = io.ReadAll(resp.Body)
		return err
	})
	if len(got) != 1<<16 {
		t.Fatalf("read %d bytes of the body, want %d", len(got), 1<<16)
	}
	want := "HTTP: GET " + host + "/users/{id}/orders/{id}"
	tree := adaptertest.Tree(t, p)
	n := adaptertest.Find(tree, "HTTP: ")
	if n == nil || n.Frame.Name != want {
		t.Fatalf("no frame %q on the critical path:\n%s", want, adaptertest.Dump(tree))
	}
	// The dependency sleeps 20 ms before answering: the frame holds that
	// wait (at least 15 ms, leaving room for timer slack reported early
	// by neither side; never more than the unit).
	var total int64
	for _, name := range adaptertest.Names(tree, "HTTP: ") {
		if name != want {
			t.Errorf("frame %q, want only %q", name, want)
		}
	}
	var sum func(n *view.Node)
	sum = func(n *view.Node) {
		if n.Frame.Name == want {
			total += n.Total
			return
		}
		for _, c := range n.Children {
			sum(c)
		}
	}
	sum(tree)
	if total < int64(15*time.Millisecond) || total > p.Duration {
		t.Errorf("the call's frames hold %v of a %v unit, want about 20ms", time.Duration(total), time.Duration(p.Duration))
	}
	var enc bytes.Buffer
	if err := p.Encode(&enc); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc.Bytes(), []byte("s3cret")) || bytes.Contains(enc.Bytes(), []byte("api_key")) {
		t.Error("the query string reached the profile")
	}
}

// A call made inside reqprof.Do (a job, not a request) is named too: the
// capture, not the HTTP delivery, marks the work as profiled.
func TestTransportNamesCallsInDo(t *testing.T) {
	dep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
	}))
	defer dep.Close()
	client := &http.Client{Transport: outcall.Transport(nil)}
	var during, after bool
	var ctxOut context.Context
	p, err := reqprof.Do(context.Background(), "nightly report", func(ctx context.Context) error {
		during = serve.Profiled(ctx)
		ctxOut = ctx
		req, _ := http.NewRequestWithContext(ctx, "GET", dep.URL+"/reports/42", nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	after = serve.Profiled(ctxOut)
	if !during || after {
		t.Errorf("Profiled: %v during Do, %v after it; want true, false", during, after)
	}
	want := "HTTP: GET " + strings.TrimPrefix(dep.URL, "http://") + "/reports/{id}"
	tree := adaptertest.Tree(t, p.Profile)
	if n := adaptertest.Find(tree, "HTTP: "); n == nil || n.Frame.Name != want {
		t.Fatalf("no frame %q in Do's profile:\n%s", want, adaptertest.Dump(tree))
	}
	if serve.Profiled(context.Background()) {
		t.Error("Profiled(context.Background()) = true")
	}
}

func TestTransportBoundsTheName(t *testing.T) {
	dep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer dep.Close()
	client := &http.Client{Transport: outcall.Transport(http.DefaultTransport)}
	core, _, results := newCore(t)
	long := "/" + strings.Repeat("segment/", 16<<10) // 128 KiB: the tracer aborts on 64 KiB
	p := profileUnit(t, core, results, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", dep.URL+long, nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
	names := adaptertest.Names(adaptertest.Tree(t, p), "HTTP: ")
	if len(names) == 0 {
		t.Fatal("no HTTP frame")
	}
	for _, n := range names {
		if len(n) > tracestr.Max || !strings.HasSuffix(n, tracestr.Ellipsis) {
			t.Errorf("frame name of %d bytes, want at most %d, cut", len(n), tracestr.Max)
		}
	}
}

func TestTransportWithName(t *testing.T) {
	dep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer dep.Close()
	client := &http.Client{Transport: outcall.Transport(nil, outcall.WithName(func(r *http.Request) string { return "quotes service" }))}
	core, _, results := newCore(t)
	p := profileUnit(t, core, results, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", dep.URL+"/q", nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
	if n := adaptertest.Find(adaptertest.Tree(t, p), "quotes service"); n == nil {
		t.Errorf("no frame named by WithName:\n%s", adaptertest.Dump(adaptertest.Tree(t, p)))
	}
}

// A base transport that answers at once, allocating nothing.
type fixed struct{ resp *http.Response }

func (f fixed) RoundTrip(*http.Request) (*http.Response, error) { return f.resp, nil }

func TestNotProfiledAllocatesNothing(t *testing.T) {
	resp := &http.Response{StatusCode: 200, Body: http.NoBody}
	rt := outcall.Transport(fixed{resp})
	req, _ := http.NewRequest("GET", "http://example.com/users/42", nil)
	check := func(what string) {
		if n := testing.AllocsPerRun(1000, func() {
			got, _ := rt.RoundTrip(req)
			if got != resp {
				t.Fatal("the response was not passed through")
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", what, n)
		}
	}
	check("tracing off")
	// Tracing on (another request is being profiled, or someone traces),
	// but this request is not profiled.
	if err := trace.Start(io.Discard); err != nil {
		t.Skipf("cannot start tracing: %v", err)
	}
	defer trace.Stop()
	check("tracing on, request not profiled")
}

func TestCloseIdleConnectionsForwarded(t *testing.T) {
	base := &closer{}
	(&http.Client{Transport: outcall.Transport(base)}).CloseIdleConnections()
	if !base.closed {
		t.Error("CloseIdleConnections was not forwarded")
	}
}

type closer struct {
	fixed
	closed bool
}

func (c *closer) CloseIdleConnections() { c.closed = true }

// BenchmarkTransport measures the wrapper's cost on a request that is not
// profiled, over a base transport that answers at once:
//
//	go test ./outcall -run '^$' -bench Transport -benchmem
func BenchmarkTransport(b *testing.B) {
	resp := &http.Response{StatusCode: 200, Body: http.NoBody}
	req, _ := http.NewRequest("GET", "http://example.com/users/42", nil)
	for _, c := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"base", fixed{resp}},
		{"wrapped", outcall.Transport(fixed{resp})},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.rt.RoundTrip(req)
			}
		})
	}
	b.Run("wrapped/tracing-on", func(b *testing.B) {
		if err := trace.Start(io.Discard); err != nil {
			b.Skip(err)
		}
		defer trace.Stop()
		rt := outcall.Transport(fixed{resp})
		b.ReportAllocs()
		for b.Loop() {
			rt.RoundTrip(req)
		}
	})
}
