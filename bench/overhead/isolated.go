package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// A batch kind of the isolated measurements: one request at a time, each
// profile stored before the next request.
type batchKind struct {
	key      string // the report's name for it
	name     string
	profiled bool
	warm     bool // the recorder is held running by another capture
	aged     bool // ... and has recorded o.aged of load first
	// linger leaves the recorder to reqprof's linger (httpprof.Options.
	// Linger, its default): the other kinds end it before each request,
	// so that "cold" is cold.
	linger bool
	// afterProfiled sends a profiled request before each (unprofiled)
	// measured one, its profile stored and the gap idled first: the
	// measured request runs after a profile's processing, as a profiled
	// one of the other batches does after the last one's.
	afterProfiled bool
	// rawFR starts a raw flight recorder for each (unprofiled) request,
	// reqprof idle: what any trace-based profiler's cold request pays.
	rawFR bool
	// gcFirst runs a GC in the gap before each request: every request
	// then starts with the same headroom under the GC's goal, whatever
	// the batch allocated before. A small heap's goal is the runtime's 4
	// MB floor, and the 2.25 MB that the runtime's own start allocates
	// for the trace's CPU samples often starts a cycle that the starting
	// request pays: a raw recorder's request after requests that
	// allocate little pays it more often than reqprof's, whose last
	// profile's processing raised the goal.
	gcFirst bool
}

// batchKinds come in pairs that share the recorder's state (runPair).
var batchKinds = []batchKind{
	{key: "u", name: "unprofiled", profiled: false, warm: false},
	{key: "c", name: "profiled, recorder cold", profiled: true, warm: false},
	{key: "rf", name: "unprofiled, a raw flight recorder started for each (reqprof idle; the recorder's start included)", rawFR: true},
	{key: "u2", name: "unprofiled (again, beside the row before)", profiled: false},
	{key: "cg", name: "profiled, recorder cold, each after a GC (the CPU columns count it)", profiled: true, gcFirst: true},
	{key: "rfg", name: "unprofiled, a raw flight recorder started for each, each after a GC (the CPU columns count it)", rawFR: true, gcFirst: true},
	{key: "l", name: "profiled, repeated: recorder lingering (the default)", profiled: true, linger: true},
	{key: "ul", name: "unprofiled, recorder lingering", profiled: false, linger: true},
	{key: "uw", name: "unprofiled, recorder running", profiled: false, warm: true},
	{key: "ww", name: "profiled, recorder warm", profiled: true, warm: true},
	{key: "ua", name: "unprofiled, recorder running after the load", profiled: false, warm: true, aged: true},
	{key: "a", name: "profiled, recorder warm after the load", profiled: true, warm: true, aged: true},
	{key: "uw2", name: "unprofiled, recorder running (again, beside the next row)", profiled: false, warm: true},
	{key: "uwp", name: "unprofiled, recorder running, each right after a profiled request (its profile stored, then the gap; the CPU columns count both)", profiled: false, warm: true, afterProfiled: true},
}

// batch returns the result of the kind with key k, nil if not run.
func (r *isolatedResult) batch(k string) *batchResult {
	for _, b := range r.batches {
		if b.kind.key == k {
			return b
		}
	}
	return nil
}

// batchResult accumulates one kind over the rounds.
type batchResult struct {
	kind      batchKind
	lat       []time.Duration // client latency
	handler   []time.Duration // the handler's own time, measured inside reqprof
	profDur   []time.Duration // the duration the stored profile reports
	profBytes []int64
	before    []time.Duration // what the profiles say reqprof added before the window
	inside    []time.Duration // and inside it
	rawStart  []time.Duration // each raw recorder's start (rawFR)
	// lessStart is each request's latency less its recorder's start (the
	// profile's "before" for a profiled one, rawStart for rawFR), sorted.
	lessStart []time.Duration
	cpu       time.Duration // process CPU over the batches
	gcCPU     time.Duration
	gcCycles  uint64
	n         int
	profiled  int
}

// isolatedResult is everything measured on one handler in isolation.
type isolatedResult struct {
	handler              string
	batches              []*batchResult
	frStart              []time.Duration // raw flight-recorder starts
	heap0, heap1, heap2  heapStats
	burst, burstProfiled int
	burstStored          int
	idle                 time.Duration
	aged                 time.Duration
	agedClients          int
	gap                  time.Duration
}

// runIsolated measures one handler's profiled requests in isolation, in a
// child of its own running reqprof: first the heap before and after a
// burst of profiles, then the raw recorder's start time, then the batches
// (each kind in turn, o.rounds times).
func runIsolated(ctx context.Context, env *parentEnv, o options, handler string, progress io.Writer) (*isolatedResult, error) {
	spec, err := handlerByName(handler)
	if err != nil {
		return nil, err
	}
	p, err := env.spawn(handler, "reqprof-idle", handler+"-isolated", func(c *childConfig) {
		c.HandlerTimes = true
		c.MaxConcurrent = 8
	})
	if err != nil {
		return nil, err
	}
	defer p.kill()
	res := &isolatedResult{handler: handler, idle: o.idle, aged: o.aged, agedClients: o.clients, gap: o.isoGap}
	tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	// Warm the handler (connections, caches, the database), unprofiled.
	for i := range 20 {
		if err := get(client, p.base+spec.path(0, i), nil); err != nil {
			return nil, err
		}
	}

	// The heap: before any profile, after a burst from 8 clients, and
	// after o.idle more.
	if err := p.get("/bench/heap", &res.heap0); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var burstErr error
	next := make(chan int)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var status string
				err := get(client, p.base+spec.path(c, i)+"?profile=true", &status)
				mu.Lock()
				res.burst++
				if err != nil && burstErr == nil {
					burstErr = err
				}
				if status == "profiled" {
					res.burstProfiled++
				}
				mu.Unlock()
			}
		}()
	}
	for i := range o.burst {
		next <- i
	}
	close(next)
	wg.Wait()
	if burstErr != nil {
		return nil, burstErr
	}
	var s stats
	if err := p.get("/bench/wait?n="+strconv.Itoa(res.burstProfiled), &s); err != nil {
		return nil, err
	}
	res.burstStored = s.Stored
	if err := p.get("/bench/heap", &res.heap1); err != nil {
		return nil, err
	}
	time.Sleep(o.idle)
	if err := p.get("/bench/heap", &res.heap2); err != nil {
		return nil, err
	}
	if err := p.get("/bench/durations", nil); err != nil { // reset
		return nil, err
	}

	if err := p.get("/bench/frstart?n="+strconv.Itoa(o.frStarts), &res.frStart); err != nil {
		return nil, err
	}
	slices.Sort(res.frStart)

	for _, k := range batchKinds {
		if !k.aged || o.aged > 0 {
			res.batches = append(res.batches, &batchResult{kind: k})
		}
	}
	stored := s.Stored + s.Failed
	for r := range o.rounds {
		// Batches in pairs that share the recorder's state: off; held;
		// held through o.aged of load from o.clients clients first.
		for i := 0; i < len(res.batches); i += 2 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			pair := res.batches[i : i+2]
			if err := runPair(p, client, spec, o, pair, r, &stored); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(progress, "isolated %s round %d/%d done\n", handler, r+1, o.rounds)
	}
	for _, b := range res.batches {
		b.lessStart = lessStart(b)
		slices.Sort(b.lat)
		slices.Sort(b.handler)
		slices.Sort(b.profDur)
		slices.Sort(b.profBytes)
		slices.Sort(b.before)
		slices.Sort(b.inside)
		slices.Sort(b.rawStart)
	}
	final, err := p.stop()
	if err != nil {
		return nil, err
	}
	if final.LogErrors > 0 || final.Failed > 0 {
		return nil, fmt.Errorf("reqprof logged %d errors, %d profiles failed (%s)", final.LogErrors, final.Failed, final.FirstError)
	}
	return res, nil
}

// runPair runs two batches that share the recorder's state.
func runPair(p *childProc, client *http.Client, spec handlerSpec, o options, pair []*batchResult, round int, stored *int) error {
	k := pair[0].kind
	if k.warm {
		if err := p.get("/bench/hold", nil); err != nil {
			return err
		}
		defer p.get("/bench/release", nil)
	}
	if k.aged {
		if err := loadFor(p, spec, o.clients, o.aged); err != nil {
			return fmt.Errorf("load before %s: %w", k.name, err)
		}
	}
	for _, b := range pair {
		if err := runBatch(p, client, spec, o, b, round, stored); err != nil {
			return fmt.Errorf("%s: %w", b.kind.name, err)
		}
	}
	return nil
}

// loadFor loads the child with unprofiled requests from n clients for d.
func loadFor(p *childProc, spec handlerSpec, n int, d time.Duration) error {
	tr := &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	end := time.Now().Add(d)
	errs := make(chan error, n)
	for c := range n {
		go func() {
			for i := 0; time.Now().Before(end); i++ {
				if err := get(client, p.base+spec.path(c, i), nil); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// runBatch runs o.isoN requests of kind b, one at a time, each profile
// stored before the next request, between two readings of the process's
// CPU time (after a GC, so that each batch pays for its own garbage).
func runBatch(p *childProc, client *http.Client, spec handlerSpec, o options, b *batchResult, round int, stored *int) error {
	if err := p.get("/bench/heap", &heapStats{}); err != nil { // a GC
		return err
	}
	if err := p.get("/bench/durations", nil); err != nil { // forget earlier requests
		return err
	}
	s0, err := p.stats()
	if err != nil {
		return err
	}
	for i := range o.isoN {
		u := p.base + spec.path(0, round*o.isoN+i)
		if b.kind.profiled {
			u += "?profile=true"
		}
		if b.kind.rawFR {
			u += "?rawfr=1"
		}
		if b.kind.afterProfiled {
			var status string
			if err := get(client, u+"?profile=true", &status); err != nil {
				return err
			}
			if status != "profiled" {
				return fmt.Errorf("the profiled request before was not profiled: %q", status)
			}
			*stored++
			if err := p.get("/bench/wait?n="+strconv.Itoa(*stored), nil); err != nil {
				return err
			}
			time.Sleep(o.isoGap)
		}
		// The same control request in every batch: it ends reqprof's
		// linger, or (linger batches) does nothing.
		ctl := "/bench/endlinger"
		q := url.Values{}
		if b.kind.linger {
			q.Set("keep", "1")
		}
		if b.kind.gcFirst {
			q.Set("gc", "1")
		}
		if len(q) > 0 {
			ctl += "?" + q.Encode()
		}
		if err := p.get(ctl, nil); err != nil {
			return err
		}
		var status string
		t := time.Now()
		if err := get(client, u, &status); err != nil {
			return err
		}
		b.lat = append(b.lat, time.Since(t))
		b.n++
		if status == "profiled" {
			b.profiled++
			*stored++
		} else if b.kind.profiled {
			return fmt.Errorf("a profiled request was not profiled: %q", status)
		}
		// Unprofiled requests wait too (returning at once): the same
		// control traffic in every batch. Then every batch idles alike: a
		// request that comes right after the worker stored the last
		// profile runs in caches that the worker filled (a profiled
		// request of the demo's endpoint measured ×2 its unprofiled time
		// that way, ×1.0–1.08 with the same gap after each request).
		if err := p.get("/bench/wait?n="+strconv.Itoa(*stored), nil); err != nil {
			return err
		}
		time.Sleep(o.isoGap)
	}
	s1, err := p.stats()
	if err != nil {
		return err
	}
	b.cpu += s1.CPU - s0.CPU
	b.gcCPU += s1.GCCPU - s0.GCCPU
	b.gcCycles += s1.GCCycles - s0.GCCycles
	var t timing
	if err := p.get("/bench/durations", &t); err != nil {
		return err
	}
	if b.kind.afterProfiled {
		// The handler's times come in the requests' order: the profiled
		// one's, then the measured one's.
		for i := 1; i < len(t.Handler); i += 2 {
			b.handler = append(b.handler, t.Handler[i])
		}
		return nil
	}
	b.handler = append(b.handler, t.Handler...)
	b.profDur = append(b.profDur, t.ProfileDur...)
	b.profBytes = append(b.profBytes, t.ProfileBytes...)
	b.before = append(b.before, t.ProfileBefore...)
	b.inside = append(b.inside, t.ProfileInside...)
	b.rawStart = append(b.rawStart, t.RawStart...)
	return nil
}

// lessStart returns each of b's latencies less the recorder's start it
// paid, in the requests' order before sorting (one profile, or one raw
// start, per request, in order), sorted; nil when b has no such starts.
func lessStart(b *batchResult) []time.Duration {
	starts := b.before
	if b.kind.rawFR {
		starts = b.rawStart
	}
	if len(starts) == 0 || len(starts) != len(b.lat) {
		return nil
	}
	out := make([]time.Duration, len(b.lat))
	for i := range out {
		out[i] = b.lat[i] - starts[i]
	}
	slices.Sort(out)
	return out
}

// checkIsolated fails the run when the isolated measurements are not what
// they claim.
func checkIsolated(r *isolatedResult) error {
	for _, b := range r.batches {
		if b.n == 0 {
			return fmt.Errorf("%s: no request", b.kind.name)
		}
		if b.kind.profiled && len(b.profDur) != b.profiled {
			return fmt.Errorf("%s: %d profiled, %d stored", b.kind.name, b.profiled, len(b.profDur))
		}
		if len(b.handler) != b.n {
			return fmt.Errorf("%s: %d requests, %d handler times", b.kind.name, b.n, len(b.handler))
		}
		if b.kind.rawFR && len(b.rawStart) != b.n {
			return fmt.Errorf("%s: %d requests, %d raw recorder starts", b.kind.name, b.n, len(b.rawStart))
		}
		if (b.kind.rawFR || b.kind.key == "c" || b.kind.key == "cg") && len(b.lessStart) != b.n {
			return fmt.Errorf("%s: %d requests, %d of them with their recorder's start", b.kind.name, b.n, len(b.lessStart))
		}
	}
	if r.burstProfiled == 0 || r.burstStored < r.burstProfiled {
		return fmt.Errorf("burst: %d profiled, %d stored", r.burstProfiled, r.burstStored)
	}
	return nil
}
