package reqprof_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/store"
)

// The runtime's tracer aborts the whole process (a fatal error, not a
// panic) on a task or region name of 64 KiB or more. Before names were
// bounded, each of these tests killed the test binary.

func TestHugeDoNameDoesNotCrash(t *testing.T) {
	name := strings.Repeat("n", 1<<20)
	p, err := reqprof.Do(context.Background(), name, func(context.Context) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Name) > 1<<10 || !strings.HasPrefix(p.Name, "nnnn") {
		t.Errorf("profile name of %d bytes, want a bounded prefix of the name", len(p.Name))
	}
}

func TestHugePathDoesNotCrash(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		w.Write([]byte("ok"))
	})
	// Slow-request capture: every request runs in a task, no trigger and no
	// authorization needed.
	mw, err := reqprof.New(reqprof.Options{Enabled: true, Dir: t.TempDir(), CaptureSlowerThan: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	h := mw.Wrap(mux)
	path := "/" + strings.Repeat("a", 1<<20)
	for _, target := range []string{path, path + "?profile=true"} {
		req := httptest.NewRequest("GET", target, nil)
		req.RemoteAddr = "127.0.0.1:1234"
		req.Host = "127.0.0.1:1234"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Body.String() != "ok" {
			t.Fatalf("GET %d-byte path: body %q", len(target), rec.Body.String())
		}
	}
	mw.Close()
	ms, err := mw.Store().List(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no profile stored")
	}
	for _, m := range ms {
		if len(m.Name) > 1<<10 {
			t.Errorf("stored name of %d bytes", len(m.Name))
		}
	}
}
