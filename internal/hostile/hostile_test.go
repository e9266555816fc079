package hostile_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/internal/hostile"
	"github.com/reqprof/reqprof/profile"
)

var update = flag.Bool("update", false, "rewrite the corpus in testdata")

// keepMax is the size of the largest file kept in testdata; the larger
// ones are made when the tests run.
const keepMax = 100 << 10

// The bounds every case must hold, in a process of its own: the heap
// while loading and rendering in every format and view, and the time of
// each step (loading, one rendering). They are generous on purpose (a
// 200,000-interval profile renders in about 200 MB and 1 s per format):
// they tell bounded from unbounded, not fast from slow, and a bound per
// step stays the same as formats are added (an HTML report per view
// pushed a total bound over). The time is the process's CPU time (where
// the system reports it), so that a loaded machine does not fail the test
// (on a 2-core machine shared with others, the wall clock has run four
// times the CPU time); the wall clock gets ten times as long.
const (
	maxHeap = 512 << 20
	maxTime = 20 * time.Second
)

// viewCost lists the cases that load within the bounds but whose
// rendering does not yet hold them: views and renderers whose cost is not
// linear in the profile's size, or is linear at more than the budget's
// 1 KB per interval (view/ and render/ are being fixed). The test skips
// them, naming the cost; with REQPROF_HOSTILE_VIEWCOST=1 it runs them,
// skips those that still fail and says which now pass.
var viewCost = map[string]string{
	"records-at-limit": "chrome peaks at some 500 MiB for 260,000 intervals (1.8 KB each; the budget is 1 KB), speedscope at 240 MiB",
}

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		os.Exit(child(name, os.Getenv(fileEnv)))
	}
	os.Exit(m.Run())
}

// TestCorpus checks that testdata holds what the generator makes; run it
// with -update to rewrite it.
func TestCorpus(t *testing.T) {
	if raceEnabled && !*update {
		t.Skip("generating the corpus is deterministic and slow under the race detector")
	}
	kept := map[string]bool{}
	for _, c := range hostile.Cases() {
		path := filepath.Join("testdata", c.Name+".reqprof")
		if _, err := os.Stat(path); err != nil && testing.Short() && !*update {
			kept[path] = false
			continue // not kept, or missing: the full run says which
		}
		data := generate(c)
		if len(data) > keepMax {
			continue
		}
		kept[path] = true
		if *update {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run go test -run TestCorpus -update)", c.Name, err)
			continue
		}
		// Compare what the files inflate to: compress/flate's output may
		// change between Go releases.
		if !bytes.Equal(inflate(old), inflate(data)) {
			t.Errorf("%s is not what the generator makes (run go test -run TestCorpus -update)", path)
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.reqprof"))
	for _, f := range files {
		if !kept[f] {
			if *update {
				os.Remove(f)
			} else {
				t.Errorf("%s belongs to no case (run go test -run TestCorpus -update)", f)
			}
		}
	}
}

var generated sync.Map // case name → []byte

// generate returns c's file, made once per test binary.
func generate(c hostile.Case) []byte {
	if b, ok := generated.Load(c.Name); ok {
		return b.([]byte)
	}
	b := c.Data()
	generated.Store(c.Name, b)
	return b
}

// fileOf returns c's file: the one kept in testdata (which TestCorpus
// checks), else a generated one.
func fileOf(c hostile.Case) []byte {
	if b, err := os.ReadFile(filepath.Join("testdata", c.Name+".reqprof")); err == nil {
		return b
	}
	return generate(c)
}

// inflate returns as much of data as decompresses.
func inflate(data []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return data
	}
	b, _ := io.ReadAll(zr)
	return b
}

// TestHostileFiles loads each hostile file with reqprof.Load and renders it
// in every format and view, in a child process that a watchdog ends as
// soon as it goes past maxHeap or maxTime.
func TestHostileFiles(t *testing.T) {
	dir := t.TempDir()
	recheck := os.Getenv("REQPROF_HOSTILE_VIEWCOST") == "1"
	for _, c := range hostile.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			if cost, ok := viewCost[c.Name]; ok && !recheck {
				t.Skipf("%s: view cost not yet bounded: %s", c.Name, cost)
			}
			if raceEnabled && c.Reject == "" {
				t.Skip("the bounds of rendering are for normal builds: the race detector multiplies memory and time")
			}
			if testing.Short() && c.Reject == "" && len(fileOf(c)) > 4<<10 {
				t.Skip("-short: the large valid profiles take seconds of CPU each")
			}
			path := filepath.Join(dir, c.Name+".reqprof")
			if err := os.WriteFile(path, fileOf(c), 0o600); err != nil {
				t.Fatal(err)
			}
			res, out := runChild(t, c.Name, path)
			t.Logf("%s: %s, heap peak %d MiB, %v", c.Name, res.summary(), res.Peak>>20, time.Duration(res.Elapsed))
			if testing.Verbose() {
				for _, r := range res.Renders {
					t.Logf("  %-22s %8.1f MB %v", r.What, float64(r.Bytes)/1e6, time.Duration(r.Nanos).Round(time.Millisecond))
				}
			}
			if res.Over != "" {
				msg := fmt.Sprintf("over the bounds (%d MiB, %v per step): %s", maxHeap>>20, maxTime, res.Over)
				if cost, ok := viewCost[c.Name]; ok && res.Loaded {
					t.Skipf("%s: %s: view cost not yet linear: %s", c.Name, msg, cost)
				}
				t.Fatalf("%s\n%s", msg, out)
			}
			if _, ok := viewCost[c.Name]; ok {
				t.Logf("%s now holds the bounds: remove it from viewCost", c.Name)
			}
			switch {
			case c.Reject != "" && res.Loaded:
				t.Errorf("Load accepted the file, want an error containing %q", c.Reject)
			case c.Reject != "" && !strings.Contains(res.LoadError, c.Reject):
				t.Errorf("Load: %s\nwant an error containing %q", res.LoadError, c.Reject)
			case c.Reject == "" && !res.Loaded:
				t.Errorf("Load: %s", res.LoadError)
			}
			for _, r := range res.Renders {
				if r.Error != "" {
					t.Errorf("%s: %s", r.What, r.Error)
				}
			}
			if c.Reject == "" && len(res.Renders) != len(reqprof.Formats())*len(reqprof.Views()) {
				t.Errorf("%d renders, want %d", len(res.Renders), len(reqprof.Formats())*len(reqprof.Views()))
			}
		})
	}
}

const (
	childEnv = "REQPROF_HOSTILE_CASE"
	fileEnv  = "REQPROF_HOSTILE_FILE"
	marker   = "HOSTILE-RESULT "
)

type result struct {
	Loaded    bool
	LoadError string
	Renders   []render
	Peak      uint64
	Elapsed   int64
	Over      string // which bound was passed, doing what
}

type render struct {
	What  string
	Bytes int64
	Nanos int64
	Error string
}

func (r *result) summary() string {
	if !r.Loaded {
		if r.LoadError == "" {
			return "not loaded"
		}
		return "refused: " + r.LoadError
	}
	var slowest render
	var total int64
	for _, x := range r.Renders {
		total += x.Bytes
		if x.Nanos > slowest.Nanos {
			slowest = x
		}
	}
	return fmt.Sprintf("loaded, %d renders, %d MB written, slowest %s (%v)", len(r.Renders), total>>20, slowest.What, time.Duration(slowest.Nanos))
}

func runChild(t *testing.T, name, path string) (result, string) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name, fileEnv+"="+path, "GOMAXPROCS=2")
	out, err := cmd.CombinedOutput()
	var res result
	i := bytes.LastIndex(out, []byte(marker))
	if i < 0 {
		t.Fatalf("the child for %s reported nothing (%v):\n%s", name, err, out)
	}
	line, _, _ := bytes.Cut(out[i+len(marker):], []byte("\n"))
	if err := json.Unmarshal(line, &res); err != nil {
		t.Fatalf("the child's report: %v\n%s", err, out)
	}
	var exit *exec.ExitError
	if err != nil && res.Over == "" && !errors.As(err, &exit) {
		t.Fatalf("child: %v\n%s", err, out)
	}
	return res, string(out)
}

// child loads and renders one file, reporting on its standard output.
func child(name, path string) int {
	var res result
	var phase atomic.Pointer[string]
	var phaseCPU, phaseWall atomic.Int64 // when the phase began
	set := func(s string) {
		phaseCPU.Store(int64(cpuTime()))
		phaseWall.Store(time.Now().UnixNano())
		phase.Store(&s)
	}
	set("reading")
	start := time.Now()
	report := func(code int) int {
		res.Elapsed = int64(time.Since(start))
		b, _ := json.Marshal(&res)
		fmt.Printf("\n%s%s\n", marker, b)
		return code
	}
	runtime.GC()
	var peak atomic.Uint64
	var loaded atomic.Bool
	go func() {
		// ReadMemStats stops the world for microseconds; every 5 ms, a
		// renderer cannot allocate far past the bound unseen.
		var ms runtime.MemStats
		for {
			time.Sleep(5 * time.Millisecond)
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			over := ""
			cpu := cpuTime() - time.Duration(phaseCPU.Load())
			switch wall := time.Since(time.Unix(0, phaseWall.Load())); {
			case ms.HeapAlloc > maxHeap:
				over = fmt.Sprintf("heap at %d MiB while %s", ms.HeapAlloc>>20, *phase.Load())
			case cpu > maxTime:
				over = fmt.Sprintf("still %s after %v of CPU time", *phase.Load(), maxTime)
			case cpu == 0 && wall > maxTime, wall > 10*maxTime:
				over = fmt.Sprintf("still %s after %v", *phase.Load(), wall.Round(time.Second))
			}
			if over != "" {
				// The main goroutine may be writing res: report afresh.
				b, _ := json.Marshal(&result{Loaded: loaded.Load(), Over: over, Peak: peak.Load(), Elapsed: int64(time.Since(start))})
				fmt.Printf("\n%s%s\n", marker, b)
				os.Exit(3)
			}
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		res.LoadError = err.Error()
		return report(1)
	}
	set("loading")
	p, err := reqprof.Load(f)
	f.Close()
	if err != nil {
		res.LoadError = err.Error()
		if !errors.Is(err, profile.ErrLimit) && !strings.HasPrefix(err.Error(), "corrupt reqprof file") {
			res.LoadError += " (neither a limit nor corruption)"
		}
	} else {
		res.Loaded = true
		loaded.Store(true)
		for _, format := range reqprof.Formats() {
			for _, view := range reqprof.Views() {
				what := fmt.Sprintf("%s/%s", format, view)
				set("rendering " + what)
				var w counter
				t0 := time.Now()
				err := p.WriteWith(&w, format, reqprof.WriteOptions{View: view})
				r := render{What: what, Bytes: w.n, Nanos: int64(time.Since(t0))}
				if err != nil {
					r.Error = err.Error()
				}
				res.Renders = append(res.Renders, r)
			}
		}
	}
	res.Peak = peak.Load()
	return report(0)
}

type counter struct{ n int64 }

func (c *counter) Write(b []byte) (int, error) {
	c.n += int64(len(b))
	return len(b), nil
}
