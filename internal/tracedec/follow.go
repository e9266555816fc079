package tracedec

import (
	"sort"

	"github.com/reqprof/reqprof/profile"
	xtrace "golang.org/x/exp/trace"
)

// span is a time range [a, b).
type span struct{ a, b xtrace.Time }

// followKey is one goroutine over one range, followed once.
type followKey struct {
	g    xtrace.GoID
	a, b xtrace.Time
}

// follow records which goroutines outside the work explain g's waits in
// [a, e), recursively: the critical path will walk them. The root is at
// depth 0; like the view, it keeps wakers down to profile.FollowDepth, and
// only those whose waits the view follows (profile.Profile.FollowWaker).
func (b *builder) follow(p *profile.Profile, id xtrace.GoID, a, e xtrace.Time, depth int) {
	if depth > profile.FollowDepth || a >= e {
		return
	}
	k := followKey{id, a, e}
	if b.seen[k] {
		return
	}
	b.seen[k] = true
	g := b.t.gs[id]
	if g == nil {
		return
	}
	if !b.members[id] {
		h, ok := b.hull[id]
		if !ok {
			h = span{a, e}
		}
		b.hull[id] = span{min(h.a, a), max(h.b, e)}
	}
	i := sort.Search(len(g.ivs), func(i int) bool { return g.ivs[i].end > a })
	for ; i < len(g.ivs) && g.ivs[i].start < e; i++ {
		iv := g.ivs[i]
		if iv.state != profile.Waiting || iv.waker == xtrace.NoGoroutine || iv.waker == id {
			continue
		}
		w := b.t.gs[iv.waker]
		if w == nil {
			continue
		}
		wait := profile.Interval{State: profile.Waiting, Reason: b.t.reason(iv.reason), Stack: b.in.stack(p, iv.stack, false), Waker: wakerID(iv.waker)}
		if !p.FollowWaker(&wait, entryFunc(w)) {
			continue
		}
		b.follow(p, iv.waker, max(a, iv.start), min(e, iv.end), depth+1)
	}
}

// entryFunc returns the function g started in, "" if unknown.
func entryFunc(g *gor) string {
	for f := range g.entryStack.Frames() {
		return f.Func
	}
	return ""
}

// taskOf returns the type (a profiled unit's name) of the task, other than
// ours, whose work goroutine g was doing at time at: g is that task's
// goroutine, or was created, during the task, by one of its goroutines.
// "" when it belongs to no other task.
func (t *timeline) taskOf(g *gor, at xtrace.Time, ours *task) string {
	for depth := 0; g != nil && depth < 64; depth++ {
		for _, tk := range t.byG[g.id] {
			if tk != ours && tk.hasBegin && tk.begin <= at && (!tk.hasEnd || at <= tk.end) {
				return tk.typ
			}
		}
		if !g.hasCreated || g.parent == xtrace.NoGoroutine {
			return ""
		}
		at = g.created
		g = t.gs[g.parent]
	}
	return ""
}
