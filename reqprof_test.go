package reqprof_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
	xtrace "golang.org/x/exp/trace"
)

// --- the synthetic request --------------------------------------------------

//go:noinline
func spin(d time.Duration) int {
	x := 0
	for t := time.Now(); time.Since(t) < d; {
		for i := 0; i < 1000; i++ {
			x += i * i
		}
	}
	return x
}

//go:noinline
func phaseBurn() { spin(100 * time.Millisecond) }

//go:noinline
func phaseSleep() { time.Sleep(20 * time.Millisecond) }

//go:noinline
func phaseMutex(mu *sync.Mutex) {
	mu.Lock()
	defer mu.Unlock()
	mutexHeld++ // what the lock guards
}

// mutexHeld is the state phaseMutex's lock guards.
var mutexHeld int

//go:noinline
func phaseTCP(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	_, err = bufio.NewReader(c).ReadString('\n')
	return err
}

//go:noinline
func phaseSyscall() {
	ts := syscall.NsecToTimespec(int64(15 * time.Millisecond))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}

//go:noinline
func fanoutWorker(d time.Duration) {
	time.Sleep(d)
	spin(2 * time.Millisecond)
}

// workerTime adds up the fan-out workers' wall time.
var workerTime atomic.Int64

//go:noinline
func phaseFanout() {
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		t0 := time.Now() // the goroutine's life starts at its creation
		go func() {
			defer wg.Done()
			fanoutWorker(time.Duration(5+5*i) * time.Millisecond)
			workerTime.Add(int64(time.Since(t0)))
		}()
	}
	wg.Wait()
}

//go:noinline
func unrelatedSpinner(stop *atomic.Bool) {
	for !stop.Load() {
		spin(time.Millisecond)
		runtime.Gosched()
	}
}

//go:noinline
func mutexHolder(mu *sync.Mutex, held chan<- struct{}, release <-chan struct{}, d time.Duration) {
	mu.Lock()
	close(held)
	<-release
	time.Sleep(d)
	mu.Unlock()
}

// slowServer answers each line after delay.
func slowServer(t *testing.T, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
					return
				}
				time.Sleep(delay)
				c.Write([]byte("pong\n"))
			}()
		}
	}()
	return ln.Addr().String()
}

// --- tree helpers -------------------------------------------------------------

// find returns the first node, depth first, whose frame name ends with
// suffix.
func find(n *view.Node, suffix string) *view.Node {
	if strings.HasSuffix(n.Frame.Name, suffix) {
		return n
	}
	for _, c := range n.Children {
		if f := find(c, suffix); f != nil {
			return f
		}
	}
	return nil
}

// findPrefix returns the first node whose frame name has the prefix.
func findPrefix(n *view.Node, prefix string) *view.Node {
	if strings.HasPrefix(n.Frame.Name, prefix) {
		return n
	}
	for _, c := range n.Children {
		if f := findPrefix(c, prefix); f != nil {
			return f
		}
	}
	return nil
}

// sumUnder adds the totals of the nodes under n whose name has the prefix.
func sumUnder(n *view.Node, prefix string) int64 {
	var s int64
	for _, c := range n.Children {
		if strings.HasPrefix(c.Frame.Name, prefix) {
			s += c.Total
			continue
		}
		s += sumUnder(c, prefix)
	}
	return s
}

func near(t *testing.T, what string, got int64, want time.Duration) {
	t.Helper()
	tol := max(2*time.Millisecond, want/10)
	if d := time.Duration(got) - want; d > tol || d < -tol {
		t.Errorf("%s: %v, want %v ± %v", what, time.Duration(got), want, tol)
	}
}

func treeOf(t *testing.T, p *reqprof.Profile, k view.Kind) *view.Node {
	t.Helper()
	_, trees, err := render.Options{View: k, NoGroup: true}.Trees(p.Profile)
	if err != nil {
		t.Fatal(err)
	}
	return trees[0]
}

func textOf(t *testing.T, p *reqprof.Profile, o reqprof.WriteOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := p.WriteWith(&b, reqprof.FormatText, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// --- tests ----------------------------------------------------------------------

func TestDoSyntheticRequest(t *testing.T) {
	addr := slowServer(t, 15*time.Millisecond)

	var stop atomic.Bool
	var spinners sync.WaitGroup
	spinners.Add(1)
	go func() { defer spinners.Done(); unrelatedSpinner(&stop) }()
	defer func() { stop.Store(true); spinners.Wait() }()

	var mu sync.Mutex
	held, release := make(chan struct{}), make(chan struct{})
	go mutexHolder(&mu, held, release, 20*time.Millisecond)
	<-held

	phases := map[string]time.Duration{}
	timed := func(name string, f func()) {
		t0 := time.Now()
		f()
		phases[name] = time.Since(t0)
	}
	var wall time.Duration
	calls := 0
	workerTime.Store(0)
	p, err := reqprof.Do(context.Background(), "synthetic", func(ctx context.Context) error {
		calls++
		t0 := time.Now()
		defer func() { wall = time.Since(t0) }()
		timed("phaseBurn", phaseBurn)
		timed("phaseSleep", phaseSleep)
		timed("phaseMutex", func() { close(release); phaseMutex(&mu) })
		var terr error
		timed("phaseTCP", func() { terr = phaseTCP(addr) })
		timed("phaseSyscall", phaseSyscall)
		timed("phaseFanout", phaseFanout)
		return terr
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("fn ran %d times", calls)
	}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", textOf(t, p, reqprof.WriteOptions{}))

	// The window is the work's wall time.
	near(t, "profile duration", p.Duration, wall)

	// The critical path sums to the wall time, nanosecond for nanosecond.
	cp := view.CriticalPath(p.Profile)
	if got := cp.Total(); got != p.Duration {
		t.Errorf("critical path sums to %d ns, profile lasts %d ns", got, p.Duration)
	}
	var prev int64
	for _, s := range cp.Segments {
		if s.Start != prev {
			t.Fatalf("critical path has a gap or overlap at %d (previous segment ended at %d)", s.Start, prev)
		}
		prev = s.End
	}

	root := treeOf(t, p, view.Critical)
	// A phase's frame holds its wall time as timed measured it, less what
	// happened between timed's clock reads and the phase's own call (the
	// scheduler or the GC stopping the goroutine there, which a loaded
	// machine makes milliseconds long): that time is the work's but none
	// of the phases', and the profile says so. It is the slack: the
	// window's time outside every phase's frame (microseconds on an idle
	// machine).
	slack := p.Duration
	for name := range phases {
		if n := find(root, "."+name); n != nil {
			slack -= n.Total
		}
	}
	for name, want := range phases {
		n := find(root, "."+name)
		if n == nil {
			t.Errorf("%s not in the critical path", name)
			continue
		}
		tol := max(2*time.Millisecond, want/10)
		if d := time.Duration(n.Total) - want; d > tol || d < -tol-time.Duration(max(slack, 0)) {
			t.Errorf("%s: %v, want %v ± %v (or up to %v less: the window's time outside the phases)", name, time.Duration(n.Total), want, tol, time.Duration(slack))
		}
	}
	// A phase's pseudo-frame holds at least the injected wait and at most
	// the phase's wall time (the rest is scheduling latency, set-up).
	check := func(phase, pseudo string, injected time.Duration) *view.Node {
		t.Helper()
		n := find(root, "."+phase)
		if n == nil {
			return nil
		}
		w := find(n, pseudo)
		if w == nil {
			t.Errorf("%s: no %s under it", phase, pseudo)
			return nil
		}
		got := sumUnder(n, pseudo)
		lo, hi := injected-max(2*time.Millisecond, injected/10), phases[phase]+max(2*time.Millisecond, phases[phase]/10)
		if time.Duration(got) < lo || time.Duration(got) > hi {
			t.Errorf("%s %s: %v, want between %v and %v", phase, pseudo, time.Duration(got), lo, hi)
		}
		return w
	}
	check("phaseSleep", "[wait: sleep]", 20*time.Millisecond)
	if w := check("phaseMutex", "[wait: sync]", 20*time.Millisecond); w != nil {
		// Explained by the holder, which is not part of the work.
		via := find(w, ".mutexHolder")
		if via == nil || findPrefix(w, "[via goroutine ") == nil {
			t.Errorf("the mutex wait is not explained by its holder:\n%s", textOf(t, p, reqprof.WriteOptions{NoGroup: true}))
		} else if find(via, "[wait: sleep]") == nil {
			t.Errorf("the holder's sleep is not under the mutex wait")
		}
	}
	// Dialling and reading both wait on the network.
	check("phaseTCP", "[wait: network]", 15*time.Millisecond)
	check("phaseSyscall", "[syscall]", 15*time.Millisecond)
	if w := check("phaseFanout", "[wait: sync]", 20*time.Millisecond); w != nil {
		if find(w, ".fanoutWorker") == nil {
			t.Errorf("the WaitGroup wait is not explained by the last worker")
		}
	}
	// The burn only waits for CPUs (and for the GC, which preempts).
	burn := find(root, ".phaseBurn")
	if burn != nil {
		waits := sumUnder(burn, "[wait") - sumUnder(burn, "[wait: preempted]")
		if waits > int64(2*time.Millisecond) {
			t.Errorf("phaseBurn waits %v", time.Duration(waits))
		}
	}

	// Goroutines: the root and the four workers, nothing unrelated.
	var members []string
	for _, g := range p.Goroutines {
		if g.Member {
			members = append(members, p.EntryFunc(&g))
		}
	}
	if len(members) != 5 {
		t.Errorf("%d member goroutines %q, want 5 (root + 4 workers)", len(members), members)
	}
	for _, k := range view.Kinds() {
		out := textOf(t, p, reqprof.WriteOptions{View: k, NoGroup: true, Threshold: 1e-9})
		if strings.Contains(out, "unrelatedSpinner") {
			t.Errorf("view %s shows an unrelated goroutine:\n%s", k, out)
		}
	}
	// All goroutines: the workers' own time appears under the fan-out.
	all := treeOf(t, p, view.All)
	fan := find(all, ".phaseFanout")
	if fan == nil {
		t.Fatal("phaseFanout missing from the all-goroutines view")
	}
	worker := find(fan, ".phaseFanout.func1")
	if worker == nil || find(worker, ".fanoutWorker") == nil {
		t.Fatal("workers missing under phaseFanout in the all-goroutines view")
	}
	near(t, "workers' time", worker.Total, time.Duration(workerTime.Load()))
	if all.Total <= root.Total {
		t.Errorf("all goroutines' time %v should exceed the wall time %v under fan-out", time.Duration(all.Total), time.Duration(root.Total))
	}
}

// goid returns the calling goroutine's id (test helper only).
func goid() int64 {
	var buf [64]byte
	s := string(buf[:runtime.Stack(buf[:], false)])
	s = strings.TrimPrefix(s, "goroutine ")
	id, _ := strconv.ParseInt(s[:strings.IndexByte(s, ' ')], 10, 64)
	return id
}

func TestDoConcurrent(t *testing.T) {
	const n = 8
	type result struct {
		p    *reqprof.Profile
		err  error
		want map[int64]bool
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := map[int64]bool{}
			var mu sync.Mutex
			p, err := reqprof.Do(context.Background(), fmt.Sprint("unit ", i), func(ctx context.Context) error {
				want[goid()] = true
				var inner sync.WaitGroup
				for j := range 1 + i%3 {
					inner.Add(1)
					go func() {
						defer inner.Done()
						mu.Lock()
						want[goid()] = true
						mu.Unlock()
						time.Sleep(time.Duration(2+j) * time.Millisecond)
						spin(time.Millisecond)
					}()
				}
				time.Sleep(time.Duration(5+i) * time.Millisecond)
				inner.Wait()
				return nil
			})
			results[i] = result{p, err, want}
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil {
			t.Errorf("unit %d: %v", i, r.err)
			continue
		}
		got := map[int64]bool{}
		for _, g := range r.p.Goroutines {
			if g.Member {
				got[g.ID] = true
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(r.want) {
			t.Errorf("unit %d: member goroutines %v, want %v", i, got, r.want)
		}
		if r.p.Name != fmt.Sprint("unit ", i) {
			t.Errorf("unit %d named %q", i, r.p.Name)
		}
	}
	// The recorder stops just after the last profile is delivered.
	deadline := time.Now().Add(5 * time.Second)
	for capture.Default.Active() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if capture.Default.Active() {
		t.Error("the flight recorder still runs after every capture ended")
	}
}

//go:noinline
func burnAfterDo() { spinCPU(150 * time.Millisecond) }

func TestDoWhileCPUProfiling(t *testing.T) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skipf("cannot start a CPU profile: %v", err)
	}
	p, err := reqprof.Do(context.Background(), "cpu", func(ctx context.Context) error {
		spinCPU(150 * time.Millisecond) // 15 samples at their 100 Hz
		return nil
	})
	burnAfterDo() // their profile must still be recording
	pprof.StopCPUProfile()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Samples) == 0 {
		t.Error("no CPU samples while someone else profiles the CPU")
	}
	if !bytes.Contains(gunzip(t, buf.Bytes()), []byte("burnAfterDo")) {
		t.Error("the caller's CPU profile lost samples after Do")
	}
}

func TestDoWhileTracing(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("cannot start tracing: %v", err)
	}
	p, err := reqprof.Do(context.Background(), "traced", func(ctx context.Context) error {
		phaseSleep()
		return nil
	})
	trace.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if p.Duration < int64(20*time.Millisecond) || find(treeOf(t, p, view.Critical), "[wait: sleep]") == nil {
		t.Errorf("profile while tracing: %v, no sleep:\n%s", time.Duration(p.Duration), textOf(t, p, reqprof.WriteOptions{}))
	}
	// The caller's trace is intact.
	r, err := xtrace.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the caller's trace is broken after %d events: %v", n, err)
		}
		n++
	}
	if n == 0 {
		t.Error("the caller's trace is empty")
	}
}

func TestDoWhileAnotherFlightRecorder(t *testing.T) {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if err := fr.Start(); err != nil {
		t.Skipf("cannot start a flight recorder: %v", err)
	}
	defer fr.Stop()
	calls := 0
	fnErr := errors.New("fn failed")
	done := make(chan struct{})
	var p *reqprof.Profile
	var err error
	go func() {
		defer close(done)
		p, err = reqprof.Do(context.Background(), "blocked", func(ctx context.Context) error {
			calls++
			return fnErr
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Do hangs while another flight recorder runs")
	}
	if calls != 1 {
		t.Errorf("fn ran %d times, want 1", calls)
	}
	if p != nil {
		t.Error("got a profile without a recorder")
	}
	if !errors.Is(err, capture.ErrRecorderBusy) {
		t.Errorf("error %v does not say the recorder is busy", err)
	}
	if !errors.Is(err, fnErr) {
		t.Errorf("error %v lost fn's error", err)
	}
}

func TestDoReturnsFnError(t *testing.T) {
	fnErr := errors.New("boom")
	p, err := reqprof.Do(context.Background(), "failing", func(ctx context.Context) error { return fnErr })
	if err != fnErr {
		t.Errorf("err = %v, want fn's error as is", err)
	}
	if p == nil {
		t.Fatal("no profile")
	}
}

func TestDoPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "kaboom" {
			t.Errorf("recovered %v, want the fn's panic", r)
		}
		deadline := time.Now().Add(5 * time.Second)
		for capture.Default.Active() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if capture.Default.Active() {
			t.Error("recorder left running after a panic")
		}
	}()
	reqprof.Do(context.Background(), "panics", func(ctx context.Context) error { panic("kaboom") })
}

func TestRoundTrip(t *testing.T) {
	p, err := reqprof.Do(context.Background(), "roundtrip", func(ctx context.Context) error {
		trace.WithRegion(ctx, "SQL: SELECT 1", phaseSleep)
		trace.Log(ctx, "note", "hello")
		phaseFanout()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := p.Write(&file, reqprof.FormatReqprof); err != nil {
		t.Fatal(err)
	}
	q, err := reqprof.Load(&file)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range view.Kinds() {
		o := reqprof.WriteOptions{View: k}
		if a, b := textOf(t, p, o), textOf(t, q, o); a != b {
			t.Errorf("view %s differs after a round trip:\n%s\n---\n%s", k, a, b)
		}
	}
	out := textOf(t, q, reqprof.WriteOptions{})
	for _, want := range []string{"SQL: SELECT 1", "[wait: sleep]", "phaseFanout"} {
		if !strings.Contains(out, want) {
			t.Errorf("loaded profile's tree lacks %q:\n%s", want, out)
		}
	}
	if len(q.Logs) != 1 || q.Logs[0].Message != "hello" {
		t.Errorf("logs = %+v", q.Logs)
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	p, err := reqprof.Do(context.Background(), "x", func(ctx context.Context) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	err = p.Write(io.Discard, "svg")
	if err == nil || !strings.Contains(err.Error(), `"svg"`) || !strings.Contains(err.Error(), "text") || !strings.Contains(err.Error(), "reqprof") {
		t.Errorf("unknown format error = %v, want one naming it and listing the valid formats", err)
	}
	if err := p.WriteWith(io.Discard, reqprof.FormatText, reqprof.WriteOptions{View: "flame"}); err == nil {
		t.Error("unknown view accepted")
	}
	if err := p.WriteWith(io.Discard, reqprof.FormatText, reqprof.WriteOptions{UserCode: "("}); err == nil {
		t.Error("bad user-code pattern accepted")
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// An outgoing request on a kept-alive connection waits in select until
// the connection's readLoop goroutine, which existed before the capture
// began, wakes it: the critical path follows it all the same.
func TestDoKeepAliveHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(15 * time.Millisecond)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	fetch := func() error {
		resp, err := http.Get(srv.URL)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := fetch(); err != nil { // opens the connection
		t.Fatal(err)
	}
	p, err := reqprof.Do(context.Background(), "keep-alive", func(ctx context.Context) error { return fetch() })
	if err != nil {
		t.Fatal(err)
	}
	root := treeOf(t, p, view.Critical)
	sel := find(root, "[wait: select]")
	if sel == nil {
		t.Fatalf("no select wait:\n%s", textOf(t, p, reqprof.WriteOptions{}))
	}
	// The connection's goroutines end it: its writeLoop, once the request
	// is written (milliseconds, when the machine is loaded, of a writeLoop
	// waiting for a CPU), then its readLoop with the response.
	var loops, read int64
	for _, c := range sel.Children {
		if !strings.HasPrefix(c.Frame.Name, "[via goroutine ") {
			continue
		}
		switch {
		case strings.Contains(c.Frame.Name, "readLoop"):
			read += c.Total
			loops += c.Total
		case strings.Contains(c.Frame.Name, "writeLoop"):
			loops += c.Total
		}
	}
	if read == 0 || loops < sel.Total*8/10 {
		t.Errorf("the select wait is not explained by the connection's readLoop (and writeLoop):\n%s", textOf(t, p, reqprof.WriteOptions{}))
	}
}
