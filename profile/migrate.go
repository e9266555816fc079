package profile

import (
	"errors"
	"slices"
)

// Version 1 of the .reqprof format did not record the work's boundary or
// the profiler's packages: its reader found them by the names of reqprof's
// functions of the time. Those names are frozen here with the format, so
// that a version-1 file renders as it did; no profile written since relies
// on them.
var (
	// v1WorkEntries are the functions that called the profiled work:
	// under them was the work (after any v1Harness frames, the delivery
	// code's closure), under the other harness frames the profiler's own
	// time.
	v1WorkEntries = []string{
		"github.com/reqprof/reqprof.runFunc",
		"github.com/reqprof/reqprof.runHandler",
		"github.com/reqprof/reqprof.runMarked",
		"github.com/reqprof/reqprof/serve.runMarked",
	}
	// v1Harness are the prefixes of the code around the work.
	v1Harness = []string{
		"runtime/trace.",
		"github.com/reqprof/reqprof.",
		"github.com/reqprof/reqprof/capture.",
		"github.com/reqprof/reqprof/middleware.",
		"github.com/reqprof/reqprof/serve.",
		"github.com/reqprof/reqprof/httpprof.",
		"github.com/reqprof/reqprof/sqlprof.",
	}
	// v1Library are the prefixes of reqprof's library packages.
	v1Library = []string{
		"github.com/reqprof/reqprof.",
		"github.com/reqprof/reqprof/capture.",
		"github.com/reqprof/reqprof/serve.",
		"github.com/reqprof/reqprof/httpprof.",
		"github.com/reqprof/reqprof/ui.",
		"github.com/reqprof/reqprof/sqlprof.",
		"github.com/reqprof/reqprof/sqlprof/",
		"github.com/reqprof/reqprof/store.",
		"github.com/reqprof/reqprof/view.",
		"github.com/reqprof/reqprof/profile.",
		"github.com/reqprof/reqprof/render",
	}
)

// migrateV1 fills in what a version-1 file leaves out: Library, and Work,
// found on the root goroutine's stacks as the stack down to the first
// version-1 work entry and the harness frames right under it, taken from a
// stack that goes on into the work when there is one. A profile whose root
// never showed a stack under a work entry (a task not made by reqprof, a
// work that never ran) keeps Work 0.
func (p *Profile) migrateV1() error {
	if p.Work != 0 || p.Library != nil {
		return errors.New(`a version-1 file has no "work" or "library"`)
	}
	p.Library = slices.Clone(v1Library)
	if len(p.Goroutines) == 0 || !p.Goroutines[0].Member {
		return nil // CheckValid reports it
	}
	root := &p.Goroutines[0]
	var work []FrameID // the best boundary found so far
	deep := false      // work goes on into the work proper
	try := func(id StackID) {
		if deep || id < 0 || int(id) >= len(p.Stacks) {
			return // found, or CheckValid reports it
		}
		fs := p.Stacks[id].Frames
		for _, f := range fs {
			if f < 0 || int(f) >= len(p.Frames) {
				return
			}
		}
		for i, f := range fs {
			if !slices.Contains(v1WorkEntries, p.Frames[f].Func) {
				continue
			}
			j := i + 1
			for j < len(fs) && hasPrefix(v1Harness, p.Frames[fs[j]].Func) {
				j++
			}
			if work == nil || j < len(fs) {
				work, deep = fs[:j], j < len(fs)
			}
			return
		}
	}
	for _, iv := range root.Intervals {
		try(iv.Stack)
	}
	for _, s := range p.Samples {
		if s.Goroutine == root.ID {
			try(s.Stack)
		}
	}
	if work != nil {
		p.Work = p.findStack(work)
	}
	return nil
}

// hasPrefix reports whether fn begins with one of prefixes.
func hasPrefix(prefixes []string, fn string) bool {
	for _, p := range prefixes {
		if len(fn) > len(p) && fn[:len(p)] == p {
			return true
		}
	}
	return false
}

// findStack returns the ID of the stack with frames fs, adding it to the
// table when it is not there.
func (p *Profile) findStack(fs []FrameID) StackID {
	for i, s := range p.Stacks {
		if slices.Equal(s.Frames, fs) {
			return StackID(i)
		}
	}
	p.Stacks = append(p.Stacks, Stack{Frames: slices.Clone(fs)})
	return StackID(len(p.Stacks) - 1)
}

// migrateV2 brings a file older than version 3 to the model of version 3:
// a goroutine the runtime suspended (to scan its stack, say: a Waiting
// interval with reason "preempted") is runnable, as the decoder now
// records it. Its inferred running intervals keep their stacks: they were
// not observed by a CPU sample, which is what Inferred says.
func (p *Profile) migrateV2() {
	for i := range p.Goroutines {
		ivs := p.Goroutines[i].Intervals
		for j := range ivs {
			if ivs[j].State == Waiting && ivs[j].Reason == PreemptedReason {
				ivs[j].State, ivs[j].Waker = Runnable, 0
			}
		}
	}
}
