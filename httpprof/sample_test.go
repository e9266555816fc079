package httpprof_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/store"
)

func sampledMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "item") })
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	return mux
}

// stored lists the routes and reasons of the stored profiles, sorted.
func stored(t *testing.T, p *httpprof.Profiler) []string {
	t.Helper()
	ms, err := p.Store().List(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.Label(profile.AttrRoute)+" "+m.Label(profile.AttrReason))
	}
	slices.Sort(out)
	return out
}

// TestSamplePerRoute: with Sample, one request of each route (per hour)
// is profiled without asking, stored as sampled, and the client is told
// nothing; the others run unprofiled.
func TestSamplePerRoute(t *testing.T) {
	p := newProfiler(t, httpprof.Options{Sample: httpprof.PerRoute(1, time.Hour)})
	h := p.Wrap(sampledMux())
	for _, path := range []string{"/items/1", "/items/2", "/health", "/items/3", "/health"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Body.String() == "" || w.Header().Get(httpprof.HeaderID) != "" || w.Header().Get(httpprof.HeaderStatus) != "" {
			t.Errorf("%s: body %q, headers %v", path, w.Body, w.Header())
		}
	}
	p.Close()
	if got, want := stored(t, p), []string{"GET /health sampled", "GET /items/{id} sampled"}; !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// TestSampleWithSlowCapture: with the recorder on for slow-request
// capture, requests that were not slow are sampled by their real route
// after the fact.
func TestSampleWithSlowCapture(t *testing.T) {
	p := newProfiler(t, httpprof.Options{CaptureSlowerThan: time.Hour, Sample: httpprof.PerRoute(1, time.Hour)})
	h := p.Wrap(sampledMux())
	for _, path := range []string{"/items/1", "/items/2", "/health", "/items/3"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	p.Close()
	if got, want := stored(t, p), []string{"GET /health sampled", "GET /items/{id} sampled"}; !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// BenchmarkSampledRequest measures the latency of an isolated request (the
// previous one's profile stored, 20ms before) of a 1ms handler that the
// sampler picks, with the recorder started for it (recorder-off) and with
// it already running for slow-request capture (slow-capture), against one
// nobody profiles (unsampled).
func BenchmarkSampledRequest(b *testing.B) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond)
		io.WriteString(w, "ok")
	})
	for _, c := range []struct {
		name string
		opts httpprof.Options
	}{
		{"unsampled", httpprof.Options{}},
		{"recorder-off", httpprof.Options{Sample: httpprof.PerRoute(1<<30, time.Minute)}},
		{"slow-capture", httpprof.Options{CaptureSlowerThan: time.Hour, Sample: httpprof.PerRoute(1<<30, time.Minute)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.opts.PerMinute, c.opts.MaxConcurrent = 1<<30, 1<<20
			p := newProfilerB(b, c.opts)
			h := p.Wrap(handler)
			b.ResetTimer()
			for range b.N {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
				b.StopTimer()
				time.Sleep(20 * time.Millisecond)
				b.StartTimer()
			}
			b.StopTimer()
			p.Close()
		})
	}
}

func newProfilerB(b *testing.B, opts httpprof.Options) *httpprof.Profiler {
	opts.Enabled = true
	opts.Dir = b.TempDir()
	opts.Retention = store.Retention{MaxCount: 100}
	opts.Logger = discardLogger()
	p, err := httpprof.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// BenchmarkSlowCandidate is a request that slow capture follows and then
// discards (faster than CaptureSlowerThan): what every request of a
// server with slow capture on pays beyond the runtime's tracer, whose
// recorder runs throughout. The request is built once and the handler
// does nothing, so that the middleware's own work is what is timed.
func BenchmarkSlowCandidate(b *testing.B) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, c := range []struct {
		name string
		opts httpprof.Options
	}{
		{"slow-capture-off", httpprof.Options{}},
		{"slow-capture-on", httpprof.Options{CaptureSlowerThan: time.Hour}},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := newProfilerB(b, c.opts)
			defer p.Close()
			h := p.Wrap(handler)
			r := httptest.NewRequest("GET", "/x?a=1", nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r) // the recorder's start, for slow capture
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				h.ServeHTTP(w, r)
			}
		})
	}
}
