package aggregate_test

import (
	"math"
	"testing"
	"time"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/view"
)

func many(t *testing.T, n int, load int64) *aggregate.Aggregate {
	t.Helper()
	var as []*aggregate.Aggregate
	for i := range n {
		as = append(as, from(t, phases("GET /x", t0.Add(time.Duration(i)*time.Second), 2*ms, load, ms, 3*ms)))
	}
	return merge(t, as...)
}

func findDiff(n *aggregate.DiffNode, name string) *aggregate.DiffNode {
	if n.Frame.Name == name {
		return n
	}
	for _, c := range n.Children {
		if f := findDiff(c, name); f != nil {
			return f
		}
	}
	return nil
}

// TestDiffFindsTheSlowerPhase diffs 10 requests against 30 whose database
// phase takes twice as long: the phase's node changes by +4ms per request,
// +100%, whatever the numbers of requests; the others do not change; the
// reverse diff has the opposite sign.
func TestDiffFindsTheSlowerPhase(t *testing.T) {
	before, after := many(t, 10, 4*ms), many(t, 30, 8*ms)
	d, err := aggregate.Compare(before, after, aggregate.DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	load := findDiff(d.Root, "example.com/app.load")
	if load == nil {
		t.Fatal("no load node")
	}
	if load.Delta() != float64(4*ms) || load.Relative() != 1 {
		t.Errorf("load: Δ %v, relative %v; want +4ms, +100%%", time.Duration(load.Delta()), load.Relative())
	}
	if load.A.Requests != 10 || load.B.Requests != 30 || load.A.Median < 4*ms*15/16 || load.A.Median > 4*ms*17/16 {
		t.Errorf("load: requests %d and %d, median before %v", load.A.Requests, load.B.Requests, time.Duration(load.A.Median))
	}
	if d.Root.Delta() != float64(4*ms) {
		t.Errorf("root: Δ %v, want +4ms", time.Duration(d.Root.Delta()))
	}
	for _, name := range []string{"example.com/app.authorize", "example.com/app.render", "[wait: sleep]"} {
		n := findDiff(d.Root, name)
		if n == nil || n.Delta() != 0 || n.A.Total == 0 {
			t.Errorf("%s: %+v, want unchanged", name, n)
		}
	}
	// The largest flat change is in the goroutine the handler waited for:
	// its network wait, 3/4 of the phase.
	fs := d.Funcs()
	if fs[0].Frame.Name != "[wait: network]" || fs[0].Difference != float64(3*ms) {
		t.Errorf("largest flat change: %s %v, want [wait: network] +3ms", fs[0].Frame.Name, time.Duration(fs[0].Difference))
	}
	rev, err := aggregate.Compare(after, before, aggregate.DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := findDiff(rev.Root, "example.com/app.load"); n.Delta() != float64(-4*ms) || n.Relative() != -0.5 {
		t.Errorf("reverse: Δ %v, relative %v; want -4ms, -50%%", time.Duration(n.Delta()), n.Relative())
	}
	// A node only one side has.
	cpu, err := aggregate.Compare(before, after, aggregate.DiffOptions{Type: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	if cpu.Root.Delta() != float64(ms) { // the query goroutine's running time, load/4
		t.Errorf("cpu: Δ %v, want +1ms", time.Duration(cpu.Root.Delta()))
	}
	if _, err := aggregate.Compare(before, after, aggregate.DiffOptions{Type: "nope"}); err == nil {
		t.Error("diff of an unknown type")
	}
	var w []aggregate.WaitDiff = d.Waits()
	if w[0].Reason != "chan receive" && w[0].Reason != "network" {
		t.Errorf("waits %+v", w)
	}
}

func TestRelative(t *testing.T) {
	n := &aggregate.DiffNode{Frame: view.Frame{Name: "x"}, B: aggregate.Side{Total: 5}}
	if !math.IsInf(n.Relative(), 1) {
		t.Errorf("new node: %v", n.Relative())
	}
	n.B.Total = 0
	if n.Relative() != 0 {
		t.Errorf("empty node: %v", n.Relative())
	}
}
