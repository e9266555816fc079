// Package otelprof links reqprof's profiles and OpenTelemetry traces.
//
// Given to the net/http middleware (or the gin, echo, chi and gRPC
// adapters, which take the same options) as hooks, it
//
//   - records, in every profile of a request that has an active span, the
//     span's trace id and span id (attributes trace_id and span_id, as
//     Pyroscope names them; the text header shows them);
//   - sets reqprof.profile.id and reqprof.profile.url on the span when a
//     profile is made of its request, so that a slow span in a tracing UI
//     (Jaeger, Tempo, ...) leads to its wall-clock profile;
//   - optionally profiles requests the trace picks: those whose baggage
//     has reqprof=1, and a fraction of the sampled traces, decided by the
//     trace id so that every service with the same fraction profiles the
//     same traces. Such profiles stay within the middleware's limits
//     (concurrency, rate), whoever the client; they are stored with the
//     reason "baggage" or "sampled".
//
// reqprof must run inside the span: put the tracing middleware outside it.
//
//	opts := httpprof.Options{Enabled: true, Hooks: otelprof.Hooks(otelprof.Config{Fraction: 0.01})}
//	handler := otelhttp.NewHandler(httpprof.Middleware(opts)(mux), "server")
//
// For gRPC, with the otelgrpc stats handler on the server:
//
//	p, err := grpcprof.New(opts)
//	srv := grpc.NewServer(append(p.ServerOptions(), grpc.StatsHandler(otelgrpc.NewServerHandler()))...)
//
// reqprof.profile.url is Options.ProfileURL's (by default a path on the
// server, "/debug/reqprof/p/<id>"): set ProfileURL to an absolute URL for
// links that work from the tracing UI.
//
// Without a tracer provider (OpenTelemetry's default no-op one), nothing
// is recorded and nothing breaks.
package otelprof

import (
	"context"
	"encoding/binary"
	"math"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"

	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/profile"
)

// Profile attributes: package profile's well-known keys.
const (
	AttrTraceID = profile.AttrTraceID
	AttrSpanID  = profile.AttrSpanID
)

// Span attributes.
const (
	SpanAttrProfileID  = "reqprof.profile.id"
	SpanAttrProfileURL = "reqprof.profile.url"
)

// BaggageKey is the baggage member that, set to 1 (or true), asks for a
// profile when Config.Baggage is on.
const BaggageKey = "reqprof"

// Profile reasons.
const (
	ReasonBaggage = "baggage"
	ReasonSampled = "sampled"
)

// Config says which requests the trace may pick for profiling. The zero
// value picks none: it only links the profiles made otherwise.
type Config struct {
	// Baggage profiles requests whose baggage has reqprof=1. Baggage comes
	// from the client and every service it crossed: turn this on where
	// those are trusted, or where the edge strips incoming baggage (the
	// middleware's limits bound what anyone can trigger).
	Baggage bool
	// Fraction, from 0 to 1, is the share of sampled traces whose requests
	// are profiled, decided from the trace id (as OpenTelemetry's
	// TraceIDRatioBased sampler does): the same traces in every service.
	Fraction float64
}

// Hooks returns the middleware hooks for cfg, for httpprof.Options.Hooks.
func Hooks(cfg Config) httpprof.Hooks {
	h := httpprof.Hooks{Annotate: annotate, OnProfiled: onProfiled}
	if cfg.Baggage || cfg.Fraction > 0 {
		h.Sample = sampler(cfg)
	}
	return h
}

// annotate records the active span's trace and span ids.
func annotate(ctx context.Context) []profile.Attr {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []profile.Attr{
		{Key: AttrTraceID, Value: sc.TraceID().String()},
		{Key: AttrSpanID, Value: sc.SpanID().String()},
	}
}

// onProfiled puts the profile's id and URL on the active span.
func onProfiled(ctx context.Context, id, url string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{attribute.String(SpanAttrProfileID, id)}
	if url != "" {
		attrs = append(attrs, attribute.String(SpanAttrProfileURL, url))
	}
	span.SetAttributes(attrs...)
}

func sampler(cfg Config) func(context.Context) string {
	fraction := min(max(cfg.Fraction, 0), 1)
	// The bound on the trace id's low 63 bits, as TraceIDRatioBased has it.
	bound := uint64(fraction * (1 << 63))
	if fraction >= 1 {
		bound = math.MaxUint64
	}
	return func(ctx context.Context) string {
		if cfg.Baggage {
			if truthy(baggage.FromContext(ctx).Member(BaggageKey).Value()) {
				return ReasonBaggage
			}
		}
		if bound > 0 {
			sc := trace.SpanContextFromContext(ctx)
			if sc.IsSampled() {
				id := sc.TraceID()
				if binary.BigEndian.Uint64(id[8:16])>>1 < bound {
					return ReasonSampled
				}
			}
		}
		return ""
	}
}

func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
