package tracedec

import (
	"time"

	xtrace "golang.org/x/exp/trace"
)

// clock is a synchronisation point between the trace's clock and the wall
// clock (the trace's clock snapshots).
type clock struct {
	trace xtrace.Time
	wall  int64 // unix nanoseconds
}

// wall converts a trace time to wall-clock time, from the latest clock
// snapshot at or before it (the earliest one when none is).
func (b *builder) wall(ts xtrace.Time) (t time.Time, ok bool) {
	var best *clock
	for i := range b.t.clocks {
		c := &b.t.clocks[i]
		if best == nil || (c.trace <= ts && c.trace > best.trace) {
			best = c
		}
	}
	if best == nil {
		return time.Time{}, false
	}
	return time.Unix(0, best.wall+int64(ts-best.trace)), true
}
