// Package reqprof is a per-request wall-clock profiler for Go: it shows
// where the time of one unit of work went — on the CPU and off it (network,
// locks, channels, timers, system calls, the scheduler) — across every
// goroutine the work started.
//
// reqprof records the runtime's execution trace with a flight recorder
// ([runtime/trace.FlightRecorder]) while profiled work runs, and extracts
// that work's goroutines, their state changes and stacks, CPU samples, and
// user regions from it. The default view is the critical path: the root
// goroutine's time, where each wait another goroutine ended is explained by
// what that goroutine did meanwhile. It sums to the wall time.
//
// # Usage examples
//
// Profile a function and print its call tree:
//
//	p, err := reqprof.Do(ctx, "rebuild index", func(ctx context.Context) error {
//		return rebuildIndex(ctx)
//	})
//	if p != nil {
//		p.Write(os.Stdout, reqprof.FormatText)
//	}
//
// Profile HTTP requests that ask for it (?profile=true, loopback clients by
// default), with the profiles UI at /debug/reqprof/:
//
//	handler := reqprof.Middleware(reqprof.Options{Enabled: true})(mux)
//
// then
//
//	curl -i 'http://127.0.0.1:8080/users/42?profile=true'   # Reqprof-Url: /debug/reqprof/p/<id>
//	curl 'http://127.0.0.1:8080/debug/reqprof/p/<id>?format=text'
//
// Save it and render it later in another format:
//
//	f, _ := os.Create("rebuild.reqprof")
//	p.Write(f, reqprof.FormatReqprof)
//
//	// later
//	p, err := reqprof.Load(f)
//	p.WriteWith(os.Stdout, reqprof.FormatText, reqprof.WriteOptions{View: reqprof.ViewGoroutines})
//
// # Costs and limits
//
// While at least one capture runs, the process records its execution trace
// (a few percent of CPU on busy servers) and, unless someone else already
// does, profiles the CPU at the highest rate the kernel honours (about 250
// samples per CPU-second); both stop when the last capture ends.
// runtime/pprof allows one CPU profile at a time: a CPU profile requested
// while a capture owns it (/debug/pprof/profile) fails until the capture
// ends; see [capture.Config.NoCPU]. Only one flight recorder may exist per
// process: [Do] reports an error (and still runs the function) when another
// one is active.
package reqprof
