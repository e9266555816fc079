package workspace

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var raceEnabled bool

// modules returns the directories of the workspace's modules other than
// the root, relative to the root.
func modules(t *testing.T, root string) []string {
	t.Helper()
	if os.Getenv("GOWORK") == "off" {
		t.Skip("GOWORK=off: the other modules are not part of this run")
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Skip("no go.work at the repository root: nothing else to test")
	}
	cmd := exec.Command(goBin(t), "work", "edit", "-json")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go work edit -json: %v", err)
	}
	var w struct{ Use []struct{ DiskPath string } }
	if err := json.Unmarshal(out, &w); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, u := range w.Use {
		if d := filepath.Clean(u.DiskPath); d != "." {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// TestOtherModules runs `go test ./...` in every other module of the
// workspace, with this run's -short and -race, and fails if any fails.
func TestOtherModules(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	// The other modules' tests read these: reading them here tells go
	// test's cache that this result depends on them too.
	for _, v := range []string{"CI", "GOFLAGS", "REQPROF_PG_DSN", "REQPROF_CHROMIUM", "REQPROF_SPEEDSCOPE", "REQPROF_BROWSER_TIMEOUT", "REQPROF_SCREENSHOT_DIR", "REQPROF_JAEGER", "REQPROF_SOAK"} {
		os.Getenv(v)
	}
	for _, dir := range modules(t, root) {
		t.Run(filepath.ToSlash(dir), func(t *testing.T) {
			statAll(filepath.Join(root, dir))
			args := []string{"test"}
			if testing.Short() {
				args = append(args, "-short")
			}
			if raceEnabled {
				args = append(args, "-race")
			}
			args = append(args, "./...")
			cmd := exec.Command(goBin(t), args...)
			cmd.Dir = filepath.Join(root, dir)
			out, err := cmd.CombinedOutput()
			for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
				t.Log(line)
			}
			if err != nil {
				t.Fatalf("go %s in %s: %v", strings.Join(args, " "), dir, err)
			}
		})
	}
}

// statAll stats every file under dir, so that go test's cache knows the
// calling test's result depends on them.
func statAll(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Stat(p)
		}
		return nil
	})
}

// TestBenchmarksRun runs every benchmark of every module once
// (-benchtime 1x), so that a benchmark that no longer runs fails CI, not
// the next person who measures with it (the SQLite case of sqlprof's
// benchmark failed with "unknown driver" from the day the core module
// stopped requiring a SQLite driver). It runs under CI (CI=true) or with
// REQPROF_BENCH_SMOKE=1, not with -short or -race: it takes some 45 s on
// a 2-core machine.
func TestBenchmarksRun(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("benchmark smoke run: not with -short or -race")
	}
	if os.Getenv("CI") == "" && os.Getenv("REQPROF_BENCH_SMOKE") == "" {
		t.Skip("benchmark smoke run: set REQPROF_BENCH_SMOKE=1 (CI=true does) to run every benchmark once")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"GOFLAGS", "REQPROF_PG_DSN"} {
		os.Getenv(v)
	}
	for _, dir := range append([]string{"."}, modules(t, root)...) {
		t.Run(filepath.ToSlash(dir), func(t *testing.T) {
			statAll(filepath.Join(root, dir))
			args := []string{"test", "-run", "^$", "-bench", ".", "-benchtime", "1x", "./..."}
			cmd := exec.Command(goBin(t), args...)
			cmd.Dir = filepath.Join(root, dir)
			out, err := cmd.CombinedOutput()
			if err != nil {
				for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
					t.Log(line)
				}
				t.Fatalf("go %s in %s: %v", strings.Join(args, " "), dir, err)
			}
		})
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
