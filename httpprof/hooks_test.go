package httpprof_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/adaptertest"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/serve"
)

func TestIntercepts(t *testing.T) {
	off, err := httpprof.New(httpprof.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type pick struct{}
	p := newProfiler(t, httpprof.Options{Hooks: httpprof.Hooks{Sample: func(ctx context.Context) string {
		if ctx.Value(pick{}) != nil {
			return "picked"
		}
		return ""
	}}})
	req := func(target string, hdr ...string) *http.Request {
		r := httptest.NewRequest("GET", target, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		return r
	}
	picked := req("/x").WithContext(context.WithValue(context.Background(), pick{}, 1))
	for _, c := range []struct {
		name string
		p    *httpprof.Profiler
		r    *http.Request
		want bool
	}{
		{"disabled", off, req("/x?profile=true"), false},
		{"plain", p, req("/x"), false},
		{"query", p, req("/x?profile=true"), true},
		{"header", p, req("/x", "X-Reqprof", "1"), true},
		{"UI", p, req("/debug/reqprof/"), true},
		{"sampled", p, picked, true},
	} {
		if got := c.p.Intercepts(c.r); got != c.want {
			t.Errorf("%s: Intercepts = %v, want %v", c.name, got, c.want)
		}
	}
	plain := req("/x?a=1")
	if n := testing.AllocsPerRun(1000, func() { p.Intercepts(plain) }); n != 0 {
		t.Errorf("Intercepts of a plain request: %v allocations, want 0", n)
	}
}

func TestProfileURL(t *testing.T) {
	p := newProfiler(t, httpprof.Options{UIPath: "-", ProfileURL: func(id string) string { return "https://ops.example/reqprof/p/" + id }})
	srv := httptest.NewServer(p.Wrap(app))
	defer srv.Close()
	resp, body := send(t, srv.Client(), "GET", srv.URL+"/x?profile=true")
	id := resp.Header.Get(httpprof.HeaderID)
	if body != "app" || id == "" || resp.Header.Get(httpprof.HeaderURL) != "https://ops.example/reqprof/p/"+id || p.ProfileURL(id) != "https://ops.example/reqprof/p/"+id {
		t.Errorf("Reqprof-Url %q for id %q (body %q)", resp.Header.Get(httpprof.HeaderURL), id, body)
	}

	none := newProfiler(t, httpprof.Options{UIPath: "-"})
	srv2 := httptest.NewServer(none.Wrap(app))
	defer srv2.Close()
	resp, _ = send(t, srv2.Client(), "GET", srv2.URL+"/x?profile=true")
	if _, ok := resp.Header[httpprof.HeaderURL]; ok || resp.Header.Get(httpprof.HeaderID) == "" {
		t.Errorf("no UI: Reqprof-Url %q, Reqprof-Id %q; want no URL and an id", resp.Header.Get(httpprof.HeaderURL), resp.Header.Get(httpprof.HeaderID))
	}
	if none.UIPath() != "-" || p.UIPath() != "-" || newProfiler(t, httpprof.Options{}).UIPath() != httpprof.DefaultUIPath {
		t.Error("UIPath does not report the UI's path")
	}
}

// hookLog records the hooks' calls.
type hookLog struct {
	mu       sync.Mutex
	profiled map[string]string // id -> url
}

func (h *hookLog) hooks(sample string) httpprof.Hooks {
	h.profiled = map[string]string{}
	return httpprof.Hooks{
		Sample: func(ctx context.Context) string {
			if ctx.Value(sampleKey{}) != nil {
				return sample
			}
			return ""
		},
		Annotate: func(ctx context.Context) []profile.Attr {
			return []profile.Attr{{Key: "trace_id", Value: "4bf92f3577b34da6a3ce929d0e0e4736"}}
		},
		OnProfiled: func(ctx context.Context, id, url string) {
			h.mu.Lock()
			defer h.mu.Unlock()
			if _, dup := h.profiled[id]; dup {
				panic("OnProfiled twice for " + id)
			}
			h.profiled[id] = url
		},
	}
}

func (h *hookLog) get(id string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u, ok := h.profiled[id]
	return u, ok
}

type sampleKey struct{}

// sampling marks requests carrying X-Sample for the Sample hook, the way
// an OpenTelemetry handler puts a span in the context.
func sampling(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Sample") != "" {
			r = r.WithContext(context.WithValue(r.Context(), sampleKey{}, 1))
		}
		h.ServeHTTP(w, r)
	})
}

func TestHooks(t *testing.T) {
	var log hookLog
	var ids []string
	var mu sync.Mutex
	p := newProfiler(t, httpprof.Options{
		Hooks: log.hooks("sampled"),
		// Everyone is unauthorized but the holder of this header.
		Authorize: func(r *http.Request) bool { return r.Header.Get("X-Ok") == "1" },
		PerMinute: 3,
		OnProfile: func(r serve.Result) {
			mu.Lock()
			ids = append(ids, r.ID)
			mu.Unlock()
		},
	})
	srv := httptest.NewServer(sampling(p.Wrap(app)))
	defer srv.Close()

	// Asked for by an authorized client: told, annotated, OnProfiled.
	resp, body := send(t, srv.Client(), "GET", srv.URL+"/x?profile=true", "X-Ok", "1")
	id := resp.Header.Get(httpprof.HeaderID)
	if url, ok := log.get(id); body != "app" || !ok || url != resp.Header.Get(httpprof.HeaderURL) {
		t.Fatalf("requested: id %q, OnProfiled url %q (called %v), header %q", id, url, ok, resp.Header.Get(httpprof.HeaderURL))
	}
	prof, _ := adaptertest.Stored(t, p.Core(), p.Store(), id)
	if prof.Attr("trace_id") != "4bf92f3577b34da6a3ce929d0e0e4736" || prof.Attr(profile.AttrReason) != "requested" {
		t.Errorf("requested: trace_id %q, reason %q", prof.Attr("trace_id"), prof.Attr(profile.AttrReason))
	}

	// Sampled, unauthorized client: profiled, told nothing.
	before := adaptertest.Count(t, p.Store())
	resp, body = send(t, srv.Client(), "GET", srv.URL+"/y", "X-Sample", "1")
	if h := reqprofHeaders(resp.Header); body != "app" || len(h) != 0 {
		t.Errorf("sampled, unauthorized: body %q, reqprof headers %v (want none)", body, h)
	}
	p.Close()
	if n := adaptertest.Count(t, p.Store()); n != before+1 {
		t.Fatalf("sampled: %d profiles stored, want %d", n, before+1)
	}
	mu.Lock()
	last := ids[len(ids)-1]
	mu.Unlock()
	prof, m := adaptertest.Stored(t, p.Core(), p.Store(), last)
	if m.Reason != "sampled" || prof.Attr("trace_id") == "" || m.Path != "/y" {
		t.Errorf("sampled profile: reason %q, path %q, trace_id %q", m.Reason, m.Path, prof.Attr("trace_id"))
	}
	if _, ok := log.get(last); !ok {
		t.Error("OnProfiled not called for a sampled request")
	}
}

func TestSampledWithinLimitsAndToldWhenAuthorized(t *testing.T) {
	var log hookLog
	p := newProfiler(t, httpprof.Options{Hooks: log.hooks("baggage"), PerMinute: 1})
	srv := httptest.NewServer(sampling(p.Wrap(app)))
	defer srv.Close()
	// Loopback: authorized, so told.
	resp, _ := send(t, srv.Client(), "GET", srv.URL+"/x", "X-Sample", "1")
	if resp.Header.Get(httpprof.HeaderStatus) != "profiled" || resp.Header.Get(httpprof.HeaderID) == "" {
		t.Fatalf("sampled, authorized: Reqprof-Status %q", resp.Header.Get(httpprof.HeaderStatus))
	}
	_, m := adaptertest.Stored(t, p.Core(), p.Store(), resp.Header.Get(httpprof.HeaderID))
	if m.Reason != "baggage" {
		t.Errorf("reason %q, want baggage", m.Reason)
	}
	// Over the rate limit: runs unprofiled; an authorized client is told why.
	resp, body := send(t, srv.Client(), "GET", srv.URL+"/x", "X-Sample", "1")
	if body != "app" || resp.Header.Get(httpprof.HeaderID) != "" {
		t.Errorf("over the limit: body %q, id %q", body, resp.Header.Get(httpprof.HeaderID))
	}
	if s := resp.Header.Get(httpprof.HeaderStatus); s == "" || s == "profiled" {
		t.Errorf("over the limit: Reqprof-Status %q, want the reason it was skipped", s)
	}
}

func TestOnProfiledForKeptSlowRequests(t *testing.T) {
	var log hookLog
	hooks := log.hooks("")
	hooks.Sample = nil
	var mu sync.Mutex
	var stored []string
	var annotated []string // the paths Annotate was called for
	annotate := hooks.Annotate
	hooks.Annotate = func(ctx context.Context) []profile.Attr {
		path, _ := ctx.Value(pathKey{}).(string)
		mu.Lock()
		annotated = append(annotated, path)
		mu.Unlock()
		return annotate(ctx)
	}
	var traceIDs []string
	// /fast does nothing: 100 ms is far beyond what it takes even on a
	// loaded machine with the race detector; /slow sleeps past it.
	p := newProfiler(t, httpprof.Options{Hooks: hooks, CaptureSlowerThan: 100 * time.Millisecond, OnProfile: func(r serve.Result) {
		mu.Lock()
		stored = append(stored, r.ID)
		if r.Profile != nil {
			traceIDs = append(traceIDs, r.Profile.Attr("trace_id"))
		}
		mu.Unlock()
	}})
	srv := httptest.NewServer(p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Annotate gets the request's context as the handler leaves it.
		*r = *r.WithContext(context.WithValue(r.Context(), pathKey{}, r.URL.Path))
		if r.URL.Path == "/slow" {
			time.Sleep(150 * time.Millisecond)
		}
	})))
	defer srv.Close()
	send(t, srv.Client(), "GET", srv.URL+"/fast")
	send(t, srv.Client(), "GET", srv.URL+"/slow")
	p.Close()
	mu.Lock()
	defer mu.Unlock()
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(stored) != 1 || len(log.profiled) != 1 {
		t.Fatalf("stored %v, OnProfiled for %v: want the slow request alone in both", stored, log.profiled)
	}
	if _, ok := log.profiled[stored[0]]; !ok {
		t.Errorf("OnProfiled for %v, stored %v", log.profiled, stored)
	}
	// Annotate runs for the kept candidate alone: a discarded one's
	// description is never made.
	if len(annotated) != 1 || annotated[0] != "/slow" || len(traceIDs) != 1 || traceIDs[0] == "" {
		t.Errorf("Annotate called for %v, the stored profiles' trace_id %q; want /slow alone, annotated", annotated, traceIDs)
	}
}

type pathKey struct{}
