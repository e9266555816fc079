package serve

import (
	"fmt"
	"testing"
	"time"
)

func TestPerRoute(t *testing.T) {
	s := PerRoute(2, time.Minute)
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	// One every 30s per route: the first at once, the next 30s later.
	if !s.Take("GET /a") || s.Take("GET /a") || !s.Take("GET /b") {
		t.Fatal("first requests of each route: want one sampled per route")
	}
	now = now.Add(29 * time.Second)
	if s.Take("GET /a") {
		t.Error("sampled again before 30s")
	}
	now = now.Add(time.Second)
	if !s.Take("GET /a") || s.Take("GET /a") {
		t.Error("want exactly one more after 30s")
	}
	// Over an hour of steady traffic, 2 a minute per route.
	n := 0
	for range 3600 {
		now = now.Add(time.Second)
		if s.Take("GET /a") {
			n++
		}
	}
	if n != 120 {
		t.Errorf("%d sampled in an hour, want 120", n)
	}
	var nilSampler *Sampler
	if nilSampler.Take("x") {
		t.Error("a nil sampler samples")
	}
}

func TestPerRouteBoundsRoutes(t *testing.T) {
	s := PerRoute(1, time.Hour)
	now := time.Unix(0, 0)
	s.now = func() time.Time { return now }
	s.max = 10
	for i := range 10 {
		if !s.Take(fmt.Sprint("route ", i)) {
			t.Fatalf("route %d not sampled", i)
		}
	}
	if s.Take("route 10") {
		t.Error("an 11th route sampled while 10 wait for their turn")
	}
	now = now.Add(time.Hour)
	if !s.Take("route 10") || len(s.routes) != 1 {
		t.Errorf("after an hour: a new route not sampled, or %d routes kept", len(s.routes))
	}
}

func TestPathRoute(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"GET", "/users/42/posts"}:                                 "GET /users/{}/posts",
		{"GET", "/characters"}:                                     "GET /characters",
		{"POST", "/v1/items/3f9a1c2e-7d4b-4e2a-9c1d-0b5e6f7a8b9c"}: "POST /{}/items/{}",
		{"GET", "/"}: "GET /",
		{"GET", "/files/aVeryLongOpaqueTokenWithoutDigits"}: "GET /files/{}",
	} {
		if got := PathRoute(in[0], in[1]); got != want {
			t.Errorf("PathRoute(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}
