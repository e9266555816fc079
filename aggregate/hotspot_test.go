package aggregate_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

var sink uint64

// hotSpot is the work of the short handler: a fixed amount of computation.
//
//go:noinline
func hotSpot(n int) uint64 {
	x := uint64(88172645463325252)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// TestManyRequestsShowTheHotSpot profiles 100 requests of a short handler
// (1ms of CPU in hotSpot, then a 1ms sleep): at the ~250 CPU samples per
// CPU-second reqprof gets from the kernel (its tick, CONFIG_HZ=250, caps
// the rate; see BENCHMARKS.md) most single profiles have no sample in
// hotSpot, so that they cannot say where the handler's CPU time went;
// merged, the samples name hotSpot as the place the CPU time goes.
//
// Tolerances: samples come with CPU time, not wall time, so a loaded
// machine changes nothing but the test's duration. 100 requests of 1ms of
// CPU expect 25 samples in hotSpot (28 at the highest rate measured here,
// 278 per CPU-second); the test asks for 5 (a Poisson(25) draw is below 5
// with probability 1e-6). A single profile expects 0.25–0.28 samples there,
// so 76–78 of 100 profiles have none (binomial, standard deviation 4.2);
// the test asks for 50 (more than 6 standard deviations away).
func TestManyRequestsShowTheHotSpot(t *testing.T) {
	if testing.Short() {
		t.Skip("profiles 100 requests")
	}
	// Calibrate 1ms of CPU: the fastest of 20 runs of about a millisecond
	// is the closest to the CPU time on a loaded machine (a run shorter
	// than the scheduler's time slice often runs undisturbed).
	const probe = 1 << 20
	best := time.Hour
	for range 20 {
		t0 := time.Now()
		sink += hotSpot(probe)
		best = min(best, time.Since(t0))
	}
	n := int(float64(probe) * float64(time.Millisecond) / float64(best))

	var as []*aggregate.Aggregate
	without := 0
	var hotSamples, hotWeight int64 // CPU samples in hotSpot, and their weight, in the single profiles
	for range 100 {
		p, err := reqprof.Do(context.Background(), "GET /short", func(ctx context.Context) error {
			sink += hotSpot(n)
			time.Sleep(time.Millisecond)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		a, err := aggregate.From(p.Profile, aggregate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		hs := leafSamples(a)["hotSpot"]
		if hs == 0 {
			without++
		}
		hotSamples += hs / periodOf(p.Profile)
		hotWeight += hs
		as = append(as, a)
	}
	m, err := aggregate.Merge(as...)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckValid(); err != nil {
		t.Fatal(err)
	}
	leaves := leafSamples(m)
	var top string
	for f, v := range leaves {
		if top == "" || v > leaves[top] || v == leaves[top] && f < top {
			top = f
		}
	}
	t.Logf("%d of 100 single profiles have no sample in hotSpot; merged, the samples' leaves are %v", without, leaves)
	if top != "hotSpot" || hotSamples < 5 || leaves["hotSpot"] != hotWeight {
		t.Errorf("merged, the top CPU-sampled function is %q (%v), want hotSpot with its %d samples (%v of CPU), at least 5", top, leaves, hotSamples, time.Duration(hotWeight))
	}
	if without < 50 {
		t.Errorf("only %d of 100 single profiles have no CPU sample in hotSpot; the test's premise is that most have none", without)
	}
	// The merged tree reaches hotSpot in the requests that had a sample.
	tr := m.Tree(slices.Index(m.Types, aggregate.CPUSampled), aggregate.TreeOptions{})
	var hot *view.Node
	tr.Root.Walk(func(n *view.Node, _ int) {
		if strings.HasSuffix(n.Frame.Name, ".hotSpot") {
			hot = n
		}
	})
	if hot == nil || tr.Dist(hot).N != int64(100-without) {
		t.Errorf("hotSpot node %+v, want it reached in the %d requests with a sample", hot, 100-without)
	}
}

// periodOf is the CPU time one of p's samples stands for in cpu_sampled.
func periodOf(p *profile.Profile) int64 {
	if p.SamplePeriod > 0 {
		return p.SamplePeriod
	}
	return aggregate.SamplePeriod
}

// leafSamples returns the cpu_sampled time by the short name of the
// leaf function of the stacks.
func leafSamples(a *aggregate.Aggregate) map[string]int64 {
	i := slices.Index(a.Types, aggregate.CPUSampled)
	out := map[string]int64{}
	for _, s := range a.Stacks {
		if s.Values[i] == 0 || len(s.Frames) == 0 {
			continue
		}
		name := a.Frames[s.Frames[len(s.Frames)-1]].Name
		out[name[strings.LastIndexByte(name, '.')+1:]] += s.Values[i]
	}
	return out
}
