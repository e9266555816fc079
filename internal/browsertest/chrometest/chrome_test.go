package chrometest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/internal/browsertest"
	"github.com/reqprof/reqprof/internal/testprofile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/chrome"
)

// firstThreadFrames returns the frame names Speedscope's Trace Event
// importer gives the slices (B and X events) of the thread with the lowest
// id among those with slices: each slice's name, then its args as they are
// in the file (JSON), each name once. The file's structure is checked by
// render/chrome's tests (their validator), on the same files: the golden
// file below and a real capture's rendering.
func firstThreadFrames(t *testing.T, data []byte) (int64, []string) {
	t.Helper()
	var f struct {
		TraceEvents []struct {
			Ph   string          `json:"ph"`
			Name string          `json:"name"`
			TID  int64           `json:"tid"`
			Args json.RawMessage `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("not a trace: %v", err)
	}
	first, found := int64(0), false
	for _, e := range f.TraceEvents {
		if (e.Ph == "B" || e.Ph == "E" || e.Ph == "X") && (!found || e.TID < first) {
			first, found = e.TID, true
		}
	}
	if !found {
		t.Fatal("the trace has no slices")
	}
	var frames []string
	for _, e := range f.TraceEvents {
		if e.TID != first || (e.Ph != "B" && e.Ph != "X") {
			continue
		}
		name := e.Name
		if e.Args != nil {
			name += " " + string(e.Args)
		}
		if !slices.Contains(frames, name) {
			frames = append(frames, name)
		}
	}
	return first, frames
}

// openInSpeedscope opens data in the Speedscope app and checks that its
// Trace Event importer read it without repairing anything, and that the
// profile it shows (the thread with the lowest id) lists every frame of
// that thread in its Sandwich view.
func openInSpeedscope(t *testing.T, name string, data []byte) browsertest.Result {
	t.Helper()
	first, want := firstThreadFrames(t, data)
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

// TestSpeedscopeHandProfile opens render/chrome's golden file of its
// hand-built profile (handProfile, rendered with the default options; its
// TestGolden keeps the file equal to the rendering and valid).
func TestSpeedscopeHandProfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(browsertest.RepoRoot(), "render", "chrome", "testdata", "handler.trace.json.golden"))
	if err != nil {
		t.Fatal(err)
	}
	res := openInSpeedscope(t, "handler"+chrome.Extension, data)
	for _, f := range []string{
		`main.handler {"file":"/app/main.go"}`,
		`[wait: chan receive] {"state":"waiting","reason":"chan receive","woken_by":7,"at":"/app/main.go:38"}`,
		`[running, unsampled] {"state":"running","unsampled":true}`,
	} {
		if !res.HasFrame(f) {
			t.Errorf("no frame %q", f)
		}
	}
}

// TestSpeedscopeRealCapture opens the rendering of a real capture
// (testprofile's synthetic request).
func TestSpeedscopeRealCapture(t *testing.T) {
	var b strings.Builder
	if err := chrome.Render(&b, testprofile.Capture(t), render.Options{}); err != nil {
		t.Fatal(err)
	}
	res := openInSpeedscope(t, "capture"+chrome.Extension, []byte(b.String()))
	if len(res.Frames) == 0 {
		t.Error("no frames")
	}
}
