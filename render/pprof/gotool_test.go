package pprof_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/pprof"
	"github.com/reqprof/reqprof/view"
)

// --- the synthetic request --------------------------------------------------

const (
	burnTime   = 60 * time.Millisecond
	sleepTime  = 30 * time.Millisecond
	holdTime   = 20 * time.Millisecond
	workerTime = 10 * time.Millisecond
	workers    = 3
)

//go:noinline
func spin(d time.Duration) int {
	x := 0
	for t := time.Now(); time.Since(t) < d; {
		for i := range 1000 {
			x += i * i
		}
	}
	return x
}

//go:noinline
func burnPhase() { spin(burnTime) }

//go:noinline
func sleepPhase() { time.Sleep(sleepTime) }

//go:noinline
func holdLock(mu *sync.Mutex, v *int, held chan<- struct{}) {
	mu.Lock()
	close(held)
	time.Sleep(holdTime)
	*v = 1
	mu.Unlock()
}

//go:noinline
func mutexPhase() int {
	var mu sync.Mutex
	v := 0
	held := make(chan struct{})
	go holdLock(&mu, &v, held)
	<-held
	mu.Lock() // waits holdTime for holdLock
	defer mu.Unlock()
	return v
}

//go:noinline
func fanoutWorker() {
	time.Sleep(workerTime)
	spin(2 * time.Millisecond)
}

//go:noinline
func fanoutPhase() {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(fanoutWorker)
	}
	wg.Wait()
}

// phases holds the wall time of each phase of the last request: on a busy
// machine a phase may take longer than it asks for.
var phases = map[string]time.Duration{}

func timed(name string, f func()) {
	t0 := time.Now()
	f()
	phases[name] = time.Since(t0)
}

func request(ctx context.Context) error {
	timed("burnPhase", burnPhase)
	timed("sleepPhase", sleepPhase)
	timed("mutexPhase", func() { mutexPhase() })
	timed("fanoutPhase", fanoutPhase)
	return nil
}

// --- go tool pprof ---------------------------------------------------------------

// goTool returns the go command. go test puts $GOROOT/bin first in PATH;
// without a go command the test is skipped, except in CI.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no go command in PATH")
	}
	t.Skip("no go command in PATH")
	return ""
}

// pprofCmd runs go tool pprof with args and returns its standard output.
func pprofCmd(t *testing.T, goCmd string, args ...string) string {
	t.Helper()
	cmd := exec.Command(goCmd, append([]string{"tool", "pprof"}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PPROF_TMPDIR="+cmd.Dir, "GOTOOLCHAIN=local")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go tool pprof %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	t.Logf("go tool pprof %s\n%s%s", strings.Join(args, " "), stderr.String(), out)
	return string(out)
}

// row is a line of go tool pprof -top.
type row struct {
	flat, cum time.Duration
	name      string
}

// parseTop returns the rows of -top output by function name.
func parseTop(t *testing.T, out string) map[string]row {
	t.Helper()
	rows := map[string]row{}
	_, table, ok := strings.Cut(out, "flat  flat%   sum%        cum   cum%\n")
	if !ok {
		t.Fatalf("no table in:\n%s", out)
	}
	for line := range strings.Lines(table) {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("bad -top line %q", line)
		}
		r := row{flat: dur(t, f[0]), cum: dur(t, f[3]), name: strings.Join(f[5:], " ")}
		rows[r.name] = r
	}
	return rows
}

func dur(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("pprof value %q: %v", s, err)
	}
	return d
}

// lookup returns the row of the function whose name ends with suffix.
func lookup(rows map[string]row, suffix string) (row, bool) {
	for name, r := range rows {
		if strings.HasSuffix(name, suffix) {
			return r, true
		}
	}
	return row{}, false
}

// byFunc is lookup, failing the test when the function is missing.
func byFunc(t *testing.T, rows map[string]row, suffix string) row {
	t.Helper()
	r, ok := lookup(rows, suffix)
	if !ok {
		t.Errorf("no %s in go tool pprof -top", suffix)
	}
	return r
}

func near(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	tol := max(3*time.Millisecond, want/10)
	if d := got - want; d > tol || d < -tol {
		t.Errorf("%s: %v, want %v ± %v", what, got, want, tol)
	}
}

// viewCum returns the time of the segments with a frame whose name ends
// with suffix: pprof's cum.
func viewCum(segs []view.Segment, suffix string) time.Duration {
	var d time.Duration
	for _, s := range segs {
		for _, f := range s.Path {
			if strings.HasSuffix(f.Name, suffix) {
				d += time.Duration(s.End - s.Start)
				break
			}
		}
	}
	return d
}

// unsampledUnderCaller returns the unsampled running time right under the
// caller of the function whose name ends in suffix ("[running, unsampled]"
// whose path is the caller's).
func unsampledUnderCaller(segs []view.Segment, suffix string) time.Duration {
	var caller []view.Frame
	for _, s := range segs {
		for i, f := range s.Path {
			if strings.HasSuffix(f.Name, suffix) {
				caller = s.Path[:i]
				break
			}
		}
		if caller != nil {
			break
		}
	}
	if len(caller) == 0 {
		return 0
	}
	var d time.Duration
	for _, s := range segs {
		n := len(s.Path)
		if n == len(caller)+1 && s.Path[n-1].Kind == view.Unsampled && slices.EqualFunc(s.Path[:n-1], caller, func(a, b view.Frame) bool { return a.Name == b.Name }) {
			d += time.Duration(s.End - s.Start)
		}
	}
	return d
}

// trace is a block of go tool pprof -traces: labels, a value, frames
// leaf first.
type trace struct {
	labels map[string]string
	value  time.Duration
	frames []string
}

func parseTraces(t *testing.T, out string) []trace {
	t.Helper()
	var ts []trace
	blocks := strings.Split(out, "-----------+-------------------------------------------------------\n")
	for _, b := range blocks[1:] {
		tr := trace{labels: map[string]string{}}
		for line := range strings.Lines(b) {
			line = strings.TrimRight(line, "\n")
			if k, v, ok := strings.Cut(line, ":  "); ok && len(tr.frames) == 0 {
				tr.labels[strings.TrimSpace(k)] = strings.TrimSpace(v)
				continue
			}
			f := strings.TrimSpace(line)
			if len(tr.frames) == 0 {
				v, name, _ := strings.Cut(f, "   ")
				tr.value = dur(t, v)
				f = strings.TrimSpace(name)
			}
			tr.frames = append(tr.frames, f)
		}
		if len(tr.frames) > 0 {
			ts = append(ts, tr)
		}
	}
	return ts
}

func TestGoToolPprof(t *testing.T) {
	p, err := reqprof.Do(context.Background(), "pprof e2e", request)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "req"+pprof.Extension)
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.Render(f, p.Profile, render.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	prof := parse(t, p.Profile, render.Options{}, func(b *bytes.Buffer, _ *profile.Profile, _ render.Options) error {
		_, err := b.Write(data)
		return err
	})
	checkTotals(t, p.Profile, prof, pprof.Critical)
	goCmd := goTool(t)

	// Where the latency went.
	top := pprofCmd(t, goCmd, "-top", "-sample_index=critical", file)
	if !strings.Contains(top, "Type: critical") {
		t.Error("-top does not show the critical sample type")
	}
	rows := parseTop(t, top)
	cp := view.CriticalPath(p.Profile)
	for _, name := range []string{"burnPhase", "sleepPhase", "mutexPhase", "fanoutPhase", "spin", "holdLock", "fanoutWorker"} {
		// pprof shows what the critical-path view holds.
		got, want := byFunc(t, rows, "."+name).cum, viewCum(cp.Segments, "."+name)
		if d := got - want; d > 10*time.Microsecond || d < -10*time.Microsecond {
			t.Errorf("%s: cum %v in pprof, %v in the critical path", name, got, want)
		}
	}
	// And that is the time the phases took: waits exactly; the burn up to
	// the running time no CPU sample saw at its ends, which the view may
	// attribute to the caller.
	for _, name := range []string{"sleepPhase", "mutexPhase", "fanoutPhase"} {
		near(t, name+" cum", byFunc(t, rows, "."+name).cum, phases[name])
	}
	// The burn's edges, from the caller's last known point to the burn's
	// first CPU sample (and back), are unsampled running time under the
	// caller, which is where the view puts a stretch that ran in both
	// (on a loaded machine, samples come far apart in trace time, and
	// those edges grow): the burn's own cum plus that must be about the
	// phase's time.
	if got, edges, want := byFunc(t, rows, ".burnPhase").cum, unsampledUnderCaller(cp.Segments, ".burnPhase"), phases["burnPhase"]; got+edges < want/2 || got > want+want/10 {
		t.Errorf("burnPhase cum %v (and %v unsampled under its caller), want about %v", got, edges, want)
	}
	// The sleeps: the request's own, the lock holder's and the last
	// worker's, all on the critical path.
	sleeps := rows["[wait: sleep]"].flat
	if lo, hi := sleepTime+holdTime+workerTime-time.Millisecond, phases["sleepPhase"]+phases["mutexPhase"]+phases["fanoutPhase"]; sleeps < lo || sleeps > hi {
		t.Errorf("[wait: sleep] flat %v, want between %v and %v", sleeps, lo, hi)
	}
	if r := rows["[wait: sync]"]; r.cum < holdTime-time.Millisecond {
		t.Errorf("[wait: sync] cum %v, want at least the lock hold and the WaitGroup wait", r.cum)
	}
	var via time.Duration
	for name, r := range rows {
		if strings.HasPrefix(name, "[via goroutine ") {
			via += r.cum
		}
	}
	if via < holdTime {
		t.Errorf("[via goroutine ...] frames hold %v, want at least the lock hold %v", via, holdTime)
	}
	byFunc(t, rows, ".holdLock")
	byFunc(t, rows, ".fanoutWorker")

	// Every stack with its labels: the sleep, leaf first.
	traces := parseTraces(t, pprofCmd(t, goCmd, "-traces", file))
	found := false
	for _, tr := range traces {
		if len(tr.frames) < 3 || tr.frames[0] != "[wait: sleep]" || !strings.HasSuffix(tr.frames[2], ".sleepPhase") {
			continue
		}
		found = true
		if tr.frames[1] != "time.Sleep" {
			t.Errorf("[wait: sleep] under %q, want time.Sleep", tr.frames[1])
		}
		if tr.labels["state"] != "waiting" || tr.labels["reason"] != "sleep" || tr.labels["goroutine"] != strconv.FormatInt(p.Goroutines[0].ID, 10) {
			t.Errorf("sleep labels %v", tr.labels)
		}
		near(t, "sleep trace", tr.value, phases["sleepPhase"])
	}
	if !found {
		t.Error("-traces has no [wait: sleep] < time.Sleep < sleepPhase stack")
	}

	// Only the waits: every leaf with flat time is a wait.
	rows = parseTop(t, pprofCmd(t, goCmd, "-tagfocus=state=waiting", "-top", file))
	for name, r := range rows {
		if r.flat > 0 && !strings.HasPrefix(name, "[wait: ") {
			t.Errorf("-tagfocus=state=waiting shows %s with %v flat", name, r.flat)
		}
	}
	if got := rows["[wait: sleep]"].flat; got-sleeps > 10*time.Microsecond || sleeps-got > 10*time.Microsecond {
		t.Errorf("-tagfocus=state=waiting: [wait: sleep] %v, without the focus %v", got, sleeps)
	}
	if r, ok := lookup(rows, ".spin"); ok && r.flat > 0 {
		t.Errorf("spin is waiting %v", r.flat)
	}

	// One goroutine: a fan-out worker, in the wall time of all goroutines.
	var worker *profile.Goroutine
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if g.Member && g.Parent == p.Goroutines[0].ID && strings.Contains(p.EntryFunc(g), "(*WaitGroup).Go") {
			worker = g
		}
	}
	if worker == nil {
		t.Fatal("no fan-out worker goroutine in the profile")
	}
	id := strconv.FormatInt(worker.ID, 10)
	traces = parseTraces(t, pprofCmd(t, goCmd, "-tagfocus=goroutine="+id, "-sample_index=wall", "-traces", file))
	if len(traces) == 0 {
		t.Fatalf("-tagfocus=goroutine=%s selects nothing", id)
	}
	var total time.Duration
	sawWorker := false
	for _, tr := range traces {
		if tr.labels["goroutine"] != id {
			t.Errorf("-tagfocus=goroutine=%s shows goroutine %q", id, tr.labels["goroutine"])
		}
		total += tr.value
		for _, f := range tr.frames {
			sawWorker = sawWorker || strings.HasSuffix(f, ".fanoutWorker")
		}
	}
	if !sawWorker {
		t.Errorf("goroutine %s's stacks lack fanoutWorker", id)
	}
	// -traces rounds each value to three digits.
	if d := total - time.Duration(worker.End-worker.Start); d > 100*time.Microsecond || d < -100*time.Microsecond {
		t.Errorf("goroutine %s: %v in pprof, %v in the profile", id, total, time.Duration(worker.End-worker.Start))
	}

	// The CPU samples, where there are some.
	sampledBurn := false
	for _, s := range p.Samples {
		for _, fr := range p.Stacks[s.Stack].Frames {
			sampledBurn = sampledBurn || strings.HasSuffix(p.Frames[fr].Func, ".burnPhase")
		}
	}
	rows = parseTop(t, pprofCmd(t, goCmd, "-top", "-sample_index=cpu_sampled", file))
	if _, ok := lookup(rows, ".burnPhase"); sampledBurn && !ok {
		t.Error("CPU samples saw burnPhase, -sample_index=cpu_sampled does not show it")
	}

	pprofCmd(t, goCmd, "-raw", file)
}

func TestGoToolPprofEmpty(t *testing.T) {
	goCmd := goTool(t)
	file := filepath.Join(t.TempDir(), "empty"+pprof.Extension)
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.Render(f, &profile.Profile{Name: "nothing", Stacks: []profile.Stack{{}}}, render.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if out := pprofCmd(t, goCmd, "-top", file); !strings.Contains(out, "of 0 total") {
		t.Errorf("-top of an empty profile:\n%s", out)
	}
	pprofCmd(t, goCmd, "-raw", file)
	pprofCmd(t, goCmd, "-traces", file)
}
