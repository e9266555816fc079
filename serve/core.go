package serve

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/store"
)

// Config configures a Core. The zero value is sensible except for Store,
// which is required.
type Config struct {
	// Store keeps the profiles.
	Store store.Store
	// MaxConcurrent bounds the profiled units in flight or being stored
	// (default 4): a burst of profiled requests cannot queue more
	// extraction work than that.
	MaxConcurrent int
	// PerMinute bounds the profiles started per minute (default 60).
	PerMinute int
	// MaxProfileBytes bounds the size of one stored profile (default
	// 32 MiB); a larger one is not stored, and the reason is kept.
	MaxProfileBytes int64
	// MaxDuration bounds a profiled unit (default 1 minute): past it the
	// capture ends, what was captured is stored marked truncated, and the
	// work goes on unprofiled. Negative means no bound.
	MaxDuration time.Duration
	// Linger keeps the flight recorder and CPU sampling running for this
	// long after each profiled unit ends (default 5 s; negative: they stop
	// with the last capture), so that the next profiled unit within it —
	// a developer re-running a request, reqprof record -n — does not wait
	// for the recorder's start (0.4–1 ms; a unit never waits for CPU
	// sampling's, see capture.Manager.StartNow). Meanwhile the process
	// pays for tracing as with slow-request capture, and someone else's
	// CPU profile cannot start; a busy process does not linger (see
	// capture.Manager.Linger). Close ends it.
	Linger time.Duration
	// CaptureSlowerThan, when positive, keeps the flight recorder running
	// and stores every unit begun with [Core.BeginSlow] that took longer,
	// at most SlowPerMinute per minute (default 6).
	CaptureSlowerThan time.Duration
	SlowPerMinute     int
	// Sample, when set, picks units to profile that nobody asked about
	// (see PerRoute). With slow-request capture on, Core applies it to
	// every slow-capture candidate that was not slow, after it ends, by its
	// route (AttrRoute); the adapter applies it to the others before they
	// begin. Picked units are stored with reason "sampled".
	Sample *Sampler
	// Manager runs the captures (default capture.Default).
	Manager *capture.Manager
	// Logger receives errors no client can be told (default slog.Default()).
	Logger *slog.Logger
	// OnProfile, when set, is called once for every unit that ended with a
	// profile or failed to make one (not for discarded slow-capture
	// candidates), from a background goroutine.
	OnProfile func(Result)
}

// Result is what became of one profiled unit.
type Result struct {
	ID string
	// Meta is the stored metadata (zero when Err is set).
	Meta store.Meta
	// Profile is the profile, when one was made (also when it could not
	// be stored).
	Profile *profile.Profile
	// Err says why no profile was stored.
	Err error
}

// ErrTooLarge is the error of a profile larger than Config.MaxProfileBytes;
// it wraps store.ErrTooLarge, which stores return for profiles they cannot
// keep.
var ErrTooLarge = fmt.Errorf("%w: larger than the size limit", store.ErrTooLarge)

// Core is the delivery core. Create it with New.
type Core struct {
	cfg   Config
	store store.Store
	mgr   *capture.Manager
	log   *slog.Logger

	inflight atomic.Int64
	rate     *limiter
	slowRate *limiter
	held     bool
	closed   atomic.Bool

	mu      sync.Mutex
	pending map[string]chan struct{} // ids being extracted
	failed  map[string]string        // why recent profiles were not stored
	order   []string                 // failed's ids, oldest first
	wg      sync.WaitGroup
}

// DefaultLinger is Config.Linger's default.
const DefaultLinger = 5 * time.Second

// maxFailed bounds the not-stored notes a Core remembers.
const maxFailed = 256

// New validates cfg and returns a Core. With CaptureSlowerThan set it
// starts the flight recorder, which runs until Close.
func New(cfg Config) (*Core, error) {
	if cfg.Store == nil {
		return nil, errors.New("serve: Config.Store is required")
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = 4
	}
	if cfg.PerMinute == 0 {
		cfg.PerMinute = 60
	}
	if cfg.SlowPerMinute == 0 {
		cfg.SlowPerMinute = 6
	}
	if cfg.MaxProfileBytes == 0 {
		cfg.MaxProfileBytes = 32 << 20
	}
	if cfg.MaxDuration == 0 {
		cfg.MaxDuration = time.Minute
	}
	if cfg.Linger == 0 {
		cfg.Linger = DefaultLinger
	}
	if cfg.MaxConcurrent < 0 || cfg.PerMinute < 0 || cfg.SlowPerMinute < 0 || cfg.MaxProfileBytes < 0 || cfg.CaptureSlowerThan < 0 {
		return nil, errors.New("serve: negative limit in Config")
	}
	c := &Core{cfg: cfg, store: cfg.Store, mgr: cfg.Manager, log: cfg.Logger,
		pending: map[string]chan struct{}{}, failed: map[string]string{}}
	if c.mgr == nil {
		c.mgr = capture.Default
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.rate = newLimiter(cfg.PerMinute)
	c.slowRate = newLimiter(cfg.SlowPerMinute)
	if cfg.CaptureSlowerThan > 0 {
		if err := c.mgr.Hold(); err != nil {
			return nil, fmt.Errorf("serve: slow-request capture: %w", err)
		}
		c.held = true
	}
	return c, nil
}

// Store returns the store profiles are kept in.
func (c *Core) Store() store.Store { return c.store }

// Config returns the configuration with defaults filled in.
func (c *Core) Config() Config { return c.cfg }

// SlowCapture reports whether slow-unit capture is on: every unit should
// then be begun with BeginSlow unless a profile was asked for.
func (c *Core) SlowCapture() bool { return c.held && !c.closed.Load() }

// Closed reports whether Close was called.
func (c *Core) Closed() bool { return c.closed.Load() }

// Close waits for the profiles being extracted to be stored, stops
// slow-unit capture and ends the recorder's linger (Config.Linger). Units
// begun after Close fail.
func (c *Core) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	c.wg.Wait()
	if c.held {
		c.mgr.Release()
	}
	c.mgr.EndLinger()
	return nil
}

// Admit applies the concurrency and rate limits: it returns why a unit may
// not be profiled now, or "" after reserving a slot that the next Begin
// takes over (call Unreserve when Begin is not called after all).
func (c *Core) Admit() string {
	if c.closed.Load() {
		return "skipped: profiling is shutting down"
	}
	if n := c.inflight.Add(1); n > int64(c.cfg.MaxConcurrent) {
		c.inflight.Add(-1)
		return fmt.Sprintf("skipped: %d profiled requests in flight or being stored (limit %d)", n-1, c.cfg.MaxConcurrent)
	}
	if !c.rate.allow() {
		c.inflight.Add(-1)
		return fmt.Sprintf("skipped: rate limit of %d profiles per minute reached", c.cfg.PerMinute)
	}
	return ""
}

// Unreserve gives back a slot reserved by Admit without a Begin.
func (c *Core) Unreserve() { c.inflight.Add(-1) }

// Wait blocks until the profile id is no longer being extracted, or until
// done is closed.
func (c *Core) Wait(done <-chan struct{}, id string) {
	c.mu.Lock()
	ch := c.pending[id]
	c.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-done:
	}
}

// NotStored returns why the profile id was made but not stored (too large,
// the store failed), or "" when nothing is known of it.
func (c *Core) NotStored(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed[id]
}

// track marks id as being extracted until done is called.
func (c *Core) track(id string) (done func()) {
	ch := make(chan struct{})
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	c.wg.Add(1)
	return func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		close(ch)
		c.wg.Done()
	}
}

func (c *Core) noteFailure(id, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.failed[id]; !ok {
		c.order = append(c.order, id)
	}
	c.failed[id] = why
	for len(c.order) > maxFailed {
		delete(c.failed, c.order[0])
		c.order = c.order[1:]
	}
}

// limiter allows n events per minute (a token bucket refilled continuously).
type limiter struct {
	mu     sync.Mutex
	n      float64
	tokens float64
	last   time.Time
}

func newLimiter(perMinute int) *limiter {
	return &limiter{n: float64(perMinute), tokens: float64(perMinute), last: time.Now()}
}

func (l *limiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.tokens = min(l.n, l.tokens+now.Sub(l.last).Minutes()*l.n)
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
