package tracedec

import (
	"bytes"
	"context"
	"runtime/trace"
	"testing"
	"time"
)

// TestAnotherCaptureBeforeTheID records the wanted capture's task
// beginning, then another capture's whole task (its id logged, as capture
// does right after beginning), and only then the wanted task's id: the
// other capture's id must not make the decoder forget the history of the
// task begun before it, whose id it has not yet seen. (Concurrent
// profiled requests interleave so; the profile had a gap in its
// goroutines' intervals.)
func TestAnotherCaptureBeforeTheID(t *testing.T) {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: time.Minute, MaxBytes: 64 << 20})
	if err := fr.Start(); err != nil {
		t.Skipf("flight recorder unavailable: %v", err)
	}
	defer fr.Stop()
	ctx, task := trace.NewTask(context.Background(), "wanted")
	other := make(chan struct{})
	go func() {
		octx, otask := trace.NewTask(context.Background(), "other")
		trace.Log(octx, testOptions.IDCategory, "other")
		time.Sleep(time.Millisecond)
		otask.End()
		close(other)
	}()
	<-other
	trace.Log(ctx, testOptions.IDCategory, "wanted")
	time.Sleep(2 * time.Millisecond)
	task.End()
	var buf bytes.Buffer
	if _, err := fr.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	res, err := Extract(buf.Bytes(), []Request{{ID: "wanted"}}, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	p := res[0].Profile
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	var covered int64
	for _, iv := range p.Goroutines[0].Intervals {
		covered += iv.End - iv.Start
	}
	if covered != p.Duration {
		t.Errorf("the root goroutine's intervals cover %d ns of the work's %d", covered, p.Duration)
	}
}
