package serve

import (
	"testing"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

// The stored summary is the profile's view.Summary: its split, its
// unsampled running time and the profiler's cost, as the UI lists them.
func TestMetaOfSummary(t *testing.T) {
	p := &profile.Profile{
		Name: "GET /x", Duration: 3e6, Start: time.Unix(1, 0),
		Stacks: []profile.Stack{{}},
		Goroutines: []profile.Goroutine{{ID: 1, Member: true, End: 3e6, Intervals: []profile.Interval{
			{Start: 0, End: 1e6, State: profile.Running, Inferred: true},
			{Start: 1e6, End: 2e6, State: profile.Running},
			{Start: 2e6, End: 3e6, State: profile.Waiting, Reason: "network"},
		}}},
	}
	p.SetAttr(profile.AttrOverhead, "1.2ms")
	m := metaOf("id", p)
	sum := view.Summarize(p)
	if m.CPU != 2*time.Millisecond || m.CPUInferred != time.Millisecond || m.Waiting != time.Millisecond ||
		m.OverheadBefore != 1200*time.Microsecond || int64(m.Overhead) != sum.Overhead {
		t.Errorf("stored summary %+v, profile's %v", m.Summary, sum)
	}
}
