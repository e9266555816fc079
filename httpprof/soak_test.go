package httpprof_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/store"
)

// TestSustainedLoad serves profiled and unprofiled traffic for a while
// (REQPROF_SOAK, default 8s; skipped with -short), then checks that every
// Reqprof-Url handed out resolved, that retention held, and that
// goroutines and the heap came back to where they were.
func TestSustainedLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("sustained load: skipped with -short")
	}
	soak := 8 * time.Second
	if v := os.Getenv("REQPROF_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("REQPROF_SOAK: %v", err)
		}
		soak = d
	}
	baseG, baseHeap := settle()

	const keep = 20
	p := newProfiler(t, httpprof.Options{PerMinute: 6000, MaxConcurrent: 2, Retention: store.Retention{MaxCount: keep}})
	srv := httptest.NewServer(p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		spin(200 * time.Microsecond)
		time.Sleep(time.Millisecond)
		io.WriteString(w, "ok")
	})))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}

	var plain, profiled, resolved, skipped atomic.Int64
	var failures sync.Map
	ctx, cancel := context.WithTimeout(context.Background(), soak)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				path := "/plain"
				if i == 0 {
					path = "/profiled?profile=true"
				}
				resp, err := client.Get(srv.URL + path)
				if err != nil {
					failures.Store(err.Error(), true)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if i != 0 {
					plain.Add(1)
					continue
				}
				u := resp.Header.Get(httpprof.HeaderURL)
				if u == "" {
					skipped.Add(1)
					continue
				}
				profiled.Add(1)
				r2, err := client.Get(srv.URL + u + "?format=text")
				if err != nil {
					failures.Store(err.Error(), true)
					return
				}
				io.Copy(io.Discard, r2.Body)
				r2.Body.Close()
				if r2.StatusCode == 200 {
					resolved.Add(1)
				} else {
					failures.Store("GET "+u+": "+r2.Status, true)
				}
			}
		}()
	}
	wg.Wait()
	failures.Range(func(k, _ any) bool { t.Error(k); return true })
	t.Logf("%s: %d unprofiled, %d profiled (%d resolved), %d skipped by limits", soak, plain.Load(), profiled.Load(), resolved.Load(), skipped.Load())
	if profiled.Load() < 10 || resolved.Load() != profiled.Load() {
		t.Errorf("%d of %d profile URLs resolved", resolved.Load(), profiled.Load())
	}
	ms, err := p.Store().List(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) > keep {
		t.Errorf("retention of %d profiles holds %d", keep, len(ms))
	}

	client.CloseIdleConnections()
	srv.Close()
	p.Close()
	if capture.Default.Active() {
		t.Error("the recorder still runs after the server closed")
	}
	g, heap := settle()
	// Goroutines: the runtime and the testing package may keep one or two
	// of their own; a leak per request would be thousands.
	if g > baseG+3 {
		t.Errorf("goroutines: %d before, %d after", baseG, g)
	}
	// The heap: what profiling kept must be released when it stops.
	// 16 MiB of slack covers the test's own data and the GC's pacing.
	if heap > baseHeap+16<<20 {
		t.Errorf("heap in use: %d MiB before, %d MiB after", baseHeap>>20, heap>>20)
	}
	t.Logf("goroutines %d → %d, heap %.1f → %.1f MiB", baseG, g, float64(baseHeap)/(1<<20), float64(heap)/(1<<20))
}

// settle waits for goroutines to finish and the heap to be collected, and
// returns the goroutine count and the heap in use.
func settle() (int, uint64) {
	var ms runtime.MemStats
	n := runtime.NumGoroutine()
	for range 50 {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
		if m := runtime.NumGoroutine(); m >= n {
			break
		} else {
			n = m
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapInuse
}

// spin burns CPU for about d.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}
