// Command overhead measures what profiling costs a live HTTP server: no
// profiler, the runtime's flight recorder alone, reqprof in its modes,
// fgprof and runtime/pprof with labels, side by side on the same handlers,
// interleaved in rounds so that the machine's drift hits every mode alike.
//
// Each (round, handler, mode) runs in a fresh child process of this binary
// (only one flight recorder may exist per process, and the CPU profiler is
// process-wide), serving on 127.0.0.1. This process runs the load: a fixed
// number of concurrent keep-alive clients, plus, for the modes that profile
// requests, a client that asks for profiles. It prints throughput, p50 and
// p99 latency with ratios against no profiler, then, in separate children,
// the latency of isolated profiled requests (recorder cold and warm), the
// process CPU time each profile costs, and the heap before and after a
// burst of profiles.
//
// # Usage
//
// The full run (about six minutes on two cores):
//
//	cd bench && go run ./overhead
//
// A smoke run of about 30 seconds:
//
//	cd bench && go run ./overhead -quick
//
// One mode under a CPU profile of the server, to see where its cost goes:
//
//	cd bench && go run ./overhead -handlers mixed -modes none,reqprof-inflight -rounds 1 -duration 5s -isolated=false -profiles /tmp/prof
//
// The module is part of the repository's workspace (go.work), which points
// its requirements on reqprof and its examples at this checkout; being a
// module of its own keeps fgprof out of reqprof's own modules.
//
// Every loop is bounded by the flags; children exit when this process
// closes their standard input, and after -max-child-life in any case.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"
)

// options are the flags.
type options struct {
	rounds     int
	duration   time.Duration
	warmup     time.Duration
	clients    int
	handlers   []string
	modes      []string
	slow       time.Duration
	isolated   bool
	isoN       int
	isoGap     time.Duration
	isoH       []string
	burst      int
	idle       time.Duration
	aged       time.Duration
	frStarts   int
	profiles   string
	maxLife    time.Duration
	quick      bool
	smoke      bool
	commandArg string
}

func main() {
	if isChild() {
		if err := childMain(); err != nil {
			fmt.Fprintln(os.Stderr, "overhead child:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "overhead:", err)
		os.Exit(1)
	}
}

// parseFlags reads args into options; -quick and -smoke set defaults that
// the other flags given may still override.
func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("overhead", flag.ContinueOnError)
	fs.IntVar(&o.rounds, "rounds", 3, "rounds: each runs every handler in every mode once")
	fs.DurationVar(&o.duration, "duration", 2*time.Second, "measured time per mode and round")
	fs.DurationVar(&o.warmup, "warmup", 300*time.Millisecond, "load before the measured time, per mode and round")
	fs.IntVar(&o.clients, "clients", 8, "concurrent keep-alive clients")
	handlers := fs.String("handlers", "trivial,mixed,characters", "handlers to load, comma-separated (also: "+strings.Join(handlerNames(), ", ")+")")
	modes := fs.String("modes", strings.Join(modeNames(), ","), "modes to compare, comma-separated (none is always included)")
	fs.DurationVar(&o.slow, "slow", 50*time.Millisecond, "slow-request capture's threshold (reqprof-slow)")
	fs.BoolVar(&o.isolated, "isolated", true, "measure isolated profiled requests, per-profile CPU and heap")
	fs.IntVar(&o.isoN, "isolated-n", 40, "requests per kind and round in the isolated measurements")
	fs.DurationVar(&o.isoGap, "isolated-gap", 20*time.Millisecond, "idle time after each isolated request (its profile stored), in every batch alike")
	isoH := fs.String("isolated-handlers", "sleep1ms,mixed,characters", "handlers of the isolated measurements")
	fs.IntVar(&o.burst, "burst", 200, "profiled requests in the heap measurement's burst")
	fs.DurationVar(&o.idle, "idle", 6*time.Second, "idle time before the heap's last reading (capture keeps its snapshot buffer for 5 s)")
	fs.DurationVar(&o.aged, "aged", 5*time.Second, "load the recorder records before the last isolated batches (0: none)")
	fs.IntVar(&o.frStarts, "fr-starts", 20, "raw flight-recorder starts timed, per isolated handler")
	fs.StringVar(&o.profiles, "profiles", "", "directory: each child writes a CPU profile and an allocation profile of itself there (changes what is measured: analysis only)")
	fs.DurationVar(&o.maxLife, "max-child-life", 5*time.Minute, "a child process exits after this long whatever happens")
	fs.BoolVar(&o.quick, "quick", false, "a short run: 1 round of 400 ms per mode, fewer isolated requests")
	fs.BoolVar(&o.smoke, "smoke", false, "the shortest run that still exercises everything (for tests)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	def := func(name string, apply func()) {
		if !set[name] {
			apply()
		}
	}
	if o.quick {
		def("rounds", func() { o.rounds = 1 })
		def("duration", func() { o.duration = 400 * time.Millisecond })
		def("warmup", func() { o.warmup = 150 * time.Millisecond })
		def("isolated-n", func() { o.isoN = 10 })
		def("burst", func() { o.burst = 40 })
		def("idle", func() { o.idle = 500 * time.Millisecond })
		def("fr-starts", func() { o.frStarts = 5 })
		def("aged", func() { o.aged = time.Second })
	}
	if o.smoke {
		def("rounds", func() { o.rounds = 1 })
		def("duration", func() { o.duration = 60 * time.Millisecond })
		def("warmup", func() { o.warmup = 30 * time.Millisecond })
		def("isolated-n", func() { o.isoN = 2 })
		def("isolated-gap", func() { o.isoGap = time.Millisecond })
		def("burst", func() { o.burst = 8 })
		def("idle", func() { o.idle = 10 * time.Millisecond })
		def("fr-starts", func() { o.frStarts = 2 })
		def("aged", func() { o.aged = 50 * time.Millisecond })
	}
	var err error
	if o.handlers, err = pickNames(*handlers, handlerNames(), "handler"); err != nil {
		return o, err
	}
	if o.modes, err = pickNames(*modes, modeNames(), "mode"); err != nil {
		return o, err
	}
	if o.modes[0] != "none" {
		o.modes = append([]string{"none"}, o.modes...)
	}
	if *isoH == "" {
		o.isoH = nil
	} else if o.isoH, err = pickNames(*isoH, handlerNames(), "handler"); err != nil {
		return o, err
	}
	if o.rounds < 1 || o.clients < 1 || o.duration <= 0 || o.warmup < 0 || o.isoN < 1 || o.isoGap < 0 || o.burst < 1 || o.frStarts < 1 {
		return o, fmt.Errorf("rounds, clients, duration, isolated-n, burst and fr-starts must be positive")
	}
	o.commandArg = strings.Join(args, " ")
	return o, nil
}

// pickNames parses a comma-separated list of known names, keeping the
// known order and putting "none" first.
func pickNames(list string, known []string, what string) ([]string, error) {
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		ok := false
		for _, k := range known {
			ok = ok || k == n
		}
		if !ok {
			return nil, fmt.Errorf("unknown %s %q (known: %s)", what, n, strings.Join(known, ", "))
		}
		want[n] = true
	}
	var out []string
	for _, k := range known {
		if want[k] {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s given", what)
	}
	return out, nil
}

// run is the whole benchmark: the load in rounds, then the isolated
// measurements, printed to out as Markdown.
func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	env, err := newParentEnv(ctx, o)
	if err != nil {
		return err
	}
	defer env.close()

	fmt.Fprintf(out, "# reqprof overhead benchmark\n\n")
	fmt.Fprintf(out, "command: `%s` (in bench/)\n\n", strings.TrimSpace("go run ./overhead "+o.commandArg))
	fmt.Fprintf(out, "machine: %d CPUs (GOMAXPROCS %d), %s, %s %s/%s; load average at start: %s\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH, loadAvg())
	start := time.Now()

	results, err := runLoad(ctx, env, o, os.Stderr)
	if err != nil {
		return err
	}
	writeLoadReport(out, o, results)
	if err := checkLoad(o, results); err != nil {
		return err
	}
	if o.isolated {
		for _, h := range o.isoH {
			r, err := runIsolated(ctx, env, o, h, os.Stderr)
			if err != nil {
				return fmt.Errorf("isolated %s: %w", h, err)
			}
			writeIsolatedReport(out, r)
			if err := checkIsolated(r); err != nil {
				return fmt.Errorf("isolated %s: %w", h, err)
			}
		}
	}
	fmt.Fprintf(out, "total time %s; load average at the end: %s\n", time.Since(start).Round(time.Second), loadAvg())
	return nil
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "CPU model unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "CPU model unknown"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
