package html

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// costProfile is 6 ms of work: [reqprof] running 0–1 ms and waiting for its
// own lock 1–3 ms (not followed), then main.work running 3–6 ms, unsampled
// 3–4 ms and sampled once at 5 ms; reqprof added 1.5 ms before the window.
func costProfile() *profile.Profile {
	p := &profile.Profile{
		Name: "GET /cost", Duration: 6 * ms, SamplePeriod: 4 * ms,
		Frames: []profile.Frame{
			{Func: "main.main"}, {Func: "github.com/reqprof/reqprof.Do"},
			{Func: "github.com/reqprof/reqprof/capture.(*Manager).Start"}, {Func: "sync.(*Mutex).Lock"},
			{Func: "main.other"}, {Func: "github.com/reqprof/reqprof/capture.Run"}, {Func: "main.work"},
		},
		Stacks: []profile.Stack{
			{}, {Frames: []profile.FrameID{0}},
			{Frames: []profile.FrameID{0, 1, 2, 3}},
			{Frames: []profile.FrameID{4}},
			{Frames: []profile.FrameID{0, 1, 5}},
			{Frames: []profile.FrameID{0, 1, 5, 6}},
		},
		Base: 1, Work: 4,
		Goroutines: []profile.Goroutine{
			{ID: 1, Member: true, End: 6 * ms, Intervals: []profile.Interval{
				{Start: 0, End: 1 * ms, State: profile.Running, Stack: 2},
				{Start: 1 * ms, End: 3 * ms, State: profile.Waiting, Reason: "sync", Stack: 2, Waker: 9},
				{Start: 3 * ms, End: 4 * ms, State: profile.Running, Stack: 5, Inferred: true},
				{Start: 4 * ms, End: 6 * ms, State: profile.Running, Stack: 5},
			}},
			{ID: 9, End: 6 * ms, Intervals: []profile.Interval{{Start: 0, End: 6 * ms, State: profile.Running, Stack: 3}}},
		},
		Samples: []profile.Sample{{Time: 5 * ms, Goroutine: 1, Stack: 5}},
	}
	p.SetAttr(profile.AttrOverhead, "1.5ms")
	return p
}

// costSummary is the part of the JSON model the header's CPU and reqprof
// facts read.
type costSummary struct {
	Summary struct {
		Total         int64 `json:"total"`
		CPU           int64 `json:"cpu"`
		Unsampled     int64 `json:"unsampled"`
		Samples       int   `json:"samples"`
		SamplePeriod  int64 `json:"samplePeriod"`
		Reqprof       int64 `json:"reqprof"`
		ReqprofBefore int64 `json:"reqprofBefore"`
	} `json:"summary"`
}

func decodeCost(t *testing.T, page string) costSummary {
	t.Helper()
	ms := dataTag.FindStringSubmatch(page)
	if ms == nil {
		t.Fatal("no model in the page")
	}
	var c costSummary
	if err := json.Unmarshal([]byte(ms[1]), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// The header's model carries the running time's sampled share and the
// profiler's cost before and inside the window, as view.Summary has them.
func TestHeaderSampledShareAndCost(t *testing.T) {
	p := costProfile()
	var b bytes.Buffer
	if err := Render(&b, p, render.Options{}); err != nil {
		t.Fatal(err)
	}
	got := decodeCost(t, b.String()).Summary
	sum := view.Summarize(p)
	// Running: [reqprof] 0–1 and main.work 3–6, of which 3–4 unsampled;
	// reqprof inside: 0–3 (its wait included).
	if got.CPU != 4*ms || got.Unsampled != 1*ms || got.CPU != sum.CPU || got.Unsampled != sum.CPUInferred {
		t.Errorf("cpu %d, unsampled %d; want 4ms, 1ms (summary %v)", got.CPU, got.Unsampled, sum)
	}
	if got.Samples != 1 || got.SamplePeriod != 4*ms {
		t.Errorf("samples %d, period %d", got.Samples, got.SamplePeriod)
	}
	if got.Reqprof != 3*ms || got.ReqprofBefore != 1*ms+500_000 {
		t.Errorf("reqprof inside %d, before %d; want 3ms, 1.5ms", got.Reqprof, got.ReqprofBefore)
	}
}

// A stack set's header says how much of its running time was sampled.
func TestStacksHeaderSampledShare(t *testing.T) {
	p := costProfile()
	cp := view.CriticalPath(p)
	s := view.NewStackSet("set", "critical")
	s.AddTimeline(0, &cp)
	var b bytes.Buffer
	if err := RenderStacks(&b, s, render.Options{}, Page{}); err != nil {
		t.Fatal(err)
	}
	got := decodeCost(t, b.String()).Summary
	if got.Total != 6*ms || got.CPU != 4*ms || got.Unsampled != 1*ms || got.Reqprof != 3*ms {
		t.Errorf("set summary %+v, want total 6ms, cpu 4ms, unsampled 1ms, reqprof 3ms", got)
	}
}
