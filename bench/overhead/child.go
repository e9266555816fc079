package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/cputime"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/serve"
	"github.com/reqprof/reqprof/store"
)

// childEnv holds a child's configuration, as JSON; its presence makes the
// binary (or the test binary) a child.
const childEnv = "REQPROF_OVERHEAD_CHILD"

// childConfig is what a child serves and how.
type childConfig struct {
	Handler string
	Mode    string
	DB      string // the demo's SQLite file
	Dep     string // the mixed handler's dependency URL
	Tmp     string // a directory of the child's own
	Slow    time.Duration
	MaxLife time.Duration
	// Profiles, when set, is a directory the child writes CPU and
	// allocation profiles of itself to, named after Tag.
	Profiles string
	Tag      string
	// HandlerTimes records each handler call's duration (isolated runs).
	HandlerTimes bool
	// MaxConcurrent is reqprof's limit of concurrent profiles (0: its
	// default).
	MaxConcurrent int
}

func isChild() bool { return os.Getenv(childEnv) != "" }

// child is the state of a child process.
type child struct {
	cfg    childConfig
	events *notifier
	log    *slog.Logger
	logs   *countingHandler
	store  *countingStore
	htimes durations
	raw    durations // raw flight-recorder starts of rawfr=1 requests
	cpuOn  bool      // the child profiles its own CPU (cfg.Profiles)
}

// stats is what /bench/stats reports.
type stats struct {
	CPU         time.Duration `json:"cpu"`    // process CPU time, user + system
	GCCPU       time.Duration `json:"gc_cpu"` // the runtime's estimate of GC CPU time
	GCCycles    uint64        `json:"gc_cycles"`
	Stored      int           `json:"stored"`
	StoredBytes int64         `json:"stored_bytes"`
	StoreErrors int           `json:"store_errors"`
	Failed      int           `json:"failed"` // profiles not made or not stored (OnProfile)
	LogErrors   int           `json:"log_errors"`
	FirstError  string        `json:"first_error,omitempty"`
	Goroutines  int           `json:"goroutines"`
	CPUKnown    bool          `json:"cpu_known"`
}

// heapStats is what /bench/heap reports, after a GC.
type heapStats struct {
	HeapAlloc uint64 `json:"heap_alloc"`
	HeapInuse uint64 `json:"heap_inuse"`
	Retained  uint64 `json:"retained"` // HeapSys - HeapReleased
}

// timing is what /bench/durations reports (and resets).
type timing struct {
	Handler      []time.Duration `json:"handler"`
	ProfileDur   []time.Duration `json:"profile_duration"`
	ProfileBytes []int64         `json:"profile_bytes"`
	// What each profile says reqprof added before the work's window (the
	// recorder's start, for a cold one) and inside it ("[reqprof]").
	ProfileBefore []time.Duration `json:"profile_before"`
	ProfileInside []time.Duration `json:"profile_inside"`
	// RawStart is each raw flight recorder's start for a request that
	// asked for one (rawfr=1).
	RawStart []time.Duration `json:"raw_start"`
}

func childMain() error {
	var cfg childConfig
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &cfg); err != nil {
		return fmt.Errorf("bad %s: %w", childEnv, err)
	}
	if cfg.MaxLife <= 0 {
		cfg.MaxLife = 5 * time.Minute
	}
	// Bounded whatever happens to the parent.
	time.AfterFunc(cfg.MaxLife, func() {
		fmt.Fprintf(os.Stderr, "overhead child %s/%s: alive for %s, exiting\n", cfg.Handler, cfg.Mode, cfg.MaxLife)
		os.Exit(3)
	})
	c := &child{cfg: cfg, events: newNotifier()}
	c.logs = &countingHandler{Handler: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}), n: &logCount{}, events: c.events}
	c.log = slog.New(c.logs)

	if cfg.Profiles != "" {
		f, err := os.Create(filepath.Join(cfg.Profiles, "cpu-"+cfg.Tag+".pprof"))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		c.cpuOn = true
	}

	spec, err := handlerByName(cfg.Handler)
	if err != nil {
		return err
	}
	m, err := modeByName(cfg.Mode)
	if err != nil {
		return err
	}
	// The demo logs requests its own middleware did not profile as
	// warnings: not the profiles' errors that c.log counts.
	appLog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	h, closeHandler, err := spec.build(cfg, appLog)
	if err != nil {
		return err
	}
	wrap, stop, err := m.start(c)
	if err != nil {
		closeHandler()
		return fmt.Errorf("mode %s: %w", m.name, err)
	}
	inner := h
	if cfg.HandlerTimes {
		inner = c.timed(h)
	}
	served := wrap(inner)
	mux := http.NewServeMux()
	c.control(mux)
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/bench/") {
			mux.ServeHTTP(w, r)
			return
		}
		if strings.Contains(r.URL.RawQuery, "rawfr=1") {
			c.serveRawFR(w, r, served)
			return
		}
		served.ServeHTTP(w, r)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stop()
		closeHandler()
		return err
	}
	srv := &http.Server{Handler: root, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(c.logs, slog.LevelWarn)}
	served2 := make(chan error, 1)
	go func() { served2 <- srv.Serve(ln) }()
	fmt.Printf("ready http://%s\n", ln.Addr())

	// Serve until the parent closes our standard input.
	io.Copy(io.Discard, bufio.NewReader(os.Stdin))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = srv.Shutdown(ctx)
	if serr := <-served2; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	t := time.Now()
	err = errors.Join(err, stop(), closeHandler())
	drain := time.Since(t)
	if c.cpuOn {
		pprof.StopCPUProfile()
		f, ferr := os.Create(filepath.Join(cfg.Profiles, "allocs-"+cfg.Tag+".pprof"))
		if ferr == nil {
			ferr = errors.Join(pprof.Lookup("allocs").WriteTo(f, 0), f.Close())
		}
		err = errors.Join(err, ferr)
	}
	final := c.stats()
	js, _ := json.Marshal(struct {
		stats
		Drain time.Duration `json:"drain"`
	}{final, drain})
	fmt.Printf("done %s\n", js)
	return err
}

// newReqprof returns reqprof's middleware as the modes use it: enabled,
// no UI, the default directory store (its default retention) behind a
// counter, no rate limit unless edit sets one.
func (c *child) newReqprof(edit func(*httpprof.Options)) (*httpprof.Profiler, error) {
	d, err := store.OpenDir(filepath.Join(c.cfg.Tmp, "profiles"), store.Retention{})
	if err != nil {
		return nil, err
	}
	c.store = &countingStore{Store: d, events: c.events}
	o := httpprof.Options{
		Enabled:       true,
		UIPath:        "-",
		Store:         c.store,
		MaxConcurrent: c.cfg.MaxConcurrent,
		PerMinute:     1 << 30,
		Logger:        c.log,
		OnProfile: func(r serve.Result) {
			if r.Err != nil {
				c.store.fail()
			}
		},
	}
	if edit != nil {
		edit(&o)
	}
	return httpprof.New(o)
}

// serveRawFR serves r with a raw flight recorder started for it, as a
// trace-based profiler's cold request would (reqprof idle, r unprofiled),
// and stopped in the background once the handler returned: the runtime's
// whole cost of a cold start to a request.
func (c *child) serveRawFR(w http.ResponseWriter, r *http.Request, h http.Handler) {
	fr, d, ok := startRawFR(w)
	if !ok {
		return
	}
	c.raw.add(d)
	h.ServeHTTP(w, r)
	go fr.Stop()
}

// startRawFR starts a raw flight recorder with reqprof's bounds, reqprof's
// own idle, and returns how long its Start took; on failure it answers w
// with 409 Conflict and returns false.
func startRawFR(w http.ResponseWriter) (*trace.FlightRecorder, time.Duration, bool) {
	if capture.Default.Active() {
		http.Error(w, "reqprof's recorder is running", http.StatusConflict)
		return nil, 0, false
	}
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: frMinAge, MaxBytes: frMaxBytes})
	t := time.Now()
	if err := fr.Start(); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return nil, 0, false
	}
	return fr, time.Since(t), true
}

// timed records the duration of each call of h.
func (c *child) timed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.Now()
		h.ServeHTTP(w, r)
		c.htimes.add(time.Since(t))
	})
}

func (c *child) stats() stats {
	s := stats{Goroutines: runtime.NumGoroutine()}
	s.CPU, s.CPUKnown = cputime.Process()
	sample := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() == metrics.KindFloat64 {
		s.GCCPU = time.Duration(sample[0].Value.Float64() * 1e9)
	}
	if sample[1].Value.Kind() == metrics.KindUint64 {
		s.GCCycles = sample[1].Value.Uint64()
	}
	if c.store != nil {
		s.Stored, s.StoredBytes, s.StoreErrors, s.Failed = c.store.counts()
	}
	s.LogErrors, s.FirstError = c.logs.n.get()
	return s
}

// control serves the parent's questions under /bench/.
func (c *child) control(mux *http.ServeMux) {
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("/bench/stats", func(w http.ResponseWriter, r *http.Request) { reply(w, c.stats()) })
	mux.HandleFunc("/bench/heap", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		reply(w, heapStats{HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, Retained: ms.HeapSys - ms.HeapReleased})
	})
	// wait?n=K blocks until K profiles have been stored or failed (or 10 s).
	mux.HandleFunc("/bench/wait", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil {
			http.Error(w, "n?", http.StatusBadRequest)
			return
		}
		deadline := time.NewTimer(10 * time.Second)
		defer deadline.Stop()
		for {
			ch := c.events.wait()
			s := c.stats()
			if s.Stored+s.Failed >= n {
				reply(w, s)
				return
			}
			select {
			case <-ch:
			case <-deadline.C:
				http.Error(w, fmt.Sprintf("timeout: %d profiles of %d", s.Stored, n), http.StatusGatewayTimeout)
				return
			}
		}
	})
	mux.HandleFunc("/bench/durations", func(w http.ResponseWriter, r *http.Request) {
		t := timing{Handler: c.htimes.take(), RawStart: c.raw.take()}
		if c.store != nil {
			t.ProfileDur, t.ProfileBytes, t.ProfileBefore, t.ProfileInside = c.store.take()
		}
		reply(w, t)
	})
	mux.HandleFunc("/bench/hold", func(w http.ResponseWriter, r *http.Request) {
		if err := capture.Default.Hold(); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		reply(w, "held")
	})
	// endlinger ends reqprof's linger (the next profiled request is cold
	// unless the recorder is held); endlinger?keep=1 does nothing, the
	// same control request for batches that leave the linger be; gc=1
	// runs a GC after that.
	mux.HandleFunc("/bench/endlinger", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("keep") == "" {
			capture.Default.EndLinger()
		}
		if r.URL.Query().Get("gc") != "" {
			runtime.GC()
		}
		reply(w, "ok")
	})
	mux.HandleFunc("/bench/release", func(w http.ResponseWriter, r *http.Request) {
		capture.Default.Release()
		reply(w, "released")
	})
	// frstart?n=K times K starts of a raw flight recorder (reqprof idle):
	// the runtime's own cost, which reqprof's cold start includes.
	mux.HandleFunc("/bench/frstart", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil || n < 1 || n > 1000 {
			http.Error(w, "n?", http.StatusBadRequest)
			return
		}
		var ds []time.Duration
		capture.Default.EndLinger()
		for range n {
			fr, d, ok := startRawFR(w)
			if !ok {
				return
			}
			ds = append(ds, d)
			fr.Stop()
			time.Sleep(5 * time.Millisecond)
		}
		reply(w, ds)
	})
}

// --- counters -------------------------------------------------------------------

// notifier wakes whoever waits for a change of the counters.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func newNotifier() *notifier { return &notifier{ch: make(chan struct{})} }

// wait returns a channel closed at the next change.
func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (n *notifier) changed() {
	n.mu.Lock()
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}

// countingStore counts what reqprof stores, keeping reqprof's code path
// (PutEncoded when the store has it).
type countingStore struct {
	store.Store
	events *notifier

	mu               sync.Mutex
	n, errs, nFailed int
	bytes            int64
	durs             []time.Duration
	sizes            []int64
	before, inside   []time.Duration
}

var _ store.EncodedPutter = (*countingStore)(nil)

func (s *countingStore) PutEncoded(ctx context.Context, m store.Meta, data []byte) error {
	ep, ok := s.Store.(store.EncodedPutter)
	if !ok {
		return errors.New("store has no PutEncoded")
	}
	err := ep.PutEncoded(ctx, m, data)
	s.record(m, int64(len(data)), err)
	return err
}

func (s *countingStore) Put(ctx context.Context, m store.Meta, p *profile.Profile) error {
	err := s.Store.Put(ctx, m, p)
	s.record(m, 0, err)
	return err
}

func (s *countingStore) record(m store.Meta, size int64, err error) {
	s.mu.Lock()
	if err != nil {
		s.errs++
	} else {
		s.n++
		s.bytes += size
		s.durs = append(s.durs, m.Duration)
		s.sizes = append(s.sizes, size)
		s.before = append(s.before, m.OverheadBefore)
		s.inside = append(s.inside, m.Overhead)
	}
	s.mu.Unlock()
	s.events.changed()
}

func (s *countingStore) counts() (n int, bytes int64, errs, failed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.bytes, s.errs, s.nFailed
}

// fail counts a profile that was not made or not stored.
func (s *countingStore) fail() {
	s.mu.Lock()
	s.nFailed++
	s.mu.Unlock()
	s.events.changed()
}

func (s *countingStore) take() (durs []time.Duration, sizes []int64, before, inside []time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	durs, sizes, before, inside = s.durs, s.sizes, s.before, s.inside
	s.durs, s.sizes, s.before, s.inside = nil, nil, nil, nil
	return durs, sizes, before, inside
}

// durations collects durations from many goroutines.
type durations struct {
	mu sync.Mutex
	ds []time.Duration
}

func (d *durations) add(x time.Duration) {
	d.mu.Lock()
	if len(d.ds) < 1<<20 {
		d.ds = append(d.ds, x)
	}
	d.mu.Unlock()
}

func (d *durations) take() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := slices.Clone(d.ds)
	d.ds = d.ds[:0]
	return out
}

// countingHandler counts log records of level Warn and above (reqprof
// logs a profile it could not make as an error).
type countingHandler struct {
	slog.Handler
	n      *logCount
	events *notifier
}

type logCount struct {
	mu    sync.Mutex
	n     int
	first string
}

func (l *logCount) get() (int, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n, l.first
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.n.mu.Lock()
		h.n.n++
		if h.n.first == "" {
			h.n.first = r.Message
			r.Attrs(func(a slog.Attr) bool { h.n.first += " " + a.String(); return true })
		}
		h.n.mu.Unlock()
		defer h.events.changed()
	}
	return h.Handler.Handle(ctx, r)
}

func (h *countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &countingHandler{Handler: h.Handler.WithAttrs(as), n: h.n, events: h.events}
}

func (h *countingHandler) WithGroup(name string) slog.Handler {
	return &countingHandler{Handler: h.Handler.WithGroup(name), n: h.n, events: h.events}
}
