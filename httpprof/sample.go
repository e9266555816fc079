package httpprof

import (
	"net/http"
	"time"

	"github.com/reqprof/reqprof/serve"
)

// PerRoute returns a sampler for Options.Sample: at most n requests per
// period of each route are profiled without anyone asking (see
// serve.PerRoute).
func PerRoute(n int, period time.Duration) *serve.Sampler { return serve.PerRoute(n, period) }

// preRoute is the route of r as known before the handler runs.
func preRoute(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return serve.PathRoute(r.Method, r.URL.Path)
}
