package layering

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestCoreRequiresWhatItImports checks that every module the core module's
// go.mod requires provides a package that the core's packages (not their
// tests) import, directly or not: an application that imports reqprof gets
// no module in its go.sum for reqprof's tests, tools or other modules (the
// browser tests' chromedp lives in internal/browsertest's module).
func TestCoreRequiresWhatItImports(t *testing.T) {
	gobin := goBin(t)
	cmd := exec.Command(gobin, "mod", "edit", "-json")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod edit -json: %v", err)
	}
	var gomod struct {
		Module  struct{ Path string }
		Require []struct{ Path string }
	}
	if err := json.Unmarshal(out, &gomod); err != nil {
		t.Fatal(err)
	}
	if gomod.Module.Path != mod {
		t.Fatalf("go.mod of %s, want %s", gomod.Module.Path, mod)
	}
	// ./... is the core module's packages only: the directories of the
	// other modules are not part of it.
	cmd = exec.Command(gobin, "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", "./...")
	cmd.Dir = "../.."
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	used := strings.Fields(string(out))
	for _, r := range gomod.Require {
		if !slices.Contains(used, r.Path) {
			t.Errorf("go.mod requires %s, which no package of the core module imports", r.Path)
		}
	}
	if len(gomod.Require) == 0 {
		t.Error("go.mod requires nothing: the core imports x/exp/trace and google/pprof")
	}
}
