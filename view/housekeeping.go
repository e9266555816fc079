package view

import (
	"fmt"

	"github.com/reqprof/reqprof/profile"
)

// Housekeeping returns the work's housekeeping goroutines: goroutines a
// library started during the work that never ran on the work's behalf —
// database/sql starts one per transaction to roll it back if its context
// is cancelled (awaitDone), a driver one per connection. A goroutine of
// the work (not its root) is housekeeping when the function it runs (see
// [EntryName]) is not user code ([profile.Code]) and it never ended a wait
// of a goroutine of the work: nothing the work waited for was its doing.
//
// The summary does not count them among the work's goroutines; the
// per-goroutine view shows each group of them with one entry function as
// one lane ("database/sql.(*DB).awaitDone ×61"); the all-goroutines view
// keeps their time.
func Housekeeping(p *profile.Profile) map[int64]bool {
	var out map[int64]bool
	woke := map[int64]bool{}
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if !g.Member {
			continue
		}
		for _, iv := range g.Intervals {
			if iv.State == profile.Waiting && iv.Waker != 0 && iv.Waker != g.ID {
				woke[iv.Waker] = true
			}
		}
	}
	var code *profile.Code
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if i == 0 || !g.Member || woke[g.ID] {
			continue
		}
		if code == nil {
			code = p.Code()
		}
		if f, ok := entryFrame(p, g); ok && code.User(f.Func, f.File) {
			continue
		}
		if out == nil {
			out = map[int64]bool{}
		}
		out[g.ID] = true
	}
	return out
}

// entryFrame returns the frame of the function goroutine g runs, as
// EntryName names it.
func entryFrame(p *profile.Profile, g *profile.Goroutine) (profile.Frame, bool) {
	name := EntryName(p, g)
	if name == "" {
		return profile.Frame{}, false
	}
	for _, f := range p.Stacks[g.Entry].Frames {
		if p.Frames[f].Func == name {
			return p.Frames[f], true
		}
	}
	for _, iv := range g.Intervals {
		for _, f := range p.Stacks[iv.Stack].Frames {
			if p.Frames[f].Func == name {
				return p.Frames[f], true
			}
		}
	}
	return profile.Frame{Func: name}, true
}

// lanes groups the member goroutines for the per-goroutine view: each its
// own lane, except housekeeping goroutines, one lane per entry function.
// Each lane lists its goroutines' indexes in p.Goroutines, the one shown
// first (the one that ran longest, the first of those).
func lanes(p *profile.Profile, hk map[int64]bool) [][]int {
	var out [][]int
	group := map[string]int{} // entry function -> lane
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if !g.Member {
			continue
		}
		if !hk[g.ID] {
			out = append(out, []int{i})
			continue
		}
		name := EntryName(p, g)
		l, ok := group[name]
		if !ok {
			l = len(out)
			group[name] = l
			out = append(out, nil)
		}
		out[l] = append(out[l], i)
		if ran(&p.Goroutines[i]) > ran(&p.Goroutines[out[l][0]]) {
			k := len(out[l]) - 1
			out[l][0], out[l][k] = out[l][k], out[l][0]
		}
	}
	return out
}

// ran returns g's running time.
func ran(g *profile.Goroutine) int64 {
	var n int64
	for _, iv := range g.Intervals {
		if iv.State == profile.Running {
			n += iv.End - iv.Start
		}
	}
	return n
}

// laneName names a lane of housekeeping goroutines, g the one shown.
func laneName(p *profile.Profile, g *profile.Goroutine, n int) string {
	if n == 1 {
		return goroutineName(p, g) + " (housekeeping)"
	}
	return fmt.Sprintf("%s ×%d (housekeeping; goroutine %d shown)", EntryName(p, g), n, g.ID)
}
