package ui

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// stuck is a profile maker whose profile is never done.
type stuck struct{}

func (stuck) Wait(done <-chan struct{}, id string) { <-done }
func (stuck) NotStored(id string) string           { return "" }

// A profile still being extracted when the wait ends is not "removed by
// retention": the answer is 503 with Retry-After, so that a client asks
// again.
func TestStillPendingIsRetry(t *testing.T) {
	defer func(d time.Duration) { pendingWait = d }(pendingWait)
	pendingWait = 20 * time.Millisecond
	u := New(Config{Store: newStore(t), Authorize: everyone(), Pending: stuck{}})
	r := do(t, u, "GET", "/p/18ed23afebea7a78-a3d2fd5b")
	if r.code != http.StatusServiceUnavailable || r.h.Get("Retry-After") == "" || !strings.Contains(r.body, "still being extracted") {
		t.Errorf("%d %q %q", r.code, r.h.Get("Retry-After"), r.body)
	}
}
