// Package profile is reqprof's data model: what one profiled unit of work
// (an HTTP request, a job, a test) did, goroutine by goroutine, nanosecond by
// nanosecond.
//
// A [Profile] holds flat records — goroutines, their state intervals, CPU
// samples, user regions and logs — over deduplicated frame and stack tables.
// Flat records are the truth; call trees, flame graphs and timelines are views
// derived from them (package view). Every decoded profile is checked with
// [Profile.CheckValid].
//
// All times are nanoseconds relative to the start of the profile's window
// ([Profile.Start]), so a profile is self-contained and can be rendered
// anywhere, later, from its native file ([Profile.Encode], [Decode]).
package profile

import (
	"fmt"
	"strings"
	"time"
)

// Profile is one profiled unit of work.
type Profile struct {
	// Name is the unit's name: "GET /users/{id}", a job name, a test name.
	Name string
	// Start is the wall-clock time at which the window starts, converted
	// from the execution trace's clock.
	Start time.Time
	// Duration is the length of the window: the wall time of the work.
	Duration int64
	// GoVersion and Host describe the process that was profiled.
	GoVersion string
	Host      string
	// Attrs holds free-form metadata in a stable order (HTTP method, route,
	// status, ...).
	Attrs []Attr

	// Goroutines lists the goroutines of the work, the root first, then in
	// creation order; goroutines that are not part of the work but woke one
	// of its goroutines follow with Member false.
	Goroutines []Goroutine
	// Samples are the CPU profile samples taken on member goroutines.
	Samples []Sample
	// Regions are user regions (runtime/trace.WithRegion, StartRegion).
	Regions []Region
	// Logs are user logs (runtime/trace.Log).
	Logs []Log

	// Frames and Stacks are the deduplicated tables every StackID and
	// FrameID refers to. Stacks[0] is the empty stack.
	Frames []Frame
	Stacks []Stack

	// Base is the stack at which the capture began on the root goroutine,
	// outside the work itself (the caller of the delivery code, the HTTP
	// server's frames). Views strip it from the root goroutine's stacks.
	Base StackID
	// Work is the work's boundary on the root goroutine: the stack, outermost
	// first, at which the delivery code called the profiled work. Its frames
	// are the harness (down to the function that marks where the work
	// begins, and the delivery code's closure that calls the work); a root
	// stack that begins with Work's functions is the work, and views show
	// only its frames below Work. A root stack under Base but not under Work
	// is the profiler's own time (starting and ending the capture). 0 when
	// the boundary is unknown (a task not made by reqprof): views then strip
	// Base only.
	Work StackID
	// Library lists the function-name prefixes ("example.com/prof.",
	// "example.com/prof/render") of the profiler's own packages, which
	// views never count as user code. See [IsLibrary].
	Library []string

	// SamplePeriod is how much running time one CPU sample stands for,
	// in nanoseconds: the running time of every goroutine in the trace the
	// profile was extracted from divided by the samples taken on them (the
	// kernel honours fewer samples per second than asked for, and a
	// thread waiting for a CPU runs up trace time without CPU time). 0 when
	// unknown (no samples).
	SamplePeriod int64

	// Warnings are notes on how the profile was made that a reader should
	// know (CPU samples unavailable, a goroutine that outlived the window).
	Warnings []string
}

// ModuleAttr is the attribute holding the profiled program's main module
// path, which decides what is user code and what is library code.
const ModuleAttr = "go.module"

// Attr is a metadata key and value.
type Attr struct {
	Key, Value string
}

// Attr returns the value of the attribute named key, or "".
func (p *Profile) Attr(key string) string {
	for _, a := range p.Attrs {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

// SetAttr sets the attribute named key, replacing an existing one.
func (p *Profile) SetAttr(key, value string) {
	for i := range p.Attrs {
		if p.Attrs[i].Key == key {
			p.Attrs[i].Value = value
			return
		}
	}
	p.Attrs = append(p.Attrs, Attr{key, value})
}

// FrameID indexes Profile.Frames.
type FrameID int32

// StackID indexes Profile.Stacks. The zero StackID is the empty stack.
type StackID int32

// Frame is one function frame: a code location.
type Frame struct {
	Func string // fully qualified function name, "net/http.(*conn).serve"
	File string
	Line int
}

// Stack is a call stack, outermost caller first.
type Stack struct {
	Frames []FrameID
}

// Goroutine is one goroutine's life inside the window.
type Goroutine struct {
	ID int64
	// Parent is the goroutine that created this one, 0 for the root and for
	// goroutines created before the window.
	Parent int64
	// Member is true for the root and every goroutine it created,
	// transitively, during the window. Non-members are included only because
	// they woke a member (the critical path follows them).
	Member bool
	// CreatedAt is the parent's stack at the go statement (members only).
	CreatedAt StackID
	// Entry is the goroutine's stack when it started: its entry function.
	Entry StackID
	// Task names, for a goroutine outside the work, the other unit of
	// work (a runtime/trace task, such as another profiled request: "GET
	// /w/4") it belonged to when it woke one of the work's goroutines; ""
	// when it belonged to none.
	Task string
	// Start and End bound the goroutine's life inside the window.
	Start, End int64
	// Exited reports whether the goroutine ended before the window did.
	Exited bool
	// Intervals cover [Start, End) exactly, in time order, without gaps or
	// overlaps.
	Intervals []Interval
}

// EntryFunc returns the function the goroutine started in, or "".
func (p *Profile) EntryFunc(g *Goroutine) string {
	s := p.Stacks[g.Entry].Frames
	if len(s) == 0 {
		return ""
	}
	return p.Frames[s[len(s)-1]].Func
}

// State is a goroutine's scheduling state.
type State uint8

const (
	Running  State = iota + 1 // on a CPU
	Runnable                  // ready, waiting for a CPU (scheduler latency)
	Waiting                   // blocked; Interval.Reason says on what
	Syscall                   // in a system call
)

var stateNames = [...]string{"", "running", "runnable", "waiting", "syscall"}

func (s State) String() string {
	if int(s) < len(stateNames) && s != 0 {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Interval is a stretch of one goroutine's time in one state at one stack.
type Interval struct {
	Start, End int64
	State      State
	// Reason is the runtime's reason for a Waiting interval ("sleep",
	// "network", "chan receive", "sync", "select", ...).
	Reason string
	// Stack is where the goroutine was: the stack at which it blocked, or,
	// for Running intervals, the stack observed by a CPU sample or at a
	// state transition.
	Stack StackID
	// Inferred marks a Running interval that no CPU sample observed
	// (unsampled): Stack is then the deepest frame credibly running (see
	// package view's "How running time is attributed"), not a function
	// that ran the whole time, and views show the interval as
	// "[running, unsampled]" under it. A Running interval that is not
	// Inferred is a CPU sample's share of the running time around it.
	Inferred bool
	// Waker is the goroutine that made a Waiting interval end (0 when the
	// runtime itself did: timers, the network poller).
	Waker int64
}

// Duration returns the interval's length.
func (iv Interval) Duration() int64 { return iv.End - iv.Start }

// Sample is a CPU profile sample.
type Sample struct {
	Time      int64
	Goroutine int64
	Stack     StackID
}

// Region is a user region (runtime/trace.WithRegion) on one goroutine.
type Region struct {
	Goroutine  int64
	Type       string
	Start, End int64
	// Stack is where the region began, without runtime/trace's own frames.
	Stack StackID
}

// Log is a user log message (runtime/trace.Log).
type Log struct {
	Goroutine int64
	Time      int64
	Category  string
	Message   string
}

// PreemptedReason is the reason of a goroutine the runtime stopped at an
// arbitrary point of its work: preempted by the scheduler, or suspended to
// scan its stack. Such a goroutine is runnable — waiting for the runtime,
// not for anything the program did.
const PreemptedReason = "preempted"

// ExplainedByWaker reports whether a wait with this runtime reason is
// explained by what the goroutine that ended it did meanwhile. A sleep
// explains itself; a network wait is ended by whichever goroutine happened
// to poll the network, which says nothing about it.
func ExplainedByWaker(reason string) bool {
	return reason != "sleep" && reason != "network"
}

// FollowWaker reports whether the critical path explains the wait iv of a
// goroutine of p by what its waker (whose entry function is wakerEntry)
// did meanwhile. It does when the wait's reason is explained by a waker
// ([ExplainedByWaker]) and the wait says something about the work:
//
//   - not a wait inside the runtime's timers and scheduler (the blocking
//     call is a function of package time, or of package runtime other
//     than a channel operation or select), nor one ended by the runtime's
//     own goroutines (wakerEntry in package runtime): whoever ends those
//     happened to run the timer or the scheduler;
//   - not a wait inside the tracer (runtime/trace) or on the profiler's
//     own locks (the blocking call is made by a function of
//     [Profile.Library]): they are shared by every profiled unit, and
//     following them leads into other units' work.
//
// The blocking call is the outermost frame of the standard library's
// machinery at the leaf of the wait's stack (the runtime, sync, time and
// internal packages): sync.(*Mutex).Lock, runtime.chanrecv1, time.Sleep.
func (p *Profile) FollowWaker(iv *Interval, wakerEntry string) bool {
	if iv.State != Waiting || iv.Waker == 0 || !ExplainedByWaker(iv.Reason) || strings.HasPrefix(wakerEntry, "runtime.") {
		return false
	}
	caller, call := p.BlockingCall(iv.Stack)
	if call == "" {
		return true // no blocking call known
	}
	switch pkg := funcPackage(call); {
	case pkg == "time" || pkg == "runtime/trace":
		return false
	case pkg == "runtime" && !chanOps[call]:
		return false
	}
	return !IsLibrary(p.Library, caller)
}

// BlockingCall returns, for the stack of a wait, the blocking call — the
// outermost frame of the standard library's machinery at its leaf (the
// runtime, sync, time and internal packages): sync.(*Mutex).Lock,
// runtime.chanrecv1, time.Sleep — and the function that made it. Both are
// "" when the stack shows no such call (or is out of range).
func (p *Profile) BlockingCall(id StackID) (caller, call string) {
	if id < 0 || int(id) >= len(p.Stacks) {
		return "", ""
	}
	fs := p.Stacks[id].Frames
	for _, f := range fs {
		if f < 0 || int(f) >= len(p.Frames) {
			return "", ""
		}
	}
	k := len(fs)
	for k > 0 && machinery(p.Frames[fs[k-1]].Func) {
		k--
	}
	if k == len(fs) {
		return "", ""
	}
	if k > 0 {
		caller = p.Frames[fs[k-1]].Func
	}
	return caller, p.Frames[fs[k]].Func
}

// chanOps are the runtime's functions that block on channels.
var chanOps = map[string]bool{
	"runtime.chanrecv1": true, "runtime.chanrecv2": true, "runtime.chansend1": true,
	"runtime.selectgo": true, "runtime.block": true,
}

// machinery reports whether fn belongs to the packages a blocking call
// goes through: the runtime, sync, time and the internal packages.
func machinery(fn string) bool {
	switch pkg := funcPackage(fn); {
	case pkg == "runtime", pkg == "sync", pkg == "sync/atomic", pkg == "time", pkg == "runtime/trace":
		return true
	case strings.HasPrefix(pkg, "internal/"):
		return true
	}
	return false
}

// FollowDepth bounds the chains of wakers that the critical path follows
// (a waker's wait explained by its own waker, and so on): the decoder keeps
// the goroutines outside the work down to this depth, and views follow them
// as far.
const FollowDepth = 24

// IsLibrary reports whether fn, a fully qualified function name, belongs to
// the profiler's own library code: it begins with one of the prefixes in
// library (a profile's [Profile.Library]). A function of a test package
// ("_test.") never does: a library's own tests play the user.
func IsLibrary(library []string, fn string) bool {
	if strings.Contains(fn, "_test.") {
		return false
	}
	for _, p := range library {
		if len(fn) > len(p) && fn[:len(p)] == p {
			return true
		}
	}
	return false
}
