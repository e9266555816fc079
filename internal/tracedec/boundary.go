package tracedec

import (
	"sort"
	"strings"

	"github.com/reqprof/reqprof/profile"
	xtrace "golang.org/x/exp/trace"
)

// work returns the work's boundary on the root goroutine (profile.Work):
// the stack of the task's first mark, which the delivery code logs just
// before it calls the work (capture.Run), trailing tracer frames trimmed,
// and extended by the delivery code's closure that calls the work when the
// first stack seen inside the work shows one. 0 when the task has no mark.
//
// The delivery code is the function that started the capture (the last
// frame the task's stack and the mark's share) and what it called on the
// way to Run: a function literal written in one of them, right under Run,
// is the delivery code's glue (func(ctx) error { next.ServeHTTP(w, r) }),
// not the work.
func (b *builder) work(p *profile.Profile) profile.StackID {
	if b.tk.mark == xtrace.NoStack {
		return 0
	}
	fs := p.Stacks[b.in.stack(p, b.tk.mark, false)].Frames
	for len(fs) > 0 && strings.HasPrefix(p.Frames[fs[len(fs)-1]].Func, tracer) {
		fs = fs[:len(fs)-1]
	}
	if len(fs) == 0 {
		return 0
	}
	w := append([]profile.FrameID(nil), fs...)
	begin := p.Stacks[b.in.stack(p, b.tk.stack, false)].Frames
	shared := sharedFuncs(p, begin, w)
	var delivery []string
	for _, f := range w[max(shared-1, 0) : len(w)-1] {
		delivery = append(delivery, p.Frames[f].Func)
	}
	glue := func(fn string) bool {
		for _, d := range delivery {
			if closureOf(fn, d) {
				return true
			}
		}
		return false
	}
	if len(delivery) > 0 {
		g := b.t.gs[b.tk.g]
		pts := g.points
		i := sort.Search(len(pts), func(i int) bool { return pts[i].t >= b.B })
		for ; i < len(pts) && pts[i].t <= b.E; i++ {
			s := p.Stacks[b.in.stack(p, pts[i].stack, false)].Frames
			if len(s) <= len(w) || !sameFuncs(p, s[:len(w)], w) {
				continue
			}
			if strings.HasPrefix(p.Frames[s[len(w)]].Func, "runtime") {
				continue // the tracer's or the runtime's own frames, not the work's
			}
			k := len(w)
			for k < len(s) && glue(p.Frames[s[k]].Func) {
				k++
			}
			w = append(w, s[len(w):k]...)
			break
		}
	}
	return b.in.intern(p, w)
}

// sameFuncs reports whether stacks a and b, of equal length, have the same
// functions (frames of one function at different lines are the same call).
func sameFuncs(p *profile.Profile, a, b []profile.FrameID) bool {
	for i := range a {
		if a[i] != b[i] && p.Frames[a[i]].Func != p.Frames[b[i]].Func {
			return false
		}
	}
	return true
}

// sharedFuncs returns how many outermost frames stacks a and b share, by
// function (as sameFuncs).
func sharedFuncs(p *profile.Profile, a, b []profile.FrameID) int {
	n := 0
	for n < len(a) && n < len(b) && sameFuncs(p, a[n:n+1], b[n:n+1]) {
		n++
	}
	return n
}

// closureOf reports whether fn is a function literal written in function
// caller: "pkg.caller.func1" ("pkg.caller.1" when caller is itself a
// literal), or, once caller was inlined into another function,
// "pkg.other.caller.func1".
func closureOf(fn, caller string) bool {
	pkg := funcPackage(caller)
	if pkg == caller || !strings.HasPrefix(fn, pkg+".") {
		return false
	}
	rest, short := fn[len(pkg)+1:], caller[len(pkg)+1:]+"."
	for i := 0; ; {
		k := strings.Index(rest[i:], short)
		if k < 0 {
			return false
		}
		k += i
		after := rest[k+len(short):]
		if (k == 0 || rest[k-1] == '.') && (strings.HasPrefix(after, "func") || after != "" && after[0] >= '0' && after[0] <= '9') {
			return true
		}
		i = k + 1
	}
}

// funcPackage returns the import path of a function name
// ("net/http.(*conn).serve" → "net/http").
func funcPackage(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return fn
	}
	return fn[:slash+1+dot]
}
