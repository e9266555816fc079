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
// the files, so the migration must reproduce them exactly.
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
		for _, k := range view.Kinds {
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
