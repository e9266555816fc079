package httpprof

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render/formats"
	"github.com/reqprof/reqprof/serve"
	"github.com/reqprof/reqprof/store"
)

// Options configure the HTTP middleware. The zero value is sensible: off
// unless REQPROF_ENABLED=1, loopback clients only, profiles kept in a
// per-program directory, the UI at /debug/reqprof/.
type Options struct {
	// Enabled turns profiling on. It is also on when the environment has
	// REQPROF_ENABLED=1 (or true).
	Enabled bool
	// UIPath is where the middleware serves the profiles UI (default
	// DefaultUIPath, "/debug/reqprof/"); "-" serves no UI (mount
	// Profiler.UI yourself, and set ProfileURL).
	UIPath string
	// Dir is the directory the default store keeps profiles in (default
	// store.DefaultDir()). Ignored with Store.
	Dir string
	// Retention bounds the default store.
	Retention store.Retention
	// Store keeps the profiles; nil uses a directory store at Dir.
	Store store.Store
	// Authorize decides who may trigger profiles and see the UI. The
	// default is LoopbackOnly (accepting AllowedHosts as Host names too);
	// behind a proxy use TokenAuth. An unauthorized client learns nothing:
	// its request runs as if reqprof were absent.
	Authorize func(*http.Request) bool
	// AllowedHosts are Host names, besides loopback ones, that the default
	// authorization accepts (for a loopback listener reached by a name of
	// your own in /etc/hosts).
	AllowedHosts []string
	// DefaultFormat is the format of profile_response=1 and of the UI's
	// download link when no profile_format is given (default speedscope).
	DefaultFormat formats.Format
	// MaxConcurrent bounds the profiled requests in flight or being
	// stored (default 4).
	MaxConcurrent int
	// PerMinute bounds the profiles started per minute (default 60).
	PerMinute int
	// MaxProfileBytes bounds the size of one stored profile (default
	// 32 MiB); a larger one is not stored, and the UI says so.
	MaxProfileBytes int64
	// MaxDuration bounds a profiled request (default 1 minute): past it
	// the capture ends and what was captured is stored, marked truncated,
	// while the request goes on. Negative means no bound.
	MaxDuration time.Duration
	// Linger keeps the flight recorder and CPU sampling running for this
	// long after each profiled request (default 5 s; negative: they stop
	// with the request's capture), so that the next profiled request
	// within it does not wait for the recorder's start (0.4–1 ms of its
	// latency here; a profiled request never waits for CPU sampling's
	// start, which goes on in the background: the first milliseconds of
	// one that starts the recorder have no CPU samples).
	// Meanwhile every request pays for execution tracing, as with
	// CaptureSlowerThan, and runtime/pprof.StartCPUProfile (e.g.
	// /debug/pprof/profile) fails with "cpu profiling already in use", as
	// it does while a profiled request runs. A busy process does not
	// linger (see capture.Manager.Linger). Close ends it.
	Linger time.Duration
	// CaptureSlowerThan, when positive, keeps the flight recorder running
	// and stores every request slower than it, after the fact, at most
	// SlowPerMinute per minute (default 6). Each request then runs in a
	// runtime/trace task, and the process pays for continuous execution
	// tracing, and for an empty snapshot of the recorder once a second
	// (capture.Manager.Hold): see BENCHMARKS.md. Upgrade (WebSocket)
	// requests are left out.
	CaptureSlowerThan time.Duration
	SlowPerMinute     int
	// QueryOnly makes the profile=true query parameter the only trigger,
	// saving the X-Reqprof header lookup on every request that does not
	// ask for a profile.
	QueryOnly bool
	// Route names a request's route for display and filtering; the default
	// is r.Pattern (set by net/http's ServeMux), else the path. It is called
	// on the request's goroutine after the handler returns, e.g. with chi:
	// chi.RouteContext(r.Context()).RoutePattern().
	Route func(*http.Request) string
	// RedactParams names query parameters whose values are redacted in
	// stored URLs, besides the built-in names (token, password, key,
	// session, email, ...). Matching is by whole word of the name,
	// case-insensitive. Redaction is a best effort.
	RedactParams []string
	// Sample, when set, profiles some requests that nobody asked about:
	// PerRoute(2, time.Minute) keeps at most two a minute of each route,
	// stored with reason "sampled", so that every route accumulates a
	// representative set of profiles (see aggregate, reqprof merge). With
	// CaptureSlowerThan set, the recorder runs anyway: the requests that
	// were not slow are sampled by their route after they end, and a
	// sampled request costs only its extraction. Otherwise the choice is
	// made before the handler runs, by the route as far as it is known then
	// (r.Pattern when the middleware runs inside a ServeMux route, else
	// the method and the path with its id-like segments as "{}"), and a
	// sampled request is profiled like one Hooks.Sample picks: within
	// MaxConcurrent and PerMinute, the client told of it only when
	// authorized.
	Sample *serve.Sampler
	// Manager runs the captures (default capture.Default). Its Config
	// bounds the recorder's window for slow-request capture.
	Manager *capture.Manager
	// Logger receives errors that cannot reach a client (default
	// slog.Default()).
	Logger *slog.Logger
	// OnProfile, when set, is called for every profile made or failed,
	// from a background goroutine.
	OnProfile func(serve.Result)
	// ProfileURL returns the URL given for profile id in the Reqprof-Url
	// header (default UIPath + "p/" + id; none when UIPath is "-"). Set it
	// when the UI is mounted elsewhere: on a router group, on a side
	// listener, behind a proxy's prefix, as an absolute URL.
	ProfileURL func(id string) string
	// Hooks let an integration (package contrib/otel) take part in
	// profiled requests.
	Hooks Hooks
}

// DefaultUIPath is where the middleware serves the UI by default.
const DefaultUIPath = "/debug/reqprof/"

// Hooks let an integration take part in the requests the middleware sees.
// Each is optional. They get the request's context (the handler's, when
// profiled), so that adapters other than net/http's (gRPC) call them too.
type Hooks struct {
	// Sample is asked about every request that does not ask for a profile
	// itself (on the request's goroutine, before the handler: keep it
	// cheap). A non-empty result is the reason ("sampled", "baggage") to
	// profile it, within the same limits, whoever the client: the profile
	// is stored with that reason, and the client is told of it (the
	// Reqprof-* headers) only when it is authorized.
	Sample func(ctx context.Context) (reason string)
	// Annotate is called with the handler's context when a profiled
	// request ends, or a slow-capture candidate that is kept (slow enough,
	// or taken by Sample's per-route sampling), on its goroutine; the
	// attributes it returns are recorded in the profile.
	Annotate func(ctx context.Context) []profile.Attr
	// OnProfiled is called on the request's goroutine, while the request
	// is still being served, for every request a profile is made of: when
	// its capture begins (asked for or sampled), or when it ends (kept as
	// slow). url is what ProfileURL gives ("" when none).
	OnProfiled func(ctx context.Context, id, url string)
}

// Response headers.
const (
	HeaderID     = "Reqprof-Id"
	HeaderURL    = "Reqprof-Url"
	HeaderStatus = "Reqprof-Status"
	// HeaderTrigger, set to 1 on a request, asks for a profile like the
	// profile=true query parameter.
	HeaderTrigger = "X-Reqprof"
)
