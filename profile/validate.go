package profile

import (
	"errors"
	"fmt"
)

// CheckValid reports whether p satisfies the invariants every profile must
// hold, whether decoded or freshly built. It returns nil or an error
// describing the first violation found, naming the offending item. The
// rules are:
//
//   - Duration >= 0.
//   - Stacks is not empty and Stacks[0] is the empty stack.
//   - Every FrameID is an index of Frames; every StackID (Base, Work,
//     Goroutine.CreatedAt, Goroutine.Entry, Interval.Stack, Sample.Stack,
//     Region.Stack) is an index of Stacks.
//   - Library prefixes are not empty; SamplePeriod >= 0.
//   - Goroutine IDs are positive and unique. The first goroutine, if any, is
//     the root: a member with Parent 0. Members come before non-members. A
//     member's Parent is 0 or a member listed earlier; no Parent is negative.
//     Only non-members have a Task.
//   - For each goroutine, 0 <= Start <= End <= Duration, and its intervals
//     are in time order and cover [Start, End) exactly, without gaps or
//     overlaps, each with Start < End.
//   - An interval's State is Running, Runnable, Waiting or Syscall; only
//     Waiting and Runnable intervals carry a Reason; only Running intervals
//     are Inferred; Waker is not negative.
//   - Samples, regions and logs refer to goroutines in the profile, at times
//     within [0, Duration]; a region's Start <= End.
//
// CheckValid runs in time linear in the size of the profile.
func (p *Profile) CheckValid() error {
	if p == nil {
		return errors.New("profile: nil profile")
	}
	if p.Duration < 0 {
		return fmt.Errorf("profile: negative duration %d", p.Duration)
	}

	// Frame and stack tables.
	if len(p.Stacks) == 0 {
		return errors.New("profile: no stacks (Stacks[0] must be the empty stack)")
	}
	if n := len(p.Stacks[0].Frames); n != 0 {
		return fmt.Errorf("profile: stack 0 must be the empty stack, has %d frames", n)
	}
	for i, s := range p.Stacks {
		for j, f := range s.Frames {
			if f < 0 || int(f) >= len(p.Frames) {
				return fmt.Errorf("profile: stack %d: frame %d: frame ID %d out of range (have %d frames)", i, j, f, len(p.Frames))
			}
		}
	}
	if err := p.checkStack(p.Base); err != nil {
		return fmt.Errorf("profile: base %w", err)
	}
	if err := p.checkStack(p.Work); err != nil {
		return fmt.Errorf("profile: work %w", err)
	}
	for i, l := range p.Library {
		if l == "" {
			return fmt.Errorf("profile: library prefix %d is empty (it would make every function library code)", i)
		}
	}

	if p.SamplePeriod < 0 {
		return fmt.Errorf("profile: negative sample period %d", p.SamplePeriod)
	}

	// Goroutines.
	index := make(map[int64]int, len(p.Goroutines)) // ID → index in Goroutines
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if g.ID <= 0 {
			return fmt.Errorf("profile: goroutine at index %d: ID %d is not positive", i, g.ID)
		}
		if j, dup := index[g.ID]; dup {
			return fmt.Errorf("profile: goroutine %d listed twice (at index %d and %d)", g.ID, j, i)
		}
		index[g.ID] = i
	}
	lastMember := -1 // index of the last member seen
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if i == 0 {
			if !g.Member {
				return fmt.Errorf("profile: goroutine %d: the first goroutine is the root and must be a member", g.ID)
			}
			if g.Parent != 0 {
				return fmt.Errorf("profile: goroutine %d: the root goroutine has parent %d, want 0", g.ID, g.Parent)
			}
		}
		if g.Member {
			if lastMember != i-1 {
				return fmt.Errorf("profile: goroutine %d: member listed after non-member goroutine %d", g.ID, p.Goroutines[lastMember+1].ID)
			}
			lastMember = i
		}
		if g.Parent < 0 {
			return fmt.Errorf("profile: goroutine %d: negative parent %d", g.ID, g.Parent)
		}
		if g.Member && g.Task != "" {
			return fmt.Errorf("profile: goroutine %d: a member of the work has another unit's task %q", g.ID, g.Task)
		}
		if g.Member && g.Parent != 0 {
			j, ok := index[g.Parent]
			switch {
			case !ok:
				return fmt.Errorf("profile: goroutine %d: parent %d is not in the profile", g.ID, g.Parent)
			case j >= i:
				return fmt.Errorf("profile: goroutine %d: parent %d is listed after it (index %d >= %d)", g.ID, g.Parent, j, i)
			}
			// Members come first, so a parent listed earlier is a member.
		}
		if err := p.checkStack(g.CreatedAt); err != nil {
			return fmt.Errorf("profile: goroutine %d: created-at %w", g.ID, err)
		}
		if err := p.checkStack(g.Entry); err != nil {
			return fmt.Errorf("profile: goroutine %d: entry %w", g.ID, err)
		}
		if err := p.checkGoroutineTime(g); err != nil {
			return fmt.Errorf("profile: goroutine %d: %w", g.ID, err)
		}
		if err := p.checkIntervals(g); err != nil {
			return fmt.Errorf("profile: goroutine %d: %w", g.ID, err)
		}
	}

	// Samples, regions, logs.
	for i, s := range p.Samples {
		if _, ok := index[s.Goroutine]; !ok {
			return fmt.Errorf("profile: sample %d: goroutine %d is not in the profile", i, s.Goroutine)
		}
		if err := p.checkTime(s.Time); err != nil {
			return fmt.Errorf("profile: sample %d: %w", i, err)
		}
		if err := p.checkStack(s.Stack); err != nil {
			return fmt.Errorf("profile: sample %d: %w", i, err)
		}
	}
	for i, r := range p.Regions {
		if _, ok := index[r.Goroutine]; !ok {
			return fmt.Errorf("profile: region %d (%q): goroutine %d is not in the profile", i, r.Type, r.Goroutine)
		}
		if r.End < r.Start {
			return fmt.Errorf("profile: region %d (%q): [%d,%d) ends before it starts", i, r.Type, r.Start, r.End)
		}
		if r.Start < 0 || r.End > p.Duration {
			return fmt.Errorf("profile: region %d (%q): [%d,%d) outside the window [0,%d]", i, r.Type, r.Start, r.End, p.Duration)
		}
		if err := p.checkStack(r.Stack); err != nil {
			return fmt.Errorf("profile: region %d (%q): %w", i, r.Type, err)
		}
	}
	for i, l := range p.Logs {
		if _, ok := index[l.Goroutine]; !ok {
			return fmt.Errorf("profile: log %d: goroutine %d is not in the profile", i, l.Goroutine)
		}
		if err := p.checkTime(l.Time); err != nil {
			return fmt.Errorf("profile: log %d: %w", i, err)
		}
	}
	return nil
}

// checkStack checks that id indexes p.Stacks. Its error reads well after a
// noun naming the reference ("entry stack 7 out of range ...").
func (p *Profile) checkStack(id StackID) error {
	if id < 0 || int(id) >= len(p.Stacks) {
		return fmt.Errorf("stack %d out of range (have %d stacks)", id, len(p.Stacks))
	}
	return nil
}

// checkTime checks that t lies within the window [0, Duration].
func (p *Profile) checkTime(t int64) error {
	if t < 0 || t > p.Duration {
		return fmt.Errorf("time %d outside the window [0,%d]", t, p.Duration)
	}
	return nil
}

// checkGoroutineTime checks that g's life lies within the window.
func (p *Profile) checkGoroutineTime(g *Goroutine) error {
	switch {
	case g.End < g.Start:
		return fmt.Errorf("life [%d,%d) ends before it starts", g.Start, g.End)
	case g.Start < 0:
		return fmt.Errorf("life [%d,%d) starts before the window", g.Start, g.End)
	case g.End > p.Duration:
		return fmt.Errorf("life [%d,%d) ends after the window (duration %d)", g.Start, g.End, p.Duration)
	}
	return nil
}

// checkIntervals checks g's intervals: well-formed, and tiling [Start, End).
func (p *Profile) checkIntervals(g *Goroutine) error {
	if len(g.Intervals) == 0 {
		if g.Start < g.End {
			return fmt.Errorf("no intervals cover its life [%d,%d)", g.Start, g.End)
		}
		return nil
	}
	prevEnd := g.Start
	for i, iv := range g.Intervals {
		if iv.End < iv.Start {
			return fmt.Errorf("interval %d [%d,%d) ends before it starts", i, iv.Start, iv.End)
		}
		if iv.End == iv.Start {
			return fmt.Errorf("interval %d [%d,%d) is empty", i, iv.Start, iv.End)
		}
		switch {
		case i == 0 && iv.Start < g.Start:
			return fmt.Errorf("interval 0 [%d,%d) starts before the goroutine's life [%d,%d)", iv.Start, iv.End, g.Start, g.End)
		case i == 0 && iv.Start > g.Start:
			return fmt.Errorf("gap [%d,%d) between the goroutine's start and interval 0 [%d,%d)", g.Start, iv.Start, iv.Start, iv.End)
		case iv.Start < prevEnd:
			return fmt.Errorf("interval %d [%d,%d) overlaps interval %d [%d,%d)", i, iv.Start, iv.End, i-1, g.Intervals[i-1].Start, prevEnd)
		case iv.Start > prevEnd:
			return fmt.Errorf("gap [%d,%d) between interval %d and interval %d [%d,%d)", prevEnd, iv.Start, i-1, i, iv.Start, iv.End)
		}
		if iv.End > g.End {
			return fmt.Errorf("interval %d [%d,%d) ends after the goroutine's life [%d,%d)", i, iv.Start, iv.End, g.Start, g.End)
		}
		prevEnd = iv.End

		if iv.State < Running || iv.State > Syscall {
			return fmt.Errorf("interval %d [%d,%d): invalid state %v", i, iv.Start, iv.End, iv.State)
		}
		if iv.Reason != "" && iv.State != Waiting && iv.State != Runnable {
			return fmt.Errorf("interval %d [%d,%d): %v interval has reason %q (only waiting and runnable intervals have reasons)", i, iv.Start, iv.End, iv.State, iv.Reason)
		}
		if iv.Inferred && iv.State != Running {
			return fmt.Errorf("interval %d [%d,%d): %v interval is marked inferred (only running intervals are)", i, iv.Start, iv.End, iv.State)
		}
		if iv.Waker < 0 {
			return fmt.Errorf("interval %d [%d,%d): negative waker %d", i, iv.Start, iv.End, iv.Waker)
		}
		if err := p.checkStack(iv.Stack); err != nil {
			return fmt.Errorf("interval %d [%d,%d): %w", i, iv.Start, iv.End, err)
		}
	}
	if prevEnd < g.End {
		n := len(g.Intervals)
		return fmt.Errorf("gap [%d,%d) between interval %d and the goroutine's end", prevEnd, g.End, n-1)
	}
	return nil
}
