// Package folded renders a profile as folded (collapsed) stacks, the text
// format of Brendan Gregg's flamegraph.pl, which Speedscope, inferno and
// many other tools read: one line per distinct stack,
//
//	GET /orders;main.handler;main.readCache;sync.(*Mutex).Lock;[wait: sync] 2000
//
// frames outermost first, separated by ';', then a space and the time spent
// in exactly that stack.
//
// The first frame is the profile's name; with the view [view.Goroutines] the
// goroutine's timeline name ("goroutine 7: main.fetch") follows it. The
// critical path is rendered by default, other views as the options say;
// pseudo-frames ("[wait: network]", "[via goroutine 7: main.fetch]", region
// names) are frames like the others, and library frames are grouped unless
// the options say otherwise ([render.Options.Timelines]). Threshold is
// ignored: every stack is kept.
//
// Lines are merged per distinct stack and sorted by stack, so output is
// deterministic. Frame names never contain ';' (replaced by ',') nor line
// breaks or other control characters (replaced by spaces); leading and
// trailing spaces are trimmed, and an empty name becomes "?".
//
// Values are whole microseconds ([Render]) or multiples of another unit
// ([RenderUnit]). They are rounded cumulatively: line i gets
// round(S_i) - round(S_{i-1}), where S_i is the exact time of lines 1..i in
// the unit. Each line is thus within one unit of its exact time, and the
// file's total is the view's total rounded to the unit, with no drift
// however many lines there are. Lines whose value rounds to 0 are dropped
// (their time is carried by the next line), so a profile without
// goroutines renders as an empty file.
package folded

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// Extension and ContentType describe the format.
const (
	Extension   = ".folded"
	ContentType = "text/plain; charset=utf-8"
)

// Descriptor describes the format to the render registry.
var Descriptor = render.Descriptor{
	Name: "folded", Extension: Extension, ContentType: ContentType,
	Takes: render.Stacks, Write: Render, WriteStacks: RenderStacks,
}

func init() { render.Register(Descriptor) }

// DefaultUnit is the unit of Render's values.
const DefaultUnit = time.Microsecond

// Render writes p as folded stacks with values in microseconds.
func Render(w io.Writer, p *profile.Profile, o render.Options) error {
	return RenderUnit(w, p, o, DefaultUnit)
}

// RenderUnit writes p as folded stacks with values in multiples of unit
// (time.Nanosecond for exact values, time.Millisecond for coarse ones).
func RenderUnit(w io.Writer, p *profile.Profile, o render.Options, unit time.Duration) error {
	if unit <= 0 {
		return fmt.Errorf("folded: unit %v is not positive", unit)
	}
	// As RenderStacksUnit(w, Stacks(p, o), unit) writes it, without the
	// stack set: a line's time is that of its segments, whatever their
	// labels.
	tls, err := o.Timelines(p)
	if err != nil {
		return err
	}
	lt := newLines(p.Name)
	for i := range tls {
		label := ""
		if o.View == view.Goroutines {
			label = ";" + Sanitize(tls[i].Name)
			clear(lt.cache)
		}
		for _, seg := range tls[i].Segments {
			if d := seg.End - seg.Start; d > 0 {
				lt.add(label, seg.Path, d)
			}
		}
	}
	return lt.write(w, unit)
}

// Stacks returns the stacks of the view o chooses as the format draws
// them: one value ("critical" for the critical path, "wall" otherwise),
// with the view [view.Goroutines] each goroutine's stacks under a
// [view.Label] frame, its timeline's name.
func Stacks(p *profile.Profile, o render.Options) (*view.StackSet, error) {
	tls, err := o.Timelines(p)
	if err != nil {
		return nil, err
	}
	typ := "wall"
	if k, _ := view.ParseKind(string(o.View)); k == view.Critical {
		typ = "critical"
	}
	s := view.NewStackSet(p.Name, typ)
	s.Start, s.Duration = p.Start, p.Duration
	for i := range tls {
		if o.View == view.Goroutines {
			s.AddTimeline(0, &tls[i], view.Frame{Name: tls[i].Name, Kind: view.Label})
		} else {
			s.AddTimeline(0, &tls[i])
		}
	}
	return s, nil
}

// RenderStacks writes the default value of a stack set as folded stacks
// with values in microseconds.
func RenderStacks(w io.Writer, s *view.StackSet, _ render.Options) error {
	return RenderStacksUnit(w, s, DefaultUnit)
}

// RenderStacksUnit writes the default value of a stack set as folded
// stacks with values in multiples of unit: each line is the set's name,
// then the stack's frames.
func RenderStacksUnit(w io.Writer, s *view.StackSet, unit time.Duration) error {
	if unit <= 0 {
		return fmt.Errorf("folded: unit %v is not positive", unit)
	}
	if s.Default < 0 || s.Default >= len(s.Types) {
		return fmt.Errorf("folded: default value %d of a set of %d types", s.Default, len(s.Types))
	}
	lt := newLines(s.Name)
	for _, st := range s.Stacks {
		if d := st.Values[s.Default]; d > 0 {
			lt.add("", st.Path, d)
		}
	}
	return lt.write(w, unit)
}

// lines sums the time of each line (a stack's frames, without its value).
type lines struct {
	root    string
	byStack map[string]int64
	// Stacks and segments share paths: each shared path's line is made
	// once (under one label).
	cache map[pathRef]string
	sb    strings.Builder
}

type pathRef struct {
	first *view.Frame
	n     int
}

// newLines returns the lines of a set or profile named name.
func newLines(name string) *lines {
	root := Sanitize(name)
	if name == "" {
		root = "(unnamed)"
	}
	return &lines{root: root, byStack: map[string]int64{}, cache: map[pathRef]string{}}
}

// add adds d nanoseconds to the line of path under label (";" and a
// sanitized frame name, or ""). The cache must be cleared when the label
// changes.
func (lt *lines) add(label string, path []view.Frame, d int64) {
	var ref pathRef
	if len(path) > 0 {
		ref = pathRef{&path[0], len(path)}
	}
	line, ok := lt.cache[ref]
	if !ok {
		lt.sb.Reset()
		lt.sb.WriteString(lt.root)
		lt.sb.WriteString(label)
		for _, f := range path {
			lt.sb.WriteByte(';')
			lt.sb.WriteString(Sanitize(f.Name))
		}
		line = lt.sb.String()
		lt.cache[ref] = line
	}
	lt.byStack[line] += d
}

// write writes the lines sorted, their values in multiples of unit,
// rounded cumulatively.
func (lt *lines) write(w io.Writer, unit time.Duration) error {
	stacks := make([]string, 0, len(lt.byStack))
	for s := range lt.byStack {
		stacks = append(stacks, s)
	}
	slices.Sort(stacks)

	bw := bufio.NewWriter(w)
	u := int64(unit)
	var cum, done int64 // exact nanoseconds so far; units written so far
	var buf []byte
	for _, s := range stacks {
		cum += lt.byStack[s]
		v := (cum+u/2)/u - done
		if v <= 0 {
			continue
		}
		done += v
		buf = append(buf[:0], s...)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, v, 10)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Sanitize makes name a valid folded frame name: ';' becomes ',', control
// characters (line breaks, tabs) become spaces, surrounding spaces are
// trimmed, and an empty result becomes "?".
func Sanitize(name string) string {
	clean := true
	for _, r := range name {
		if r == ';' || r < ' ' || r == 0x7f {
			clean = false
			break
		}
	}
	if clean && name != "" && strings.TrimSpace(name) == name {
		return name
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == ';':
			return ','
		case r < ' ' || r == 0x7f:
			return ' '
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" {
		return "?"
	}
	return name
}
