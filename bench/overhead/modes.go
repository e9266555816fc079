package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/felixge/fgprof"

	"github.com/reqprof/reqprof/httpprof"
)

// profiledLoad is how the parent asks for profiles during a mode's load,
// beside the measured clients.
type profiledLoad struct {
	// backToBack keeps one profiled request in flight at all times.
	backToBack bool
	// perSecond sends that many profiled requests per second.
	perSecond float64
}

func (p profiledLoad) any() bool { return p.backToBack || p.perSecond > 0 }

// mode is a way of running the server: a profiler, or none.
type mode struct {
	name, desc string
	profiled   profiledLoad
	// start starts the profiler in the child and returns the middleware
	// the handler is wrapped in and what stops the profiler.
	start func(c *child) (wrap func(http.Handler) http.Handler, stop func() error, err error)
}

// The raw flight recorder's bounds: those reqprof's capture.Manager uses
// by default, so that "fr" is the floor under reqprof's recorder.
const (
	frMinAge   = time.Minute
	frMaxBytes = 64 << 20
)

var modes = []mode{
	{name: "none", desc: "no profiler", start: func(*child) (func(http.Handler) http.Handler, func() error, error) {
		return identity, nop, nil
	}},
	{name: "fr", desc: "raw runtime/trace.FlightRecorder running (1 min / 64 MiB, reqprof's bounds)", start: startFR(false)},
	{name: "fr-cpu", desc: "flight recorder + CPU profiling (runtime/pprof to io.Discard)", start: startFR(true)},
	{name: "reqprof-idle", desc: "reqprof middleware enabled, nothing profiled", start: startReqprof(0)},
	{name: "reqprof-slow", desc: "reqprof slow-request capture (recorder always on, every request in a task)", start: startReqprof(-1)},
	{name: "reqprof-inflight", desc: "reqprof, one profiled request always in flight (back to back)", profiled: profiledLoad{backToBack: true}, start: startReqprof(0)},
	{name: "reqprof-10ps", desc: "reqprof, 10 profiled requests per second", profiled: profiledLoad{perSecond: 10}, start: startReqprof(0)},
	{name: "reqprof-1ps", desc: "reqprof, 1 profiled request per second (its default rate limit)", profiled: profiledLoad{perSecond: 1}, start: startReqprof(0)},
	{name: "fgprof", desc: "fgprof running (99 Hz goroutine profiles, process-wide)", start: startFgprof},
	{name: "pprof-labels", desc: "runtime/pprof CPU profile + pprof labels per request", start: startPprofLabels},
}

func modeNames() []string {
	var n []string
	for _, m := range modes {
		n = append(n, m.name)
	}
	return n
}

func modeByName(name string) (mode, error) {
	for _, m := range modes {
		if m.name == name {
			return m, nil
		}
	}
	return mode{}, fmt.Errorf("unknown mode %q", name)
}

func identity(h http.Handler) http.Handler { return h }

func startFR(cpu bool) func(*child) (func(http.Handler) http.Handler, func() error, error) {
	return func(c *child) (func(http.Handler) http.Handler, func() error, error) {
		fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: frMinAge, MaxBytes: frMaxBytes})
		if err := fr.Start(); err != nil {
			return nil, nil, err
		}
		stopCPU, err := c.startCPU(cpu)
		if err != nil {
			fr.Stop()
			return nil, nil, err
		}
		return identity, func() error {
			stopCPU()
			fr.Stop()
			return nil
		}, nil
	}
}

// startReqprof starts reqprof's middleware; slow < 0 turns on
// slow-request capture at the child's threshold.
func startReqprof(slow time.Duration) func(*child) (func(http.Handler) http.Handler, func() error, error) {
	return func(c *child) (func(http.Handler) http.Handler, func() error, error) {
		if slow < 0 {
			slow = c.cfg.Slow
		}
		h, err := c.newReqprof(func(o *httpprof.Options) {
			o.CaptureSlowerThan = slow
			if c.cfg.Mode == "reqprof-1ps" {
				o.PerMinute = 0 // the default limit, which this mode measures
			}
		})
		if err != nil {
			return nil, nil, err
		}
		return h.Wrap, h.Close, nil
	}
}

func startFgprof(*child) (func(http.Handler) http.Handler, func() error, error) {
	stop := fgprof.Start(io.Discard, fgprof.FormatPprof)
	return identity, stop, nil
}

// startPprofLabels profiles the CPU and labels each request, as span
// profiles and code-hotspot integrations do (route and a request id).
func startPprofLabels(c *child) (func(http.Handler) http.Handler, func() error, error) {
	stopCPU, err := c.startCPU(true)
	if err != nil {
		return nil, nil, err
	}
	var seq atomic.Uint64
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			labels := pprof.Labels("route", r.Method+" "+r.URL.Path, "request_id", strconv.FormatUint(seq.Add(1), 10))
			pprof.Do(r.Context(), labels, func(ctx context.Context) { next.ServeHTTP(w, r.WithContext(ctx)) })
		})
	}
	return wrap, func() error { stopCPU(); return nil }, nil
}

// startCPU starts CPU profiling to io.Discard when want is set, unless the
// child already profiles itself (-profiles), and returns what stops it.
func (c *child) startCPU(want bool) (stop func(), err error) {
	if !want || c.cpuOn {
		return func() {}, nil
	}
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		return nil, err
	}
	return pprof.StopCPUProfile, nil
}
