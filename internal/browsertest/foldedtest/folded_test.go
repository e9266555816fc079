package foldedtest

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/internal/browsertest"
	"github.com/reqprof/reqprof/internal/testprofile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/folded"
)

const pkg = "github.com/reqprof/reqprof/internal/testprofile."

// stacks returns the stacks of folded data, one a line ("a;b;c 42"). The
// format's strict checks (sorting, totals, a final newline) are
// render/folded's, on the same renderings (its TestGolden, TestRealProfile).
func stacks(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			t.Fatalf("malformed line %q", line)
		}
		out = append(out, line[:i])
	}
	return out
}

// A real profile: the Speedscope app imports the file with its
// collapsed-stack importer and lists the request's frames.
func TestRealProfileInSpeedscope(t *testing.T) {
	p := testprofile.Capture(t)
	var b bytes.Buffer
	if err := folded.Render(&b, p, render.Options{}); err != nil {
		t.Fatal(err)
	}
	name := "synthetic" + folded.Extension
	r := browsertest.OpenInSpeedscope(t, name, b.Bytes())
	browsertest.SaveScreenshot(t, r, "folded-critical.png")
	if r.Importer != "collapsed" {
		t.Errorf("imported as %q, want collapsed", r.Importer)
	}
	// Speedscope names a collapsed-stack profile after its file.
	if r.Title != name {
		t.Errorf("title %q, want %q", r.Title, name)
	}
	for _, w := range []string{testprofile.Name, pkg + "Request", pkg + "PhaseBurn", pkg + "PhaseSleep", pkg + "PhaseMutex", pkg + "PhaseFanout", pkg + "MutexHolder", "[wait: sleep]", "[wait: sync]"} {
		if !r.HasFrame(w) {
			t.Errorf("the Sandwich view lists no %q; it lists %q", w, r.Frames)
		}
	}
	if t.Failed() {
		t.Logf("console:\n%s", strings.Join(r.Log, "\n"))
	}
}

// The hand-built profile in the real app: every frame of the file is
// listed in the Sandwich view.
func TestHandmadeInSpeedscope(t *testing.T) {
	var b bytes.Buffer
	if err := folded.RenderUnit(&b, testprofile.Handmade(), render.Options{NoGroup: true}, time.Microsecond); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	r := browsertest.OpenInSpeedscope(t, "handmade"+folded.Extension, data)
	if r.Importer != "collapsed" {
		t.Errorf("imported as %q", r.Importer)
	}
	for _, s := range stacks(t, data) {
		for _, f := range strings.Split(s, ";") {
			if !r.HasFrame(f) {
				t.Errorf("frame %q not in the Sandwich view %q", f, r.Frames)
			}
		}
	}
}
