package chrome

import (
	"bufio"
	"cmp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/reqprof/reqprof/view"
)

// Event classes, in the order events of one time are written on a thread.
const (
	classEnd     = iota // "E": innermost first
	classInstant        // "i"
	classBegin          // "B": outermost first, each followed by the flow events placed right after it
)

// item is one event to write.
type item struct {
	t     int64
	class int
	order int // depth for begins, -depth for ends
	seq   int // order of creation, last tie-breaker
	sl    *slice
	in    *instant
}

// items returns a thread's events in the order they are written: by time,
// then class, then depth.
// buf is reused (the tracks are written one by one).
func (tr *track) items(buf []item) []item {
	items := slices.Grow(buf[:0], 2*len(tr.slices)+len(tr.logs))
	for i, s := range tr.slices {
		items = append(items,
			item{t: s.start, class: classBegin, order: s.depth, seq: i, sl: s},
			item{t: s.end, class: classEnd, order: -s.depth, seq: i, sl: s})
	}
	for i, l := range tr.logs {
		items = append(items, item{t: l.t, class: classInstant, seq: i, in: l})
	}
	slices.SortFunc(items, func(a, b item) int {
		if a.t != b.t {
			return cmp.Compare(a.t, b.t)
		}
		if a.class != b.class {
			return cmp.Compare(a.class, b.class)
		}
		if a.order != b.order {
			return cmp.Compare(a.order, b.order)
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return items
}

// sortStandalone sorts the flow events not written after a begin: by
// time, starts before finishes (readers pair them in the order they read
// them), then by thread and id.
func (t *trace) sortStandalone() {
	slices.SortFunc(t.standalone, func(a, b *flowEnd) int {
		if a.ts != b.ts {
			return cmp.Compare(a.ts, b.ts)
		}
		if a.phase != b.phase {
			if a.phase == 's' {
				return -1
			}
			return 1
		}
		if a.tr.index != b.tr.index {
			return cmp.Compare(a.tr.index, b.tr.index)
		}
		return cmp.Compare(a.f.id, b.f.id)
	})
}

// --- writing ----------------------------------------------------------------------

// emitter writes the events of the traceEvents array, one a line.
type emitter struct {
	w     *bufio.Writer
	b     []byte // the event being built
	first bool
}

// emit writes the event built in e.b.
func (e *emitter) emit() {
	if !e.first {
		e.w.WriteString(",\n")
	}
	e.first = false
	e.w.Write(e.b)
	e.b = e.b[:0]
}

func (t *trace) write(w *bufio.Writer) {
	p := t.p
	e := &emitter{w: w, first: true}
	w.WriteString("{\"traceEvents\":[\n")

	// Metadata: the process, then each thread's name and place.
	rootTID := int64(PID)
	if len(t.tracks) > 0 {
		rootTID = t.tracks[0].g.ID
	}
	name := p.Name
	if name == "" {
		name = "reqprof profile"
	}
	// Metadata events have the window's start for ts: a reader that took
	// their ts for a time would not stretch the trace back to 0.
	e.b = appendMeta(e.b, "process_name", rootTID, t.origin, arg{"name", name})
	e.emit()
	for _, tr := range t.tracks {
		e.b = appendMeta(e.b, "thread_name", tr.g.ID, t.origin, arg{"name", tr.name})
		e.emit()
		e.b = appendMeta(e.b, "thread_sort_index", tr.g.ID, t.origin, arg{"sort_index", int64(tr.index)})
		e.emit()
	}

	// Each thread's events in one block: DevTools pairs begins and ends
	// with one stack for the whole file.
	var items []item
	for _, tr := range t.tracks {
		t.fill(tr, false)
		items = tr.items(items)
		bound := tr.bound
		for _, it := range items {
			switch {
			case it.in != nil:
				e.b = appendInstant(e.b, it.in, t.origin)
				e.emit()
			case it.class == classEnd:
				e.b = appendSlice(e.b, it.sl, 'E', t.origin)
				e.emit()
			default:
				e.b = appendSlice(e.b, it.sl, 'B', t.origin)
				e.emit()
				for len(bound) > 0 && bound[0].slice <= it.sl.index {
					e.b = appendFlow(e.b, bound[0], t.origin)
					e.emit()
					bound = bound[1:]
				}
			}
		}
		t.empty(tr)
	}
	// The flow events last: Perfetto reads events of equal times in file
	// order, so each is read after the slice it binds to began.
	for _, fe := range t.standalone {
		e.b = appendFlow(e.b, fe, t.origin)
		e.emit()
	}
	w.WriteString("\n],\n\"displayTimeUnit\":\"ns\",\n\"metadata\":")
	w.Write(t.appendMetadata(nil))
	w.WriteString("}\n")
}

// appendSlice appends the begin (ph 'B') or end ('E') event of s. An end
// has the same name, category and args as its begin: readers pair them by
// name and category (DevTools) or by name and args (Speedscope).
func appendSlice(b []byte, s *slice, ph byte, origin int64) []byte {
	t := s.start
	if ph == 'E' {
		t = s.end
	}
	b = append(b, `{"name":`...)
	b = appendString(b, s.name)
	b = append(b, `,"cat":`...)
	b = appendString(b, s.cat)
	b = append(b, `,"ph":"`...)
	b = append(b, ph, '"')
	b = appendHead(b, origin+t, s.tr.g.ID)
	b = appendArgs(b, s.args)
	return append(b, '}')
}

func appendInstant(b []byte, l *instant, origin int64) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, l.name)
	b = append(b, `,"cat":"`+CatLog+`","ph":"i","s":"t"`...)
	b = appendHead(b, origin+l.t, l.tr.g.ID)
	b = appendArgs(b, l.args)
	return append(b, '}')
}

func appendFlow(b []byte, fe *flowEnd, origin int64) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, fe.f.name)
	b = append(b, `,"cat":"`+CatFlow+`","ph":"`...)
	b = append(b, fe.phase, '"')
	if fe.phase == 'f' {
		b = append(b, `,"bp":"e"`...)
	}
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, int64(fe.f.id), 10)
	b = appendHead(b, origin+fe.ts, fe.tr.g.ID)
	return append(b, '}')
}

func appendMeta(b []byte, name string, tid, ts int64, a arg) []byte {
	b = append(b, `{"name":"`+name+`","ph":"M"`...)
	b = appendHead(b, ts, tid)
	b = appendArgs(b, []arg{a})
	return append(b, '}')
}

// appendHead appends ts, pid and tid.
func appendHead(b []byte, t, tid int64) []byte {
	b = append(b, `,"ts":`...)
	b = appendMicros(b, t)
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, PID, 10)
	b = append(b, `,"tid":`...)
	return strconv.AppendInt(b, tid, 10)
}

// appendMicros appends ns nanoseconds as microseconds, exactly: "12",
// "12.3", "12.345".
func appendMicros(b []byte, ns int64) []byte {
	if ns < 0 {
		b = append(b, '-')
		ns = -ns
	}
	b = strconv.AppendInt(b, ns/1000, 10)
	frac := ns % 1000
	if frac == 0 {
		return b
	}
	digits := []byte{'.', byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	for digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	return append(b, digits...)
}

func appendArgs(b []byte, args []arg) []byte {
	if len(args) == 0 {
		return b
	}
	b = append(b, `,"args":`...)
	return appendObject(b, args)
}

func appendObject(b []byte, args []arg) []byte {
	b = append(b, '{')
	for i, a := range args {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, a.key)
		b = append(b, ':')
		b = appendValue(b, a.val)
	}
	return append(b, '}')
}

func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendString(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case bool:
		return strconv.AppendBool(b, v)
	case []arg:
		return appendObject(b, v)
	case []string:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']')
	}
	panic("chrome: unexpected arg type")
}

// appendString appends s as a JSON string of ASCII characters only: control
// characters, DEL and non-ASCII characters are \u escapes (some readers'
// tokenizers reject raw control bytes), invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	u := func(b []byte, r rune) []byte {
		return append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			if c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, c)
			i++
			continue
		}
		switch c {
		case '\n':
			b = append(b, '\\', 'n')
			i++
			continue
		case '\t':
			b = append(b, '\\', 't')
			i++
			continue
		case '\r':
			b = append(b, '\\', 'r')
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			b = u(b, 0xd800+(r>>10))
			b = u(b, 0xdc00+(r&0x3ff))
			continue
		}
		b = u(b, r) // includes U+FFFD for invalid UTF-8
	}
	return append(b, '"')
}

// appendMetadata appends the file's "metadata" object.
func (t *trace) appendMetadata(b []byte) []byte {
	p := t.p
	md := []arg{{"producer", "reqprof"}, {"name", p.Name}}
	if !p.Start.IsZero() {
		md = append(md, arg{"start", p.Start.UTC().Format(time.RFC3339Nano)})
	}
	md = append(md,
		arg{"ts_origin_us", t.origin / 1000},
		arg{"time_origin", "the window starts at ts ts_origin_us; ts are microseconds"},
		arg{"duration_ns", p.Duration})
	if p.GoVersion != "" {
		md = append(md, arg{"go_version", p.GoVersion})
	}
	if p.Host != "" {
		md = append(md, arg{"host", p.Host})
	}
	members := int64(0)
	for _, g := range p.Goroutines {
		if g.Member {
			members++
		}
	}
	md = append(md, arg{"goroutines", members})
	if n := int64(len(p.Goroutines)) - members; n > 0 {
		md = append(md, arg{"goroutines_outside", n})
	}
	sum := view.Summarize(p)
	summary := []arg{
		{"cpu_ns", sum.CPU}, {"cpu_inferred_ns", sum.CPUInferred},
		{"runnable_ns", sum.Runnable}, {"syscall_ns", sum.Syscall}, {"waiting_ns", sum.Waiting},
	}
	if len(sum.Waits) > 0 {
		var waits []arg
		for _, w := range sum.Waits {
			waits = append(waits, arg{w.Reason, w.Time})
		}
		summary = append(summary, arg{"waiting_ns_by_reason", waits})
	}
	summary = append(summary, arg{"followed_ns", sum.Followed})
	md = append(md, arg{"summary", summary})
	frames := "grouped"
	if t.o.NoGroup {
		frames = "all"
	}
	md = append(md, arg{"library_frames", frames})
	if len(p.Attrs) > 0 {
		var attrs []arg
		seen := map[string]bool{}
		for _, a := range p.Attrs {
			if !seen[a.Key] { // as Profile.Attr: the first one counts
				seen[a.Key] = true
				attrs = append(attrs, arg{a.Key, a.Value})
			}
		}
		md = append(md, arg{"attrs", attrs})
	}
	if len(p.Warnings) > 0 {
		md = append(md, arg{"warnings", p.Warnings})
	}
	return appendObject(b, md)
}
