package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/httpprof"
)

// TestMain makes the test binary a child when run as one: run spawns
// children from os.Executable, which under go test is this binary.
func TestMain(m *testing.M) {
	if isChild() {
		if err := childMain(); err != nil {
			fmt.Fprintln(os.Stderr, "overhead child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSmoke runs the whole benchmark at its shortest (one round of 60 ms
// per mode): every handler in every mode, and the isolated measurements.
// run fails when a mode did not do what it says (a request failed, a
// profiling mode stored nothing, reqprof logged an error, a profile was
// stored without reqprof), so this checks that the benchmark still builds,
// runs and measures what it claims; it asserts no timing.
func TestSmoke(t *testing.T) {
	args := []string{"-smoke"}
	if testing.Short() {
		args = append(args, "-handlers", "trivial", "-isolated-handlers", "sleep1ms")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, args, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	o, err := parseFlags(args)
	if err != nil {
		t.Fatal(err)
	}
	report := out.String()
	for _, h := range o.handlers {
		if !strings.Contains(report, "### "+h+":") {
			t.Errorf("no table for handler %s", h)
		}
	}
	for _, m := range o.modes {
		if n, want := strings.Count(report, "\n| "+m+" | "), len(o.handlers); n != want {
			t.Errorf("mode %s: %d rows, want %d", m, n, want)
		}
	}
	for _, h := range o.isoH {
		if !strings.Contains(report, "## Isolated profiled requests: "+h+" ") {
			t.Errorf("no isolated measurements of %s", h)
		}
	}
	if n, want := strings.Count(report, "reqprof's part beyond the runtime's whole start is "), len(o.isoH); n != want {
		t.Errorf("%d isolated reports compare the cold request with the raw recorder's, want %d", n, want)
	}
	if n, want := strings.Count(report, "reqprof's part beyond the runtime's whole start, after a GC, is "), len(o.isoH); n != want {
		t.Errorf("%d isolated reports compare the cold request with the raw recorder's after a GC, want %d", n, want)
	}
	if t.Failed() {
		t.Log(report)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-quick", "-rounds", "2", "-modes", "fgprof,fr"})
	if err != nil {
		t.Fatal(err)
	}
	if o.rounds != 2 || o.duration != 400*time.Millisecond {
		t.Errorf("-quick with -rounds 2: rounds %d, duration %s", o.rounds, o.duration)
	}
	if got := strings.Join(o.modes, ","); got != "none,fr,fgprof" {
		t.Errorf("modes %s, want none first, then the known order", got)
	}
	for _, bad := range [][]string{{"-modes", "nope"}, {"-handlers", ""}, {"-rounds", "0"}, {"extra"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestPct(t *testing.T) {
	ds := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {0.9, 9}, {0, 1}, {1, 10}} {
		if got := pct(ds, c.q); got != c.want {
			t.Errorf("pct(%v) = %d, want %d", c.q, got, c.want)
		}
	}
	if pct([]time.Duration(nil), 0.5) != 0 {
		t.Error("pct of nothing")
	}
}

// TestStripTrigger checks that the demo's own middleware cannot see the
// trigger the outer one acted on, and that the rest of the request is
// unchanged.
func TestStripTrigger(t *testing.T) {
	var seen *http.Request
	h := stripTrigger(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r }))
	r := httptest.NewRequest("GET", "/characters/7?profile=true&x=1", nil)
	r.Header.Set(httpprof.HeaderTrigger, "1")
	r.Header.Set("Accept", "application/json")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if q := seen.URL.Query(); q.Has("profile") || q.Get("x") != "1" {
		t.Errorf("query %q", seen.URL.RawQuery)
	}
	if seen.Header.Get(httpprof.HeaderTrigger) != "" || seen.Header.Get("Accept") != "application/json" {
		t.Errorf("headers %v", seen.Header)
	}
	if seen.URL.Path != "/characters/7" || seen.RequestURI != "/characters/7?x=1" {
		t.Errorf("path %q, request URI %q", seen.URL.Path, seen.RequestURI)
	}
	plain := httptest.NewRequest("GET", "/characters/7", nil)
	h.ServeHTTP(httptest.NewRecorder(), plain)
	if seen != plain {
		t.Error("a request without a trigger was copied")
	}
}
