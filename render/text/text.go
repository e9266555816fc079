// Package text renders a profile as a console call tree, pyinstrument-style:
// a header with the duration and the CPU/waiting split, then one line per
// frame with its time, share, function and file:line, library frames folded
// as "[N frames hidden] pkg, pkg".
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

// DefaultThreshold is the share below which nodes are not shown, unless
// the options say otherwise.
const DefaultThreshold = 0.005

const (
	reset  = "\x1b[0m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	green  = "\x1b[32m"
	dim    = "\x1b[2m"
	bold   = "\x1b[1m"
	cyan   = "\x1b[36m"
)

// Render writes p as a text tree.
func Render(w io.Writer, p *profile.Profile, o render.Options) error {
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	tls, trees, err := o.Trees(p)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	r := &renderer{w: bw, o: o}
	r.header(p, o.View)
	for i, t := range trees {
		if len(trees) > 1 {
			fmt.Fprintf(bw, "\n%s\n", r.c(bold, tls[i].Name))
		}
		r.total = t.Total
		fmt.Fprintln(bw)
		r.node(t, "", "", true, true)
	}
	if len(p.Goroutines) == 0 {
		fmt.Fprintln(bw, "(empty profile)")
	}
	return bw.Flush()
}

type renderer struct {
	w     *bufio.Writer
	o     render.Options
	total int64
}

func (r *renderer) c(code, s string) string {
	if !r.o.Color {
		return s
	}
	return code + s + reset
}

// Split is how a timeline's time divides between states.
type Split struct {
	Running, Waiting, Runnable, Syscall int64
}

// SplitOf returns the split of the segments' time.
func SplitOf(segs []view.Segment) Split {
	var s Split
	for _, g := range segs {
		d := g.End - g.Start
		switch g.State {
		case profile.Running:
			s.Running += d
		case profile.Waiting:
			s.Waiting += d
		case profile.Runnable:
			s.Runnable += d
		case profile.Syscall:
			s.Syscall += d
		}
	}
	return s
}

func (r *renderer) header(p *profile.Profile, k view.Kind) {
	w := r.w
	title := p.Name
	if title == "" {
		title = "(unnamed)"
	}
	fmt.Fprintf(w, "%s  %s", r.c(bold, "reqprof"), r.c(bold, title))
	if !p.Start.IsZero() {
		fmt.Fprintf(w, "  %s", p.Start.UTC().Format("2006-01-02 15:04:05.000 UTC"))
	}
	fmt.Fprintln(w)
	cp := view.CriticalPath(p)
	sp := SplitOf(cp.Segments)
	d := p.Duration
	members := 0
	for _, g := range p.Goroutines {
		if g.Member {
			members++
		}
	}
	fmt.Fprintf(w, "Duration: %s   CPU: %s (%s)   Waiting: %s (%s)", Dur(d), Dur(sp.Running), pct(sp.Running, d), Dur(sp.Waiting), pct(sp.Waiting, d))
	if sp.Runnable > 0 {
		fmt.Fprintf(w, "   Runnable: %s (%s)", Dur(sp.Runnable), pct(sp.Runnable, d))
	}
	if sp.Syscall > 0 {
		fmt.Fprintf(w, "   Syscall: %s (%s)", Dur(sp.Syscall), pct(sp.Syscall, d))
	}
	fmt.Fprintf(w, "   Goroutines: %d\n", members)
	if k == "" {
		k = view.Critical
	}
	names := map[view.Kind]string{view.Critical: "critical path", view.Goroutines: "per goroutine", view.All: "all goroutines"}
	fmt.Fprintf(w, "View: %s", names[k])
	if p.GoVersion != "" {
		fmt.Fprintf(w, "   Go: %s", p.GoVersion)
	}
	if p.Host != "" {
		fmt.Fprintf(w, "   Host: %s", p.Host)
	}
	fmt.Fprintln(w)
	for _, a := range p.Attrs {
		if a.Key == profile.ModuleAttr {
			continue
		}
		fmt.Fprintf(w, "%s: %s\n", a.Key, a.Value)
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "%s %s\n", r.c(yellow, "note:"), warn)
	}
}

func (r *renderer) node(n *view.Node, indent, branch string, last, top bool) {
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
	fmt.Fprintf(w, "%s%s%s %s  %s", indent, branch, r.c(col, Dur(n.Total)), r.c(col, fmt.Sprintf("%5.1f%%", share*100)), r.name(n.Frame, top))
	if !top && n.Frame.Kind == view.Func && n.Frame.File != "" {
		fmt.Fprintf(w, "  %s", r.c(dim, fmt.Sprintf("%s:%d", filepath.Base(n.Frame.File), n.Frame.Line)))
	}
	if n.Frame.Kind == view.Wait && n.Count > 1 {
		fmt.Fprintf(w, "  %s", r.c(dim, fmt.Sprintf("×%d", n.Count)))
	}
	if n.Inferred > 0 && n.Inferred*2 >= n.Total && n.Frame.Kind == view.Func && len(n.Children) == 0 {
		fmt.Fprintf(w, "  %s", r.c(dim, "(unsampled)"))
	}
	if len(n.Hidden) > 0 {
		fmt.Fprintf(w, "  %s", r.c(dim, hidden(n.Hidden)))
	}
	fmt.Fprintln(w)
	child := indent
	if branch != "" {
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
		r.node(c, child, b, isLast, false)
	}
}

func (r *renderer) name(f view.Frame, top bool) string {
	switch {
	case top:
		return r.c(bold, f.Name)
	case f.Kind == view.Func:
		return ShortFunc(f.Name)
	case f.Kind == view.Region:
		return r.c(cyan, f.Name)
	default:
		return r.c(dim+cyan, f.Name)
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
