// Package text renders a profile as a console call tree, pyinstrument-style:
// a header with the duration, the CPU/waiting split and how much of the
// running time CPU samples observed, then one line per frame with its time,
// share, function and file:line, library frames folded as "[N frames
// hidden] pkg, pkg". Running time no sample observed shows as
// "[running, unsampled]" under the deepest frame credibly running, never
// as a function's "[self]".
package text

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// Extension and ContentType describe the format.
const (
	Extension   = ".txt"
	ContentType = "text/plain; charset=utf-8"
)

// Descriptor describes the format to the render registry.
var Descriptor = render.Descriptor{
	Name: "text", Extension: Extension, ContentType: ContentType,
	Takes: render.Stacks, Write: Render, WriteStacks: RenderStacks,
}

func init() { render.Register(Descriptor) }

// DefaultThreshold is the share below which nodes are not shown, unless
// the options say otherwise.
const DefaultThreshold = 0.005

// maxIndent bounds the indentation of the tree, in levels: deeper lines
// are indented as much and say how much deeper they are ("+3"), so that
// the output grows with the number of nodes, not with their depth squared.
const maxIndent = 64

const (
	reset  = "\x1b[0m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	green  = "\x1b[32m"
	dim    = "\x1b[2m"
	bold   = "\x1b[1m"
	cyan   = "\x1b[36m"
)

// Render writes p as a text tree: a header with its [view.Summary], then
// the view's call trees.
func Render(w io.Writer, p *profile.Profile, o render.Options) error {
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	tls, trees, err := o.Trees(p)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	r := &renderer{w: bw, o: o, short: shortNames(trees...)}
	r.header(p, o.View, tls)
	for i, t := range trees {
		if len(trees) > 1 {
			fmt.Fprintf(bw, "\n%s\n", r.c(bold, r.esc(tls[i].Name)))
		}
		r.tree(t)
	}
	if len(p.Goroutines) == 0 {
		fmt.Fprintln(bw, "(empty profile)")
	}
	return bw.Flush()
}

// RenderStacks writes the call tree of a stack set's default value (one
// profile's view, or many profiles merged) under a header with its name,
// total and comments.
func RenderStacks(w io.Writer, s *view.StackSet, o render.Options) error {
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	if s.Default < 0 || s.Default >= len(s.Types) {
		return fmt.Errorf("text: default value %d of a set of %d types", s.Default, len(s.Types))
	}
	tree := o.Tree(s, s.Default)
	bw := bufio.NewWriter(w)
	r := &renderer{w: bw, o: o, short: shortNames(tree)}
	r.title(s.Name, s.Start)
	total := s.Total(s.Default)
	fmt.Fprintf(bw, "Total: %s (%s)", Dur(total), r.esc(s.Types[s.Default]))
	if s.Duration > 0 {
		fmt.Fprintf(bw, "   Duration: %s", Dur(s.Duration))
	}
	fmt.Fprintln(bw)
	for _, c := range s.Comments {
		fmt.Fprintln(bw, r.esc(c))
	}
	r.tree(tree)
	if len(s.Stacks) == 0 {
		fmt.Fprintln(bw, "(no stacks)")
	}
	return bw.Flush()
}

type renderer struct {
	w     *bufio.Writer
	o     render.Options
	total int64
	short func(fn string) string
}

// shortNames shortens the function names of the trees, telling apart
// packages whose names end alike (see [view.ShortNames]).
func shortNames(trees ...*view.Node) func(string) string {
	var fns []string
	for _, t := range trees {
		t.Walk(func(n *view.Node, depth int) {
			if n.Frame.Kind == view.Func && depth > 0 { // the root is a name
				fns = append(fns, n.Frame.Name)
			}
			for _, h := range n.Hidden {
				fns = append(fns, h.Name)
			}
		})
	}
	return view.ShortNames(fns)
}

func (r *renderer) c(code, s string) string {
	if !r.o.Color {
		return s
	}
	return code + s + reset
}

// esc escapes what comes from the profile: see [render.Escape].
func (r *renderer) esc(s string) string { return render.Escape(s) }

func (r *renderer) title(name string, start time.Time) {
	if name == "" {
		name = "(unnamed)"
	}
	fmt.Fprintf(r.w, "%s  %s", r.c(bold, "reqprof"), r.c(bold, r.esc(name)))
	if !start.IsZero() {
		fmt.Fprintf(r.w, "  %s", start.UTC().Format("2006-01-02 15:04:05.000 UTC"))
	}
	fmt.Fprintln(r.w)
}

// maxWaitReasons bounds the reasons the header lists.
const maxWaitReasons = 6

func (r *renderer) header(p *profile.Profile, k view.Kind, tls []view.Timeline) {
	w := r.w
	r.title(p.Name, p.Start)
	sum := view.Summarize(p)
	d := sum.Duration
	fmt.Fprintf(w, "Duration: %s   CPU: %s (%s", Dur(d), Dur(sum.CPU), pct(sum.CPU, d))
	if sum.CPU > 0 {
		fmt.Fprintf(w, "; %s sampled, %s unsampled", pct(sum.CPUSampled(), sum.CPU), pct(sum.CPUInferred, sum.CPU))
	}
	fmt.Fprintf(w, ")   Waiting: %s (%s)", Dur(sum.Waiting), pct(sum.Waiting, d))
	if sum.Runnable > 0 {
		fmt.Fprintf(w, "   Runnable: %s (%s)", Dur(sum.Runnable), pct(sum.Runnable, d))
	}
	if sum.Syscall > 0 {
		fmt.Fprintf(w, "   Syscall: %s (%s)", Dur(sum.Syscall), pct(sum.Syscall, d))
	}
	fmt.Fprintf(w, "   Goroutines: %d", sum.Goroutines)
	if sum.Housekeeping > 0 {
		fmt.Fprintf(w, " (+%d housekeeping)", sum.Housekeeping)
	}
	fmt.Fprintln(w)
	if len(sum.Waits) > 0 || sum.Followed > 0 {
		sep := ""
		if len(sum.Waits) > 0 {
			fmt.Fprint(w, "Waits:")
			for i, wt := range sum.Waits {
				if i == maxWaitReasons {
					fmt.Fprintf(w, ", +%d more", len(sum.Waits)-i)
					break
				}
				if i > 0 {
					fmt.Fprint(w, ",")
				}
				fmt.Fprintf(w, " %s %s", r.esc(wt.Reason), Dur(wt.Time))
				if wt.Count > 1 {
					fmt.Fprintf(w, " ×%d", wt.Count)
				}
			}
			sep = "   "
		}
		if sum.Followed > 0 {
			fmt.Fprintf(w, "%sVia other goroutines: %s (%s)", sep, Dur(sum.Followed), pct(sum.Followed, d))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "CPU samples: %d", sum.Samples)
	if sum.SamplePeriod > 0 {
		fmt.Fprintf(w, " (one per %s of running time)", Dur(sum.SamplePeriod))
	}
	switch {
	case sum.OverheadBefore > 0:
		fmt.Fprintf(w, "   reqprof: %s before the window, %s inside", Dur(sum.OverheadBefore), Dur(sum.Overhead))
	case sum.Overhead > 0:
		fmt.Fprintf(w, "   reqprof: %s inside the window", Dur(sum.Overhead))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "View: %s", k.Title())
	if p.GoVersion != "" {
		fmt.Fprintf(w, "   Go: %s", r.esc(p.GoVersion))
	}
	if p.Host != "" {
		fmt.Fprintf(w, "   Host: %s", r.esc(p.Host))
	}
	fmt.Fprintln(w)
	for _, a := range p.Attrs {
		if a.Key == profile.ModuleAttr || a.Key == profile.AttrOverhead {
			continue
		}
		fmt.Fprintf(w, "%s: %s\n", r.esc(a.Key), r.esc(a.Value))
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "%s %s\n", r.c(yellow, "note:"), r.esc(warn))
	}
	for _, tl := range tls {
		for _, n := range tl.Notes {
			fmt.Fprintf(w, "%s %s\n", r.c(yellow, "note:"), r.esc(n))
		}
	}
}

// tree writes one call tree.
func (r *renderer) tree(t *view.Node) {
	r.total = t.Total
	fmt.Fprintln(r.w)
	r.node(t, "", "", true, true, 0)
}

func (r *renderer) node(n *view.Node, indent, branch string, last, top bool, depth int) {
	w := r.w
	share := float64(n.Total) / float64(max(r.total, 1))
	col := dim
	switch {
	case share >= 0.6:
		col = red
	case share >= 0.3:
		col = yellow
	case share >= 0.2:
		col = green
	}
	deeper := ""
	if depth > maxIndent {
		deeper = fmt.Sprintf("+%d ", depth-maxIndent)
	}
	fmt.Fprintf(w, "%s%s%s%s %s  %s", indent, deeper, branch, r.c(col, Dur(n.Total)), r.c(col, fmt.Sprintf("%5.1f%%", share*100)), r.name(n.Frame, top))
	if !top && n.Frame.Kind == view.Func && n.Frame.File != "" {
		fmt.Fprintf(w, "  %s", r.c(dim, fmt.Sprintf("%s:%d", r.esc(filepath.Base(n.Frame.File)), n.Frame.Line)))
	}
	if n.Frame.Kind == view.Wait && n.Count > 1 {
		fmt.Fprintf(w, "  %s", r.c(dim, fmt.Sprintf("×%d", n.Count)))
	}
	if len(n.Hidden) > 0 {
		fmt.Fprintf(w, "  %s", r.c(dim, r.esc(hidden(n.Hidden))))
	}
	fmt.Fprintln(w)
	child := indent
	if branch != "" && depth < maxIndent {
		if last {
			child += "   "
		} else if r.o.Unicode {
			child += "│  "
		} else {
			child += "|  "
		}
	}
	children := n.Children
	// Time spent in the node itself, shown among its children when it
	// matters, pyinstrument-style.
	if len(children) > 0 && n.Self > 0 && float64(n.Self) >= r.o.Threshold*float64(r.total) {
		self := &view.Node{Frame: view.Frame{Name: "[self]", Kind: view.Overhead}, Total: n.Self, Self: n.Self}
		children = append(slices.Clone(children), self)
		if !r.o.TimeOrder {
			slices.SortStableFunc(children, func(a, b *view.Node) int { return int(min(max(b.Total-a.Total, -1), 1)) })
		}
	}
	for i, c := range children {
		isLast := i == len(children)-1
		b := "├─ "
		if isLast {
			b = "└─ "
		}
		if !r.o.Unicode {
			b = "|- "
			if isLast {
				b = "`- "
			}
		}
		r.node(c, child, b, isLast, false, depth+1)
	}
}

func (r *renderer) name(f view.Frame, top bool) string {
	name := r.esc(f.Name)
	switch {
	case top:
		return r.c(bold, name)
	case f.Kind == view.Func:
		if r.short != nil {
			return r.esc(r.short(f.Name))
		}
		return ShortFunc(name)
	case f.Kind == view.Region:
		return r.c(cyan, name)
	default:
		return r.c(dim+cyan, name)
	}
}

// ShortFunc drops the directories of a function's package path:
// "github.com/x/y/db.(*Conn).Query" → "db.(*Conn).Query".
func ShortFunc(fn string) string {
	if i := strings.LastIndexByte(fn[:len(fn)-len(afterPkg(fn))], '/'); i >= 0 {
		return fn[i+1:]
	}
	return fn
}

func afterPkg(fn string) string {
	return fn[len(view.Package(fn)):]
}

func hidden(fs []view.Frame) string {
	var pkgs []string
	for _, f := range fs {
		if p := view.Package(f.Name); !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	const maxPkgs = 4
	more := ""
	if len(pkgs) > maxPkgs {
		more = fmt.Sprintf(", +%d", len(pkgs)-maxPkgs)
		pkgs = pkgs[:maxPkgs]
	}
	return fmt.Sprintf("[%d frames hidden] %s%s", len(fs), strings.Join(pkgs, ", "), more)
}

// Dur formats nanoseconds for people: 850ns, 12.3µs, 4.56ms, 1.23s.
func Dur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", ns)
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(ns)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(ns)/1e6)
	}
	return fmt.Sprintf("%.3fs", float64(ns)/1e9)
}

func pct(x, total int64) string {
	if total <= 0 {
		return "0%"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(x)/float64(total))
}
