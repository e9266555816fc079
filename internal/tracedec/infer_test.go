package tracedec

import (
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/profile"
	xtrace "golang.org/x/exp/trace"
)

// mk makes a trace stack of the given functions, outermost first.
func mk(funcs ...string) xtrace.Stack {
	fs := make([]xtrace.StackFrame, len(funcs))
	for i, f := range funcs {
		h := fnv.New64a()
		h.Write([]byte(f))
		// Leaf first, as in a trace; frames are told apart by their PC.
		fs[len(funcs)-1-i] = xtrace.StackFrame{PC: h.Sum64(), Func: f, File: "x.go", Line: 1}
	}
	return xtrace.MakeStack(fs)
}

// inferCase runs the running-time inference over one running interval
// [0, end) of goroutine 1 (the root) with the given points, and returns the
// pieces as "start-end:frames[:inferred]".
func inferCase(t *testing.T, work xtrace.Stack, ivStack xtrace.Stack, end xtrace.Time, pts []point) []string {
	t.Helper()
	b := &builder{tk: &task{g: 1}, B: 0, E: end, in: newInterner(testOptions.harness)}
	p := &profile.Profile{Stacks: []profile.Stack{{}}}
	if work != xtrace.NoStack {
		p.Work = b.in.stack(p, work, false)
	}
	g := &gor{id: 1, points: pts}
	pg := profile.Goroutine{ID: 1, Member: true, End: int64(end)}
	b.runningInterval(p, &pg, g, rawInterval{start: 0, end: end, state: profile.Running, stack: ivStack}, 0, end)
	var out []string
	next := int64(0)
	for _, iv := range pg.Intervals {
		if iv.Start != next {
			t.Fatalf("pieces do not tile the interval: %v", pg.Intervals)
		}
		next = iv.End
		var names []string
		for _, f := range p.Stacks[iv.Stack].Frames {
			names = append(names, p.Frames[f].Func)
		}
		s := strings.Join([]string{strconv.FormatInt(iv.Start, 10) + "-" + strconv.FormatInt(iv.End, 10), strings.Join(names, ";")}, ":")
		if iv.Inferred {
			s += ":inferred"
		}
		out = append(out, s)
	}
	if next != int64(end) {
		t.Fatalf("pieces end at %d, want %d", next, end)
	}
	return out
}

func TestInferRunning(t *testing.T) {
	a := mk("main.main", "main.handler", "main.query")
	b := mk("main.main", "main.handler", "main.render")
	sample := mk("main.main", "main.handler", "main.render", "example.com/lib.Encode", "strconv.Itoa")
	tests := []struct {
		name string
		work xtrace.Stack
		iv   xtrace.Stack
		pts  []point
		want []string
	}{{
		name: "no point: the interval's own stack, observed",
		iv:   a,
		want: []string{"0-100:main.main;main.handler;main.query"},
	}, {
		name: "the same stack at both ends is observed",
		iv:   a,
		pts:  []point{{t: 0, stack: a}, {t: 100, stack: a}},
		want: []string{"0-100:main.main;main.handler;main.query"},
	}, {
		name: "two stacks the code reached: the frames common to both, inferred",
		iv:   a,
		pts:  []point{{t: 0, stack: a}, {t: 100, stack: b}},
		want: []string{"0-100:main.main;main.handler:inferred"},
	}, {
		name: "towards a CPU sample: its stack down to its deepest frame outside the standard library",
		iv:   a,
		pts:  []point{{t: 0, stack: a}, {t: 60, stack: sample, cpu: true, random: true}, {t: 100, stack: b}},
		// Both pieces have the sample at one end: they merge.
		want: []string{"0-100:main.main;main.handler;main.render;example.com/lib.Encode:inferred"},
	}, {
		name: "a CPU sample without the goroutine's outer frames is not used",
		iv:   a,
		pts:  []point{{t: 0, stack: a}, {t: 50, stack: mk("runtime.mallocgc"), cpu: true, random: true}, {t: 100, stack: a}},
		want: []string{"0-100:main.main;main.handler;main.query"},
	}, {
		name: "a point before the interval starts gives its first piece's stack",
		iv:   b,
		pts:  []point{{t: 0, stack: a}, {t: 40, stack: b}},
		want: []string{"0-40:main.main;main.handler:inferred", "40-100:main.main;main.handler;main.render"},
	}, {
		name: "from the begin mark into the work: the work's outermost call, not the harness",
		work: mk("main.main", "example.com/prof.Do", "example.com/prof/capture.Run"),
		iv:   mk("main.main", "example.com/prof.Do", "example.com/prof/capture.Run"),
		pts: []point{
			{t: 0, stack: mk("main.main", "example.com/prof.Do", "example.com/prof/capture.Run")},
			{t: 30, stack: mk("main.main", "example.com/prof.Do", "example.com/prof/capture.Run", "main.job", "main.step")},
			{t: 70, stack: mk("main.main", "example.com/prof.Do", "example.com/prof/capture.(*Capture).Stop")},
		},
		// Out of the work into the profiler's Stop, too.
		want: []string{
			"0-70:main.main;example.com/prof.Do;example.com/prof/capture.Run;main.job:inferred",
			"70-100:main.main;example.com/prof.Do;example.com/prof/capture.(*Capture).Stop",
		},
	}, {
		name: "without a boundary, the same stretch keeps the common frames",
		iv:   mk("main.main", "example.com/prof.Do", "example.com/prof/capture.Run"),
		pts: []point{
			{t: 0, stack: mk("main.main", "example.com/prof.Do", "example.com/prof/capture.Run")},
			{t: 30, stack: mk("main.main", "example.com/prof.Do", "example.com/prof/capture.Run", "main.job", "main.step")},
		},
		want: []string{
			"0-30:main.main;example.com/prof.Do;example.com/prof/capture.Run:inferred",
			"30-100:main.main;example.com/prof.Do;example.com/prof/capture.Run;main.job;main.step",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := inferCase(t, tt.work, tt.iv, 100, tt.pts)
			if !slices.Equal(got, tt.want) {
				t.Errorf("pieces:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}
