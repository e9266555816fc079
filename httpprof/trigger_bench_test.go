package httpprof

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkRequestedTrigger is what the middleware checks before it
// profiles a request that asks (?profile=true from the loopback peer):
// the trigger, the default authorization and the cross-site check, hot.
// In a profiled request the same code runs in caches that the last
// profile's processing filled, about ten times slower (BENCHMARKS.md,
// goal 2).
func BenchmarkRequestedTrigger(b *testing.B) {
	r := httptest.NewRequest("GET", "http://127.0.0.1:8080/users/42?page=2&profile=true", nil)
	r.RemoteAddr = "127.0.0.1:50000"
	auth := loopbackWith(nil)
	b.ReportAllocs()
	for b.Loop() {
		if !wants(r, false) || !auth(r) || crossSite(r) {
			b.Fatal("the request does not get its profile")
		}
	}
}
