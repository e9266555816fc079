package chrome

import (
	"cmp"
	"io"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/reqprof/reqprof/view"
)

// sortStandalone sorts the flow events not written after a begin: by
// time, starts before finishes (readers pair them in the order they read
// them), then by thread and id. It sorts keys that hold all of that, which
// is faster than following the events' pointers.
func (t *trace) sortStandalone() {
	type key struct {
		ts int64
		// rank holds the finish bit, the thread and the id (thread
		// indexes below 2^31, ids below 2^32: more than memory holds).
		rank uint64
		fe   *flowEnd
	}
	keys := make([]key, len(t.standalone))
	for i, fe := range t.standalone {
		k := key{ts: fe.ts, rank: uint64(fe.tr.index)<<32 | uint64(uint32(fe.f.id)), fe: fe}
		if fe.phase != 's' {
			k.rank |= 1 << 63
		}
		keys[i] = k
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.ts != b.ts {
			return cmp.Compare(a.ts, b.ts)
		}
		return cmp.Compare(a.rank, b.rank)
	})
	for i, k := range keys {
		t.standalone[i] = k.fe
	}
}

// --- writing ----------------------------------------------------------------------

// bufferSize is the size of the chunks written to the output.
const bufferSize = 64 << 10

// output writes the file in chunks of about bufferSize bytes, the events
// of the traceEvents array one a line.
type output struct {
	w   io.Writer
	b   []byte
	sep string // before the next event
	err error  // the first error writing
	// ts is the last ts written, ns in nanoseconds: a thread's events
	// come in time order, and many share a time.
	ts     []byte
	ns     int64
	haveTS bool
}

// appendTS appends the ts of time t (of the trace, in nanoseconds).
func (o *output) appendTS(b []byte, ns int64) []byte {
	if !o.haveTS || ns != o.ns {
		o.ts, o.ns, o.haveTS = appendMicros(o.ts[:0], ns), ns, true
	}
	return append(b, o.ts...)
}

// event starts an event: it returns the buffer to append the event to,
// separated from the one before it.
func (o *output) event() []byte {
	if len(o.b) >= bufferSize {
		o.flush()
	}
	b := append(o.b, o.sep...)
	o.sep = ",\n"
	return b
}

// flush writes the buffer out.
func (o *output) flush() {
	if o.err == nil && len(o.b) > 0 {
		_, o.err = o.w.Write(o.b)
	}
	o.b = o.b[:0]
}

func (t *trace) write(w io.Writer) error {
	p := t.p
	o := &output{w: w, b: make([]byte, 0, bufferSize+bufferSize/4)}
	o.b = append(o.b, "{\"traceEvents\":[\n"...)

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
	o.b = appendMeta(o.event(), "process_name", rootTID, t.origin, arg{"name", name})
	for _, tr := range t.tracks {
		o.b = appendMeta(o.event(), "thread_name", tr.g.ID, t.origin, arg{"name", tr.name})
		o.b = appendMeta(o.event(), "thread_sort_index", tr.g.ID, t.origin, arg{"sort_index", int64(tr.index)})
	}

	// Each thread's events in one block: DevTools pairs begins and ends
	// with one stack for the whole file.
	for _, tr := range t.tracks {
		t.fill(tr, false)
		t.writeTrack(o, tr)
		t.empty(tr)
	}
	// The flow events last: Perfetto reads events of equal times in file
	// order, so each is read after the slice it binds to began.
	for _, fe := range t.standalone {
		o.b = o.appendFlow(o.event(), fe, t.origin)
	}
	o.b = append(o.b, "\n],\n\"displayTimeUnit\":\"ns\",\n\"metadata\":"...)
	o.b = t.appendMetadata(o.b)
	o.b = append(o.b, "}\n"...)
	o.flush()
	return o.err
}

// writeTrack writes the events of a track, which is made, in order: by
// time, and at equal times ends (innermost first), instants, then begins
// (outermost first), each begin followed by the flow events bound to it.
// It merges the track's lists of ends, logs and begins, each in that
// order.
func (t *trace) writeTrack(o *output, tr *track) {
	ends, logs, begins, bound := tr.closed, tr.logs, tr.begins, tr.bound
	for len(ends) > 0 || len(logs) > 0 || len(begins) > 0 {
		switch {
		case len(ends) > 0 && (len(logs) == 0 || ends[0].end <= logs[0].t) && (len(begins) == 0 || ends[0].end <= begins[0].start):
			o.b = o.appendSlice(o.event(), ends[0], 'E', t.origin)
			ends = ends[1:]
		case len(logs) > 0 && (len(begins) == 0 || logs[0].t <= begins[0].start):
			o.b = appendInstant(o.event(), logs[0], t.origin)
			logs = logs[1:]
		default:
			s := begins[0]
			o.b = o.appendSlice(o.event(), s, 'B', t.origin)
			for len(bound) > 0 && bound[0].slice <= s.index {
				o.b = o.appendFlow(o.event(), bound[0], t.origin)
				bound = bound[1:]
			}
			begins = begins[1:]
		}
	}
}

// appendSlice appends the begin (ph 'B') or end ('E') event of s. An end
// has the same name, category and args as its begin: readers pair them by
// name and category (DevTools) or by name and args (Speedscope).
func (o *output) appendSlice(b []byte, s *slice, ph byte, origin int64) []byte {
	t := s.start
	if ph == 'E' {
		t = s.end
	}
	b = append(b, s.frame.head...)
	b = append(b, ph, '"', ',', '"', 't', 's', '"', ':')
	b = o.appendTS(b, origin+t)
	b = append(b, s.tr.pidTID...)
	if s.args != nil {
		b = append(b, s.args.json...)
	}
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

func (o *output) appendFlow(b []byte, fe *flowEnd, origin int64) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, fe.f.name)
	b = append(b, `,"cat":"`+CatFlow+`","ph":"`...)
	b = append(b, fe.phase, '"')
	if fe.phase == 'f' {
		b = append(b, `,"bp":"e"`...)
	}
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, int64(fe.f.id), 10)
	b = append(b, `,"ts":`...)
	b = o.appendTS(b, origin+fe.ts)
	b = append(b, fe.tr.pidTID...)
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
	done := 0 // s[:done] is appended
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++ // appended with the run it is in
			continue
		}
		b = append(b, s[done:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
			i++
		case '\n':
			b = append(b, '\\', 'n')
			i++
		case '\t':
			b = append(b, '\\', 't')
			i++
		case '\r':
			b = append(b, '\\', 'r')
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size
			if r >= 0x10000 {
				r -= 0x10000
				b = u(b, 0xd800+(r>>10))
				b = u(b, 0xdc00+(r&0x3ff))
			} else {
				b = u(b, r) // includes U+FFFD for invalid UTF-8
			}
		}
		done = i
	}
	b = append(b, s[done:]...)
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
