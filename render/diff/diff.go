// Package diff draws the diff of two aggregates ([aggregate.Compare]) —
// before and after a change, or typical and slow requests — for people and
// tools:
//
//   - [Text]: a header comparing the two sets of requests (count, mean and
//     percentiles of their duration, CPU and waiting per request), the
//     call-tree nodes whose time per request changed, as an indented table
//     (before, after, change, relative change, requests that reached the
//     node), and the largest changes of self time by function.
//   - [Pprof]: a gzipped profile.proto holding the after profile and the
//     before profile negated and labelled pprof::base=true, every value in
//     nanoseconds per request: the profile `go tool pprof -diff_base`
//     builds, so `go tool pprof -top diff.pb.gz` lists what changed and
//     `go tool pprof -http=: diff.pb.gz` draws it as pprof draws diffs.
//   - [HTML]: a self-contained page (no network access) with a
//     differential flame graph — each frame as wide as the mean of its
//     before and after time, red when slower, blue when faster, the
//     stronger the larger the relative change, labelled with the change —
//     and the diff tree as an expandable table with every number.
//
// Every time is per request: an aggregate's total divided by its number of
// profiles, so 50 requests compare with 500.
package diff

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/text"
	"github.com/reqprof/reqprof/view"
)

// Options choose what the text shows.
type Options struct {
	// Threshold hides nodes whose change is below this fraction of the
	// larger of the two totals (default 0.01; negative shows every node).
	Threshold float64
	// Top bounds the functions listed by change of self time (default 15).
	Top int
	// Color and Unicode are for terminals.
	Color, Unicode bool
}

func (o Options) withDefaults() Options {
	if o.Threshold == 0 {
		o.Threshold = 0.01
	}
	if o.Top == 0 {
		o.Top = 15
	}
	return o
}

const (
	reset = "\x1b[0m"
	red   = "\x1b[31m"
	blue  = "\x1b[34m"
	bold  = "\x1b[1m"
	dim   = "\x1b[2m"
)

// Text writes the diff as text.
func Text(w io.Writer, d *aggregate.Diff, o Options) error {
	o = o.withDefaults()
	bw := bufio.NewWriter(w)
	t := &texter{w: bw, o: o}
	t.header(d)
	t.tree(d)
	t.funcs(d)
	return bw.Flush()
}

type texter struct {
	w *bufio.Writer
	o Options
}

func (t *texter) c(code, s string) string {
	if !t.o.Color {
		return s
	}
	return code + s + reset
}

func dur(ns float64) string { return text.Dur(int64(math.Round(ns))) }

// signed formats a change: +1.20ms, -850ns, 0.
func signed(ns float64) string {
	switch r := math.Round(ns); {
	case r > 0:
		return "+" + dur(r)
	case r < 0:
		return "-" + dur(-r)
	}
	return "0"
}

// rel formats a relative change: +38.1%, -50.0%, new, gone.
func rel(a, b float64) string {
	switch {
	case a > 0 && b == 0:
		return "gone"
	case a > 0:
		return fmt.Sprintf("%+.1f%%", 100*(b-a)/a)
	case b > 0:
		return "new"
	}
	return ""
}

func (t *texter) colored(a, b float64, s string) string {
	switch {
	case b > a:
		return t.c(red, s)
	case b < a:
		return t.c(blue, s)
	}
	return s
}

func (t *texter) header(d *aggregate.Diff) {
	sa, sb := aggregate.Summary(d.A), aggregate.Summary(d.B)
	esc := render.Escape
	fmt.Fprintf(t.w, "%s  before: %s (%d requests)   after: %s (%d requests)\n", t.c(bold, "reqprof diff"),
		esc(d.A.Title()), sa.N, esc(d.B.Title()), sb.N)
	fmt.Fprintf(t.w, "Times per request (each side's total divided by its number of requests); call tree of %s time.\n\n", d.A.Types[d.Type])
	row := func(name string, a, b float64) {
		fmt.Fprintf(t.w, "  %-18s %10s %10s %s\n", name, dur(a), dur(b), t.colored(a, b, fmt.Sprintf("%10s %8s", signed(b-a), rel(a, b))))
	}
	fmt.Fprintf(t.w, "  %-18s %10s %10s %10s\n", "", "before", "after", "change")
	row("duration mean", sa.Mean, sb.Mean)
	row("duration p50", float64(sa.P50), float64(sb.P50))
	row("duration p90", float64(sa.P90), float64(sb.P90))
	row("duration p99", float64(sa.P99), float64(sb.P99))
	row("CPU", sa.CPU, sb.CPU)
	row("waiting", sa.Waiting, sb.Waiting)
	for i, w := range d.Waits() {
		if i == 5 {
			break
		}
		row("  "+esc(w.Reason), w.A, w.B)
	}
}

func (t *texter) tree(d *aggregate.Diff) {
	root := d.Root
	limit := 0.0
	if t.o.Threshold > 0 {
		limit = t.o.Threshold * max(root.A.Total, root.B.Total)
	}
	// Show a node if its change is large enough, or one under it is.
	shown := map[*aggregate.DiffNode]bool{}
	var mark func(n *aggregate.DiffNode) bool
	mark = func(n *aggregate.DiffNode) bool {
		show := math.Abs(n.Delta()) >= limit
		for _, c := range n.Children {
			if mark(c) {
				show = true
			}
		}
		shown[n] = show
		return show
	}
	mark(root)
	pct := fmt.Sprintf("%g%%", 100*t.o.Threshold)
	if t.o.Threshold <= 0 {
		fmt.Fprintf(t.w, "\nCall tree, per request (every node):\n")
	} else {
		fmt.Fprintf(t.w, "\nCall tree, per request (nodes whose time changed by %s of the total or more, and their callers):\n", pct)
	}
	fmt.Fprintf(t.w, "  %10s %10s %10s %8s %11s  %s\n", "before", "after", "change", "", "requests", "node")
	var walk func(n *aggregate.DiffNode, indent string, last, top bool)
	walk = func(n *aggregate.DiffNode, indent string, last, top bool) {
		branch := ""
		if !top {
			branch = t.branch(last)
		}
		reqs := ""
		if n.A.Known && n.B.Known {
			reqs = fmt.Sprintf("%d→%d", n.A.Requests, n.B.Requests)
		}
		fmt.Fprintf(t.w, "  %10s %10s %s %11s  %s%s%s\n", dur(n.A.Total), dur(n.B.Total),
			t.colored(n.A.Total, n.B.Total, fmt.Sprintf("%10s %8s", signed(n.Delta()), rel(n.A.Total, n.B.Total))),
			reqs, indent, branch, name(n.Frame, top))
		var kids []*aggregate.DiffNode
		for _, c := range n.Children {
			if shown[c] {
				kids = append(kids, c)
			}
		}
		child := indent
		if !top {
			child += t.pipe(last)
		}
		for i, c := range kids {
			walk(c, child, i == len(kids)-1, false)
		}
	}
	walk(root, "", true, true)
}

func (t *texter) branch(last bool) string {
	switch {
	case t.o.Unicode && last:
		return "└─ "
	case t.o.Unicode:
		return "├─ "
	case last:
		return "`- "
	}
	return "|- "
}

func (t *texter) pipe(last bool) string {
	switch {
	case last:
		return "   "
	case t.o.Unicode:
		return "│  "
	}
	return "|  "
}

// name is how a frame shows in a line: functions short, with file:line.
func name(f view.Frame, top bool) string {
	n := render.Escape(f.Name)
	if top || f.Kind != view.Func {
		return n
	}
	n = text.ShortFunc(n)
	if f.File != "" {
		n += "  " + render.Escape(filepath.Base(f.File))
	}
	return n
}

func (t *texter) funcs(d *aggregate.Diff) {
	fs := d.Funcs()
	var rows []aggregate.FuncDiff
	for _, f := range fs {
		if f.Difference != 0 && len(rows) < t.o.Top {
			rows = append(rows, f)
		}
	}
	if len(rows) == 0 {
		fmt.Fprintf(t.w, "\nNo function's self time changed.\n")
		return
	}
	fmt.Fprintf(t.w, "\nLargest changes of self time per request (flat), with cumulative time:\n")
	fmt.Fprintf(t.w, "  %10s %10s %10s %8s %10s %10s  %s\n", "self A", "self B", "change", "", "cum A", "cum B", "function")
	for _, f := range rows {
		fmt.Fprintf(t.w, "  %10s %10s %s %10s %10s  %s\n", dur(f.A.Self), dur(f.B.Self),
			t.colored(f.A.Self, f.B.Self, fmt.Sprintf("%10s %8s", signed(f.Difference), rel(f.A.Self, f.B.Self))),
			dur(f.A.Total), dur(f.B.Total), strings.TrimSpace(name(f.Frame, false)))
	}
}
