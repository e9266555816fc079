package otelprof_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	otelprof "github.com/reqprof/reqprof/contrib/otel"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/serve"
)

// A traced service: otelhttp outside reqprof's middleware, the hooks
// linking the two. A profiled request's profile carries its span's trace
// id, and the span the profile's URL.
func Example() {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())

	dir, _ := os.MkdirTemp("", "otelprof-example")
	defer os.RemoveAll(dir)
	profiles := make(chan *profile.Profile, 1)
	opts := httpprof.Options{
		Enabled: true, Dir: dir,
		Hooks:     otelprof.Hooks(otelprof.Config{}),
		OnProfile: func(r serve.Result) { profiles <- r.Profile },
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "user "+r.PathValue("id"))
	})
	p, err := httpprof.New(opts)
	if err != nil {
		panic(err)
	}
	defer p.Close()
	srv := httptest.NewServer(otelhttp.NewHandler(p.Wrap(mux), "server", otelhttp.WithTracerProvider(tp)))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/users/42?profile=true")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	prof := <-profiles

	// otelhttp ends the span when the handler chain returns, which may be
	// just after the client has the response.
	for len(exp.GetSpans()) == 0 {
		time.Sleep(time.Millisecond)
	}
	span := exp.GetSpans()[0]
	fmt.Println("profile's trace id is the span's:", prof.Attr(otelprof.AttrTraceID) == span.SpanContext.TraceID().String())
	for _, a := range span.Attributes {
		if a.Key == otelprof.SpanAttrProfileURL {
			fmt.Println("span links the profile:", a.Value.AsString() == resp.Header.Get(httpprof.HeaderURL))
		}
	}
	// Output:
	// profile's trace id is the span's: true
	// span links the profile: true
}
