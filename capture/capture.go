// Package capture owns the process's execution-trace flight recorder and
// CPU sampling, and turns units of work into profiles.
//
// Delivery code (reqprof.Do, the HTTP middleware, an adapter for another
// framework) starts a capture with [Manager.Start], runs the work with [Run],
// and stops the capture. Run marks where the work begins and ends; the
// profile records the begin mark's stack as the work's boundary
// ([profile.Profile.Work]), so what the delivery code itself does is told
// from the work without the profile knowing any of its names.
//
// Capture is on demand and reference counted: the first [Manager.Start]
// starts the flight recorder ([runtime/trace.FlightRecorder]) and CPU
// profiling (unless someone else already has CPU profiling on: then their
// samples are used), and the last capture to finish stops them. reqprof's
// own CPU profiling asks the runtime for 1000 samples per second, of which
// the kernel honours as many as its tick allows (250 per CPU-second on a
// CONFIG_HZ=250 Linux), without a runtime warning, and leaves no trace of
// itself: a later runtime/pprof.StartCPUProfile works as usual, and one
// made while reqprof samples fails as it would beside any other CPU
// profile. Its start takes milliseconds (two sample buffers, and pprof's
// reader in between) and runs in the background: [Manager.Start] waits
// for it, so that the work has samples from its beginning;
// [Manager.StartNow], for requests whose latency matters more, does not.
// A manager may keep the recorder on for a while after its last capture
// ([Manager.Linger]), unless the process's other work keeps the CPU busy.
// Each unit of work runs in a runtime/trace task. When units finish, one background
// worker snapshots the recorder once for all of them and parses the
// snapshot; each unit's profile is then built and delivered on its own, so
// that a unit whose profile is slow to build or to consume (tens of
// thousands of regions) holds back no other unit's. The snapshot buffer is
// reused while profiles keep coming and released once the worker has been
// idle for a few seconds.
//
// Only one flight recorder may exist per process; starting a capture while
// another one runs (someone else's, or a second Manager's) is an error, never
// a panic or a hang.
package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/trace"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reqprof/reqprof/internal/tracedec"
	"github.com/reqprof/reqprof/internal/tracestr"
	"github.com/reqprof/reqprof/profile"
)

// The runtime/trace.Log categories of a capture: its id, logged right
// after its task begins, the marks Run leaves around the work, and the
// points Point leaves.
const (
	idCategory    = "reqprof.capture"
	markCategory  = "reqprof.mark"
	pointCategory = "reqprof.point"
)

// library lists the function-name prefixes of reqprof's own library
// packages: never user code, even when reqprof is the main module (its
// tests and examples are the user's). Profiles carry it
// (profile.Profile.Library).
var library = []string{
	"github.com/reqprof/reqprof.",
	"github.com/reqprof/reqprof/capture.",
	"github.com/reqprof/reqprof/serve.",
	"github.com/reqprof/reqprof/httpprof.",
	"github.com/reqprof/reqprof/ui.",
	"github.com/reqprof/reqprof/sqlprof.",
	"github.com/reqprof/reqprof/sqlprof/",
	"github.com/reqprof/reqprof/outcall.",
	"github.com/reqprof/reqprof/contrib/",
	"github.com/reqprof/reqprof/store.",
	"github.com/reqprof/reqprof/view.",
	"github.com/reqprof/reqprof/profile.",
	"github.com/reqprof/reqprof/render",
}

// decodeOptions tell the decoder how a capture shows in the trace. Harness
// is the code that wraps the work or a region (reqprof.Do, the delivery
// core and the adapters, capture itself, sqlprof's and outcall's region
// helpers):
// trimmed from the leaf of the task's and the regions' stacks.
var decodeOptions = tracedec.Options{
	IDCategory:    idCategory,
	MarkCategory:  markCategory,
	PointCategory: pointCategory,
	Harness: []string{
		"github.com/reqprof/reqprof.",
		"github.com/reqprof/reqprof/capture.",
		"github.com/reqprof/reqprof/serve.",
		"github.com/reqprof/reqprof/httpprof.",
		"github.com/reqprof/reqprof/sqlprof.",
		"github.com/reqprof/reqprof/outcall.",
		"github.com/reqprof/reqprof/contrib/",
	},
}

// Run calls fn, the profiled work, with ctx, which carries a capture's task
// (from [Manager.Start]), and returns fn's error. It logs a mark before
// calling fn and one after it returns: the begin mark's stack is the work's
// boundary. In the profile, the frames down to Run's are the harness (the
// delivery code and its callers) and the frames under it are the work; the
// root goroutine's time outside Run is the profiler's own ("[reqprof]").
//
// Delivery code calls Run once per capture, on the goroutine that called
// Start. A function literal written in the function that calls Run (the
// usual func(ctx context.Context) error { next.ServeHTTP(w, r); return nil })
// is delivery code too: views hide its frame. Work run without Run is still
// profiled, but its profile cannot tell the delivery code's time from the
// work's.
//
//go:noinline
func Run(ctx context.Context, fn func(context.Context) error) error {
	trace.Log(ctx, markCategory, "begin")
	err := fn(ctx)
	trace.Log(ctx, markCategory, "end")
	return err
}

// Point leaves a point on the calling goroutine: a moment where its stack
// is known, which tells where the running time around it went when no CPU
// sample did (delivery code calls it where the work's handler hands over
// its response). It costs a trace event while the recorder runs and next
// to nothing otherwise.
//
//go:noinline
func Point(ctx context.Context) {
	trace.Log(ctx, pointCategory, "")
}

// Config sets the flight recorder's bounds. The zero value is sensible.
type Config struct {
	// MaxBytes bounds the recorder's buffer (default 64 MiB). Work whose
	// trace does not fit cannot be profiled whole: its capture fails with
	// an error saying so.
	MaxBytes uint64
	// MinAge is how much recent trace the recorder keeps at least (default
	// 1 minute), bounded by MaxBytes.
	MinAge time.Duration
	// MaxBackgroundCPU bounds the CPU the work done after each capture
	// (the recorder's snapshot, parsing, building the profile, and the
	// delivery's encoding and storing) takes under a sustained stream of
	// profiles, in CPUs (default a quarter of GOMAXPROCS; negative: no
	// bound). A burst of up to 250 ms of such work runs at once; beyond
	// it, profiles wait, so that the requests keep the rest of the
	// machine. See BENCHMARKS.md.
	MaxBackgroundCPU float64
	// NoCPU disables CPU sampling: running time is then attributed from the
	// stacks at state changes only. Use it when the process takes its own
	// CPU profiles (runtime/pprof allows one at a time).
	NoCPU bool
}

// Manager runs captures. Use [Default] unless you need other settings;
// only one Manager can be capturing at a time in a process.
type Manager struct {
	cfg Config

	mu    sync.Mutex
	refs  int
	fr    *trace.FlightRecorder
	cpu   cpuSampler
	cpuOn bool // cpu was started with the recorder
	// period is the running time per CPU sample last measured in a
	// snapshot, in nanoseconds (0 before one had enough samples).
	period  atomic.Int64
	pending []*Capture
	working bool

	// buf holds snapshots; only the worker uses it, while working, and
	// reusing it spares the process megabytes of garbage per profile (and
	// the GC work that the profiled requests would pay for). Once the
	// worker has been idle for keep, the buffer is released (drop).
	buf  bytes.Buffer
	keep time.Duration
	drop *time.Timer

	seq atomic.Uint64

	// snapGen is the newest generation of the last snapshot (0: none since
	// the recorder started): a capture started after it has its task in a
	// later generation, so its snapshot skips the older ones (see window).
	snapGen atomic.Uint64
	// runs are the generations of the last snapshot of runsOf, the
	// recorder: only the worker uses them.
	runs   genRuns
	runsOf *trace.FlightRecorder
	// parser keeps its scratch from batch to batch (only the worker uses
	// it); dropped with buf.
	parser *tracedec.Parser

	// lingering says the manager holds a reference of its own until
	// lingerUntil (see Linger); lingerTimer fires then.
	lingering   bool
	lingerUntil time.Time
	lingerTimer *time.Timer
	// busyUntil is when the process stops counting as too busy to linger
	// (see Linger); frStarted is when the recorder started and lastSnapAt
	// when the worker took its last snapshot. Unix nanoseconds.
	busyUntil  atomic.Int64
	lastUnit   time.Time // the last Linger call's time (m.mu)
	frStarted  atomic.Int64
	lastSnapAt int64 // the worker's (and mark's, in the worker's turn)
	// holds counts the references Hold took; markTimer fires mark while
	// there are any; marks counts the empty snapshots taken (tests).
	holds     int
	markTimer *time.Timer
	marks     atomic.Int64
	// marking is closed when the mark under way, if any, has dropped its
	// reference (EndLinger waits for it).
	marking chan struct{}
	// cpuj says whether the process's other work keeps the CPU busy (see
	// busy.go).
	cpuj cpuJudge

	// budget bounds the background work's CPU (see budget.go).
	budget *budget

	// deliveries bounds the profiles being built and handed over (encoded,
	// stored) at once: one slow profile holds back no other, and a burst
	// of profiles cannot fill the machine with delivery goroutines; the
	// worker waits for a free slot, and the next batch grows meanwhile.
	deliveries chan struct{}
}

// maxDeliveries is how many profiles are built and delivered at once.
const maxDeliveries = 2

// NewManager returns a Manager with the given settings.
func NewManager(cfg Config) *Manager {
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 64 << 20
	}
	if cfg.MinAge == 0 {
		cfg.MinAge = time.Minute
	}
	if cfg.MaxBackgroundCPU == 0 {
		cfg.MaxBackgroundCPU = defaultBackgroundCPU()
	}
	return &Manager{cfg: cfg, keep: keepBuffer, deliveries: make(chan struct{}, maxDeliveries),
		budget: newBudget(cfg.MaxBackgroundCPU)}
}

// keepBuffer is how long an idle manager keeps its snapshot buffer (tens of
// megabytes under load) for the next profile: profiles come in bursts.
const keepBuffer = 5 * time.Second

// Default is the process's capture manager, used by reqprof.Do and the
// HTTP middleware.
var Default = NewManager(Config{})

// ErrRecorderBusy is returned (wrapped) when the flight recorder cannot be
// started because another one is active in the process.
var ErrRecorderBusy = errors.New("another execution-trace flight recorder is active in this process (only one may run at a time)")

// Capture is one unit of work being profiled.
type Capture struct {
	m     *Manager
	id    string
	name  string
	task  *trace.Task
	start time.Time
	setup time.Duration // from Start's call to the task's beginning
	// fromGen is the oldest generation of the trace that can hold the
	// capture's task (see window).
	fromGen uint64
	done    func(*profile.Profile, error)
	once    atomic.Bool
	live    liveUnit // its time is not the process's other work (busy.go)
}

// Start begins a capture named name (the unit's name: "GET /users/{id}",
// a job's name). Run the work with the returned context, through [Run], and
// call [Capture.Stop], [Capture.StopFunc] or [Capture.Discard] when it ends,
// in all cases (a panic, runtime.Goexit), or the recorder keeps running.
//
// When the capture starts the recorder, Start also waits for CPU
// sampling's start (2–4 ms on a 2-core machine, at most raiseWait), so
// that the work has samples from its beginning; [Manager.StartNow] does
// not.
func (m *Manager) Start(ctx context.Context, name string) (context.Context, *Capture, error) {
	return m.start(ctx, name, true)
}

// StartNow is [Manager.Start] without the wait for CPU sampling's start:
// when the capture starts the recorder, the work begins as soon as the
// recorder runs, CPU sampling starts in the background 3 ms later (its
// switch takes milliseconds of CPU, which would slow down the work
// meanwhile), and the work's first 5–8 ms have no CPU samples (their
// running time is attributed from the trace's stacks, as that of work too
// short for a sample is). It is for work whose latency matters more than
// those samples: the delivery core's requests, where [Manager.Linger]
// keeps the recorder and sampling on for the next ones.
func (m *Manager) StartNow(ctx context.Context, name string) (context.Context, *Capture, error) {
	return m.start(ctx, name, false)
}

func (m *Manager) start(ctx context.Context, name string, waitCPU bool) (context.Context, *Capture, error) {
	t0 := time.Now()
	if err := m.acquire(waitCPU, false); err != nil {
		return ctx, nil, err
	}
	// The runtime's tracer aborts the process on a task name of 64 KiB or
	// more: names come from clients (URL paths), so they are bounded.
	name = tracestr.Bound(name)
	c := &Capture{m: m, id: strconv.FormatUint(m.seq.Add(1), 10), name: name}
	if g := m.snapGen.Load(); g > 0 {
		// The snapshot that closed generation g had returned: the task
		// begins in a later one (see window).
		c.fromGen = g + 1
	}
	c.setup = time.Since(t0)
	ctx = context.WithValue(ctx, captureKey{}, c)
	ctx, c.task = trace.NewTask(ctx, name)
	trace.Log(ctx, idCategory, c.id)
	c.start = time.Now()
	m.cpuj.begin(&c.live, c.start)
	return ctx, c, nil
}

// captureKey is the context key of the capture a context's work belongs to.
type captureKey struct{}

// Profiled reports whether ctx is (derived from) the context [Manager.Start]
// returned for a capture that has not ended yet (by [Capture.Stop],
// [Capture.StopFunc] or [Capture.Discard]), whoever started it: [Run] under
// reqprof.Do, the HTTP middleware, an adapter. Wrappers of outgoing calls
// and instrumented drivers check it, after runtime/trace.IsEnabled, to name
// their work only in profiled units. It does not allocate.
func Profiled(ctx context.Context) bool {
	c, _ := ctx.Value(captureKey{}).(*Capture)
	return c != nil && !c.once.Load()
}

// acquire takes a reference on the recorder, starting it if needed, and
// CPU sampling with it: waiting for its start (at most raiseWait) if
// waitCPU, else in the background, at once for a hold, after
// cpuStartDelay for a capture.
func (m *Manager) acquire(waitCPU, hold bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refs > 0 {
		m.refs++
		if waitCPU && m.cpuOn {
			// A StartNow capture started the recorder, and its delay may
			// still hold CPU sampling back: this capture wants samples
			// from its start.
			m.cpu.now()
			m.waitCPU()
		}
		return nil
	}
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: m.cfg.MinAge, MaxBytes: m.cfg.MaxBytes})
	if err := fr.Start(); err != nil {
		return fmt.Errorf("reqprof: cannot start the flight recorder: %w: %v", ErrRecorderBusy, err)
	}
	m.fr = fr
	m.frStarted.Store(time.Now().UnixNano())
	m.snapGen.Store(0)
	m.cpuOn = !m.cfg.NoCPU
	if m.cpuOn {
		// In the background: if someone else is profiling the CPU, their
		// samples reach the trace too.
		delay := time.Duration(0)
		if !waitCPU && !hold {
			delay = cpuStartDelay
		}
		m.cpu.start(delay)
		if waitCPU {
			m.waitCPU()
		}
	}
	m.refs = 1
	return nil
}

// waitCPU waits for CPU sampling's switch, at most raiseWait. m.mu must be
// held.
func (m *Manager) waitCPU() {
	t := time.NewTimer(raiseWait)
	defer t.Stop()
	select {
	case <-m.cpu.done():
	case <-t.C:
	}
}

// release drops n references, stopping the recorder with the last one.
// m.mu must be held.
func (m *Manager) release(n int) {
	m.refs -= n
	if m.refs > 0 {
		return
	}
	if m.cpuOn {
		m.cpu.stop()
		m.cpuOn = false
	}
	if m.fr != nil {
		m.fr.Stop()
		m.fr = nil
	}
}

// Active reports whether the manager's recorder is running: a capture, a
// [Manager.Hold] or a [Manager.Linger] holds it.
func (m *Manager) Active() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refs > 0
}

// Hold keeps the recorder running until the matching Release, so that
// work can be extracted after the fact (slow-request capture): every
// capture started meanwhile is in the recorder's window, and those not
// wanted are dropped with [Capture.Discard] at almost no cost.
//
// While a Hold keeps the recorder on, the manager takes an empty snapshot
// of it every markEvery when no capture's came meanwhile, to learn the
// trace's newest generation: a capture's snapshot then holds the
// generations since at most markEvery before it began, not the whole
// window (a minute, or 64 MiB) since the recorder started or the last
// profile.
func (m *Manager) Hold() error {
	if err := m.acquire(false, true); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.holds++
	m.armMark()
	return nil
}

// Release drops a reference taken by Hold.
func (m *Manager) Release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refs > 0 {
		if m.holds > 0 {
			m.holds--
		}
		m.release(1)
	}
}

// markEvery is how often a held recorder's newest generation is learned
// (see Hold). Under load, a second of trace is some megabytes; the empty
// snapshot costs the runtime's generation switch and a look at each
// batch's header.
var markEvery = time.Second

// mark learns a held recorder's newest generation with an empty snapshot,
// unless the worker is busy or took a snapshot within markEvery.
func (m *Manager) mark() {
	m.mu.Lock()
	every := m.markPeriod()
	if every == 0 || m.fr == nil {
		m.mu.Unlock()
		return
	}
	m.markTimer.Reset(every)
	if m.working || time.Now().UnixNano()-m.lastSnapAt < int64(every) {
		m.mu.Unlock()
		return
	}
	// As the worker: no snapshot of the worker's meanwhile, and the
	// reference keeps the recorder on.
	m.working = true
	m.refs++
	done := make(chan struct{})
	m.marking = done
	fr := m.fr
	m.mu.Unlock()
	t := m.budget.wait()
	m.cpuj.step(func() { m.markGeneration(fr) })
	m.budget.spend(t)
	m.mu.Lock()
	m.release(1)
	m.marking = nil
	close(done)
	start := len(m.pending) > 0
	m.working = start
	m.mu.Unlock()
	if start {
		go m.work()
	}
}

// markPeriod is how often the manager learns the trace's newest
// generation now (0: it does not): markBusy while it lingers for frequent
// profiles in a busy process, markEvery while a Hold keeps the recorder.
// m.mu must be held.
func (m *Manager) markPeriod() time.Duration {
	switch {
	case m.lingering && m.cpuj.busy.Load():
		return markBusy
	case m.holds > 0:
		return markEvery
	}
	return 0
}

// markBusy is markEvery for a busy process that lingers because profiles
// come often (lingerFrequent). A profile's parse reads the trace's last
// generation from its beginning, and generations otherwise switch at the
// last snapshot or at the runtime's own second: under load that is 100
// ms to a second of everyone's trace for each profile (29 ms of CPU at
// 10 profiles/s beside 15,000 requests/s), and a switch every 25 ms costs
// less than it saves (BENCHMARKS.md, round 6).
var markBusy = 25 * time.Millisecond

// armMark makes mark run within its period, if it has one. m.mu must be
// held.
func (m *Manager) armMark() {
	every := m.markPeriod()
	if every == 0 {
		return
	}
	if m.markTimer == nil {
		m.markTimer = time.AfterFunc(every, m.mark)
	} else {
		m.markTimer.Reset(every)
	}
}

// markGeneration writes a snapshot of fr that keeps nothing, and notes
// its newest generation as parse does. Only the worker's turn calls it.
func (m *Manager) markGeneration(fr *trace.FlightRecorder) {
	if m.runsOf != fr {
		m.runs, m.runsOf = genRuns{}, fr
	}
	var header bytes.Buffer
	w := &window{buf: &header, from: math.MaxUint64, runs: &m.runs, discard: true}
	_, err := fr.WriteTo(w)
	w.finish()
	m.lastSnapAt = time.Now().UnixNano()
	m.marks.Add(1)
	if err == nil && !w.all {
		m.snapGen.Store(max(m.snapGen.Load(), w.last))
	}
}

// Linger keeps the recorder and CPU sampling running until at least d from
// now, when they run now (a capture or [Manager.Hold] holds them), as if a
// capture ran on until then: a capture started meanwhile finds them
// running and waits for neither's start (the recorder's 0.4–1 ms on a
// 2-core machine; CPU sampling's 2–4 ms, or its first milliseconds
// unsampled with [Manager.StartNow]), and its profile
// costs no start and stop of either. A later call extends the time, never
// shortens it. It reports whether the recorder runs.
//
// A busy process does not linger: Linger ends any linger and does nothing
// else while the process's other work uses more than half a CPU (measured
// by the worker after each batch, see busy.go: the linger would make all
// of it pay for tracing) — unless the last profiled unit ended less than
// lingerFrequent (250 ms) before, for at 4 or more profiles a second the
// recorder's start and stop cost more than keeping it on (the manager
// then switches the trace's generation every markBusy, see mark) —, and
// for busyFor after a snapshot of a running recorder was larger than
// lingerMaxSnapshot (unless a smaller one came since): while the recorder runs, a capture's snapshot holds whole
// generations of the trace, everything the process did since the current
// one began (up to a second), and parsing that costs the worker far more,
// under load, than starting the recorder for the capture, whose snapshot
// then begins with it.
//
// While they run, the process pays the tracer's cost (the flight
// recorder's own, paid by every goroutine switch and system call) and
// CPU sampling's, and meanwhile someone else's runtime/pprof.StartCPUProfile
// or flight recorder fails as during a capture. The delivery core lingers
// after each profiled unit (serve.Config.Linger), so that a developer
// re-running a request, or a tool asking for several, pays the start once.
func (m *Manager) Linger(d time.Duration) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refs == 0 {
		return false
	}
	now := time.Now()
	busy := m.tooBusy(now)
	m.lastUnit = now
	if busy {
		m.endLingerLocked()
		return m.refs > 0
	}
	if d <= 0 {
		return true
	}
	until := now.Add(d)
	if m.lingering {
		if until.After(m.lingerUntil) {
			m.lingerUntil = until
		}
		if m.markPeriod() == markBusy {
			m.armMark()
		}
		return true
	}
	m.refs++
	m.lingering, m.lingerUntil = true, until
	if m.cpuj.busy.Load() {
		m.armMark()
	}
	if m.lingerTimer == nil {
		m.lingerTimer = time.AfterFunc(min(d, lingerCheck), m.lingerEnd)
	} else {
		m.lingerTimer.Reset(min(d, lingerCheck))
	}
	return true
}

// tooBusy reports whether the process is too busy to linger (see Linger):
// for busyFor after a large snapshot, or while its other work keeps the
// CPU busy (busy.go) and no profiled unit ended within lingerFrequent.
// m.mu must be held.
func (m *Manager) tooBusy(now time.Time) bool {
	if now.UnixNano() < m.busyUntil.Load() {
		return true
	}
	return m.cpuj.judge() && now.Sub(m.lastUnit) >= lingerFrequent
}

// lingerFrequent is the most time between two profiled units for which a
// busy process still lingers: at 4 or more profiles a second, a capture
// that finds the recorder running costs the process less (its snapshot
// holds the quarter of a second since the last one) than one that starts
// and stops the recorder and CPU sampling (11–20 ms of CPU under load).
const lingerFrequent = 250 * time.Millisecond

// lingerCheck is how often a lingering manager checks that the process's
// other work leaves the CPU idle enough (see busy.go): a linger begun
// just as load came ends within it.
const lingerCheck = 250 * time.Millisecond

// lingerMaxSnapshot is the size of a running recorder's snapshot past
// which the process is too busy to linger, for busyFor (see Linger): with
// a developer's requests, each of them right after the last, a snapshot
// holds some tens of kilobytes; a second of a server serving a thousand
// requests a second, megabytes.
const (
	lingerMaxSnapshot = 1 << 20
	busyFor           = 5 * time.Second
)

// noteSnapshot judges from a snapshot of bytes whether the process is
// too busy to linger. Only the snapshot of a recorder that ran at the last
// snapshot counts: it holds the whole generations since then, as the next
// lingering capture's will; one of a recorder started since holds the
// capture's time only, and the start's dump of every goroutine. Only the
// worker calls it.
func (m *Manager) noteSnapshot(bytes int) {
	now := time.Now().UnixNano()
	running := m.frStarted.Load() < m.lastSnapAt
	m.lastSnapAt = now
	switch {
	case !running:
	case bytes > lingerMaxSnapshot:
		m.busyUntil.Store(now + int64(busyFor))
	default:
		// Since the last snapshot the process wrote little trace: the
		// next lingering capture's snapshot will be small too.
		m.busyUntil.Store(0)
	}
}

// lingerEnd drops the lingering reference once its time has come (a
// Linger since the timer was set moved the time on), or once the
// process's other work keeps the CPU busy; it runs every lingerCheck
// meanwhile.
func (m *Manager) lingerEnd() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.lingering {
		return
	}
	if left := time.Until(m.lingerUntil); left > 0 && !m.tooBusy(time.Now()) {
		m.lingerTimer.Reset(min(left, lingerCheck))
		return
	}
	m.lingering = false
	m.release(1)
}

// EndLinger ends a [Manager.Linger] now: the recorder and CPU sampling
// stop unless a capture or Hold still holds them. An empty snapshot that
// a busy linger is taking meanwhile (see mark) holds them too, for a
// millisecond or so: EndLinger waits for it, so that once it returns the
// recorder runs only for captures and holds ([Manager.Active]), and a
// caller may start a flight recorder or an execution trace of its own.
func (m *Manager) EndLinger() {
	m.mu.Lock()
	m.endLingerLocked()
	marking := m.marking
	m.mu.Unlock()
	if marking != nil {
		<-marking
	}
}

// endLingerLocked drops the lingering reference, if any. m.mu must be
// held.
func (m *Manager) endLingerLocked() {
	if !m.lingering {
		return
	}
	m.lingering = false
	m.lingerTimer.Stop()
	m.release(1)
}

// Discard ends the capture without making a profile.
func (c *Capture) Discard() {
	if !c.once.CompareAndSwap(false, true) {
		return
	}
	c.task.End()
	c.m.cpuj.end(&c.live, false)
	c.m.mu.Lock()
	c.m.release(1)
	c.m.mu.Unlock()
}

// StartTime returns the wall-clock time at which the capture started.
func (c *Capture) StartTime() time.Time { return c.start }

// ID returns the capture's id, unique in the process.
func (c *Capture) ID() string { return c.id }

// Stop ends the capture and waits for its profile.
func (c *Capture) Stop() (*profile.Profile, error) {
	type result struct {
		p   *profile.Profile
		err error
	}
	ch := make(chan result, 1)
	c.stop(func(p *profile.Profile, err error) { ch <- result{p, err} }, false)
	r := <-ch
	return r.p, r.err
}

// StopFunc ends the capture and returns at once; done is called from the
// background worker with the profile when it is ready. Calling it more than
// once, or after Stop, reports an error through done.
//
// The worker begins workerDelay later (unless it is at work already):
// StopFunc is what a server calls as its handler returns, and the
// snapshot, which makes the runtime switch the trace's generation and
// dump its stack table, would otherwise compete with the response the
// server has yet to finish writing (0.5–1.6 ms of a cold request's
// latency in isolated requests on a loaded 2-core machine, 0.1–0.3 ms
// with the delay; see BENCHMARKS.md).
// Stop, whose caller waits for the profile, does not wait for it.
func (c *Capture) StopFunc(done func(*profile.Profile, error)) { c.stop(done, true) }

// workerDelay is how long after a StopFunc the worker begins.
const workerDelay = 2 * time.Millisecond

func (c *Capture) stop(done func(*profile.Profile, error), delay bool) {
	if !c.once.CompareAndSwap(false, true) {
		done(nil, errors.New("reqprof: capture already stopped"))
		return
	}
	c.task.End()
	c.done = done
	m := c.m
	m.cpuj.end(&c.live, true)
	m.mu.Lock()
	m.pending = append(m.pending, c)
	start := !m.working
	m.working = true
	m.mu.Unlock()
	if start {
		if delay {
			// A goroutine that sleeps, not time.AfterFunc: on an idle
			// server both wake another thread, and AfterFunc's timer
			// took 21–22 µs of the response's path against 11–12 µs.
			go func() {
				time.Sleep(workerDelay)
				m.work()
			}()
		} else {
			go m.work()
		}
	}
}

// work snapshots the recorder for every finished capture and parses the
// snapshot, until none is pending. Each capture's profile is built and
// delivered in a goroutine of its own: a capture whose profile takes long
// to build, or whose done callback takes long (a server summarising and
// storing a huge profile), delays no other capture's.
func (m *Manager) work() {
	for {
		m.mu.Lock()
		batch := m.pending
		m.pending = nil
		if len(batch) == 0 {
			m.working = false
			m.idle()
			m.mu.Unlock()
			return
		}
		fr := m.fr
		m.mu.Unlock()

		m.mu.Lock()
		on := m.cpuOn
		if on && m.refs == len(batch) {
			// The recorder stops after this batch: a CPU sampling switch
			// still held back by its delay is not wanted any more.
			m.cpu.cancel()
		}
		raised := m.cpu.done()
		m.mu.Unlock()
		// Whether reqprof took the samples is known once CPU sampling's
		// switch, in the background, is done (the batch's references keep
		// the sampler from starting again meanwhile); until then, it will
		// be reqprof's unless someone else's CPU profile came first, and
		// the trace has no samples of reqprof's yet.
		own := false
		if on {
			select {
			case <-raised:
				own = m.cpu.owned
			default:
				own = true
			}
		}
		t := m.budget.wait()
		var tr *tracedec.Trace
		var err error
		m.cpuj.step(func() { tr, err = m.parse(fr, batch, own) })
		m.budget.spend(t)

		// Release before delivering: when Do returns, the recorder is
		// already stopped (unless other captures run), so the caller may
		// start a recorder of its own at once.
		m.mu.Lock()
		m.release(len(batch))
		if m.tooBusy(time.Now()) {
			m.endLingerLocked()
		}
		m.mu.Unlock()
		for _, c := range batch {
			m.deliveries <- struct{}{}
			go func() {
				defer func() { <-m.deliveries }()
				if err != nil {
					c.done(nil, err)
					return
				}
				t := m.budget.wait()
				defer m.budget.spend(t)
				m.cpuj.step(func() { m.deliver(tr, c) })
			}()
		}
	}
}

// idle keeps the snapshot buffer for reuse for a while after the worker
// stops, then releases it. m.mu must be held.
func (m *Manager) idle() {
	if m.buf.Cap() == 0 {
		return
	}
	if m.drop == nil {
		m.drop = time.AfterFunc(m.keep, m.dropBuffer)
		return
	}
	m.drop.Reset(m.keep)
}

// dropBuffer releases the snapshot buffer unless the worker is using it.
func (m *Manager) dropBuffer() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.working {
		m.buf = bytes.Buffer{}
		m.runs, m.runsOf = genRuns{}, nil
		m.parser = nil
	}
}

// parse snapshots the recorder and parses the snapshot for batch; own says
// whether reqprof took the CPU samples.
func (m *Manager) parse(fr *trace.FlightRecorder, batch []*Capture, own bool) (*tracedec.Trace, error) {
	buf := &m.buf
	buf.Reset()
	// Only the generations that can hold the batch's tasks: the oldest
	// capture's on.
	if m.runsOf != fr {
		m.runs, m.runsOf = genRuns{}, fr
	}
	w := &window{buf: buf, from: batch[0].fromGen, runs: &m.runs}
	for _, c := range batch[1:] {
		w.from = min(w.from, c.fromGen)
	}
	_, err := fr.WriteTo(w)
	w.finish()
	if err != nil {
		return nil, fmt.Errorf("reqprof: snapshot of the flight recorder: %w", err)
	}
	m.noteSnapshot(buf.Len())
	if !w.all {
		m.snapGen.Store(max(m.snapGen.Load(), w.last))
	}
	reqs := make([]tracedec.Request, len(batch))
	for i, c := range batch {
		reqs[i] = c.request()
	}
	o := decodeOptions
	o.Module, o.Library = mainModule(), library
	o.SamplePeriod = nominalOtherPeriod
	if own {
		o.SamplePeriod = nominalOwnPeriod
	}
	if d := m.period.Load(); d > 0 {
		o.SamplePeriod = time.Duration(d)
	}
	if m.parser == nil {
		m.parser = new(tracedec.Parser)
	}
	tr, err := m.parser.Parse(buf.Bytes(), reqs, o)
	if err != nil {
		return nil, fmt.Errorf("reqprof: %w", err)
	}
	if d, measured := tr.SamplePeriod(); measured {
		m.period.Store(int64(d))
	}
	return tr, nil
}

func (c *Capture) request() tracedec.Request { return tracedec.Request{ID: c.id, Name: c.name} }

// deliver builds c's profile from the parsed snapshot and hands it to c.
func (m *Manager) deliver(tr *tracedec.Trace, c *Capture) {
	p, err := tr.Build(c.request())
	if err != nil {
		c.done(nil, fmt.Errorf("reqprof: %w (the flight recorder keeps at most %d MiB and %s of trace; raise capture.Config.MaxBytes or MinAge for longer work)",
			err, m.cfg.MaxBytes>>20, m.cfg.MinAge))
		return
	}
	p.GoVersion = runtime.Version()
	p.Host = hostname()
	p.Library = slices.Clone(library)
	p.SetAttr(profile.AttrOverhead, c.setup.String())
	if mod := mainModule(); mod != "" {
		p.SetAttr(profile.ModuleAttr, mod)
	}
	c.done(p, nil)
}

var hostname = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return h
})

var mainModule = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Path
	}
	return ""
})
