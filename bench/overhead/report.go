package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// pct returns the q-quantile of sorted durations (nearest rank).
func pct[T time.Duration | int64](sorted []T, q float64) T {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < 0:
		return "−" + fmtDur(-d)
	case d < 10*time.Microsecond:
		return fmt.Sprintf("%.1f µs", float64(d)/1e3)
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func fmtMB(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// pooled is one (handler, mode) over the rounds.
type pooled struct {
	mode         string
	lat          []time.Duration
	window       time.Duration
	cpu, gc      time.Duration
	rounds       map[int]float64 // round → req/s
	prof         []time.Duration
	profProfiled int
	profSent     int
	stored       int
	drain        time.Duration
	cpuKnown     bool
}

func (p *pooled) throughput() float64 { return float64(len(p.lat)) / p.window.Seconds() }

func pool(results []loadResult, handler string, modes []string) []*pooled {
	by := map[string]*pooled{}
	var out []*pooled
	for _, m := range modes {
		p := &pooled{mode: m, rounds: map[int]float64{}, cpuKnown: true}
		by[m] = p
		out = append(out, p)
	}
	for _, r := range results {
		p := by[r.mode]
		if r.handler != handler || p == nil {
			continue
		}
		p.lat = append(p.lat, r.lat...)
		p.window += r.window
		p.cpu += r.s1.CPU - r.s0.CPU
		p.gc += r.s1.GCCPU - r.s0.GCCPU
		p.cpuKnown = p.cpuKnown && r.s1.CPUKnown
		p.rounds[r.round] = r.throughput()
		p.prof = append(p.prof, r.prof...)
		p.profProfiled += r.profProfiled
		p.profSent += r.profSent
		p.stored += r.final.Stored
		p.drain = max(p.drain, r.final.Drain)
	}
	for _, p := range out {
		slices.Sort(p.lat)
		slices.Sort(p.prof)
	}
	return out
}

func writeLoadReport(w io.Writer, o options, results []loadResult) {
	fmt.Fprintf(w, "## Under load: %d keep-alive clients, %d round(s) × %s per mode (after %s of warm-up), modes interleaved\n\n",
		o.clients, o.rounds, o.duration, o.warmup)
	fmt.Fprintf(w, "Ratios are against `none` (no profiler): req/s ratio < 1 and latency ratio > 1 are costs. "+
		"The per-round column is the req/s ratio of each round against that round's `none`. "+
		"Server CPU is the server process's CPU time (getrusage) per measured request; GC is the runtime's estimate of its share of it.\n\n")
	for _, h := range o.handlers {
		spec, _ := handlerByName(h)
		fmt.Fprintf(w, "### %s: %s\n\n", h, spec.desc)
		fmt.Fprintln(w, "| mode | req/s | ×none | p50 | ×none | p99 | ×none | req/s ×none per round | server CPU/req | GC | profiled requests (p50 latency) |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
		ps := pool(results, h, o.modes)
		base := ps[0]
		for _, p := range ps {
			var per []string
			for r := range o.rounds {
				if b, ok := base.rounds[r]; ok && b > 0 {
					per = append(per, fmt.Sprintf("%.2f", p.rounds[r]/b))
				}
			}
			cpu, gc := "n/a", "n/a"
			if p.cpuKnown && len(p.lat) > 0 && p.cpu > 0 {
				cpu = fmtDur(p.cpu / time.Duration(len(p.lat)))
				gc = fmt.Sprintf("%.0f%%", 100*float64(p.gc)/float64(p.cpu))
			}
			prof := "–"
			if p.profSent > 0 {
				prof = fmt.Sprintf("%d of %d profiled (%s); %d stored", p.profProfiled, p.profSent, fmtDur(pct(p.prof, 0.5)), p.stored)
				if p.drain > 100*time.Millisecond {
					prof += fmt.Sprintf(", the last up to %s after the load", fmtDur(p.drain))
				}
			} else if p.stored > 0 {
				prof = fmt.Sprintf("%d stored", p.stored)
			}
			fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				p.mode, p.throughput(), ratio(p.throughput(), base.throughput()),
				fmtDur(pct(p.lat, 0.5)), ratio(float64(pct(p.lat, 0.5)), float64(pct(base.lat, 0.5))),
				fmtDur(pct(p.lat, 0.99)), ratio(float64(pct(p.lat, 0.99)), float64(pct(base.lat, 0.99))),
				strings.Join(per, " "), cpu, gc, prof)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Modes:")
	fmt.Fprintln(w)
	for _, name := range o.modes {
		m, _ := modeByName(name)
		fmt.Fprintf(w, "- `%s`: %s\n", m.name, m.desc)
	}
	fmt.Fprintln(w)
}

func writeIsolatedReport(w io.Writer, r *isolatedResult) {
	spec, _ := handlerByName(r.handler)
	fmt.Fprintf(w, "## Isolated profiled requests: %s (%s)\n\n", r.handler, spec.desc)
	fmt.Fprintf(w, "One request at a time, each profile stored before the next request, then %s idle; process CPU per request between two getrusage readings around each batch (after a GC).\n\n", r.gap)
	fmt.Fprintln(w, "| requests | n | client p50 | client p90 | handler p50 | profile's duration p50 | process CPU/req | GC CPU/req | profile size p50 |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	per := func(d time.Duration, n int) time.Duration {
		if n == 0 {
			return 0
		}
		return d / time.Duration(n)
	}
	for _, b := range r.batches {
		pd, size := "–", "–"
		if b.kind.profiled {
			pd = fmtDur(pct(b.profDur, 0.5))
			size = fmt.Sprintf("%.1f KB", float64(pct(b.profBytes, 0.5))/1e3)
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", b.kind.name, b.n,
			fmtDur(pct(b.lat, 0.5)), fmtDur(pct(b.lat, 0.9)), fmtDur(pct(b.handler, 0.5)), pd,
			fmtDur(per(b.cpu, b.n)), fmtDur(per(b.gcCPU, b.n)), size)
	}
	fmt.Fprintln(w)
	u, c, uw, ww := r.batch("u"), r.batch("c"), r.batch("uw"), r.batch("ww")
	fr := pct(r.frStart, 0.5)
	fmt.Fprintf(w, "- the runtime's own recorder start (`FlightRecorder.Start`, reqprof idle): p50 %s (min %s, max %s, %d starts)\n",
		fmtDur(fr), fmtDur(r.frStart[0]), fmtDur(r.frStart[len(r.frStart)-1]), len(r.frStart))
	coldAdd := pct(c.lat, 0.5) - pct(u.lat, 0.5)
	slower := pct(c.handler, 0.5) - pct(u.handler, 0.5)
	fmt.Fprintf(w, "- cold: a profiled request adds %s at the median (×%s); less the recorder's start timed apart, reqprof's part is %s. Split by the medians: reqprof before the work's window %s (the recorder's start, as its profile says), inside it %s, the handler's own slowdown %s, the rest (around them: the response after the handler returned) %s\n",
		fmtDur(coldAdd), ratio(float64(pct(c.lat, 0.5)), float64(pct(u.lat, 0.5))), fmtDur(coldAdd-fr),
		fmtDur(pct(c.before, 0.5)), fmtDur(pct(c.inside, 0.5)), fmtDur(slower), fmtDur(coldAdd-pct(c.before, 0.5)-pct(c.inside, 0.5)-slower))
	if rf, u2 := r.batch("rf"), r.batch("u2"); rf != nil && len(rf.lessStart) > 0 && len(c.lessStart) > 0 {
		base := pct(u2.lat, 0.5)
		fmt.Fprintf(w, "- cold, beside the runtime's whole start: an unprofiled request with a raw flight recorder started for it (what any trace-based profiler's cold request pays) adds %s at the median to unprofiled ones beside it (×%s): its `Start` %s, and the request after the start is %s slower (the runtime's work that follows its start, which the starts timed apart above do not see). reqprof's cold request less its recorder's start, as its profile says, is %s slower than unprofiled: **reqprof's part beyond the runtime's whole start is %s**\n",
			fmtDur(pct(rf.lat, 0.5)-base), ratio(float64(pct(rf.lat, 0.5)), float64(base)), fmtDur(pct(rf.rawStart, 0.5)),
			fmtDur(pct(rf.lessStart, 0.5)-base), fmtDur(pct(c.lessStart, 0.5)-pct(u.lat, 0.5)),
			fmtDur(pct(c.lessStart, 0.5)-pct(u.lat, 0.5)-(pct(rf.lessStart, 0.5)-base)))
	}
	if cg, rfg := r.batch("cg"), r.batch("rfg"); cg != nil && rfg != nil && len(cg.lessStart) > 0 && len(rfg.lessStart) > 0 {
		fmt.Fprintf(w, "- the same, each request after a GC (the same headroom under the GC's goal for both: the runtime's start allocates 2.25 MB, which in a small heap often starts a cycle that the request pays; GC CPU per request in the two rows before: reqprof's cold %s, the raw recorder's %s): the raw recorder's `Start` %s, reqprof's %s as its profile says; the request less its start %s for the raw recorder, %s for reqprof: **reqprof's part beyond the runtime's whole start, after a GC, is %s**\n",
			fmtDur(per(c.gcCPU, c.n)), fmtDur(per(r.batch("rf").gcCPU, r.batch("rf").n)),
			fmtDur(pct(rfg.rawStart, 0.5)), fmtDur(pct(cg.before, 0.5)),
			fmtDur(pct(rfg.lessStart, 0.5)), fmtDur(pct(cg.lessStart, 0.5)),
			fmtDur(pct(cg.lessStart, 0.5)-pct(rfg.lessStart, 0.5)))
	}
	fmt.Fprintf(w, "- warm (recorder already running): a profiled request adds %s at the median (×%s against unprofiled with the recorder off, ×%s against unprofiled with it running)\n",
		fmtDur(pct(ww.lat, 0.5)-pct(u.lat, 0.5)), ratio(float64(pct(ww.lat, 0.5)), float64(pct(u.lat, 0.5))), ratio(float64(pct(ww.lat, 0.5)), float64(pct(uw.lat, 0.5))))
	fmt.Fprintf(w, "- the handler's own time, profiled ÷ unprofiled (p50): ×%s cold, ×%s warm; the profile's duration ÷ unprofiled handler: ×%s cold, ×%s warm\n",
		ratio(float64(pct(c.handler, 0.5)), float64(pct(u.handler, 0.5))), ratio(float64(pct(ww.handler, 0.5)), float64(pct(u.handler, 0.5))),
		ratio(float64(pct(c.profDur, 0.5)), float64(pct(u.handler, 0.5))), ratio(float64(pct(ww.profDur, 0.5)), float64(pct(u.handler, 0.5))))
	fmt.Fprintf(w, "- process CPU per profile (profiled − unprofiled, snapshot to stored file): %s cold (recorder and CPU profiler started and stopped each time), %s warm\n",
		fmtDur(per(c.cpu, c.n)-per(u.cpu, u.n)), fmtDur(per(ww.cpu, ww.n)-per(uw.cpu, uw.n)))
	if l, ul := r.batch("l"), r.batch("ul"); l != nil {
		fmt.Fprintf(w, "- repeated (each request right after the last one's profile is stored, the recorder lingering as by default): a profiled request adds %s at the median (×%s against unprofiled with the recorder off, ×%s against unprofiled with it lingering); process CPU per profile %s\n",
			fmtDur(pct(l.lat, 0.5)-pct(u.lat, 0.5)), ratio(float64(pct(l.lat, 0.5)), float64(pct(u.lat, 0.5))), ratio(float64(pct(l.lat, 0.5)), float64(pct(ul.lat, 0.5))),
			fmtDur(per(l.cpu, l.n)-per(ul.cpu, ul.n)))
	}
	if ua, a := r.batch("ua"), r.batch("a"); a != nil {
		fmt.Fprintf(w, "- after %s of load from %d clients with the recorder held (its window fuller): a profiled request adds %s at the median against unprofiled with it running (×%s); process CPU per profile %s\n",
			r.aged, r.agedClients, fmtDur(pct(a.lat, 0.5)-pct(ua.lat, 0.5)), ratio(float64(pct(a.lat, 0.5)), float64(pct(ua.lat, 0.5))), fmtDur(per(a.cpu, a.n)-per(ua.cpu, ua.n)))
	}
	if uw2, uwp := r.batch("uw2"), r.batch("uwp"); uwp != nil {
		fmt.Fprintf(w, "- after a profile: an unprofiled request right after a profiled one (its profile stored, then the same gap) has a handler p50 of %s, ×%s that of unprofiled requests with the recorder running beside it (%s); the profiled requests' own, warm: ×%s\n",
			fmtDur(pct(uwp.handler, 0.5)), ratio(float64(pct(uwp.handler, 0.5)), float64(pct(uw2.handler, 0.5))), fmtDur(pct(uw2.handler, 0.5)),
			ratio(float64(pct(ww.handler, 0.5)), float64(pct(uw.handler, 0.5))))
	}
	fmt.Fprintf(w, "- heap after a GC (HeapAlloc / HeapInuse / retained from the OS): %s / %s / %s before any profile; %s / %s / %s after a burst of %d profiled requests from 8 clients (%d stored); %s / %s / %s after %s idle\n\n",
		fmtMB(r.heap0.HeapAlloc), fmtMB(r.heap0.HeapInuse), fmtMB(r.heap0.Retained),
		fmtMB(r.heap1.HeapAlloc), fmtMB(r.heap1.HeapInuse), fmtMB(r.heap1.Retained), r.burstProfiled, r.burstStored,
		fmtMB(r.heap2.HeapAlloc), fmtMB(r.heap2.HeapInuse), fmtMB(r.heap2.Retained), r.idle)
}
