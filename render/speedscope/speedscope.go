// Package speedscope renders a profile as a Speedscope JSON file
// (https://www.speedscope.app/file-format-schema.json), the format the
// Speedscope web app opens as its own.
//
// The file holds several profiles that share one frame table and one time
// axis (nanoseconds since the start of the profiled work):
//
//   - "critical path", an evented profile (open/close events) over
//     [0, duration], so that Speedscope's Time Order view shows the request
//     as it happened;
//   - then, one evented profile per member goroutine, named
//     "goroutine N: <entry function>" (the root: "goroutine N: <name>
//     (root)"), in creation order, over the goroutine's life;
//   - or, with the view [view.All], instead of the per-goroutine list, one
//     sampled profile "all goroutines" whose weights are nanoseconds: its
//     goroutines overlap in time, which evented profiles cannot express.
//
// The active profile is the one of the requested view: the critical path
// by default, the root goroutine for [view.Goroutines], "all goroutines"
// for [view.All].
//
// Frames are functions (one frame per function and file, whatever the line
// it was seen at: the frame's line is the lowest seen) and pseudo-frames
// ("[wait: sleep]", "[via goroutine 7: main.fetch]", region names), which
// have only a name. Control characters in names (a line break in a
// region's SQL) become spaces. Library frames are grouped as the options say
// ([render.Options.Timelines]); Threshold and TimeOrder are ignored: every
// stretch of time is kept, and Speedscope has its own time-ordered and
// merged views.
package speedscope

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/reqprof/reqprof/internal/version"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// Extension and ContentType describe the format. Speedscope recognises its
// own files by the extension.
const (
	Extension   = ".speedscope.json"
	ContentType = "application/json"
)

// Schema is the $schema value Speedscope expects.
const Schema = "https://www.speedscope.app/file-format-schema.json"

// Descriptor describes the format to the render registry.
var Descriptor = render.Descriptor{
	Name: "speedscope", Extension: Extension, ContentType: ContentType,
	Takes: render.Timelines, Write: Render,
}

func init() { render.Register(Descriptor) }

// Profile names.
const (
	CriticalPathName  = "critical path"
	AllGoroutinesName = "all goroutines"
)

// Profile types, event types and the unit written.
const (
	Evented     = "evented"
	Sampled     = "sampled"
	OpenFrame   = "O"
	CloseFrame  = "C"
	Nanoseconds = "nanoseconds"
)

// File is a Speedscope file (FileFormat.File in Speedscope's schema).
type File struct {
	Schema             string    `json:"$schema"`
	Exporter           string    `json:"exporter,omitempty"`
	Name               string    `json:"name,omitempty"`
	ActiveProfileIndex int       `json:"activeProfileIndex"`
	Shared             Shared    `json:"shared"`
	Profiles           []Profile `json:"profiles"`
}

// Shared holds the frame table every profile refers to by index.
type Shared struct {
	Frames []Frame `json:"frames"`
}

// Frame is a function or a pseudo-frame. Pseudo-frames have only a name.
type Frame struct {
	Name string `json:"name"`
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

// Profile is an evented or a sampled profile. Values are nanoseconds since
// the start of the profiled work.
type Profile struct {
	Type       string `json:"type"`
	Name       string `json:"name"`
	Unit       string `json:"unit"`
	StartValue int64  `json:"startValue"`
	EndValue   int64  `json:"endValue"`
	// Events of an evented profile.
	Events []Event `json:"events,omitempty"`
	// Samples (stacks of frame indexes, outermost first) and their
	// Weights, of a sampled profile.
	Samples [][]int `json:"samples,omitempty"`
	Weights []int64 `json:"weights,omitempty"`
}

// Event opens or closes a frame at a time.
type Event struct {
	Type  string `json:"type"`
	Frame int    `json:"frame"`
	At    int64  `json:"at"`
}

// Render writes p as a Speedscope file.
func Render(w io.Writer, p *profile.Profile, o render.Options) error {
	f, err := Build(p, o)
	if err != nil {
		return err
	}
	return f.Encode(w)
}

// Build returns p as a Speedscope file, whose exporter is reqprof and its
// version.
func Build(p *profile.Profile, o render.Options) (*File, error) {
	b := &builder{index: map[frameKey]int{}}
	f := &File{Schema: Schema, Exporter: version.Producer, Name: p.Name, Shared: Shared{Frames: []Frame{}}}

	timelines := func(k view.Kind) ([]view.Timeline, error) {
		ok := o
		ok.View = k
		return ok.Timelines(p)
	}
	k, err := view.ParseKind(string(o.View))
	if err != nil {
		return nil, fmt.Errorf("speedscope: %w", err)
	}
	o.View = k

	cp, err := timelines(view.Critical)
	if err != nil {
		return nil, err
	}
	f.Profiles = append(f.Profiles, b.evented(CriticalPathName, cp[0].Segments, 0, p.Duration))

	if o.View == view.All {
		all, err := timelines(view.All)
		if err != nil {
			return nil, err
		}
		f.ActiveProfileIndex = len(f.Profiles)
		f.Profiles = append(f.Profiles, b.sampled(AllGoroutinesName, all[0].Segments))
	} else {
		tls, err := timelines(view.Goroutines)
		if err != nil {
			return nil, err
		}
		if o.View == view.Goroutines && len(tls) > 0 {
			f.ActiveProfileIndex = len(f.Profiles)
		}
		life := map[int64][2]int64{}
		for _, g := range p.Goroutines {
			life[g.ID] = [2]int64{g.Start, g.End}
		}
		for _, tl := range tls {
			l := life[tl.Goroutine]
			f.Profiles = append(f.Profiles, b.evented(tl.Name, tl.Segments, l[0], l[1]))
		}
	}
	if b.frames != nil {
		f.Shared.Frames = b.frames
	}
	return f, nil
}

// frameKey identifies a Speedscope frame: as in view's call trees, a
// function by name and file (not line), a pseudo-frame by its text.
type frameKey struct {
	name, file string
	kind       view.FrameKind
}

type builder struct {
	frames []Frame
	index  map[frameKey]int
	ids    []int
}

func (b *builder) frame(f view.Frame) int {
	k := frameKey{f.Name, f.File, f.Kind}
	if f.IsPseudo() {
		k.file = ""
	}
	if i, ok := b.index[k]; ok {
		if !f.IsPseudo() && f.Line > 0 && (b.frames[i].Line == 0 || f.Line < b.frames[i].Line) {
			b.frames[i].Line = f.Line
		}
		return i
	}
	i := len(b.frames)
	fr := Frame{Name: displayName(f.Name)}
	if !f.IsPseudo() {
		fr.File, fr.Line = f.File, max(f.Line, 0)
	}
	b.frames = append(b.frames, fr)
	b.index[k] = i
	return i
}

// displayName makes a frame name fit on one line of a flame graph: control
// characters (line breaks in a region's SQL text) become spaces, and an
// empty name becomes "?".
func displayName(name string) string {
	if name == "" {
		return "?"
	}
	if !strings.ContainsFunc(name, isControl) {
		return name
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, name)
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// path returns the frame indexes of a path, in a buffer reused by the next
// call.
func (b *builder) path(p []view.Frame) []int {
	b.ids = b.ids[:0]
	for _, f := range p {
		b.ids = append(b.ids, b.frame(f))
	}
	return b.ids
}

// evented turns time-ordered, non-overlapping segments into open/close
// events: between two segments, the frames of the old path below the part
// both paths share are closed (innermost first) and those of the new path
// opened; at a gap and at the end, everything is closed. Times are clamped
// so that they never decrease.
func (b *builder) evented(name string, segs []view.Segment, start, end int64) Profile {
	pr := Profile{Type: Evented, Name: name, Unit: Nanoseconds, StartValue: start, EndValue: end, Events: []Event{}}
	var stack []int
	at := start
	closeTo := func(n int, t int64) {
		for len(stack) > n {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			pr.Events = append(pr.Events, Event{Type: CloseFrame, Frame: top, At: t})
		}
	}
	for _, s := range segs {
		if s.End <= s.Start {
			continue
		}
		sStart := max(s.Start, at)
		if sStart >= s.End {
			continue
		}
		if sStart > at {
			closeTo(0, at) // a gap: nothing is on the stack meanwhile
		}
		ids := b.path(s.Path)
		common := 0
		for common < len(stack) && common < len(ids) && stack[common] == ids[common] {
			common++
		}
		closeTo(common, sStart)
		for _, id := range ids[common:] {
			stack = append(stack, id)
			pr.Events = append(pr.Events, Event{Type: OpenFrame, Frame: id, At: sStart})
		}
		at = s.End
	}
	closeTo(0, at)
	pr.EndValue = max(pr.EndValue, at)
	return pr
}

// sampled turns overlapping segments into weighted samples, goroutine by
// goroutine (in the order they first appear), each goroutine's in time
// order, merging consecutive samples of the same stack.
func (b *builder) sampled(name string, segs []view.Segment) Profile {
	pr := Profile{Type: Sampled, Name: name, Unit: Nanoseconds, Samples: [][]int{}, Weights: []int64{}}
	var order []int64
	byG := map[int64][]view.Segment{}
	for _, s := range segs {
		if s.End <= s.Start {
			continue
		}
		if _, ok := byG[s.Goroutine]; !ok {
			order = append(order, s.Goroutine)
		}
		byG[s.Goroutine] = append(byG[s.Goroutine], s)
	}
	var slab []int // where the samples' stacks are kept, chunk by chunk
	for _, g := range order {
		first := true
		for _, s := range byG[g] {
			ids := b.path(s.Path)
			d := s.End - s.Start
			pr.EndValue += d
			if n := len(pr.Samples); !first && n > 0 && equal(pr.Samples[n-1], ids) {
				pr.Weights[n-1] += d
				continue
			}
			if cap(slab)-len(slab) < len(ids) {
				slab = make([]int, 0, max(1<<14, len(ids)))
			}
			slab = append(slab, ids...)
			pr.Samples = append(pr.Samples, slab[len(slab)-len(ids):len(slab):len(slab)])
			pr.Weights = append(pr.Weights, d)
			first = false
		}
	}
	return pr
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Encode writes f as JSON: one frame, event or sample per line, so that
// files diff well.
func (f *File) Encode(w io.Writer) error {
	bw := bufio.NewWriter(w)
	var buf []byte
	str := func(s string) {
		buf = appendJSONString(buf, s)
	}
	buf = append(buf, `{"$schema":`...)
	str(f.Schema)
	if f.Exporter != "" {
		buf = append(buf, `,"exporter":`...)
		str(f.Exporter)
	}
	if f.Name != "" {
		buf = append(buf, `,"name":`...)
		str(f.Name)
	}
	buf = append(buf, `,"activeProfileIndex":`...)
	buf = strconv.AppendInt(buf, int64(f.ActiveProfileIndex), 10)
	buf = append(buf, ",\n\"shared\":{\"frames\":["...)
	for i, fr := range f.Shared.Frames {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, "\n{\"name\":"...)
		str(fr.Name)
		if fr.File != "" {
			buf = append(buf, `,"file":`...)
			str(fr.File)
		}
		if fr.Line > 0 {
			buf = append(buf, `,"line":`...)
			buf = strconv.AppendInt(buf, int64(fr.Line), 10)
		}
		buf = append(buf, '}')
	}
	buf = append(buf, "]},\n\"profiles\":["...)
	for i, pr := range f.Profiles {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, "\n{\"type\":"...)
		str(pr.Type)
		buf = append(buf, `,"name":`...)
		str(pr.Name)
		buf = append(buf, `,"unit":`...)
		str(pr.Unit)
		buf = append(buf, `,"startValue":`...)
		buf = strconv.AppendInt(buf, pr.StartValue, 10)
		buf = append(buf, `,"endValue":`...)
		buf = strconv.AppendInt(buf, pr.EndValue, 10)
		if pr.Type == Sampled {
			buf = append(buf, `,"samples":[`...)
			for j, s := range pr.Samples {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, "\n["...)
				for k, id := range s {
					if k > 0 {
						buf = append(buf, ',')
					}
					buf = strconv.AppendInt(buf, int64(id), 10)
				}
				buf = append(buf, ']')
			}
			buf = append(buf, "],\n\"weights\":["...)
			for j, wt := range pr.Weights {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = strconv.AppendInt(buf, wt, 10)
			}
			buf = append(buf, "]}"...)
		} else {
			buf = append(buf, `,"events":[`...)
			for j, e := range pr.Events {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, "\n{\"type\":"...)
				str(e.Type)
				buf = append(buf, `,"frame":`...)
				buf = strconv.AppendInt(buf, int64(e.Frame), 10)
				buf = append(buf, `,"at":`...)
				buf = strconv.AppendInt(buf, e.At, 10)
				buf = append(buf, '}')
				if len(buf) > 32<<10 {
					if _, err := bw.Write(buf); err != nil {
						return err
					}
					buf = buf[:0]
				}
			}
			buf = append(buf, "]}"...)
		}
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
	}
	buf = append(buf, "]}\n"...)
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	return bw.Flush()
}

// appendJSONString appends s as a JSON string, as encoding/json writes it
// but without escaping <, > and & (frame names are not HTML).
func appendJSONString(buf []byte, s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return append(buf, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...)
}

// Decode reads a Speedscope file.
func Decode(r io.Reader) (*File, error) {
	var f File
	d := json.NewDecoder(r)
	if err := d.Decode(&f); err != nil {
		return nil, fmt.Errorf("speedscope: %w", err)
	}
	return &f, nil
}
