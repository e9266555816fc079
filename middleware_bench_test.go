package reqprof_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/httpprof"
)

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkMiddlewareOverhead measures what the middleware adds to a bare
// handler when it does not profile: switched off, and switched on for a
// request that does not ask.
func BenchmarkMiddlewareOverhead(b *testing.B) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	req := httptest.NewRequest("GET", "/users/42?page=2", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "bench")
	w := &discardWriter{h: http.Header{}}
	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, bare) })
	// The floor of any header trigger, for comparison: a handler in front
	// of bare that only looks the header up (a map access, which hashes
	// its key) and calls it.
	b.Run("header-lookup-alone", func(b *testing.B) {
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(r.Header[httpprof.HeaderTrigger]) != 0 {
				panic("the request asks for a profile")
			}
			bare.ServeHTTP(w, r)
		}))
	})
	b.Run("disabled", func(b *testing.B) {
		run(b, reqprof.Middleware(reqprof.Options{Dir: b.TempDir()})(bare))
	})
	b.Run("enabled-not-requested", func(b *testing.B) {
		mw, err := reqprof.New(reqprof.Options{Enabled: true, Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		defer mw.Close()
		run(b, mw.Wrap(bare))
	})
	b.Run("enabled-not-requested-query-only", func(b *testing.B) {
		mw, err := reqprof.New(reqprof.Options{Enabled: true, QueryOnly: true, Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		defer mw.Close()
		run(b, mw.Wrap(bare))
	})
}

// sqlLike waits like a handler doing three database round trips.
func sqlLike(w http.ResponseWriter, r *http.Request) {
	for range 3 {
		time.Sleep(2 * time.Millisecond)
	}
	w.Write([]byte("ok"))
}

// BenchmarkProfiledLatency compares the latency of a handler with SQL-like
// waits, profiled and not, over a real loopback connection.
func BenchmarkProfiledLatency(b *testing.B) {
	mw, err := reqprof.New(reqprof.Options{Enabled: true, Dir: b.TempDir(), MaxConcurrent: 1000, PerMinute: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer mw.Close()
	srv := httptest.NewServer(mw.Wrap(http.HandlerFunc(sqlLike)))
	defer srv.Close()
	for _, c := range []struct{ name, query string }{{"unprofiled", ""}, {"profiled", "?profile=1"}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := http.Get(srv.URL + "/" + c.query)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// BenchmarkOthersWhileProfiling measures the throughput of unprofiled
// requests while a long profiled request is in flight, against none.
func BenchmarkOthersWhileProfiling(b *testing.B) {
	mw, err := reqprof.New(reqprof.Options{Enabled: true, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer mw.Close()
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/long" {
			time.Sleep(time.Hour) // until the client goes away
			return
		}
		w.Write(make([]byte, 512))
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/long" {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	load := func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := http.Get(srv.URL + "/fast")
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	b.Run("alone", load)
	b.Run("one-profiled-in-flight", func(b *testing.B) {
		// A profiled request that lasts the whole benchmark keeps the
		// flight recorder and CPU profiling on.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		var started atomic.Bool
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", srv.URL+"/held?profile=1", nil)
			_ = req
			mwHeld := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				started.Store(true)
				<-stop
			}))
			r := httptest.NewRequest("GET", "/held?profile=1", nil)
			r.RemoteAddr = "127.0.0.1:1"
			r.Host = "127.0.0.1:1"
			mwHeld.ServeHTTP(&discardWriter{h: http.Header{}}, r)
		}()
		for !started.Load() {
			time.Sleep(time.Millisecond)
		}
		b.ResetTimer()
		load(b)
		b.StopTimer()
		close(stop)
		wg.Wait()
	})
}

// BenchmarkSlowCapture measures the throughput cost of slow-request
// capture: every request runs in a trace task with the recorder on.
func BenchmarkSlowCapture(b *testing.B) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 512)) })
	for _, c := range []struct {
		name string
		slow time.Duration
	}{{"off", 0}, {"on", time.Second}} {
		b.Run(c.name, func(b *testing.B) {
			mw, err := reqprof.New(reqprof.Options{Enabled: true, Dir: b.TempDir(), CaptureSlowerThan: c.slow})
			if err != nil {
				b.Fatal(err)
			}
			defer mw.Close()
			srv := httptest.NewServer(mw.Wrap(handler))
			defer srv.Close()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := http.Get(srv.URL + "/")
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
