package tracedec

import (
	"sync"

	"github.com/reqprof/reqprof/profile"
	xtrace "golang.org/x/exp/trace"
)

// rawInterval is a closed stretch of one goroutine in one state.
type rawInterval struct {
	start, end xtrace.Time
	state      profile.State
	reason     reasonID
	stack      xtrace.Stack
	waker      xtrace.GoID
}

// reasonID is a wait's reason (a runtime wait reason), numbered by the
// timeline: an interval made of no pointer but its stack's is smaller, and
// cheaper to collect, than one holding the string.
type reasonID uint32

// The reasons every timeline numbers alike.
const (
	noReason        reasonID = iota // ""
	preemptedReason                 // profile.PreemptedReason
	firstReason                     // the first of t.reasons
)

// reasonID returns the number of reason s, numbering it on first sight.
// The runtime's wait reasons are a few dozen at most.
func (t *timeline) reasonID(s string) reasonID {
	switch s {
	case "":
		return noReason
	case profile.PreemptedReason:
		return preemptedReason
	}
	for i, r := range t.reasons {
		if r == s {
			return firstReason + reasonID(i)
		}
	}
	t.reasons = append(t.reasons, s)
	return firstReason + reasonID(len(t.reasons)-1)
}

// reason returns the reason numbered id.
func (t *timeline) reason(id reasonID) string {
	switch id {
	case noReason:
		return ""
	case preemptedReason:
		return profile.PreemptedReason
	}
	return t.reasons[id-firstReason]
}

// gor is one goroutine's history: its state machine's open state, the
// intervals closed so far, and what happened on it.
type gor struct {
	id          xtrace.GoID
	parent      xtrace.GoID
	created     xtrace.Time
	hasCreated  bool
	createStack xtrace.Stack
	entryStack  xtrace.Stack
	exited      bool
	exit        xtrace.Time
	blocked     bool // stopped by a wait or a system call, not yet running again
	preempted   bool // stopped by a preemption, not yet running again

	// the open interval
	state  profile.State
	since  xtrace.Time
	reason reasonID
	stack  xtrace.Stack

	ivs    []rawInterval
	points []point

	// its records in the parse's scratch (history.go)
	owned   bool  // it has some
	idx     int32 // its index among the scratch's goroutines
	nIvs    int   // intervals
	lastIv  int   // the last one's index
	nPts    int   // points since ptsFrom
	ptsFrom int   // the first of its points kept

	periodOnce sync.Once // builds may run at once: computed once
	ownRunning int64     // running time, for the sample period
	ownSamples int
	regions    []rawRegion
	open       []int // indexes of open regions
	logs       []rawLog
}

// set closes g's open interval at ts and opens one in the given state.
// Until some task has begun (keep false), a closed interval can belong to
// no window: only the open state is kept, with none of the past.
func (t *timeline) set(g *gor, ts xtrace.Time, st profile.State, reason string, stack xtrace.Stack, keep bool) {
	if !keep {
		t.dropPoints(g)
	} else if g.state != 0 && ts > g.since {
		t.addInterval(g, rawInterval{g.since, ts, g.state, g.reason, g.stack, xtrace.NoGoroutine})
	}
	g.state, g.since, g.reason, g.stack = st, ts, t.reasonID(reason), stack
}

// goState maps the trace's goroutine states to the model's.
func goState(s xtrace.GoState) profile.State {
	switch s {
	case xtrace.GoRunning:
		return profile.Running
	case xtrace.GoRunnable:
		return profile.Runnable
	case xtrace.GoWaiting:
		return profile.Waiting
	case xtrace.GoSyscall:
		return profile.Syscall
	}
	return 0
}

// transition applies a goroutine state transition: creation, exit,
// blocking, waking (recording the waker), a status report.
func (t *timeline) transition(ev xtrace.Event, st xtrace.StateTransition) {
	ts := ev.Time()
	id := st.Resource.Goroutine()
	from, to := st.Goroutine()
	g := t.g(id)
	switch {
	case from == xtrace.GoNotExist && to != xtrace.GoNotExist:
		// Creation, emitted on the creating goroutine, whose stack is
		// then known: the go statement's.
		if pg := ev.Goroutine(); pg != xtrace.NoGoroutine && ev.Stack() != xtrace.NoStack {
			if parent := t.g(pg); parent.state == profile.Running {
				t.addPoint(parent, point{t: ts, stack: ev.Stack(), kind: exact})
			}
		}
		g.parent, g.created, g.hasCreated = ev.Goroutine(), ts, true
		g.createStack, g.entryStack = ev.Stack(), st.Stack
		g.exited = false
		t.set(g, ts, goState(to), "", st.Stack, t.begun)
		return
	case to == xtrace.GoNotExist:
		if g.state == profile.Running && t.hasPoints(g) {
			// It returned from its entry function: end on the entry frame.
			t.addPoint(g, point{t: ts, stack: g.entryStack, kind: exact})
		}
		t.set(g, ts, 0, "", xtrace.NoStack, t.begun)
		g.exited, g.exit = true, ts
		return
	}
	ns := goState(to)
	if ns == 0 {
		return
	}
	if ns == profile.Waiting && st.Reason == profile.PreemptedReason {
		// Suspended by the runtime (to scan its stack) at an arbitrary
		// point of its work: waiting for the runtime, not for anything
		// the program did, like a goroutine the scheduler preempted.
		ns = profile.Runnable
	}
	if from == xtrace.GoUndetermined {
		// A status report: keep a known interval.
		if g.state == ns {
			return
		}
		if g.state == 0 && !g.hasCreated {
			// The runtime reports a goroutine's status when it first
			// touches the goroutine in a generation (or at the
			// generation's end if it never does): it has been in that
			// state since the generation began at least.
			g.state, g.since, g.reason, g.stack = ns, min(t.genStart, ts), t.reasonID(st.Reason), st.Stack
			return
		}
		t.set(g, ts, ns, st.Reason, st.Stack, t.begun)
		return
	}
	stack := st.Stack
	if stack == xtrace.NoStack {
		stack = g.stack // resumes where it stopped
	}
	reason := ""
	if ns == profile.Waiting || ns == profile.Runnable {
		reason = st.Reason
	}
	if g.state == profile.Running && st.Stack != xtrace.NoStack {
		k := exact
		switch {
		case ns == profile.Waiting || ns == profile.Syscall:
			k = blocking
		case st.Reason == profile.PreemptedReason:
			k = preempt
		}
		t.addPoint(g, point{t: ts, stack: st.Stack, kind: k})
	}
	if g.state == profile.Running {
		g.preempted = ns == profile.Runnable && st.Reason == profile.PreemptedReason
	}
	wasWaiting := g.state == profile.Waiting
	if g.state == profile.Waiting || g.state == profile.Syscall {
		g.blocked = true
	} else if g.state == profile.Running {
		g.blocked = false
	}
	t.set(g, ts, ns, reason, stack, t.begun)
	if wasWaiting {
		if last := t.lastInterval(g); last != nil {
			if w := ev.Goroutine(); w != xtrace.NoGoroutine && w != id {
				last.waker = w
			}
		}
	}
	if ns == profile.Running && stack != xtrace.NoStack {
		// It resumes where it stopped: in the blocking call it made, or
		// where it was preempted or created.
		k := exact
		switch {
		case g.blocked:
			k = blocking
		case g.preempted:
			k = preempt
		}
		t.addPoint(g, point{t: ts, stack: stack, kind: k})
		g.blocked, g.preempted = false, false
	}
}
