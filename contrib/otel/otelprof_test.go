package otelprof_test

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	otelprof "github.com/reqprof/reqprof/contrib/otel"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/adaptertest"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/formats"
	"github.com/reqprof/reqprof/store"
)

var propagators = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

type server struct {
	p     *httpprof.Profiler
	url   string
	exp   *tracetest.InMemoryExporter
	calls atomic.Int64
}

// newServer serves an application with otelhttp outside reqprof's
// middleware, the way a traced service has it. tp nil means OpenTelemetry's
// no-op provider.
func newServer(t *testing.T, cfg otelprof.Config, opts httpprof.Options, tp trace.TracerProvider) *server {
	t.Helper()
	s := &server{}
	if tp == nil {
		s.exp = tracetest.NewInMemoryExporter()
		sdk := sdktrace.NewTracerProvider(sdktrace.WithSyncer(s.exp))
		t.Cleanup(func() { sdk.Shutdown(context.Background()) })
		tp = sdk
	}
	opts.Enabled = true
	opts.Dir = t.TempDir()
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.Hooks = otelprof.Hooks(cfg)
	p, err := httpprof.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	s.p = p
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		io.WriteString(w, "user "+r.PathValue("id"))
	})
	h := otelhttp.NewHandler(p.Wrap(mux), "server", otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagators))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func get(t *testing.T, url string, hdr ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// serverSpan waits for the server span of trace id to end (otelhttp ends
// it after the handler returns, maybe after the client has its answer).
func (s *server) serverSpan(t *testing.T, id trace.TraceID) tracetest.SpanStub {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, sp := range s.exp.GetSpans() {
			if sp.SpanContext.TraceID() == id && sp.SpanKind == trace.SpanKindServer {
				return sp
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no server span of trace %s", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func attr(sp tracetest.SpanStub, key string) (string, bool) {
	for _, a := range sp.Attributes {
		if string(a.Key) == key {
			return a.Value.String(), true
		}
	}
	return "", false
}

// traceparent makes a W3C traceparent header for a trace id whose last 8
// bytes are low, sampled or not.
func traceparent(low uint64, sampled bool) (string, trace.TraceID) {
	var id trace.TraceID
	id[0] = 0x4b
	for i := range 8 {
		id[15-i] = byte(low >> (8 * i))
	}
	flags := "00"
	if sampled {
		flags = "01"
	}
	return "00-" + hex.EncodeToString(id[:]) + "-00f067aa0ba902b7-" + flags, id
}

func TestRequestedProfileLinksItsSpan(t *testing.T) {
	s := newServer(t, otelprof.Config{}, httpprof.Options{}, nil)
	tp, id := traceparent(0x1234, true)
	resp := get(t, s.url+"/users/42?profile=true", "traceparent", tp)
	pid := resp.Header.Get(httpprof.HeaderID)
	sp := s.serverSpan(t, id)
	prof, _ := adaptertest.Stored(t, s.p.Core(), s.p.Store(), pid)
	if prof.Attr(otelprof.AttrTraceID) != id.String() || prof.Attr(otelprof.AttrSpanID) != sp.SpanContext.SpanID().String() {
		t.Errorf("profile: trace_id %q span_id %q; span: %s %s", prof.Attr(otelprof.AttrTraceID), prof.Attr(otelprof.AttrSpanID), id, sp.SpanContext.SpanID())
	}
	if v, _ := attr(sp, otelprof.SpanAttrProfileID); v != pid {
		t.Errorf("span attribute %s = %q, want %q", otelprof.SpanAttrProfileID, v, pid)
	}
	if v, _ := attr(sp, otelprof.SpanAttrProfileURL); v != resp.Header.Get(httpprof.HeaderURL) || v == "" {
		t.Errorf("span attribute %s = %q, want %q", otelprof.SpanAttrProfileURL, v, resp.Header.Get(httpprof.HeaderURL))
	}
	// The store lists it by trace id (the UI's filter would use this).
	ms, err := s.p.Store().List(context.Background(), store.Filter{Labels: map[string]string{otelprof.AttrTraceID: id.String()}})
	if err != nil || len(ms) != 1 || ms[0].ID != pid {
		t.Errorf("the store's profiles of trace %s: %v %v", id, ms, err)
	}
	// The text header shows them.
	var b strings.Builder
	if err := formats.Write(&b, prof, formats.Text, render.Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "trace_id: "+id.String()) {
		t.Errorf("text header without the trace id:\n%.600s", b.String())
	}
	// A request not profiled leaves its span alone.
	tp2, id2 := traceparent(0x5678, true)
	get(t, s.url+"/users/1", "traceparent", tp2)
	if _, ok := attr(s.serverSpan(t, id2), otelprof.SpanAttrProfileID); ok {
		t.Error("an unprofiled request's span has a profile id")
	}
}

func TestBaggageTrigger(t *testing.T) {
	s := newServer(t, otelprof.Config{Baggage: true}, httpprof.Options{
		Authorize: func(r *http.Request) bool { return r.Header.Get("X-Ok") == "1" },
	}, nil)
	// An unauthorized client (an upstream service) with reqprof=1 in its
	// baggage: profiled, told nothing; the span says where the profile is.
	tp, id := traceparent(0xabc, true)
	n := s.calls.Load()
	resp := get(t, s.url+"/users/7", "traceparent", tp, "baggage", "reqprof=1,other=x")
	if h := resp.Header.Get(httpprof.HeaderID); h != "" || s.calls.Load()-n != 1 {
		t.Errorf("unauthorized: Reqprof-Id %q, handler ran %d times", h, s.calls.Load()-n)
	}
	pid, _ := attr(s.serverSpan(t, id), otelprof.SpanAttrProfileID)
	if pid == "" {
		t.Fatal("no profile id on the span")
	}
	prof, m := adaptertest.Stored(t, s.p.Core(), s.p.Store(), pid)
	if m.Reason != otelprof.ReasonBaggage || prof.Attr(otelprof.AttrTraceID) != id.String() {
		t.Errorf("reason %q trace_id %q", m.Reason, prof.Attr(otelprof.AttrTraceID))
	}
	// Without the member, or with Baggage off: nothing.
	tp, id = traceparent(0xabd, true)
	get(t, s.url+"/users/8", "traceparent", tp, "baggage", "reqprof=0")
	if _, ok := attr(s.serverSpan(t, id), otelprof.SpanAttrProfileID); ok {
		t.Error("reqprof=0 profiled")
	}
	off := newServer(t, otelprof.Config{}, httpprof.Options{}, nil)
	tp, id = traceparent(0xabe, true)
	get(t, off.url+"/users/9", "traceparent", tp, "baggage", "reqprof=1")
	if _, ok := attr(off.serverSpan(t, id), otelprof.SpanAttrProfileID); ok {
		t.Error("baggage honoured with Config.Baggage off")
	}
}

func TestFractionOfSampledTraces(t *testing.T) {
	s := newServer(t, otelprof.Config{Fraction: 0.5}, httpprof.Options{}, nil)
	// The decision reads the trace id's low 63 bits against fraction×2^63.
	for _, c := range []struct {
		low     uint64
		sampled bool
		want    bool
	}{
		{0x0000_0000_0000_0001, true, true},
		{0x7fff_ffff_ffff_fffe, true, true},  // >>1 is just under 2^62
		{0x8000_0000_0000_0000, true, false}, // >>1 is 2^62: the bound
		{0xffff_ffff_ffff_ffff, true, false},
		{0x0000_0000_0000_0001, false, false}, // not sampled
	} {
		tp, id := traceparent(c.low, c.sampled)
		get(t, s.url+"/users/1", "traceparent", tp)
		var sp tracetest.SpanStub
		if c.sampled {
			sp = s.serverSpan(t, id)
		}
		pid, ok := attr(sp, otelprof.SpanAttrProfileID)
		if c.sampled && ok != c.want {
			t.Errorf("trace %s: profiled %v, want %v", id, ok, c.want)
		}
		if ok {
			if _, m := adaptertest.Stored(t, s.p.Core(), s.p.Store(), pid); m.Reason != otelprof.ReasonSampled {
				t.Errorf("reason %q", m.Reason)
			}
		}
	}
	s.p.Close()
	if n := adaptertest.Count(t, s.p.Store()); n != 2 {
		t.Errorf("%d profiles, want 2", n)
	}
}

func TestSampledWithinLimits(t *testing.T) {
	s := newServer(t, otelprof.Config{Fraction: 1}, httpprof.Options{PerMinute: 2}, nil)
	for i := range 5 {
		tp, _ := traceparent(uint64(i+1), true)
		if resp := get(t, s.url+"/users/1", "traceparent", tp); resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
	}
	s.p.Close()
	if n := adaptertest.Count(t, s.p.Store()); n != 2 {
		t.Errorf("%d profiles under a rate of 2 per minute", n)
	}
}

func TestNoTracerProvider(t *testing.T) {
	// OpenTelemetry's no-op provider (what a program gets without setting
	// one): spans are not recording, contexts carry no valid span.
	s := newServer(t, otelprof.Config{Baggage: true, Fraction: 1}, httpprof.Options{}, noop.NewTracerProvider())
	resp := get(t, s.url+"/users/3?profile=true", "baggage", "reqprof=1")
	if resp.StatusCode != 200 || resp.Header.Get(httpprof.HeaderStatus) != "profiled" {
		t.Fatalf("%s, Reqprof-Status %q", resp.Status, resp.Header.Get(httpprof.HeaderStatus))
	}
	prof, _ := adaptertest.Stored(t, s.p.Core(), s.p.Store(), resp.Header.Get(httpprof.HeaderID))
	if prof.Attr(otelprof.AttrTraceID) != "" {
		t.Errorf("trace_id %q without a tracer", prof.Attr(otelprof.AttrTraceID))
	}
	// Unsampled (no trace): the fraction picks nothing; baggage still works.
	n := s.calls.Load()
	get(t, s.url+"/users/4")
	if s.calls.Load()-n != 1 {
		t.Error("handler did not run once")
	}
	// And the hooks on a bare context.
	h := otelprof.Hooks(otelprof.Config{Baggage: true, Fraction: 1})
	if h.Sample(context.Background()) != "" || h.Annotate(context.Background()) != nil {
		t.Error("hooks found a trace in context.Background")
	}
	h.OnProfiled(context.Background(), "id", "url")
}

func TestHooksCost(t *testing.T) {
	if h := otelprof.Hooks(otelprof.Config{}); h.Sample != nil {
		t.Error("Config{} installs a sampler: every request would pay for it")
	}
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled,
	}))
	sample := otelprof.Hooks(otelprof.Config{Baggage: true, Fraction: 0.01}).Sample
	if n := testing.AllocsPerRun(1000, func() { sample(ctx) }); n != 0 {
		t.Errorf("Sample: %v allocations per request, want 0", n)
	}
}

// BenchmarkSample is the cost every request pays for the trace-picked
// triggers (Config.Baggage, Config.Fraction), on a traced request without
// baggage:
//
//	go test ./contrib/otel -run '^$' -bench Sample -benchmem
func BenchmarkSample(b *testing.B) {
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled,
	}))
	sample := otelprof.Hooks(otelprof.Config{Baggage: true, Fraction: 0.01}).Sample
	b.ReportAllocs()
	for b.Loop() {
		sample(ctx)
	}
}
