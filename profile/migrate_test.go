package profile_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/internal/golden"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/folded"
	"github.com/reqprof/reqprof/render/text"
	"github.com/reqprof/reqprof/view"
)

// TestVersion1FilesRenderTheSame decodes .reqprof files written by format
// version 1 (by reqprof.Do and by the HTTP middleware) and renders them in
// every view: the renderings were made by the version of reqprof that wrote
// the files, and the migration must reproduce them but for what the
// rendering rules changed since (unsampled running time shows as
// "[running, unsampled]", the header says how much of the running time was
// sampled); the golden files hold the renderings of today's rules.
func TestVersion1FilesRenderTheSame(t *testing.T) {
	for _, name := range []string{"v1-do", "v1-http"} {
		data, err := os.ReadFile(filepath.Join("testdata", name+".reqprof"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := profile.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var out bytes.Buffer
		for _, k := range view.Kinds() {
			out.WriteString("== text " + string(k) + "\n")
			if err := text.Render(&out, p, render.Options{View: k}); err != nil {
				t.Fatalf("%s: text %s: %v", name, k, err)
			}
			out.WriteString("== folded " + string(k) + " (ungrouped)\n")
			if err := folded.Render(&out, p, render.Options{View: k, NoGroup: true}); err != nil {
				t.Fatalf("%s: folded %s: %v", name, k, err)
			}
		}
		if !strings.Contains(out.String(), "[reqprof]") && !golden.Updating() {
			t.Logf("%s: no [reqprof] frame in the renderings", name)
		}
		golden.Check(t, filepath.Join("testdata", name+".golden"), out.Bytes())
	}
}

// TestVersion1Migration checks what the migration fills in, and that the
// migrated profile, written again (as version 2), reads back the same.
func TestVersion1Migration(t *testing.T) {
	for _, name := range []string{"v1-do", "v1-http"} {
		data, err := os.ReadFile(filepath.Join("testdata", name+".reqprof"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := profile.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Library) == 0 {
			t.Errorf("%s: no library prefixes after migration", name)
		}
		work := p.Stacks[p.Work].Frames
		if len(work) == 0 {
			t.Fatalf("%s: no work boundary after migration", name)
		}
		if last := p.Frames[work[len(work)-1]].Func; !strings.HasPrefix(last, "github.com/reqprof/reqprof.run") {
			t.Errorf("%s: the boundary ends in %s, want version 1's work entry", name, last)
		}
		var buf bytes.Buffer
		if err := p.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		q, err := profile.Decode(&buf)
		if err != nil {
			t.Fatalf("%s: the migrated profile, written as version %d: %v", name, profile.FormatVersion, err)
		}
		if q.String() != p.String() {
			t.Errorf("%s: the migrated profile differs once written and read back:\n%s", name, golden.Diff(p.String(), q.String()))
		}
	}
}
