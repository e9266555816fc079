package serve

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// A Sampler picks units of work to profile that nobody asked about: per
// route, at most n per period, spread evenly (one every period/n at most),
// so that every route accumulates a representative set of profiles. Make
// one with PerRoute; it is safe for concurrent use.
//
// With slow-request capture on (Config.CaptureSlowerThan), every unit is
// already traced, and a unit the Sampler picks after it ended costs only
// its extraction; otherwise the delivery adapter asks the Sampler before
// the work starts, and a picked unit is profiled like a requested one,
// within the same limits (Config.MaxConcurrent, PerMinute).
type Sampler struct {
	every time.Duration
	max   int

	mu     sync.Mutex
	routes map[string]time.Time // when each route may be sampled next
	now    func() time.Time
}

// MaxSampledRoutes bounds the routes a Sampler keeps track of: past it, a
// route not yet seen is sampled only once another's turn has come round.
const MaxSampledRoutes = 4096

// PerRoute returns a Sampler of at most n units per period for each route.
// It panics when n < 1 or period <= 0 (a setup mistake).
func PerRoute(n int, period time.Duration) *Sampler {
	if n < 1 || period <= 0 {
		panic(fmt.Sprintf("serve: PerRoute(%d, %v): want n >= 1 and a positive period", n, period))
	}
	return &Sampler{every: period / time.Duration(n), max: MaxSampledRoutes, routes: map[string]time.Time{}, now: time.Now}
}

// Take reports whether a unit of the route should be sampled now, and if
// so counts it.
func (s *Sampler) Take(route string) bool {
	if s == nil {
		return false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	next, seen := s.routes[route]
	if seen && now.Before(next) {
		return false
	}
	if !seen && len(s.routes) >= s.max {
		// Forget the routes whose turn has come: they would be sampled at
		// once anyway.
		for r, t := range s.routes {
			if !now.Before(t) {
				delete(s.routes, r)
			}
		}
		if len(s.routes) >= s.max {
			return false
		}
	}
	s.routes[route] = now.Add(s.every)
	return true
}

// Due reports whether a unit of the route would be sampled now, without
// counting it (Take counts).
func (s *Sampler) Due(route string) bool {
	if s == nil {
		return false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	next, seen := s.routes[route]
	return seen && !now.Before(next) || !seen && len(s.routes) < s.max
}

// String describes the sampler: "2 per 1m0s per route".
func (s *Sampler) String() string {
	if s == nil {
		return "no sampling"
	}
	return fmt.Sprintf("one per %v per route", s.every)
}

// PathRoute approximates a request's route from its method and path, for
// a decision taken before the router has run: the path segments holding a
// digit, or longer than 20 bytes (ids, hashes, tokens), become "{}":
// "GET /users/42/posts" → "GET /users/{}/posts".
func PathRoute(method, path string) string {
	var b strings.Builder
	b.Grow(len(method) + 1 + len(path))
	b.WriteString(method)
	b.WriteByte(' ')
	for i, seg := range strings.Split(path, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		if len(seg) > 20 || strings.ContainsAny(seg, "0123456789") {
			b.WriteString("{}")
			continue
		}
		b.WriteString(seg)
	}
	return b.String()
}
