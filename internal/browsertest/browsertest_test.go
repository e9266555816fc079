package browsertest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/internal/browsertest"
)

func TestImporterOf(t *testing.T) {
	for msg, want := range map[string]string{
		"log: Importing as speedscope json file":        "speedscope",
		"log: Importing as Trace Event Format profile":  "trace-event",
		"log: Importing as collapsed stack format":      "collapsed",
		"log: Importing as protobuf encoded pprof file": "pprof",
		"log: Importing as Chrome CPU Profile":          "Chrome CPU Profile",
		"log: something else":                           "",
	} {
		if got := browsertest.ImporterOf(msg); got != want {
			t.Errorf("ImporterOf(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestRepoRoot(t *testing.T) {
	root := browsertest.RepoRoot()
	if root == "" {
		t.Fatal("no repository root found")
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
}

const evented = `{"$schema":"https://www.speedscope.app/file-format-schema.json","name":"tiny",
"shared":{"frames":[{"name":"main.a","file":"a.go","line":3},{"name":"main.b"},{"name":"[wait: sleep]"}]},
"activeProfileIndex":0,"exporter":"test",
"profiles":[{"type":"evented","name":"critical path","unit":"nanoseconds","startValue":0,"endValue":100,
"events":[{"type":"O","frame":0,"at":0},{"type":"O","frame":1,"at":10},{"type":"O","frame":2,"at":20},{"type":"C","frame":2,"at":80},{"type":"C","frame":1,"at":90},{"type":"C","frame":0,"at":100}]}]}`

func TestOpenInSpeedscope(t *testing.T) {
	r := browsertest.OpenInSpeedscope(t, "tiny.speedscope.json", []byte(evented))
	if r.Importer != "speedscope" {
		t.Errorf("importer %q", r.Importer)
	}
	if r.Title != "tiny" {
		t.Errorf("title %q", r.Title)
	}
	for _, f := range []string{"main.a", "main.b", "[wait: sleep]"} {
		if !r.HasFrame(f) {
			t.Errorf("frame %q not in %q", f, r.Frames)
		}
	}
	if len(r.Screenshot) < 8 || string(r.Screenshot[1:4]) != "PNG" {
		t.Errorf("screenshot is not a PNG")
	}
	os.WriteFile(filepath.Join(t.TempDir(), "tiny.png"), r.Screenshot, 0o644)
	t.Logf("frames %q\nlog %q", r.Frames, r.Log)
}

func TestOpenFolded(t *testing.T) {
	r := browsertest.OpenInSpeedscope(t, "x.folded", []byte("req;main.a;main.b 5\nreq;main.a 3\nreq;[wait: sleep] 2\n"))
	if r.Importer != "collapsed" {
		t.Errorf("importer %q", r.Importer)
	}
	t.Logf("title %q frames %q", r.Title, r.Frames)
}

// fatalTB records the first Fatal instead of failing the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// The harness fails on what a person would see as broken: an import error,
// an alert, the landing page.
func TestOpenInSpeedscopeFails(t *testing.T) {
	browsertest.Chromium(t) // skip here, on the test's goroutine
	browsertest.Speedscope(t)
	t.Setenv(browsertest.TimeoutEnv, "20s")
	for _, c := range []struct {
		name, file, data, want string
	}{
		{"nesting", "x.speedscope.json", strings.Replace(evented, `{"type":"C","frame":2,"at":80},{"type":"C","frame":1,"at":90}`, `{"type":"C","frame":1,"at":80},{"type":"C","frame":2,"at":90}`, 1), "Something went wrong"},
		{"active index", "x.speedscope.json", strings.Replace(evented, `"activeProfileIndex":0`, `"activeProfileIndex":3`, 1), "landing page"},
		{"garbage", "x.txt", "this is not a profile\n", "alert"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.data == evented {
				t.Fatal("test data not broken")
			}
			f := &fatalTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				browsertest.OpenInSpeedscope(f, c.file, []byte(c.data))
			}()
			<-done
			if f.msg == "" {
				t.Fatal("OpenInSpeedscope accepted a broken file")
			}
			if !strings.Contains(f.msg, c.want) || !strings.Contains(f.msg, "browser console") {
				t.Errorf("failure message lacks %q or the console:\n%s", c.want, f.msg)
			}
			t.Logf("%.300s", f.msg)
		})
	}
}

// The Sandwich table is virtualised; the harness scrolls through it.
func TestManyFrames(t *testing.T) {
	var b strings.Builder
	for i := range 300 {
		fmt.Fprintf(&b, "root;frame%03d %d\n", i, 1000-i)
	}
	r := browsertest.OpenInSpeedscope(t, "many.folded", []byte(b.String()))
	if len(r.Frames) != 301 {
		t.Errorf("%d frames listed, want 301", len(r.Frames))
	}
	for i := range 300 {
		if n := fmt.Sprintf("frame%03d", i); !r.HasFrame(n) {
			t.Errorf("%s missing", n)
		}
	}
}
