package otelprof_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"

	otelprof "github.com/reqprof/reqprof/contrib/otel"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/adaptertest"
)

// jaegerBinary returns the Jaeger program to test against: $REQPROF_JAEGER,
// else the one scripts/jaeger.sh builds (.cache/jaeger/jaeger). Without
// one the test skips, or fails when CI=true.
func jaegerBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("REQPROF_JAEGER"); p != "" {
		return p
	}
	if p, err := filepath.Abs("../../.cache/jaeger/jaeger"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	const how = "build it with scripts/jaeger.sh, or set REQPROF_JAEGER to a jaeger (v2) binary"
	if os.Getenv("CI") == "true" {
		t.Fatalf("no Jaeger and CI=true: %s", how)
	}
	t.Skipf("no Jaeger: %s", how)
	return ""
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startJaeger runs Jaeger on loopback ports with in-memory storage and
// returns its OTLP/HTTP endpoint and the base URL of its query API.
func startJaeger(t *testing.T) (otlp, query string) {
	t.Helper()
	bin := jaegerBinary(t)
	otlp, query, grpcQuery := freePort(t), freePort(t), freePort(t)
	cfg := fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: mem
    http:
      endpoint: %s
    grpc:
      endpoint: %s
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 1000
receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
processors:
  batch:
    timeout: 50ms
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`, query, grpcQuery, otlp)
	path := filepath.Join(t.TempDir(), "jaeger.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	cmd := exec.Command(bin, "--config", "file:"+path)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	// Jaeger takes a few seconds to start here; a minute covers a loaded
	// machine.
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + query + "/api/services")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return otlp, "http://" + query
			}
		}
		select {
		case <-exited:
			t.Fatalf("jaeger exited: %v\n%s", waitErr, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("jaeger did not answer on %s within a minute:\n%s", query, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncBuffer is Jaeger's output, read while Jaeger may still write it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// jaegerTrace is the part of Jaeger's /api/traces/{id} answer read here.
type jaegerTrace struct {
	Data []struct {
		TraceID string `json:"traceID"`
		Spans   []struct {
			SpanID        string `json:"spanID"`
			OperationName string `json:"operationName"`
			Tags          []struct {
				Key   string `json:"key"`
				Value any    `json:"value"`
			} `json:"tags"`
		} `json:"spans"`
	} `json:"data"`
}

// TestJaeger profiles a traced request, exports its spans to a real
// Jaeger, queries the trace back from Jaeger's API, and checks that the
// server span carries the profile's URL and the profile the span's trace.
func TestJaeger(t *testing.T) {
	otlp, query := startJaeger(t)
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(otlp), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(semconv.ServiceName("reqprof-e2e"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	defer tp.Shutdown(ctx)

	s := newServer(t, otelprof.Config{}, httpprof.Options{}, tp)
	// The client is traced too: the server span is its child.
	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagators))}
	cctx, span := tp.Tracer("e2e").Start(ctx, "client call")
	req, _ := http.NewRequestWithContext(cctx, "GET", s.url+"/users/42?profile=true", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	span.End()
	traceID := span.SpanContext().TraceID().String()
	url := resp.Header.Get(httpprof.HeaderURL)
	if url == "" {
		t.Fatalf("not profiled: %q", resp.Header.Get(httpprof.HeaderStatus))
	}
	prof, _ := adaptertest.Stored(t, s.p.Core(), s.p.Store(), resp.Header.Get(httpprof.HeaderID))
	if got := prof.Attr(otelprof.AttrTraceID); got != traceID {
		t.Errorf("the profile's trace_id is %q, the trace is %s", got, traceID)
	}

	// Jaeger has the trace once the server span has ended (after the
	// handler) and the batches are flushed: poll its API for a while.
	deadline := time.Now().Add(time.Minute)
	for {
		if err := tp.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
		spanID, found := findProfiledSpan(t, query, traceID, url)
		if found {
			if got := prof.Attr(otelprof.AttrSpanID); got != spanID {
				t.Errorf("the profile's span_id is %q; the span with %s=%s is %s", got, otelprof.SpanAttrProfileURL, url, spanID)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Jaeger has no span of trace %s with %s=%s", traceID, otelprof.SpanAttrProfileURL, url)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// findProfiledSpan asks Jaeger for the trace and returns the id of its
// span whose reqprof.profile.url tag is url.
func findProfiledSpan(t *testing.T, query, traceID, url string) (string, bool) {
	t.Helper()
	resp, err := http.Get(query + "/api/traces/" + traceID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return "", false
	}
	var tr jaegerTrace
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatalf("Jaeger's answer: %s: %v", resp.Status, err)
	}
	for _, d := range tr.Data {
		for _, sp := range d.Spans {
			for _, tag := range sp.Tags {
				if tag.Key == otelprof.SpanAttrProfileURL && tag.Value == url {
					return sp.SpanID, true
				}
			}
		}
	}
	return "", false
}
