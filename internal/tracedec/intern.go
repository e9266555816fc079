package tracedec

import (
	"strings"
	"unsafe"

	"github.com/reqprof/reqprof/profile"
	xtrace "golang.org/x/exp/trace"
)

// interner builds a profile's frame and stack tables, deduplicated.
type interner struct {
	harness func(fn string) bool                // the profiler's own code
	handles [2]map[xtrace.Stack]profile.StackID // [trimmed]
	keys    map[string]profile.StackID
	frames  map[profile.Frame]profile.FrameID
	buf     []profile.FrameID
}

func newInterner(harness func(fn string) bool) *interner {
	return &interner{
		harness: harness,
		handles: [2]map[xtrace.Stack]profile.StackID{{}, {}},
		keys:    map[string]profile.StackID{"": 0},
		frames:  map[profile.Frame]profile.FrameID{},
	}
}

// stack interns s, outermost frame first. With trim, trailing frames of the
// profiling machinery (runtime/trace, Options.Harness) are dropped.
func (in *interner) stack(p *profile.Profile, s xtrace.Stack, trim bool) profile.StackID {
	if s == xtrace.NoStack {
		return 0
	}
	ti := 0
	if trim {
		ti = 1
	}
	if id, ok := in.handles[ti][s]; ok {
		return id
	}
	fs := in.buf[:0]
	for f := range s.Frames() {
		fr := profile.Frame{Func: f.Func, File: f.File, Line: int(f.Line)}
		id, ok := in.frames[fr]
		if !ok {
			id = profile.FrameID(len(p.Frames))
			p.Frames = append(p.Frames, fr)
			in.frames[fr] = id
		}
		fs = append(fs, id)
	}
	in.buf = fs[:0] // keep the grown buffer whole for the next stack
	// Leaf first in the trace; outermost first in the model.
	for i, j := 0, len(fs)-1; i < j; i, j = i+1, j-1 {
		fs[i], fs[j] = fs[j], fs[i]
	}
	// CPU samples carry the goroutine's outermost runtime.goexit frame (and
	// runtime.main on the main goroutine); other stacks do not. Drop them so
	// that the two agree.
	for len(fs) > 0 && (p.Frames[fs[0]].Func == "runtime.goexit" || p.Frames[fs[0]].Func == "runtime.main") {
		fs = fs[1:]
	}
	// Asynchronous preemption leaves its own frames at the leaf.
	for len(fs) > 0 && strings.HasPrefix(p.Frames[fs[len(fs)-1]].Func, "runtime.asyncPreempt") {
		fs = fs[:len(fs)-1]
	}
	if trim {
		for len(fs) > 0 && in.harness(p.Frames[fs[len(fs)-1]].Func) {
			fs = fs[:len(fs)-1]
		}
	}
	id := in.intern(p, fs)
	in.handles[ti][s] = id
	return id
}

func (in *interner) intern(p *profile.Profile, fs []profile.FrameID) profile.StackID {
	key := unsafe.String((*byte)(unsafe.Pointer(unsafe.SliceData(fs))), len(fs)*int(unsafe.Sizeof(fs[0])))
	if id, ok := in.keys[key]; ok {
		return id
	}
	own := append([]profile.FrameID(nil), fs...)
	id := profile.StackID(len(p.Stacks))
	p.Stacks = append(p.Stacks, profile.Stack{Frames: own})
	in.keys[string([]byte(key))] = id
	return id
}

// isStd reports whether fn belongs to the standard library: its import
// path's first element has no dot (and it is not package main).
func isStd(fn string) bool {
	pkg := fn
	slash := strings.LastIndexByte(fn, '/')
	if dot := strings.IndexByte(fn[slash+1:], '.'); dot >= 0 {
		pkg = fn[:slash+1+dot]
	}
	first, _, _ := strings.Cut(pkg, "/")
	return pkg != "main" && !strings.Contains(first, ".")
}

// prune drops the stacks and frames no record of p refers to (the builder
// interns the stacks of every state change it looks at, and keeps only
// some) and numbers the others in the order the profile first refers to
// them (its boundary, its goroutines in order, their intervals, samples,
// regions). A profile is then the same whatever was looked at to make it:
// extracted from a whole trace or from a stream that forgets what it no
// longer needs.
func prune(p *profile.Profile) {
	const none = -1
	stackMap := make([]profile.StackID, len(p.Stacks))
	for i := range stackMap {
		stackMap[i] = none
	}
	stackMap[0] = 0
	stacks := []profile.Stack{{}}
	frameMap := make([]profile.FrameID, len(p.Frames))
	for i := range frameMap {
		frameMap[i] = none
	}
	var frames []profile.Frame
	use := func(id *profile.StackID) {
		if n := stackMap[*id]; n != none {
			*id = n
			return
		}
		old := p.Stacks[*id].Frames
		fs := make([]profile.FrameID, len(old))
		for j, f := range old {
			if frameMap[f] == none {
				frameMap[f] = profile.FrameID(len(frames))
				frames = append(frames, p.Frames[f])
			}
			fs[j] = frameMap[f]
		}
		n := profile.StackID(len(stacks))
		stacks = append(stacks, profile.Stack{Frames: fs})
		stackMap[*id] = n
		*id = n
	}
	use(&p.Base)
	use(&p.Work)
	for gi := range p.Goroutines {
		g := &p.Goroutines[gi]
		use(&g.CreatedAt)
		use(&g.Entry)
		for ii := range g.Intervals {
			use(&g.Intervals[ii].Stack)
		}
	}
	for i := range p.Samples {
		use(&p.Samples[i].Stack)
	}
	for i := range p.Regions {
		use(&p.Regions[i].Stack)
	}
	p.Stacks, p.Frames = stacks, frames
}
