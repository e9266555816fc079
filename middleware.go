package reqprof

import (
	"net/http"
	"net/url"
	"time"

	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/serve"
)

// The HTTP middleware lives in package httpprof; these names forward to it
// so that the one line in a server stays reqprof.Middleware(...).

// Options configure the HTTP middleware; see [httpprof.Options].
type Options = httpprof.Options

// Handler is the HTTP middleware with its UI and store.
//
// Deprecated: use [httpprof.Profiler] (the same type; it is not an
// http.Handler, hence the new name).
type Handler = httpprof.Profiler

// Response headers.
const (
	HeaderID      = httpprof.HeaderID
	HeaderURL     = httpprof.HeaderURL
	HeaderStatus  = httpprof.HeaderStatus
	HeaderTrigger = httpprof.HeaderTrigger
)

// Middleware returns net/http (and chi) middleware that profiles requests
// asking for it (?profile=true, or the X-Reqprof: 1 header) and serves the
// profiles UI at Options.UIPath; see [httpprof.Middleware].
func Middleware(opts Options) func(http.Handler) http.Handler { return httpprof.Middleware(opts) }

// New validates opts and returns the middleware; see [httpprof.New].
func New(opts Options) (*httpprof.Profiler, error) { return httpprof.New(opts) }

// PerRoute returns a sampler for Options.Sample: at most n requests per
// period of each route profiled without anyone asking, stored with reason
// "sampled"; see [httpprof.PerRoute].
//
//	reqprof.Middleware(reqprof.Options{Sample: reqprof.PerRoute(2, time.Minute)})
func PerRoute(n int, period time.Duration) *serve.Sampler { return httpprof.PerRoute(n, period) }

// LoopbackOnly is the default authorization; see [httpprof.LoopbackOnly].
func LoopbackOnly(r *http.Request) bool { return httpprof.LoopbackOnly(r) }

// TokenAuth allows requests carrying a shared token; see [httpprof.TokenAuth].
func TokenAuth(token string) func(*http.Request) bool { return httpprof.TokenAuth(token) }

// RedactURL is the redaction applied to stored URLs; see [httpprof.RedactURL].
func RedactURL(u *url.URL) string { return httpprof.RedactURL(u) }
