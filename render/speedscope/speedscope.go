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
	"slices"
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

// Render writes p as a Speedscope file: the bytes [Build] and
// [File.Encode] would write, streamed. Only the view's timelines are held
// in memory: the frame table is made in a first pass over them, then each
// profile's events or samples are written as they are made.
func Render(w io.Writer, p *profile.Profile, o render.Options) error {
	pl, err := newPlan(p, o)
	if err != nil {
		return err
	}
	b := &builder{index: map[frameKey]int{}, cache: map[pathKey][]int{}}
	for _, pr := range pl.profiles {
		for _, s := range pr.segs {
			if s.End > s.Start {
				b.cachedPath(s.Path)
			}
		}
	}
	f := &File{Schema: Schema, Exporter: version.Producer, Name: p.Name, ActiveProfileIndex: pl.active, Shared: Shared{Frames: b.frames}}
	e := &encoder{bw: bufio.NewWriterSize(w, 64<<10)}
	e.head(f)
	for i, pr := range pl.profiles {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if pr.sampled {
			s := b.sampled(pr.name, pr.segs, true)
			e.profileHead(&s)
			e.samples(&s)
		} else {
			hd := Profile{Type: Evented, Name: pr.name, Unit: Nanoseconds, StartValue: pr.start, EndValue: eventedEnd(pr.segs, pr.start, pr.end)}
			e.profileHead(&hd)
			e.buf = append(e.buf, `,"events":[`...)
			n := 0
			b.evented(pr.segs, pr.start, func(ev Event) {
				if n > 0 {
					e.buf = append(e.buf, ',')
				}
				n++
				e.event(ev)
			})
			e.buf = append(e.buf, "]}"...)
		}
		if err := e.flush(); err != nil {
			return err
		}
	}
	return e.tail()
}

// plannedProfile is one profile of the file: its name and segments, and
// for an evented one, its range.
type plannedProfile struct {
	name       string
	segs       []view.Segment
	start, end int64
	sampled    bool
}

// plan is the file's profiles, before their frames and events are made.
type plan struct {
	profiles []plannedProfile
	active   int
}

func newPlan(p *profile.Profile, o render.Options) (*plan, error) {
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

	pl := &plan{}
	cp, err := timelines(view.Critical)
	if err != nil {
		return nil, err
	}
	pl.profiles = append(pl.profiles, plannedProfile{name: CriticalPathName, segs: cp[0].Segments, start: 0, end: p.Duration})

	if o.View == view.All {
		all, err := timelines(view.All)
		if err != nil {
			return nil, err
		}
		pl.active = len(pl.profiles)
		pl.profiles = append(pl.profiles, plannedProfile{name: AllGoroutinesName, segs: all[0].Segments, sampled: true})
		return pl, nil
	}
	tls, err := timelines(view.Goroutines)
	if err != nil {
		return nil, err
	}
	if o.View == view.Goroutines && len(tls) > 0 {
		pl.active = len(pl.profiles)
	}
	life := map[int64][2]int64{}
	for _, g := range p.Goroutines {
		life[g.ID] = [2]int64{g.Start, g.End}
	}
	for _, tl := range tls {
		l := life[tl.Goroutine]
		pl.profiles = append(pl.profiles, plannedProfile{name: tl.Name, segs: tl.Segments, start: l[0], end: l[1]})
	}
	return pl, nil
}

// Build returns p as a Speedscope file, whose exporter is reqprof and its
// version. [Render] writes the same file without building it.
func Build(p *profile.Profile, o render.Options) (*File, error) {
	pl, err := newPlan(p, o)
	if err != nil {
		return nil, err
	}
	b := &builder{index: map[frameKey]int{}}
	f := &File{Schema: Schema, Exporter: version.Producer, Name: p.Name, ActiveProfileIndex: pl.active, Shared: Shared{Frames: []Frame{}}}
	for _, pr := range pl.profiles {
		if pr.sampled {
			f.Profiles = append(f.Profiles, b.sampled(pr.name, pr.segs, false))
			continue
		}
		out := Profile{Type: Evented, Name: pr.name, Unit: Nanoseconds, StartValue: pr.start, EndValue: eventedEnd(pr.segs, pr.start, pr.end), Events: []Event{}}
		b.evented(pr.segs, pr.start, func(e Event) { out.Events = append(out.Events, e) })
		f.Profiles = append(f.Profiles, out)
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
	// cache, when set, holds the frame indexes of each path met (view's
	// segments share their paths): a path's frames are looked up once.
	cache map[pathKey][]int
}

// pathKey identifies a path shared by segments: its first frame's address
// and its length (paths are never changed).
type pathKey struct {
	first *view.Frame
	n     int
}

// cachedPath returns the frame indexes of path p, which must not be
// changed by the caller; without a cache, it is path.
func (b *builder) cachedPath(p []view.Frame) []int {
	if b.cache == nil || len(p) == 0 {
		return b.path(p)
	}
	k := pathKey{&p[0], len(p)}
	if ids, ok := b.cache[k]; ok {
		return ids
	}
	ids := append([]int(nil), b.path(p)...)
	b.cache[k] = ids
	return ids
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
// events, handed to emit in order: between two segments, the frames of the
// old path below the part both paths share are closed (innermost first)
// and those of the new path opened; at a gap and at the end, everything is
// closed. Times are clamped so that they never decrease.
func (b *builder) evented(segs []view.Segment, start int64, emit func(Event)) {
	var stack []int
	at := start
	closeTo := func(n int, t int64) {
		for len(stack) > n {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			emit(Event{Type: CloseFrame, Frame: top, At: t})
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
		ids := b.cachedPath(s.Path)
		common := 0
		for common < len(stack) && common < len(ids) && stack[common] == ids[common] {
			common++
		}
		closeTo(common, sStart)
		for _, id := range ids[common:] {
			stack = append(stack, id)
			emit(Event{Type: OpenFrame, Frame: id, At: sStart})
		}
		at = s.End
	}
	closeTo(0, at)
}

// eventedEnd returns the end value of the evented profile of segs over
// [start, end]: end, or the last segment's end if later.
func eventedEnd(segs []view.Segment, start, end int64) int64 {
	at := start
	for _, s := range segs {
		if s.End <= s.Start || max(s.Start, at) >= s.End {
			continue
		}
		at = s.End
	}
	return max(end, at)
}

// sampled turns overlapping segments into weighted samples, goroutine by
// goroutine (in the order they first appear), each goroutine's in time
// order, merging consecutive samples of the same stack. With the path
// cache the samples share its frame indexes (shared must then be true);
// without, each sample's stack is copied.
func (b *builder) sampled(name string, segs []view.Segment, shared bool) Profile {
	// The non-empty segments' indexes, goroutine by goroutine: pos[k] is
	// where the k-th goroutine's go in idx.
	slot := map[int64]int{} // goroutine -> its place in the order
	var count []int
	for _, s := range segs {
		if s.End <= s.Start {
			continue
		}
		k, ok := slot[s.Goroutine]
		if !ok {
			k = len(count)
			slot[s.Goroutine] = k
			count = append(count, 0)
		}
		count[k]++
	}
	pos := make([]int, len(count)+1)
	for k, c := range count {
		pos[k+1] = pos[k] + c
	}
	n := pos[len(count)]
	idx := make([]int32, n)
	next := slices.Clone(pos[:len(count)])
	for i, s := range segs {
		if s.End > s.Start {
			k := slot[s.Goroutine]
			idx[next[k]] = int32(i)
			next[k]++
		}
	}
	// At most one sample per segment.
	pr := Profile{Type: Sampled, Name: name, Unit: Nanoseconds, Samples: make([][]int, 0, n), Weights: make([]int64, 0, n)}
	var slab []int // where the samples' stacks are kept, chunk by chunk
	for k := range count {
		first := true
		for _, i := range idx[pos[k]:pos[k+1]] {
			s := &segs[i]
			ids := b.cachedPath(s.Path)
			d := s.End - s.Start
			pr.EndValue += d
			if n := len(pr.Samples); !first && n > 0 && equal(pr.Samples[n-1], ids) {
				pr.Weights[n-1] += d
				continue
			}
			if !shared {
				if cap(slab)-len(slab) < len(ids) {
					slab = make([]int, 0, max(1<<14, len(ids)))
				}
				slab = append(slab, ids...)
				ids = slab[len(slab)-len(ids) : len(slab) : len(slab)]
			}
			pr.Samples = append(pr.Samples, ids)
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
	e := &encoder{bw: bufio.NewWriter(w)}
	e.head(f)
	for i := range f.Profiles {
		pr := &f.Profiles[i]
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.profileHead(pr)
		if pr.Type == Sampled {
			e.samples(pr)
		} else {
			e.buf = append(e.buf, `,"events":[`...)
			for j, ev := range pr.Events {
				if j > 0 {
					e.buf = append(e.buf, ',')
				}
				e.event(ev)
				if len(e.buf) > 32<<10 {
					if err := e.flush(); err != nil {
						return err
					}
				}
			}
			e.buf = append(e.buf, "]}"...)
		}
		if err := e.flush(); err != nil {
			return err
		}
	}
	return e.tail()
}

// encoder writes a file's JSON, piece by piece.
type encoder struct {
	bw  *bufio.Writer
	buf []byte
	err error
}

func (e *encoder) str(s string) { e.buf = appendJSONString(e.buf, s) }

// flush writes what is buffered.
func (e *encoder) flush() error {
	if e.err == nil && len(e.buf) > 0 {
		_, e.err = e.bw.Write(e.buf)
	}
	e.buf = e.buf[:0]
	return e.err
}

// head buffers the file's fields and frame table, up to its first profile.
func (e *encoder) head(f *File) {
	e.buf = append(e.buf, `{"$schema":`...)
	e.str(f.Schema)
	if f.Exporter != "" {
		e.buf = append(e.buf, `,"exporter":`...)
		e.str(f.Exporter)
	}
	if f.Name != "" {
		e.buf = append(e.buf, `,"name":`...)
		e.str(f.Name)
	}
	e.buf = append(e.buf, `,"activeProfileIndex":`...)
	e.buf = strconv.AppendInt(e.buf, int64(f.ActiveProfileIndex), 10)
	e.buf = append(e.buf, ",\n\"shared\":{\"frames\":["...)
	for i, fr := range f.Shared.Frames {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, "\n{\"name\":"...)
		e.str(fr.Name)
		if fr.File != "" {
			e.buf = append(e.buf, `,"file":`...)
			e.str(fr.File)
		}
		if fr.Line > 0 {
			e.buf = append(e.buf, `,"line":`...)
			e.buf = strconv.AppendInt(e.buf, int64(fr.Line), 10)
		}
		e.buf = append(e.buf, '}')
		if len(e.buf) > 32<<10 {
			e.flush()
		}
	}
	e.buf = append(e.buf, "]},\n\"profiles\":["...)
}

// profileHead buffers a profile's fields before its events or samples.
func (e *encoder) profileHead(pr *Profile) {
	e.buf = append(e.buf, "\n{\"type\":"...)
	e.str(pr.Type)
	e.buf = append(e.buf, `,"name":`...)
	e.str(pr.Name)
	e.buf = append(e.buf, `,"unit":`...)
	e.str(pr.Unit)
	e.buf = append(e.buf, `,"startValue":`...)
	e.buf = strconv.AppendInt(e.buf, pr.StartValue, 10)
	e.buf = append(e.buf, `,"endValue":`...)
	e.buf = strconv.AppendInt(e.buf, pr.EndValue, 10)
}

// event buffers one event, flushing now and then.
func (e *encoder) event(ev Event) {
	e.buf = append(e.buf, "\n{\"type\":"...)
	e.str(ev.Type)
	e.buf = append(e.buf, `,"frame":`...)
	e.buf = strconv.AppendInt(e.buf, int64(ev.Frame), 10)
	e.buf = append(e.buf, `,"at":`...)
	e.buf = strconv.AppendInt(e.buf, ev.At, 10)
	e.buf = append(e.buf, '}')
	if len(e.buf) > 32<<10 {
		e.flush()
	}
}

// samples buffers a sampled profile's samples and weights and its end.
func (e *encoder) samples(pr *Profile) {
	e.buf = append(e.buf, `,"samples":[`...)
	for j, s := range pr.Samples {
		if j > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, "\n["...)
		for k, id := range s {
			if k > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = strconv.AppendInt(e.buf, int64(id), 10)
		}
		e.buf = append(e.buf, ']')
		if len(e.buf) > 32<<10 {
			e.flush()
		}
	}
	e.buf = append(e.buf, "],\n\"weights\":["...)
	for j, wt := range pr.Weights {
		if j > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = strconv.AppendInt(e.buf, wt, 10)
		if len(e.buf) > 32<<10 {
			e.flush()
		}
	}
	e.buf = append(e.buf, "]}"...)
}

// tail writes the end of the file and flushes.
func (e *encoder) tail() error {
	e.buf = append(e.buf, "]}\n"...)
	if err := e.flush(); err != nil {
		return err
	}
	return e.bw.Flush()
}

// appendJSONString appends s as a JSON string, as encoding/json writes it
// but without escaping <, > and & (frame names are not HTML).
func appendJSONString(buf []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= ' ' && c < 0x7f && c != '"' && c != '\\'
	}
	if plain { // what encoding/json writes as is
		buf = append(buf, '"')
		buf = append(buf, s...)
		return append(buf, '"')
	}
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
