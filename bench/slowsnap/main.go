// Command slowsnap measures what a slow-request capture costs under load:
// 8 keep-alive clients keep a trivial handler busy while, every -every, one
// request takes 60 ms (the capture's threshold is 50 ms). For each slow
// request it prints how long after its end its profile was stored, and at
// the end the process's CPU use. A slow profile's snapshot holds the
// generations of the trace since the manager last learned the newest one,
// so its cost depends on how much trace the load writes in between.
//
//	cd bench && go run ./slowsnap -every 20s -duration 65s
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/cputime"
	"github.com/reqprof/reqprof/serve"
)

func main() {
	every := flag.Duration("every", 20*time.Second, "time between two slow requests")
	dur := flag.Duration("duration", 65*time.Second, "how long the load runs")
	clients := flag.Int("clients", 8, "concurrent keep-alive clients")
	flag.Parse()
	if err := run(*every, *dur, *clients); err != nil {
		fmt.Fprintln(os.Stderr, "slowsnap:", err)
		os.Exit(1)
	}
}

func run(every, dur time.Duration, clients int) error {
	dir, err := os.MkdirTemp("", "slowsnap")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var ended atomic.Int64
	stored := make(chan serve.Result, 16)
	pr, err := httpprof.New(httpprof.Options{
		Enabled: true, Dir: dir, UIPath: "-", Manager: capture.NewManager(capture.Config{}),
		CaptureSlowerThan: 50 * time.Millisecond, SlowPerMinute: 1000,
		OnProfile: func(r serve.Result) { stored <- r },
	})
	if err != nil {
		return err
	}
	defer pr.Close()
	srv := httptest.NewServer(pr.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(60 * time.Millisecond)
			ended.Store(time.Now().UnixNano())
		}
		w.Write([]byte("ok\n"))
	})))
	defer srv.Close()
	stop := time.Now().Add(dur)
	get := func(c *http.Client, path string) {
		resp, err := c.Get(srv.URL + path)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	for range clients {
		go func() {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			for time.Now().Before(stop) {
				get(c, "/")
			}
		}()
	}
	go func() {
		for time.Sleep(every); time.Now().Before(stop); time.Sleep(every) {
			get(http.DefaultClient, "/slow")
		}
	}()
	c0, _ := cputime.Process()
	t0 := time.Now()
	for n := 1; time.Now().Before(stop); {
		select {
		case r := <-stored:
			if r.Err != nil {
				return fmt.Errorf("slow profile %d: %w", n, r.Err)
			}
			lag := time.Duration(time.Now().UnixNano() - ended.Load())
			fmt.Printf("slow profile %d stored %v after its request ended (%d bytes)\n", n, lag.Round(time.Millisecond), r.Meta.Size)
			n++
		case <-time.After(time.Until(stop)):
		}
	}
	c1, _ := cputime.Process()
	fmt.Printf("process CPU %.2f CPUs over %v\n", float64(c1-c0)/float64(time.Since(t0)), time.Since(t0).Round(time.Second))
	return nil
}
