// Command quickstart profiles one synthetic unit of work with reqprof.Do and
// prints where its wall-clock time went.
//
// The work mixes the usual suspects of a slow request: CPU work, a sleep, an
// outgoing HTTP call to a slow dependency, and a fan-out to goroutines that
// the work waits for.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -o quickstart.reqprof
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"time"

	"github.com/reqprof/reqprof"
)

func main() {
	out := flag.String("o", "", "also save the profile to this `file` (native format, read back by reqprof.Load)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("quickstart: ")

	// A stand-in for a slow dependency: it answers after about 15ms.
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(15 * time.Millisecond)
		fmt.Fprintln(w, "ok")
	}))
	defer backend.Close()

	// Do runs the function once and returns the profile of it and of every
	// goroutine it starts. A nil profile means profiling failed; the
	// function's own error comes back either way.
	p, err := reqprof.Do(context.Background(), "quickstart", func(ctx context.Context) error {
		return handle(ctx, backend.URL)
	})
	if p == nil {
		log.Fatal(err)
	}
	if err != nil {
		log.Printf("the work failed: %v", err)
	}

	if err := p.Write(os.Stdout, reqprof.FormatText); err != nil {
		log.Fatal(err)
	}
	if *out != "" {
		if err := save(p, *out); err != nil {
			log.Fatal(err)
		}
		log.Printf("profile saved to %s", *out)
	}
}

// handle is the unit of work: the body of a request handler, a job, a test.
func handle(ctx context.Context, backendURL string) error {
	checksum(8 << 20) // CPU work
	time.Sleep(10 * time.Millisecond)
	if err := callBackend(ctx, backendURL); err != nil {
		return err
	}
	fanOut(3)
	return nil
}

// checksum hashes n bytes: pure CPU work.
func checksum(n int) [32]byte {
	buf := make([]byte, 64<<10)
	h := sha256.New()
	for n > 0 {
		k := min(n, len(buf))
		h.Write(buf[:k])
		n -= k
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// callBackend makes an outgoing HTTP request and reads the whole response.
func callBackend(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("backend: %s", resp.Status)
	}
	return nil
}

// fanOut runs n workers, each with a different amount of CPU work, and
// waits for all of them. The critical path follows the last one to finish.
func fanOut(n int) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker(i + 1)
		}()
	}
	wg.Wait()
}

// worker is one goroutine of the fan-out.
func worker(size int) {
	checksum(size * 4 << 20)
}

// save writes the profile's native file, which reqprof.Load reads back to
// render it later in any view or format.
func save(p *reqprof.Profile, name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := p.Write(f, reqprof.FormatReqprof); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
