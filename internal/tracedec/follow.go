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
// [a, b), recursively: the critical path will walk them. The root is at
// depth 0; like the view, it keeps wakers down to profile.FollowDepth.
func (b *builder) follow(id xtrace.GoID, a, e xtrace.Time, depth int) {
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
		if iv.state != profile.Waiting || !profile.ExplainedByWaker(iv.reason) || iv.waker == xtrace.NoGoroutine || iv.waker == id {
			continue
		}
		b.follow(iv.waker, max(a, iv.start), min(e, iv.end), depth+1)
	}
}
