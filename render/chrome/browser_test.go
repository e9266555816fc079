package chrome_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/internal/browsertest"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/chrome"
)

// speedscopeFrame is the frame name Speedscope's Trace Event importer gives
// a slice: its name, then its args as JSON.
func speedscopeFrame(s *vslice) string {
	if s.ArgsRaw == nil {
		return s.Name
	}
	return s.Name + " " + string(s.ArgsRaw)
}

// openInSpeedscope opens data in the Speedscope app and checks that its
// Trace Event importer read it without repairing anything, and that the
// profile it shows (the thread with the lowest id) lists every frame of
// that thread in its Sandwich view.
func openInSpeedscope(t *testing.T, name string, data []byte) browsertest.Result {
	t.Helper()
	tr := check(t, data)
	res := browsertest.OpenInSpeedscope(t, name, data)
	browsertest.SaveScreenshot(t, res, name+".png")
	if res.Importer != "trace-event" {
		t.Errorf("imported by %q, want trace-event", res.Importer)
	}
	if res.Title != name {
		t.Errorf("title %q, want the file name %q", res.Title, name)
	}
	// Speedscope says when it ignores an end ("... Doing nothing
	// instead."), finds none to close ("the stack was empty") or closes a
	// frame at the end of the profile ("... still open ..."): then its
	// frames are not our slices. ("Ending X instead." is not such a case:
	// it pops the frame on top, rightly, after looking at another end of
	// the same time and name.)
	for _, l := range res.Log {
		if strings.Contains(l, "Doing nothing") || strings.Contains(l, "stack was empty") || strings.Contains(l, "still open") || strings.Contains(l, "Skipping") {
			t.Errorf("speedscope: %s", l)
		} else if strings.Contains(l, "Tried to end") {
			t.Logf("speedscope: %s", l)
		}
	}
	first := int64(-1)
	for tid := range tr.Slices {
		if first < 0 || tid < first {
			first = tid
		}
	}
	var want []string
	for _, s := range tr.Slices[first] {
		if f := speedscopeFrame(s); !slices.Contains(want, f) {
			want = append(want, f)
		}
	}
	for _, f := range want {
		if !res.HasFrame(f) {
			t.Errorf("the Sandwich view lacks %q; it lists %q", f, res.Frames)
		}
	}
	for _, f := range res.Frames {
		if !slices.Contains(want, f) {
			t.Errorf("the Sandwich view lists %q, not a slice of thread %d", f, first)
		}
	}
	return res
}

func TestSpeedscopeHandProfile(t *testing.T) {
	res := openInSpeedscope(t, "handler"+chrome.Extension, render1(t, handProfile(), render.Options{}))
	for _, f := range []string{
		`main.handler {"file":"/app/main.go"}`,
		`[wait: chan receive] {"state":"waiting","reason":"chan receive","woken_by":7,"at":"/app/main.go:38"}`,
		`[running] {"state":"running","unsampled":true}`,
	} {
		if !res.HasFrame(f) {
			t.Errorf("no frame %q", f)
		}
	}
}

func TestSpeedscopeRealCapture(t *testing.T) {
	p := capture(t)
	res := openInSpeedscope(t, "capture"+chrome.Extension, render1(t, p.Profile, render.Options{}))
	if len(res.Frames) == 0 {
		t.Error("no frames")
	}
}
