package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reqprof/reqprof/httpprof"
)

// loadResult is one (round, handler, mode) under load.
type loadResult struct {
	handler, mode string
	round         int
	window        time.Duration
	// lat holds the latencies of the measured clients' requests started
	// in the window, sorted.
	lat      []time.Duration
	served   int // requests served over the whole run, warm-up included
	errors   int
	firstErr string
	// The profiled requests (over the whole run, warm-up included).
	prof         []time.Duration
	profSent     int
	profProfiled int
	profErrors   int
	profStatus   string // one status that was not "profiled"
	// The server's counters at the window's edges, and at its exit.
	s0, s1 stats
	final  finalStats
}

func (r loadResult) throughput() float64 { return float64(len(r.lat)) / r.window.Seconds() }

// runLoad runs every handler in every mode, o.rounds times, a child
// process each, the modes' order rotated from round to round.
func runLoad(ctx context.Context, env *parentEnv, o options, progress io.Writer) ([]loadResult, error) {
	var out []loadResult
	for r := range o.rounds {
		for _, h := range o.handlers {
			k := r % len(o.modes)
			ms := append(slices.Clone(o.modes[k:]), o.modes[:k]...)
			for _, m := range ms {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				res, err := runOne(env, o, h, m, r, progress)
				if err != nil {
					return nil, fmt.Errorf("round %d, %s, %s: %w", r+1, h, m, err)
				}
				fmt.Fprintf(progress, "round %d/%d %-10s %-16s %8.0f req/s  p50 %-9s p99 %-9s cpu/req %-8s profiled %d/%d  goroutines at the end %d\n",
					r+1, o.rounds, h, m, res.throughput(), fmtDur(pct(res.lat, 0.50)), fmtDur(pct(res.lat, 0.99)),
					fmtDur(res.cpuPerRequest()), res.profProfiled, res.profSent, res.s1.Goroutines)
				out = append(out, res)
			}
		}
	}
	return out, nil
}

func (r loadResult) cpuPerRequest() time.Duration {
	if len(r.lat) == 0 || !r.s1.CPUKnown {
		return 0
	}
	return (r.s1.CPU - r.s0.CPU) / time.Duration(len(r.lat))
}

// runOne loads one child: warm-up, then the measured window.
func runOne(env *parentEnv, o options, handler, modeName string, round int, progress io.Writer) (loadResult, error) {
	res := loadResult{handler: handler, mode: modeName, round: round, window: o.duration}
	spec, err := handlerByName(handler)
	if err != nil {
		return res, err
	}
	m, err := modeByName(modeName)
	if err != nil {
		return res, err
	}
	p, err := env.spawn(handler, modeName, fmt.Sprintf("%s-%s-r%d", handler, modeName, round+1), nil)
	if err != nil {
		return res, err
	}
	defer p.kill()

	tr := &http.Transport{MaxIdleConnsPerHost: o.clients + 4, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	start := time.Now()
	measure := start.Add(o.warmup)
	end := measure.Add(o.duration)

	type clientOut struct {
		lat      []time.Duration
		served   int
		errors   int
		firstErr string
	}
	outs := make([]clientOut, o.clients)
	var wg sync.WaitGroup
	for c := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			co := &outs[c]
			for i := 0; ; i++ {
				t := time.Now()
				if !t.Before(end) {
					return
				}
				err := get(client, p.base+spec.path(c, i), nil)
				d := time.Since(t)
				if err != nil {
					co.errors++
					if co.firstErr == "" {
						co.firstErr = err.Error()
					}
					continue
				}
				co.served++
				if !t.Before(measure) {
					co.lat = append(co.lat, d)
				}
			}
		}()
	}

	var pmu sync.Mutex
	if m.profiled.any() {
		ptr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}
		defer ptr.CloseIdleConnections()
		pclient := &http.Client{Transport: ptr, Timeout: 30 * time.Second}
		profiled := func(i int) {
			t := time.Now()
			var status string
			err := get(pclient, p.base+spec.path(o.clients, i)+"?profile=true", &status)
			d := time.Since(t)
			pmu.Lock()
			defer pmu.Unlock()
			res.profSent++
			switch {
			case err != nil:
				res.profErrors++
				if res.firstErr == "" {
					res.firstErr = "profiled: " + err.Error()
				}
			case status == "profiled":
				res.profProfiled++
				res.prof = append(res.prof, d)
			default:
				res.profStatus = status
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if m.profiled.backToBack {
				for i := 0; time.Now().Before(end); i++ {
					profiled(i)
				}
				return
			}
			every := time.Duration(float64(time.Second) / m.profiled.perSecond)
			tick := time.NewTicker(every)
			defer tick.Stop()
			var inner sync.WaitGroup
			defer inner.Wait()
			for i := 0; time.Now().Before(end); i++ {
				inner.Add(1)
				go func() { defer inner.Done(); profiled(i) }()
				<-tick.C
			}
		}()
	}

	time.Sleep(time.Until(measure))
	s0, err0 := p.stats()
	time.Sleep(time.Until(end))
	s1, err1 := p.stats()
	wg.Wait()
	if err := firstError(err0, err1); err != nil {
		return res, err
	}
	res.s0, res.s1 = s0, s1
	for _, co := range outs {
		res.lat = append(res.lat, co.lat...)
		res.served += co.served
		res.errors += co.errors
		if res.firstErr == "" {
			res.firstErr = co.firstErr
		}
	}
	slices.Sort(res.lat)
	slices.Sort(res.prof)
	tr.CloseIdleConnections()
	res.final, err = p.stop()
	if err == nil && res.final.Drain > 100*time.Millisecond {
		fmt.Fprintf(progress, "  (%s %s: stopping the profiler took %s: %d profiles stored at the window's end, %d at exit)\n",
			handler, modeName, fmtDur(res.final.Drain), res.s1.Stored, res.final.Stored)
	}
	return res, err
}

// get fetches url, reads the body and checks the status; status receives
// reqprof's status header when not nil.
func get(c *http.Client, url string, status *string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if status != nil {
		*status = resp.Header.Get(httpprof.HeaderStatus)
	}
	return nil
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkLoad fails the run when a mode did not do what it claims: requests
// failed, nothing was served, a profiling mode stored no profile, or
// reqprof logged errors.
func checkLoad(o options, results []loadResult) error {
	var problems []string
	for _, r := range results {
		m, _ := modeByName(r.mode)
		where := fmt.Sprintf("round %d %s %s", r.round+1, r.handler, r.mode)
		// Not len(r.lat): on a loaded machine a short window can pass
		// with no request starting in it.
		if r.served == 0 {
			problems = append(problems, where+": no request served")
		}
		if r.errors > 0 || r.profErrors > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d failed requests (%s)", where, r.errors+r.profErrors, r.firstErr))
		}
		if m.profiled.any() && (r.profProfiled == 0 || r.final.Stored == 0) {
			problems = append(problems, fmt.Sprintf("%s: %d requests profiled, %d profiles stored (a status: %q)", where, r.profProfiled, r.final.Stored, r.profStatus))
		}
		if r.final.LogErrors > 0 || r.final.Failed > 0 {
			problems = append(problems, fmt.Sprintf("%s: reqprof logged %d errors, %d profiles failed (%s)", where, r.final.LogErrors, r.final.Failed, r.final.FirstError))
		}
		if (r.mode == "none" || !strings.HasPrefix(r.mode, "reqprof")) && r.final.Stored > 0 {
			problems = append(problems, where+": profiles stored without reqprof")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("the run is not valid:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
