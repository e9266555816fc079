// Package layering checks that imports flow one way along the pipeline:
// capture → model → views → renderers → delivery.
package layering

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const mod = "github.com/reqprof/reqprof"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

// packages lists reqprof's packages (not tests) with their imports and
// transitive dependencies.
func packages(t *testing.T) map[string]pkg {
	t.Helper()
	gobin := goBin(t)
	cmd := exec.Command(gobin, "list", "-deps", "-json", mod+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	all := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		all[p.ImportPath] = p
	}
	return all
}

func ours(path string) bool { return path == mod || strings.HasPrefix(path, mod+"/") }

// under reports whether path is dir or inside it.
func under(path, dir string) bool {
	return path == mod+"/"+dir || strings.HasPrefix(path, mod+"/"+dir+"/")
}

func TestImportsFlowOneWay(t *testing.T) {
	all := packages(t)
	forbidden := map[string][]string{
		// The model: the standard library only.
		"profile": {"!std"},
		// Views, renderers and the store never reach for delivery, the
		// capture engine or the trace parser.
		"view":   {"net/http", mod + "/capture", "golang.org/x/exp/trace", mod + "/render", mod + "/store", mod + "/serve", mod + "/httpprof", mod + "/ui"},
		"render": {"net/http", mod + "/capture", "golang.org/x/exp/trace", mod + "/store", mod + "/serve", mod + "/httpprof", mod + "/ui"},
		// Aggregates are model-level: many profiles as stack sets, above
		// the views, below every renderer.
		"aggregate": {"net/http", mod + "/capture", "golang.org/x/exp/trace", mod + "/render", mod + "/store", mod + "/serve", mod + "/httpprof", mod + "/ui"},
		"store":     {"net/http", mod + "/capture", "golang.org/x/exp/trace", mod + "/view", mod + "/render", mod + "/serve", mod + "/httpprof", mod + "/ui"},
		// The delivery core knows no HTTP.
		"serve": {"net/http", mod + "/httpprof", mod + "/ui"},
		// The capture engine knows nothing above the model.
		"capture": {mod + "/view", mod + "/render", mod + "/store", mod + "/serve", mod + "/httpprof", mod + "/ui"},
		"ui":      {mod + "/httpprof", mod + "/serve", mod + "/capture"},
	}
	checked := 0
	for path, p := range all {
		if !ours(path) {
			continue
		}
		for dir, bans := range forbidden {
			if !under(path, dir) {
				continue
			}
			checked++
			for _, d := range p.Deps {
				dp := all[d]
				for _, ban := range bans {
					if ban == "!std" && !dp.Standard && !under(d, "profile") {
						t.Errorf("%s depends on %s: the model imports the standard library only", path, d)
					}
					if d == ban || strings.HasPrefix(d, ban+"/") {
						t.Errorf("%s depends on %s", path, d)
					}
				}
			}
		}
	}
	if checked < 8 {
		t.Fatalf("only %d packages checked: is the module layout what this test expects?", checked)
	}
}

func TestOneImporterOfTheTraceParser(t *testing.T) {
	for path, p := range packages(t) {
		if !ours(path) {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "golang.org/x/exp/trace") && path != mod+"/internal/tracedec" {
				t.Errorf("%s imports %s: only internal/tracedec may", path, imp)
			}
		}
	}
}

// goBin finds the go command that runs this test.
func goBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH:", err)
	}
	return p
}

// TestModelNamesNoDelivery checks that the model, the views and the
// renderers name no function of reqprof's own packages in a string: the
// work's boundary and the profiler's packages are data in each profile.
// The one exception is profile/migrate.go, which fills that data in for
// files written before it was recorded.
func TestModelNamesNoDelivery(t *testing.T) {
	fset := token.NewFileSet()
	files := 0
	for _, dir := range []string{"profile", "view", "aggregate", "render"} {
		err := filepath.WalkDir(filepath.Join("../..", dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || strings.HasSuffix(p, "migrate.go") {
				return err
			}
			f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			files++
			imports := map[*ast.BasicLit]bool{}
			for _, is := range f.Imports {
				imports[is.Path] = true
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && !imports[lit] && strings.Contains(lit.Value, mod) {
					t.Errorf("%s names a reqprof package: %s", fset.Position(lit.Pos()), lit.Value)
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 10 {
		t.Fatalf("only %d files read", files)
	}
}
