package tracedec

import (
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/profile"
	xtrace "golang.org/x/exp/trace"
)

// mk makes a trace stack of the given functions, outermost first; a
// function written "f:12" is at line 12 (else line 1).
func mk(funcs ...string) xtrace.Stack {
	fs := make([]xtrace.StackFrame, len(funcs))
	for i, f := range funcs {
		line := uint64(1)
		if fn, l, ok := strings.Cut(f, ":"); ok {
			n, _ := strconv.Atoi(l)
			f, line = fn, uint64(n)
		}
		h := fnv.New64a()
		h.Write([]byte(f + ":" + strconv.FormatUint(line, 10)))
		// Leaf first, as in a trace; frames are told apart by their PC.
		fs[len(funcs)-1-i] = xtrace.StackFrame{PC: h.Sum64(), Func: f, File: "x.go", Line: line}
	}
	return xtrace.MakeStack(fs)
}

// inferTest is one running interval [0, end) of goroutine 1 (the root) to
// attribute.
type inferTest struct {
	name   string
	period int64        // the sample period (default 1000: the interval is unsampled around a sample)
	work   xtrace.Stack // the work's boundary, marked at markT, ended at endT
	markT  xtrace.Time
	endT   xtrace.Time
	iv     xtrace.Stack // the interval's own stack
	end    xtrace.Time  // default 100
	pts    []point
	want   []string
}

// run attributes the interval and returns its pieces as
// "start-end:frames[:unsampled]", frames outermost first, a frame at a
// line other than 1 written "f:line".
func (tt inferTest) run(t *testing.T) []string {
	t.Helper()
	end := tt.end
	if end == 0 {
		end = 100
	}
	period := tt.period
	if period == 0 {
		period = 1000
	}
	o := testOptions
	tl := &timeline{o: &o, period: period}
	tk := &task{g: 1, markT: tt.markT, endMarkT: tt.endT}
	b := &builder{t: tl, tk: tk, B: 0, E: end, in: newInterner(o.harness)}
	p := &profile.Profile{Stacks: []profile.Stack{{}}}
	if tt.work != xtrace.NoStack {
		tk.mark = tt.work
		p.Work = b.in.stack(p, tt.work, false)
	}
	b.code = profile.NewCode("example.com/app", []string{"github.com/reqprof/reqprof/"}, p.Frames)
	g := &gor{id: 1, points: tt.pts}
	g.periodOnce.Do(func() {}) // no running time of its own: the trace's period
	pg := profile.Goroutine{ID: 1, Member: true, End: int64(end)}
	b.runningInterval(p, &pg, g, rawInterval{start: 0, end: end, state: profile.Running, stack: tt.iv}, 0, end)
	var out []string
	next := int64(0)
	for _, iv := range pg.Intervals {
		if iv.Start != next {
			t.Fatalf("pieces do not tile the interval: %v", pg.Intervals)
		}
		next = iv.End
		var names []string
		for _, f := range p.Stacks[iv.Stack].Frames {
			fr := p.Frames[f]
			if fr.Line != 1 {
				names = append(names, fr.Func+":"+strconv.Itoa(fr.Line))
			} else {
				names = append(names, fr.Func)
			}
		}
		s := strconv.FormatInt(iv.Start, 10) + "-" + strconv.FormatInt(iv.End, 10) + ":" + strings.Join(names, ";")
		if iv.Inferred {
			s += ":unsampled"
		}
		out = append(out, s)
	}
	if next != int64(end) {
		t.Fatalf("pieces end at %d, want %d", next, end)
	}
	return out
}

func runInferTests(t *testing.T, tests []inferTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.run(t)
			if !slices.Equal(got, tt.want) {
				t.Errorf("pieces:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// Running time with no CPU sample near it is unsampled, under the deepest
// frame credibly running: the frames common to the stacks known at its two
// ends, without the blocking call's own frames.
func TestInferUnsampled(t *testing.T) {
	a := mk("main.main", "main.handler", "main.query")
	b := mk("main.main", "main.handler", "main.render")
	runInferTests(t, []inferTest{{
		name: "no point: the interval's own stack, unsampled",
		iv:   a,
		want: []string{"0-100:main.main;main.handler;main.query:unsampled"},
	}, {
		name: "the same stack at both ends is still unsampled",
		iv:   a,
		pts:  []point{{t: 0, stack: a}, {t: 100, stack: a}},
		want: []string{"0-100:main.main;main.handler;main.query:unsampled"},
	}, {
		name: "two stacks the code reached: the frames common to both",
		iv:   a,
		pts:  []point{{t: 0, stack: a}, {t: 100, stack: b}},
		want: []string{"0-100:main.main;main.handler:unsampled"},
	}, {
		name: "frames of one function at different lines are one call",
		iv:   mk("main.main", "main.handler:10", "main.query"),
		pts:  []point{{t: 0, stack: mk("main.main", "main.handler:10", "main.query")}, {t: 100, stack: mk("main.main", "main.handler:12", "main.render")}},
		want: []string{"0-100:main.main;main.handler:10:unsampled"},
	}, {
		name: "the standard library's frames of a blocking call are not where it ran",
		iv:   mk("main.main", "main.loop", "runtime.chanrecv1"),
		pts: []point{
			{t: 0, stack: mk("main.main", "main.loop", "runtime.chanrecv1"), kind: blocking},
			{t: 100, stack: mk("main.main", "main.loop", "runtime.chanrecv1"), kind: blocking},
		},
		want: []string{"0-100:main.main;main.loop:unsampled"},
	}, {
		name: "the profiler's frames of an event are not where it ran",
		iv:   a,
		pts: []point{
			{t: 0, stack: a},
			{t: 40, stack: mk("main.main", "main.handler", "main.query", "runtime/trace.Log"), kind: event},
			{t: 100, stack: a},
		},
		want: []string{"0-100:main.main;main.handler;main.query:unsampled"},
	}, {
		name: "a point before the interval starts is not an end",
		iv:   b,
		pts:  []point{{t: 0, stack: a}, {t: 40, stack: b}},
		want: []string{"0-40:main.main;main.handler:unsampled", "40-100:main.main;main.handler;main.render:unsampled"},
	}})
}

// Between CPU samples, running time goes as a sampling profiler would give
// it: each sample's stack carries the time nearer to it than to another
// sample, and it is not inferred.
func TestInferSampled(t *testing.T) {
	a := mk("main.main", "main.handler", "main.query")
	hot := func(line string) xtrace.Stack {
		return mk("main.main", "main.handler", "main.hash", "crypto/sha256.block:"+line)
	}
	runInferTests(t, []inferTest{{
		name:   "two samples in one function at different lines each keep their leaf",
		period: 100,
		iv:     hot("10"),
		pts: []point{
			{t: 0, stack: hot("10")},
			{t: 20, stack: hot("11"), kind: sampled},
			{t: 60, stack: hot("12"), kind: sampled},
			{t: 100, stack: hot("10")},
		},
		// The midpoint splits them; the ends are within half a period.
		want: []string{
			"0-40:main.main;main.handler;main.hash;crypto/sha256.block:11",
			"40-100:main.main;main.handler;main.hash;crypto/sha256.block:12",
		},
	}, {
		name:   "a single sample carries at most a period of an unsampled stretch",
		period: 30,
		iv:     a,
		pts: []point{
			{t: 0, stack: a},
			{t: 50, stack: hot("10"), kind: sampled},
			{t: 100, stack: a},
		},
		want: []string{
			"0-35:main.main;main.handler:unsampled",
			"35-65:main.main;main.handler;main.hash;crypto/sha256.block:10",
			"65-100:main.main;main.handler:unsampled",
		},
	}, {
		name:   "a sample's share stops where its function is known not to run",
		period: 100,
		iv:     a,
		pts: []point{
			{t: 0, stack: a},
			{t: 30, stack: hot("10"), kind: sampled},
			// handler called render: hash had returned.
			{t: 50, stack: mk("main.main", "main.handler", "main.render", "runtime.chanrecv1"), kind: blocking},
		},
		end: 50,
		want: []string{
			"0-50:main.main;main.handler;main.hash;crypto/sha256.block:10",
		},
	}, {
		name:   "a point that shows the sampled code still running does not cut its share",
		period: 100,
		iv:     a,
		pts: []point{
			{t: 0, stack: mk("main.main", "main.handler", "main.hash", "crypto/sha256.block:9")},
			{t: 30, stack: hot("10"), kind: sampled},
			{t: 40, stack: mk("main.main", "main.handler", "main.hash", "crypto/sha256.block:13", "runtime.morestack")},
			{t: 70, stack: mk("main.main", "main.handler", "main.render"), kind: blocking},
		},
		end:  70,
		want: []string{"0-70:main.main;main.handler;main.hash;crypto/sha256.block:10"},
	}, {
		name:   "a contradicting point bounds the share, and the rest is unsampled",
		period: 200,
		iv:     a,
		pts: []point{
			{t: 0, stack: a},
			{t: 10, stack: hot("10"), kind: sampled},
			{t: 30, stack: mk("main.main", "main.handler", "main.render"), kind: exact},
			{t: 100, stack: mk("main.main", "main.handler", "main.render", "runtime.chanrecv1"), kind: blocking},
		},
		want: []string{
			"0-30:main.main;main.handler;main.hash;crypto/sha256.block:10",
			"30-100:main.main;main.handler;main.render:unsampled",
		},
	}, {
		name:   "a sample in a caller does not carry its callee's time",
		period: 1000,
		iv:     a,
		pts: []point{
			{t: 0, stack: a},
			{t: 10, stack: mk("main.main", "main.handler"), kind: sampled},
			{t: 20, stack: mk("main.main", "main.handler", "main.hash", "runtime/trace.Log"), kind: event},
			{t: 100, stack: mk("main.main", "main.handler", "main.hash", "runtime.chanrecv1"), kind: blocking},
		},
		want: []string{
			"0-20:main.main;main.handler",
			"20-100:main.main;main.handler;main.hash:unsampled",
		},
	}, {
		name:   "a CPU sample without the goroutine's outer frames is not used",
		period: 1000,
		iv:     a,
		pts:    []point{{t: 0, stack: a}, {t: 50, stack: mk("runtime.mallocgc"), kind: sampled}, {t: 100, stack: a}},
		want:   []string{"0-100:main.main;main.handler;main.query:unsampled"},
	}})
}

// Unsampled time whose known ends share only the harness's or a framework's
// frames goes under the deepest user frame of the stack it ended in (with
// the application's middleware and the handler above it), never a
// framework's own time;
// between the marks around the work, it is the work's, but where an end of
// it was in the profiler's own call beside the work.
func TestInferAboveUserCode(t *testing.T) {
	work := mk("main.main", "github.com/reqprof/reqprof.Do", "github.com/reqprof/reqprof/capture.Run")
	in := func(fs ...string) xtrace.Stack {
		return mk(append([]string{"main.main", "github.com/reqprof/reqprof.Do", "github.com/reqprof/reqprof/capture.Run"}, fs...)...)
	}
	withClosure := in("github.com/reqprof/reqprof.Do.func1")
	runInferTests(t, []inferTest{{
		name: "from the begin mark into a handler: its deepest user frame, under the handler, not the router",
		work: work, markT: 0, endT: 200, end: 100,
		iv: work,
		pts: []point{
			{t: 0, stack: in("runtime/trace.Log"), kind: event},
			{t: 100, stack: in("net/http.(*ServeMux).ServeHTTP", "net/http.HandlerFunc.ServeHTTP", "example.com/app/users.Get", "example.com/app/db.Load", "database/sql.(*DB).QueryContext", "internal/poll.(*FD).Read"), kind: blocking},
		},
		want: []string{"0-100:main.main;github.com/reqprof/reqprof.Do;github.com/reqprof/reqprof/capture.Run;net/http.(*ServeMux).ServeHTTP;net/http.HandlerFunc.ServeHTTP;example.com/app/users.Get;example.com/app/db.Load:unsampled"},
	}, {
		name: "from the begin mark to a sample's share: the sample's deepest user frame",
		work: work, markT: 0, endT: 300, end: 300, period: 100,
		iv: work,
		pts: []point{
			{t: 0, stack: in("runtime/trace.Log"), kind: event},
			{t: 250, stack: in("example.com/app.job", "example.com/app.phase", "example.com/app.spin", "time.Since"), kind: sampled},
		},
		want: []string{
			"0-200:main.main;github.com/reqprof/reqprof.Do;github.com/reqprof/reqprof/capture.Run;example.com/app.job;example.com/app.phase;example.com/app.spin:unsampled",
			"200-300:main.main;github.com/reqprof/reqprof.Do;github.com/reqprof/reqprof/capture.Run;example.com/app.job;example.com/app.phase;example.com/app.spin;time.Since",
		},
	}, {
		name: "through the application's middleware to its handler and a helper: the deepest user frame, under the handler",
		work: work, markT: 0, endT: 200, end: 100,
		iv: work,
		pts: []point{
			{t: 0, stack: in("runtime/trace.Log"), kind: event},
			{t: 100, stack: in("github.com/gin-gonic/gin.(*Context).Next", "example.com/app/users.AuthMiddleware.func1", "github.com/gin-gonic/gin.(*Context).Next",
				"example.com/app/users.List", "example.com/app/users.writeJSON", "encoding/json.Marshal"), kind: event},
		},
		want: []string{"0-100:main.main;github.com/reqprof/reqprof.Do;github.com/reqprof/reqprof/capture.Run;github.com/gin-gonic/gin.(*Context).Next;example.com/app/users.AuthMiddleware.func1;github.com/gin-gonic/gin.(*Context).Next;example.com/app/users.List;example.com/app/users.writeJSON:unsampled"},
	}, {
		name: "out of the handler to the end mark: the handler it left",
		work: work, markT: 0, endT: 100, end: 120,
		iv: in("net/http.HandlerFunc.ServeHTTP", "example.com/app/users.Get", "runtime.chanrecv1"),
		pts: []point{
			{t: 0, stack: in("net/http.HandlerFunc.ServeHTTP", "example.com/app/users.Get", "runtime.chanrecv1"), kind: blocking},
			{t: 100, stack: in("runtime/trace.Log"), kind: event},
			{t: 120, stack: mk("main.main", "github.com/reqprof/reqprof.Do", "github.com/reqprof/reqprof/capture.(*Capture).Stop")},
		},
		want: []string{
			"0-100:main.main;github.com/reqprof/reqprof.Do;github.com/reqprof/reqprof/capture.Run;net/http.HandlerFunc.ServeHTTP;example.com/app/users.Get:unsampled",
			// After the end mark: the profiler's own.
			"100-120:main.main;github.com/reqprof/reqprof.Do:unsampled",
		},
	}, {
		name: "between the marks with no point inside: the work's, not the profiler's",
		work: work, markT: 0, endT: 100,
		iv: work,
		pts: []point{
			{t: 0, stack: in("runtime/trace.Log"), kind: event},
			{t: 100, stack: in("runtime/trace.Log"), kind: event},
		},
		want: []string{"0-100:main.main;github.com/reqprof/reqprof.Do;github.com/reqprof/reqprof/capture.Run:unsampled"},
	}, {
		name: "from the begin mark into the delivery code's own calls: those calls, the profiler's",
		work: work, markT: 0, endT: 200,
		iv: work,
		pts: []point{
			{t: 0, stack: in("runtime/trace.Log"), kind: event},
			{t: 100, stack: in("github.com/reqprof/reqprof/httpprof.wrapWriter"), kind: exact},
		},
		want: []string{"0-100:main.main;github.com/reqprof/reqprof.Do;github.com/reqprof/reqprof/capture.Run;github.com/reqprof/reqprof/httpprof.wrapWriter:unsampled"},
	}, {
		// The work's boundary ends in the delivery code's closure; the
		// garbage collector stopped the goroutine in capture.Run's call
		// logging the end mark, after the work had returned.
		name: "from a stop in the end mark's call to the end mark: the profiler's, not the work's",
		work: withClosure, markT: 0, endT: 30, end: 100,
		iv: in("runtime/trace.Log", "context.(*valueCtx).Value"),
		pts: []point{
			{t: 0, stack: in("runtime/trace.Log", "context.(*valueCtx).Value"), kind: preempt},
			{t: 30, stack: in("runtime/trace.Log"), kind: event},
		},
		want: []string{"0-100:main.main;github.com/reqprof/reqprof.Do;github.com/reqprof/reqprof/capture.Run:unsampled"},
	}, {
		name: "from a stop in the delivery code's closure: still the work's",
		work: withClosure, markT: 0, endT: 200, end: 100,
		iv: withClosure,
		pts: []point{
			{t: 0, stack: withClosure, kind: preempt},
			{t: 100, stack: in("runtime/trace.Log"), kind: event},
		},
		want: []string{"0-100:main.main;github.com/reqprof/reqprof.Do;github.com/reqprof/reqprof/capture.Run;github.com/reqprof/reqprof.Do.func1:unsampled"},
	}, {
		name: "a library's goroutine with no user frame keeps its frames",
		iv:   mk("database/sql.(*DB).connectionOpener", "runtime.selectgo"),
		pts: []point{
			{t: 0, stack: mk("database/sql.(*DB).connectionOpener", "runtime.selectgo"), kind: blocking},
			{t: 100, stack: mk("database/sql.(*DB).connectionOpener", "runtime.selectgo"), kind: blocking},
		},
		want: []string{"0-100:database/sql.(*DB).connectionOpener:unsampled"},
	}})
}

// A goroutine's sample period is its own running time per sample, the
// trace's weighing as priorSamples samples, both counted between the
// trace's first and last samples (sampling may start after the trace and
// end before it).
func TestGoroutinePeriod(t *testing.T) {
	mk := func() *gor {
		g := &gor{
			ivs:    []rawInterval{{start: 0, end: 1000, state: profile.Running}, {start: 1000, end: 5000, state: profile.Waiting}, {start: 5000, end: 6000, state: profile.Running}},
			points: make([]point, 9),
		}
		for i := range g.points {
			g.points[i] = point{t: xtrace.Time(100 * (i + 1)), kind: sampled}
		}
		return g
	}
	if got, want := mk().period(40, 0, 6000), int64((2000+priorSamples*40)/(9+priorSamples)); got != want {
		t.Errorf("period = %d, want %d", got, want)
	}
	// The trace's first sample at 500: 4 samples after it, in 500 + 1000
	// of running time.
	if got, want := mk().period(40, 500, 6000), int64((1500+priorSamples*40)/(4+priorSamples)); got != want {
		t.Errorf("period from the first sample = %d, want %d", got, want)
	}
	// ... and to the last, at 700: 2 samples after the first, in 200.
	if got, want := mk().period(40, 500, 700), int64((200+priorSamples*40)/(2+priorSamples)); got != want {
		t.Errorf("period between the first and last samples = %d, want %d", got, want)
	}
	if got := (&gor{}).period(40, 0, 0); got != 40 {
		t.Errorf("without samples or running time: %d, want the trace's 40", got)
	}
}

func TestSamplePeriod(t *testing.T) {
	for _, tt := range []struct {
		running int64
		samples int
		nominal time.Duration
		want    int64
	}{
		{running: 80e6, samples: 20, want: 4e6},              // measured: 250 Hz
		{running: 80e6, samples: 4, nominal: 1e6, want: 1e6}, // too few: as asked
		{running: 80e6, samples: 0, want: int64(defaultPeriod)},
	} {
		if got := samplePeriod(tt.running, tt.samples, tt.nominal); got != tt.want {
			t.Errorf("samplePeriod(%d, %d, %v) = %d, want %d", tt.running, tt.samples, tt.nominal, got, tt.want)
		}
	}
}

// The profiler's test packages are its users' code: a prefix of the
// harness ("github.com/reqprof/reqprof/contrib/") does not make a test's
// handler the harness's, so its running time is not folded into the
// framework's frames above it.
func TestHarnessSparesTestPackages(t *testing.T) {
	o := Options{Harness: []string{"github.com/reqprof/reqprof/contrib/"}}
	for fn, want := range map[string]bool{
		"github.com/reqprof/reqprof/contrib/gin.(*Profiler).handle":                    true,
		"github.com/reqprof/reqprof/contrib/gin_test.TestShortHandlerAttributed.func1": false,
		"runtime/trace.Log":    true,
		"example.com/app.main": false,
	} {
		if got := o.harness(fn); got != want {
			t.Errorf("harness(%q) = %v, want %v", fn, got, want)
		}
	}
}
