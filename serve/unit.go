package serve

import (
	"bytes"
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/internal/tracestr"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/store"
	"github.com/reqprof/reqprof/view"
)

// Info names a unit and describes it with attributes (keys in package
// profile: AttrMethod, AttrRoute, AttrStatus, ...).
type Info struct {
	Name  string
	Attrs []profile.Attr
}

// Set sets the attribute key in i, replacing an existing one.
func (i *Info) Set(key, value string) {
	for k := range i.Attrs {
		if i.Attrs[k].Key == key {
			i.Attrs[k].Value = value
			return
		}
	}
	i.Attrs = append(i.Attrs, profile.Attr{Key: key, Value: value})
}

// Get returns the attribute key of i, or "".
func (i Info) Get(key string) string {
	for _, a := range i.Attrs {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

// Unit is one profiled unit of work, from Begin to End.
type Unit struct {
	c    *Core
	id   string
	ctx  context.Context
	cap  *capture.Capture
	info Info
	slow bool        // a slow-capture candidate, kept only if slow
	slot atomic.Bool // holds an Admit slot

	timer   *time.Timer
	stopped atomic.Bool // the capture was stopped (End or MaxDuration)
	kept    atomic.Bool // ... to make a profile (not discarded)
	ended   atomic.Bool
	done    func() // ends tracking; set when tracked

	mu      sync.Mutex
	outcome []profile.Attr // set by Run when the work did not return
}

// Begin starts profiling a unit admitted by Admit (its slot passes to the
// unit), named and described by info. The id (ID) is known at once, so an
// adapter can tell the client where the profile will be. On error the slot
// is released and the work should run unprofiled.
func (c *Core) Begin(ctx context.Context, info Info) (*Unit, error) {
	u, err := c.begin(ctx, info, false)
	if err != nil {
		c.inflight.Add(-1)
		return nil, err
	}
	u.slot.Store(true)
	u.done = c.track(u.id)
	u.arm()
	return u, nil
}

// BeginSlow starts a slow-capture candidate: it is stored, with reason
// "slow", only if it takes longer than Config.CaptureSlowerThan and the
// slow rate allows. It needs no Admit, and fails when slow capture is off.
func (c *Core) BeginSlow(ctx context.Context, info Info) (*Unit, error) {
	if !c.SlowCapture() {
		return nil, fmt.Errorf("serve: slow capture is off")
	}
	u, err := c.begin(ctx, info, true)
	if err != nil {
		return nil, err
	}
	u.arm()
	return u, nil
}

func (c *Core) begin(ctx context.Context, info Info, slow bool) (*Unit, error) {
	if c.closed.Load() {
		return nil, fmt.Errorf("serve: closed")
	}
	info.Name = tracestr.Bound(info.Name)
	cctx, cp, err := c.mgr.StartNow(ctx, info.Name)
	if err != nil {
		return nil, err
	}
	if slow {
		info.Set(profile.AttrReason, profile.ReasonSlow)
	} else {
		info.Set(profile.AttrReason, profile.ReasonRequested)
	}
	u := &Unit{c: c, info: info, slow: slow, cap: cp}
	if !slow {
		// A slow candidate's id is made when it is kept (stop): most are
		// discarded.
		u.id = store.NewID(cp.StartTime())
	}
	u.ctx = cctx
	return u, nil
}

// arm starts the maximum-duration timer, once the unit is set up.
func (u *Unit) arm() {
	if d := u.c.cfg.MaxDuration; d > 0 {
		u.timer = time.AfterFunc(d, u.truncate)
	}
}

// Profiled reports whether ctx is (derived from) the context of a unit
// being profiled: a requested unit or a slow-capture candidate, or any
// other capture not yet ended (reqprof.Do's). Wrappers of outgoing calls
// check it, after runtime/trace.IsEnabled, to do their work only for
// profiled units. It does not allocate. It is [capture.Profiled].
func Profiled(ctx context.Context) bool { return capture.Profiled(ctx) }

// Kept reports whether the unit's capture was stopped to make a profile:
// true after End of a requested unit, or of a slow candidate that was slow
// enough, or once the maximum duration ended the capture; false before,
// and for a discarded slow candidate.
func (u *Unit) Kept() bool { return u.kept.Load() }

// ID returns the id the unit's profile is stored under. A slow
// candidate's is known once it is kept ([Unit.Kept] reports true); before,
// ID returns "".
func (u *Unit) ID() string {
	if u.slow && !u.kept.Load() {
		return ""
	}
	return u.id
}

// Context returns the context the work must run with (it carries the
// unit's runtime/trace task).
func (u *Unit) Context() context.Context { return u.ctx }

// Run runs the work, exactly once, between the marks that tell the work's
// time from the profiler's own. A panic is recorded (its value, bounded,
// and where it happened) and goes on; so does runtime.Goexit. Call End
// afterwards in every case, e.g. in a deferred function.
func (u *Unit) Run(fn func(context.Context) error) (err error) {
	normal := false
	defer func() {
		if normal {
			return
		}
		if r := recover(); r != nil {
			u.setOutcome(
				profile.Attr{Key: profile.AttrPanic, Value: tracestr.BoundTo(fmt.Sprint(r), 512)},
				profile.Attr{Key: profile.AttrPanicAt, Value: panicSite(debug.Stack())})
			panic(r)
		}
		u.setOutcome(profile.Attr{Key: profile.AttrOutcome, Value: "goexit"})
	}()
	err = capture.Run(u.ctx, fn)
	normal = true
	return err
}

func (u *Unit) setOutcome(as ...profile.Attr) {
	u.mu.Lock()
	u.outcome = as
	u.mu.Unlock()
}

// Panicked reports whether Run's work panicked.
func (u *Unit) Panicked() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.outcome) > 0 && u.outcome[0].Key == profile.AttrPanic
}

// panicSite returns "function file:line" of the frame that panicked, read
// from a debug.Stack taken in the deferred recover.
func panicSite(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if strings.HasPrefix(lines[i], "panic(") {
			for j := i + 2; j+1 < len(lines); j += 2 {
				fn := lines[j]
				if strings.HasPrefix(fn, "runtime.") {
					continue
				}
				if k := strings.LastIndexByte(fn, '('); k > 0 {
					fn = fn[:k]
				}
				loc := strings.TrimSpace(lines[j+1])
				if k := strings.LastIndex(loc, " +0x"); k > 0 {
					loc = loc[:k]
				}
				return tracestr.BoundTo(fn+" "+loc, 512)
			}
		}
	}
	return ""
}

// End ends the unit with what is known of it now (merged over Begin's
// info): a requested unit's profile is extracted and stored in the
// background; a slow candidate is kept only if slow. End is safe to call
// more than once (the later calls do nothing).
func (u *Unit) End(info Info) {
	// Per-route sampling counts the unit under its route as merge would
	// make it: End's, else Begin's, else the name.
	route := info.Get(profile.AttrRoute)
	if route == "" {
		route = u.info.Get(profile.AttrRoute)
	}
	if route == "" && info.Name != "" {
		route = tracestr.Bound(info.Name)
	}
	u.EndFunc(route, func() Info { return info })
}

// EndFunc is [Unit.End] for a caller whose description of the unit costs
// more than the work's end should pay when nothing is kept: describe is
// called, on the caller's goroutine before EndFunc returns, only when the
// unit's profile is made — always for a requested unit, for a slow
// candidate only when it was slow enough or per-route sampling takes it.
// route is what sampling counts the unit under ("" for Begin's name); it
// should be the route describe sets as [profile.AttrRoute].
func (u *Unit) EndFunc(route string, describe func() Info) {
	if !u.ended.CompareAndSwap(false, true) {
		return
	}
	u.release()
	sampled := false
	if u.slow && !u.keepSlow() {
		if route == "" {
			route = u.info.Name
		}
		if !u.c.cfg.Sample.Take(route) {
			u.discard()
			return
		}
		sampled = true
	}
	info := u.merge(describe())
	if sampled {
		info.Set(profile.AttrReason, profile.ReasonSampled)
	}
	u.stop(info, nil)
}

// EndWait is End for a requested unit that waits for the profile (when
// the profile replaces the response). It returns the profile even when
// storing it failed.
func (u *Unit) EndWait(info Info) (*profile.Profile, error) {
	if !u.ended.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("serve: unit already ended")
	}
	u.release()
	type result struct {
		p   *profile.Profile
		err error
	}
	ch := make(chan result, 1)
	if !u.stop(u.merge(info), func(p *profile.Profile, err error) { ch <- result{p, err} }) {
		return nil, fmt.Errorf("serve: the capture ended at the maximum duration (%s); its profile is stored as %s", u.c.cfg.MaxDuration, u.id)
	}
	r := <-ch
	return r.p, r.err
}

// release stops the timer; only the goroutine that began the unit calls
// it. The slot is freed once the profile is stored (or discarded), so that
// MaxConcurrent bounds the profiles being made, not only the requests.
func (u *Unit) release() {
	if u.timer != nil {
		u.timer.Stop()
	}
}

func (u *Unit) releaseSlot() {
	if u.slot.CompareAndSwap(true, false) {
		u.c.inflight.Add(-1)
	}
}

func (u *Unit) merge(info Info) Info {
	// Room for the truncation or sampling mark, and for a panic's two.
	out := Info{Name: u.info.Name, Attrs: make([]profile.Attr, len(u.info.Attrs), len(u.info.Attrs)+len(info.Attrs)+3)}
	copy(out.Attrs, u.info.Attrs)
	if info.Name != "" {
		out.Name = tracestr.Bound(info.Name)
	}
	for _, a := range info.Attrs {
		out.Set(a.Key, a.Value)
	}
	u.mu.Lock()
	for _, a := range u.outcome {
		out.Set(a.Key, a.Value)
	}
	u.mu.Unlock()
	return out
}

func (u *Unit) keepSlow() bool {
	return time.Since(u.cap.StartTime()) >= u.c.cfg.CaptureSlowerThan && u.c.slowRate.allow()
}

// discard drops a slow candidate's capture, unless the maximum duration
// already stopped it to store it (then stop's callback ends the tracking:
// a slow candidate is tracked only from stop on).
func (u *Unit) discard() {
	if u.stopped.CompareAndSwap(false, true) {
		u.cap.Discard()
	}
	u.releaseSlot()
}

// truncate ends the capture at the maximum duration while the work goes
// on, and stores what was captured.
func (u *Unit) truncate() {
	if u.slow && !u.c.slowRate.allow() {
		u.discard()
		return
	}
	info := u.merge(Info{})
	info.Set(profile.AttrTruncate, "maximum duration "+u.c.cfg.MaxDuration.String()+" reached; the work went on unprofiled")
	u.stop(info, nil)
}

// stop stops the capture once and stores its profile in the background,
// then calls then (if any) with it. It reports whether this call stopped it.
func (u *Unit) stop(info Info, then func(*profile.Profile, error)) bool {
	if !u.stopped.CompareAndSwap(false, true) {
		return false
	}
	if u.id == "" {
		u.id = store.NewID(u.cap.StartTime())
	}
	u.kept.Store(true)
	if u.done == nil {
		u.done = u.c.track(u.id)
	}
	// Before the capture ends, while it holds the recorder: the next
	// profiled unit finds it running.
	if d := u.c.cfg.Linger; d > 0 {
		u.c.mgr.Linger(d)
	}
	u.cap.StopFunc(func(p *profile.Profile, err error) {
		u.c.persist(u.id, info, p, err)
		u.releaseSlot()
		u.done()
		if then != nil {
			then(p, err)
		}
	})
	return true
}

// persist stores a unit's profile with its metadata.
func (c *Core) persist(id string, info Info, p *profile.Profile, err error) {
	res := Result{ID: id, Profile: p}
	defer func() {
		if res.Err != nil {
			c.noteFailure(id, res.Err.Error())
		}
		if c.cfg.OnProfile != nil {
			c.cfg.OnProfile(res)
		}
	}()
	if err != nil {
		res.Err = err
		c.log.Error("reqprof: profile not made", "id", id, "name", info.Name, "err", err)
		return
	}
	if info.Name != "" {
		p.Name = info.Name
	}
	for _, a := range info.Attrs {
		p.SetAttr(a.Key, a.Value)
	}
	m := metaOf(id, p)
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		res.Err = fmt.Errorf("cannot encode the profile: %w", err)
		c.log.Error("reqprof: cannot encode profile", "id", id, "err", err)
		return
	}
	if int64(buf.Len()) > c.cfg.MaxProfileBytes {
		res.Err = fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, buf.Len(), c.cfg.MaxProfileBytes)
		c.log.Warn("reqprof: profile too large, not stored", "id", id, "bytes", buf.Len(), "limit", c.cfg.MaxProfileBytes)
		return
	}
	m.Size = int64(buf.Len())
	if ep, ok := c.store.(store.EncodedPutter); ok {
		err = ep.PutEncoded(context.Background(), m, buf.Bytes())
	} else {
		err = c.store.Put(context.Background(), m, p)
	}
	if err != nil {
		res.Err = fmt.Errorf("cannot store the profile: %w", err)
		c.log.Error("reqprof: cannot store profile", "id", id, "err", err)
		return
	}
	res.Meta = m
}

// metaOf is the store's summary of p: its numbers, and its attributes as
// labels.
func metaOf(id string, p *profile.Profile) store.Meta {
	sum := view.Summarize(p)
	m := store.Meta{
		ID: id, Time: p.Start, Name: p.Name,
		Summary: store.Summary{
			Duration: time.Duration(p.Duration), CPU: time.Duration(sum.CPU), Waiting: time.Duration(sum.Waiting),
			Runnable: time.Duration(sum.Runnable), Syscall: time.Duration(sum.Syscall), Goroutines: sum.Goroutines,
			CPUInferred: time.Duration(sum.CPUInferred), Overhead: time.Duration(sum.Overhead), OverheadBefore: time.Duration(sum.OverheadBefore),
		},
		Labels: store.LabelsOf(p),
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	return m
}
