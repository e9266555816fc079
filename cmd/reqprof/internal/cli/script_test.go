package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/store"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"reqprof": func() { os.Exit(Main()) },
	})
}

// TestScripts runs the end-to-end tests in testdata/script: every
// subcommand, with good and bad input, as a user runs it.
func TestScripts(t *testing.T) {
	gocache, _ := exec.Command("go", "env", "GOCACHE").Output()
	gomodcache, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("GOCACHE", strings.TrimSpace(string(gocache)))
			env.Setenv("GOMODCACHE", strings.TrimSpace(string(gomodcache)))
			env.Setenv("GOTOOLCHAIN", "local")
			env.Setenv("GOPROXY", "off")
			env.Setenv("GOFLAGS", "-mod=mod")
			env.Setenv("GOWORK", "off")
			env.Setenv("TMPDIR", env.WorkDir) // view's temporary store
			if p, err := exec.LookPath("go"); err == nil {
				env.Setenv("PATH", filepath.Dir(p)+string(os.PathListSeparator)+env.Getenv("PATH"))
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mkprofiles": mkprofiles,
			"mkprofile":  mkprofile,
			"mktrace":    mktrace,
			"corrupt":    corrupt,
			"truncate":   truncate,
			"server":     server,
			"fetch":      fetch,
			"errline":    errline,
			"setmatch":   setmatch,
		},
	})
}

const ms = int64(time.Millisecond)

// request builds the profile of one request of GET /items/{id}: authorize
// (CPU, 2ms), load (a network wait of load ms), render (CPU, 3ms).
func request(start time.Time, load int64) *profile.Profile {
	t1, t2 := 2*ms, 2*ms+load
	end := t2 + 3*ms
	return &profile.Profile{
		Name: "GET /items/{id}", Start: start, Duration: end,
		Attrs: []profile.Attr{{Key: profile.AttrRoute, Value: "GET /items/{id}"}, {Key: profile.AttrMethod, Value: "GET"},
			{Key: profile.AttrURL, Value: "/items/7"}, {Key: profile.AttrStatus, Value: "200"}, {Key: profile.ModuleAttr, Value: "example.com/shop"}},
		Frames: []profile.Frame{
			{Func: "example.com/shop.handler", File: "/shop/main.go", Line: 20},
			{Func: "example.com/shop.authorize", File: "/shop/main.go", Line: 31},
			{Func: "example.com/shop.load", File: "/shop/db.go", Line: 38},
			{Func: "example.com/shop.render", File: "/shop/main.go", Line: 45},
		},
		Stacks: []profile.Stack{{}, {Frames: []profile.FrameID{0}}, {Frames: []profile.FrameID{0, 1}}, {Frames: []profile.FrameID{0, 2}}, {Frames: []profile.FrameID{0, 3}}},
		Goroutines: []profile.Goroutine{{
			ID: 1, Member: true, Entry: 1, End: end,
			Intervals: []profile.Interval{
				{Start: 0, End: t1, State: profile.Running, Stack: 2},
				{Start: t1, End: t2, State: profile.Waiting, Reason: "network", Stack: 3},
				{Start: t2, End: end, State: profile.Running, Stack: 4},
			},
		}},
		Regions: []profile.Region{{Goroutine: 1, Type: "SQL: SELECT * FROM items WHERE id = ?", Start: t1, End: t2, Stack: 3}},
	}
}

// mkprofiles DIR N LOADMS [STEP]: N profiles of GET /items/{id} whose
// load phase takes LOADMS milliseconds (plus STEP ms more for each next
// one), as DIR/NNN.reqprof.
func mkprofiles(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: mkprofiles DIR N LOADMS [STEP]")
	}
	dir := ts.MkAbs(args[0])
	n, err1 := strconv.Atoi(args[1])
	load, err2 := strconv.ParseFloat(args[2], 64)
	step := 0.0
	if len(args) > 3 {
		step, _ = strconv.ParseFloat(args[3], 64)
	}
	if err1 != nil || err2 != nil {
		ts.Fatalf("mkprofiles: bad numbers")
	}
	ts.Check(os.MkdirAll(dir, 0o755))
	for i := range n {
		p := request(time.Date(2026, 1, 2, 3, 4, 5+i, 0, time.UTC), int64((load+step*float64(i))*float64(ms)))
		var b bytes.Buffer
		ts.Check(p.Encode(&b))
		ts.Check(os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.reqprof", i)), b.Bytes(), 0o644))
	}
}

// global serialises what uses the process's one tracer.
var global sync.Mutex

// mkprofile FILE: a real profile made by reqprof.Do of work that sleeps
// 5ms and spins 5ms.
func mkprofile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mkprofile FILE")
	}
	global.Lock()
	defer global.Unlock()
	p, err := reqprof.Do(context.Background(), "job", func(ctx context.Context) error {
		time.Sleep(5 * time.Millisecond)
		spin(5 * time.Millisecond)
		return nil
	})
	ts.Check(err)
	var b bytes.Buffer
	ts.Check(p.Encode(&b))
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b.Bytes(), 0o644))
}

//go:noinline
func spin(d time.Duration) int {
	x := 0
	for t := time.Now(); time.Since(t) < d; {
		for i := range 1000 {
			x += i
		}
	}
	return x
}

// mktrace FILE: an execution trace, recorded with runtime/trace.Start and
// CPU profiling, of three tasks "unit" (each waits 2ms for a goroutine)
// and one "checkout" (sleeps 3ms in a region).
func mktrace(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mktrace FILE")
	}
	global.Lock()
	defer global.Unlock()
	var b bytes.Buffer
	ts.Check(trace.Start(&b))
	cpu := pprof.StartCPUProfile(io.Discard) == nil
	for range 3 {
		ctx, task := trace.NewTask(context.Background(), "unit")
		done := make(chan struct{})
		go func() { time.Sleep(2 * time.Millisecond); close(done) }()
		<-done
		trace.Log(ctx, "step", "done")
		task.End()
	}
	ctx, task := trace.NewTask(context.Background(), "checkout")
	trace.WithRegion(ctx, "payment", func() { time.Sleep(3 * time.Millisecond) })
	task.End()
	if cpu {
		pprof.StopCPUProfile()
	}
	trace.Stop()
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b.Bytes(), 0o644))
}

// corrupt SRC DST: DST is SRC with bytes in its middle changed.
func corrupt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: corrupt SRC DST")
	}
	data := []byte(ts.ReadFile(args[0]))
	for i := len(data) / 3; i < len(data)/3+16 && i < len(data); i++ {
		data[i] ^= 0x5a
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), data, 0o644))
}

// truncate FILE PERCENT: keep the first PERCENT% of FILE.
func truncate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: truncate FILE PERCENT")
	}
	pct, err := strconv.Atoi(args[1])
	ts.Check(err)
	data := []byte(ts.ReadFile(args[0]))
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), data[:len(data)*pct/100], 0o644))
}

// server: start an HTTP server in the test process with reqprof's
// middleware on (its store in $WORK/store), at $SERVER. /work sleeps 3ms
// and spins 2ms; /plain is served by a server without reqprof, at $PLAIN.
func server(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: server")
	}
	st, err := store.OpenDir(ts.MkAbs("store"), store.Retention{})
	ts.Check(err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * time.Millisecond)
		spin(2 * time.Millisecond)
		fmt.Fprintln(w, "worked")
	})
	prof, err := httpprof.New(httpprof.Options{Enabled: true, Store: st, MaxConcurrent: 1, PerMinute: 1000})
	ts.Check(err)
	h := locked(prof.Wrap(mux))
	srv := httptest.NewServer(h)
	plain := httptest.NewServer(mux)
	ts.Defer(func() { srv.Close(); plain.Close(); prof.Close() })
	ts.Setenv("SERVER", srv.URL)
	ts.Setenv("PLAIN", plain.URL)
}

// locked serialises the profiled requests with the other users of the
// tracer in this process.
func locked(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		global.Lock()
		defer global.Unlock()
		h.ServeHTTP(w, r)
	})
}

// fetch URLFILE PATH [FILE]: GET PATH from the base URL written in URLFILE
// (waiting for the file), printing the body or writing it to FILE; fails
// unless the status is 200.
func fetch(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 && len(args) != 3 {
		ts.Fatalf("usage: fetch URLFILE PATH [FILE]")
	}
	var base string
	for deadline := time.Now().Add(30 * time.Second); ; {
		if b, err := os.ReadFile(ts.MkAbs(args[0])); err == nil && len(b) > 0 {
			base = strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			ts.Fatalf("fetch: no URL in %s", args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get(strings.TrimSuffix(base, "/") + args[1])
	ts.Check(err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(args) == 3 {
		ts.Check(os.WriteFile(ts.MkAbs(args[2]), body, 0o644))
	} else {
		ts.Stdout().Write(body)
	}
	if ok := resp.StatusCode == http.StatusOK; ok == neg {
		ts.Fatalf("fetch %s: %s", args[1], resp.Status)
	}
}

// stackTrace matches what a Go stack trace has.
var stackTrace = regexp.MustCompile(`goroutine \d+ \[|panic: |\.go:\d+ \+0x`)

// errline: the last command's stderr is one line, "reqprof: ...", with no
// stack trace.
func errline(ts *testscript.TestScript, neg bool, args []string) {
	s := ts.ReadFile("stderr")
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	bad := len(lines) != 1 || !strings.HasPrefix(lines[0], "reqprof: ") || stackTrace.MatchString(s)
	if len(lines) == 2 && strings.HasPrefix(lines[1], "Run 'reqprof") {
		bad = !strings.HasPrefix(lines[0], "reqprof: ") // a usage error, with its hint
	}
	if bad != neg {
		ts.Fatalf("stderr is not one error line:\n%s", s)
	}
}

// setmatch NAME REGEXP: set $NAME to the first group of REGEXP's first
// match in the last command's stdout.
func setmatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: setmatch NAME REGEXP")
	}
	m := regexp.MustCompile("(?m)" + args[1]).FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("setmatch: no match for %s", args[1])
	}
	ts.Setenv(args[0], m[1])
}
