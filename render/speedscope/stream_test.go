package speedscope_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/speedscope"
	"github.com/reqprof/reqprof/view"
)

// synthetic returns a profile of g goroutines with n intervals each,
// cycling through the states over a few stacks, waits woken by the
// previous goroutine, and frame names that need JSON escapes.
func synthetic(g, n int) *profile.Profile {
	p := &profile.Profile{Name: "GET /x?q=\"a\"\n", Stacks: []profile.Stack{{}}}
	for i := range 12 {
		p.Frames = append(p.Frames, profile.Frame{Func: fmt.Sprintf("example.com/app/p%d.F%d", i%3, i), File: fmt.Sprintf("/app/p%d/f.go", i%3), Line: 10 + i})
	}
	p.Frames[5].Func = "example.com/app.(*T).M\t<\"x\">\\"
	for i := range 15 {
		var fs []profile.FrameID
		for d := range 2 + i%5 {
			fs = append(fs, profile.FrameID((i*5+d*3)%len(p.Frames)))
		}
		fs[0] = 0
		p.Stacks = append(p.Stacks, profile.Stack{Frames: fs})
	}
	const step = 1000
	p.Duration = int64(n * step)
	for gi := range g {
		gr := profile.Goroutine{ID: int64(gi + 1), Member: true, Start: 0, End: p.Duration, Entry: profile.StackID(1 + gi%15)}
		if gi > 0 {
			gr.Parent, gr.CreatedAt = 1, 1
		}
		for k := range n {
			iv := profile.Interval{Start: int64(k * step), End: int64((k + 1) * step), Stack: profile.StackID(1 + (gi*3+k/2)%15)}
			switch k % 4 {
			case 0:
				iv.State, iv.Inferred = profile.Running, k%8 == 0
			case 1:
				iv.State, iv.Reason = profile.Waiting, []string{"network", "sync", "select"}[k%3]
				if gi > 0 {
					iv.Waker = int64(gi)
				}
			case 2:
				iv.State = profile.Runnable
			case 3:
				iv.State = profile.Syscall
			}
			gr.Intervals = append(gr.Intervals, iv)
		}
		p.Goroutines = append(p.Goroutines, gr)
	}
	return p
}

// TestRenderIsBuildEncoded checks that the streaming Render writes the
// bytes of the file Build makes, encoded, in every view.
func TestRenderIsBuildEncoded(t *testing.T) {
	p := synthetic(20, 40)
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []view.Kind{view.Critical, view.Goroutines, view.All} {
		for _, nogroup := range []bool{false, true} {
			o := render.Options{View: k, NoGroup: nogroup}
			var streamed, built bytes.Buffer
			if err := speedscope.Render(&streamed, p, o); err != nil {
				t.Fatal(err)
			}
			f, err := speedscope.Build(p, o)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Encode(&built); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(streamed.Bytes(), built.Bytes()) {
				t.Errorf("view %s, nogroup %v: Render wrote %d bytes, Build+Encode %d, not the same", k, nogroup, streamed.Len(), built.Len())
			}
			back, err := speedscope.Decode(&streamed)
			if err != nil {
				t.Fatal(err)
			}
			if err := back.CheckValid(); err != nil {
				t.Errorf("view %s: %v", k, err)
			}
			if len(back.Profiles) < 2 || len(back.Shared.Frames) == 0 {
				t.Errorf("view %s: %d profiles, %d frames", k, len(back.Profiles), len(back.Shared.Frames))
			}
		}
	}
}
