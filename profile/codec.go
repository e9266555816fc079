package profile

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"
)

// The native .reqprof file
//
// A .reqprof file is a gzip stream. Its decompressed content is the magic
// line "reqprof profile\n" followed by one JSON object:
//
//	{
//	  "format": "reqprof",
//	  "version": 2,
//	  "name": "GET /users/{id}",
//	  "start": "2025-01-02T03:04:05.123456789Z",   // RFC 3339, UTC
//	  "duration": 1500000,                          // nanoseconds
//	  "go_version": "go1.26.0",
//	  "host": "web-1",
//	  "attrs": [{"key": "method", "value": "GET"}],
//	  "warnings": ["..."],
//	  "frames": [{"func": "main.handler", "file": "/src/main.go", "line": 12}],
//	  "stacks": [[], [0, 1]],                       // frame IDs, outermost first
//	  "base": 1,
//	  "work": 2,                                    // the work's boundary
//	  "library": ["example.com/prof."],             // the profiler's packages
//	  "sample_period": 4000000,                     // running time per CPU sample
//	  "reasons": ["chan receive", "sleep"],         // interval reason table
//	  "goroutines": [{
//	    "id": 7, "parent": 1, "member": true, "created_at": 1, "entry": 1,
//	    "task": "GET /w/4",                         // another unit's goroutine
//	    "start": 0, "end": 1500000, "exited": true,
//	    "intervals": [[500000, 1, 1], [1000000, 3, 1, 2, 7]]
//	  }],
//	  "samples": [[250000, 1, 1]],                  // [time, goroutine, stack]
//	  "regions": [{"goroutine": 1, "type": "db", "start": 10, "end": 20, "stack": 1}],
//	  "logs": [{"goroutine": 1, "time": 15, "category": "sql", "message": "..."}]
//	}
//
// Fields that are zero or empty are omitted. Each interval is an array of
// 2 to 6 integers, trailing zeros omitted:
//
//	[duration, state, stack, reason, waker, inferred]
//
// where duration is End-Start (the intervals of a goroutine tile its life, so
// each one starts where the previous one ended, the first at the
// goroutine's start), state is the numeric [State], reason is 0 for none or
// k for reasons[k-1], and inferred is 0 or 1.
//
// Any incompatible change to this layout must increment [FormatVersion].
// Decode rejects unknown fields, so adding a field is such a change too.
//
// Versions:
//
//   - 1: the first. It has no "work" and "library": the reader found the
//     work's boundary by the names of reqprof's functions of the time, so
//     Decode fills both in from those names (see migrate.go).
//   - 2: "work" and "library" added.
//   - 3: "sample_period" and a goroutine's "task" added. Running intervals
//     marked inferred are unsampled (their stack is the deepest frame
//     credibly running), the others a CPU sample's share; a goroutine the
//     runtime suspended (a "preempted" wait) is runnable. Older files are
//     read with their preempted waits made runnable (see migrate.go); their
//     inferred intervals keep the stacks the decoder of the time gave them.

// FormatVersion is the version of the .reqprof format this package writes,
// and the newest version it reads. Decode reads every older version too.
const FormatVersion = 3

// ErrUnsupportedVersion is returned, wrapped, by [Decode] for a file written
// in a format version newer than [FormatVersion]. Test for it with
// [errors.Is].
var ErrUnsupportedVersion = errors.New("unsupported reqprof format version")

const (
	magic      = "reqprof profile\n"
	formatName = "reqprof"
)

// Encode writes p to w in the native .reqprof format: a gzip stream holding
// the line "reqprof profile" and a JSON document whose "format" is "reqprof"
// and whose "version" is [FormatVersion].
//
// Encode first checks p with [Profile.CheckValid] and refuses to write an
// invalid profile, or one that exceeds the bounds Decode applies by default
// (see [DecodeOptions]; the error wraps [ErrLimit]), so whatever it writes,
// [Decode] reads back. Start must lie
// within years 0 through 9999; it is stored in UTC. Strings are stored as
// JSON, so invalid UTF-8 in them is replaced by U+FFFD.
func (p *Profile) Encode(w io.Writer) error {
	if err := p.CheckValid(); err != nil {
		return fmt.Errorf("cannot encode invalid profile: %w", err)
	}
	if err := p.checkLimits(DecodeOptions{}); err != nil {
		return fmt.Errorf("cannot encode profile: %w", err)
	}
	wp, err := p.toWire()
	if err != nil {
		return fmt.Errorf("cannot encode profile: %w", err)
	}
	zw := &levelWriter{w: w}
	defer zw.release()
	if _, err := io.WriteString(zw, magic); err != nil {
		return err
	}
	// The encoder writes the document at once: past the size bound, nothing.
	enc := json.NewEncoder(&countingWriter{w: zw, n: int64(len(magic)), max: DefaultMaxSize})
	enc.SetEscapeHTML(false)
	if err := enc.Encode(wp); err != nil {
		return err
	}
	return zw.Close()
}

// smallDocument is the size below which a document is compressed at
// gzip.BestSpeed: a short request's profile (1–5 KB) then costs a third
// less CPU to encode (the default level clears 640 KB of match tables for
// each stream) and a few percent more bytes; a larger one is compressed
// at the default level, half the size of BestSpeed's.
const smallDocument = 64 << 10

// levelWriter is a gzip stream whose level depends on the document's size:
// it holds the first smallDocument bytes, and compresses them at
// BestSpeed if the document ends there, else starts a default-level
// stream with them and goes on streaming.
type levelWriter struct {
	w    io.Writer
	head []byte
	zw   *gzip.Writer
	pool *sync.Pool
}

func (l *levelWriter) Write(p []byte) (int, error) {
	if l.zw != nil {
		return l.zw.Write(p)
	}
	if len(l.head)+len(p) <= smallDocument {
		if l.head == nil {
			l.head = *heads.Get().(*[]byte)
		}
		l.head = append(l.head, p...)
		return len(p), nil
	}
	if err := l.start(&gzipWriters); err != nil {
		return 0, err
	}
	return l.zw.Write(p)
}

// start begins the gzip stream with a writer from pool and writes the
// bytes held so far.
func (l *levelWriter) start(pool *sync.Pool) error {
	l.pool = pool
	l.zw = pool.Get().(*gzip.Writer)
	l.zw.Reset(l.w)
	_, err := l.zw.Write(l.head)
	l.head = l.head[:0]
	return err
}

// Close ends the stream.
func (l *levelWriter) Close() error {
	if l.zw == nil {
		if err := l.start(&fastGzipWriters); err != nil {
			return err
		}
	}
	return l.zw.Close()
}

// release returns the writer's buffers to their pools.
func (l *levelWriter) release() {
	if l.zw != nil {
		l.pool.Put(l.zw)
		l.zw = nil
	}
	if l.head != nil {
		h := l.head[:0]
		heads.Put(&h)
		l.head = nil
	}
}

// gzipWriters and fastGzipWriters recycle gzip writers (default level and
// BestSpeed), which cost some 800 KB each; heads recycles levelWriter's
// buffers.
var (
	gzipWriters     = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	fastGzipWriters = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
		return w
	}}
	heads = sync.Pool{New: func() any { b := make([]byte, 0, smallDocument); return &b }}
)

// Decode reads a profile in the native .reqprof format from r and checks it
// with [Profile.CheckValid].
//
// A decoded profile's Start is in UTC, without a monotonic clock reading, and
// its empty slices (Attrs, Warnings, Frames, Goroutines, Intervals, Samples,
// Regions, Logs, Stack.Frames) are nil: Encode followed by Decode reproduces
// a profile exactly when it is so normalised.
//
// Decode fails with an error starting "not a reqprof file" when r does not
// hold a .reqprof file at all, with one wrapping [ErrUnsupportedVersion] when
// the file's format version is newer than [FormatVersion], and with one
// starting "corrupt reqprof file" when the file is damaged or its profile
// is invalid, and with one wrapping [ErrLimit] when it exceeds the default
// bounds of [DecodeOptions].
func Decode(r io.Reader) (*Profile, error) {
	return DecodeWith(r, DecodeOptions{})
}

// DecodeWith is [Decode] with the given bounds.
func DecodeWith(r io.Reader, o DecodeOptions) (*Profile, error) {
	o = o.withDefaults()
	br := bufio.NewReader(r)
	head, err := br.Peek(len(magic))
	switch {
	case len(head) == 0 && err == io.EOF:
		return nil, errors.New("not a reqprof file: empty input")
	case len(head) < len(magic) && err != nil && err != io.EOF:
		return nil, fmt.Errorf("reading reqprof file: %w", err)
	case len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b:
		return nil, errors.New("not a reqprof file: not gzip-compressed" + guessFormat(head))
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, readError(err)
	}
	zr.Multistream(false)
	body, err := readBody(zr, o)
	if err != nil {
		return nil, err
	}
	if _, err := br.ReadByte(); err == nil {
		return nil, corrupt(errors.New("data after the end of the gzip stream"))
	} else if err != io.EOF {
		return nil, readError(err)
	}

	var wp wireProfile
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(&wp)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data after the profile")
		}
	}
	if err != nil {
		// Perhaps the document is a different format or version, whose
		// layout differs: report that rather than the mismatch it causes.
		var h wireHeader
		if json.Unmarshal(body, &h) == nil {
			if herr := h.check(); herr != nil {
				return nil, herr
			}
		}
		if err == io.EOF {
			err = errors.New("no profile after the header line")
		}
		return nil, corrupt(err)
	}
	if err := wp.wireHeader.check(); err != nil {
		return nil, err
	}
	p, err := wp.toProfile()
	if err != nil {
		return nil, corrupt(err)
	}
	if wp.Version == 1 {
		if err := p.migrateV1(); err != nil {
			return nil, corrupt(err)
		}
	}
	if wp.Version < 3 {
		p.migrateV2()
	}
	if err := p.CheckValid(); err != nil {
		return nil, corrupt(err)
	}
	if err := p.checkLimits(o); err != nil {
		return nil, err
	}
	return p, nil
}

// readError describes an error reading the gzip stream: damage to it, or a
// failure of the underlying reader.
func readError(err error) error {
	var flateErr flate.CorruptInputError
	if err == io.EOF || err == io.ErrUnexpectedEOF || err == gzip.ErrHeader ||
		err == gzip.ErrChecksum || errors.As(err, &flateErr) {
		return corrupt(err)
	}
	return fmt.Errorf("reading reqprof file: %w", err)
}

func corrupt(err error) error {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return fmt.Errorf("corrupt reqprof file: truncated: %w", err)
	}
	return fmt.Errorf("corrupt reqprof file: %w", err)
}

// guessFormat returns a hint at what a file starting with head is, for an
// error message, or "".
func guessFormat(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte(magic)):
		return " (uncompressed reqprof data?)"
	case bytes.HasPrefix(head, []byte("go 1.")):
		return " (this looks like a Go execution trace)"
	}
	return ""
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Wire structs. The exported model carries no encoding tags; these mirror it.

// The model's shapes as this file (and text.go) handle them: a change to a
// type in profile.go fails to compile here until the codec, the text dump
// and CheckValid have been updated to match (and, for the codec, perhaps
// FormatVersion incremented).
var _ = [...]any{
	struct {
		Name            string
		Start           time.Time
		Duration        int64
		GoVersion, Host string
		Attrs           []Attr
		Goroutines      []Goroutine
		Samples         []Sample
		Regions         []Region
		Logs            []Log
		Frames          []Frame
		Stacks          []Stack
		Base            StackID
		Work            StackID
		Library         []string
		SamplePeriod    int64
		Warnings        []string
	}(Profile{}),
	struct{ Key, Value string }(Attr{}),
	struct {
		Func, File string
		Line       int
	}(Frame{}),
	struct{ Frames []FrameID }(Stack{}),
	struct {
		ID, Parent       int64
		Member           bool
		CreatedAt, Entry StackID
		Task             string
		Start, End       int64
		Exited           bool
		Intervals        []Interval
	}(Goroutine{}),
	struct {
		Start, End int64
		State      State
		Reason     string
		Stack      StackID
		Inferred   bool
		Waker      int64
	}(Interval{}),
	struct {
		Time, Goroutine int64
		Stack           StackID
	}(Sample{}),
	struct {
		Goroutine  int64
		Type       string
		Start, End int64
		Stack      StackID
	}(Region{}),
	struct {
		Goroutine, Time   int64
		Category, Message string
	}(Log{}),
}

type wireHeader struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
}

func (h *wireHeader) check() error {
	switch {
	case h.Format != formatName:
		return fmt.Errorf("not a reqprof file: format is %q, want %q", h.Format, formatName)
	case h.Version > FormatVersion:
		return fmt.Errorf("%w: the file has version %d, this build of reqprof reads versions up to %d (upgrade reqprof to read it)", ErrUnsupportedVersion, h.Version, FormatVersion)
	case h.Version < 1:
		return fmt.Errorf("corrupt reqprof file: invalid format version %d", h.Version)
	}
	return nil
}

type wireProfile struct {
	wireHeader
	Name       string          `json:"name,omitempty"`
	Start      string          `json:"start,omitempty"`
	Duration   int64           `json:"duration,omitempty"`
	GoVersion  string          `json:"go_version,omitempty"`
	Host       string          `json:"host,omitempty"`
	Attrs      []wireAttr      `json:"attrs,omitempty"`
	Warnings   []string        `json:"warnings,omitempty"`
	Frames     []wireFrame     `json:"frames,omitempty"`
	Stacks     [][]FrameID     `json:"stacks"`
	Base       StackID         `json:"base,omitempty"`
	Work       StackID         `json:"work,omitempty"`
	Library    []string        `json:"library,omitempty"`
	Period     int64           `json:"sample_period,omitempty"`
	Reasons    []string        `json:"reasons,omitempty"`
	Goroutines []wireGoroutine `json:"goroutines,omitempty"`
	Samples    [][]int64       `json:"samples,omitempty"` // [time, goroutine, stack]
	Regions    []wireRegion    `json:"regions,omitempty"`
	Logs       []wireLog       `json:"logs,omitempty"`
}

type wireAttr struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type wireFrame struct {
	Func string `json:"func,omitempty"`
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

type wireGoroutine struct {
	ID        int64     `json:"id"`
	Parent    int64     `json:"parent,omitempty"`
	Member    bool      `json:"member,omitempty"`
	CreatedAt StackID   `json:"created_at,omitempty"`
	Entry     StackID   `json:"entry,omitempty"`
	Task      string    `json:"task,omitempty"`
	Start     int64     `json:"start,omitempty"`
	End       int64     `json:"end,omitempty"`
	Exited    bool      `json:"exited,omitempty"`
	Intervals [][]int64 `json:"intervals,omitempty"` // see the format comment
}

type wireRegion struct {
	Goroutine int64   `json:"goroutine"`
	Type      string  `json:"type,omitempty"`
	Start     int64   `json:"start,omitempty"`
	End       int64   `json:"end,omitempty"`
	Stack     StackID `json:"stack,omitempty"`
}

type wireLog struct {
	Goroutine int64  `json:"goroutine"`
	Time      int64  `json:"time,omitempty"`
	Category  string `json:"category,omitempty"`
	Message   string `json:"message,omitempty"`
}

// toWire converts a valid profile to its wire form.
func (p *Profile) toWire() (*wireProfile, error) {
	wp := &wireProfile{
		wireHeader: wireHeader{Format: formatName, Version: FormatVersion},
		Name:       p.Name,
		Duration:   p.Duration,
		GoVersion:  p.GoVersion,
		Host:       p.Host,
		Warnings:   p.Warnings,
		Base:       p.Base,
		Work:       p.Work,
		Library:    p.Library,
		Period:     p.SamplePeriod,
	}
	if !p.Start.IsZero() {
		t := p.Start.UTC()
		if y := t.Year(); y < 0 || y > 9999 {
			return nil, fmt.Errorf("start time %v: year %d outside [0,9999]", t, y)
		}
		wp.Start = t.Format(time.RFC3339Nano)
	}
	if len(p.Attrs) > 0 {
		wp.Attrs = make([]wireAttr, len(p.Attrs))
		for i, a := range p.Attrs {
			wp.Attrs[i] = wireAttr(a)
		}
	}
	if len(p.Frames) > 0 {
		wp.Frames = make([]wireFrame, len(p.Frames))
		for i, f := range p.Frames {
			wp.Frames[i] = wireFrame(f)
		}
	}
	wp.Stacks = make([][]FrameID, len(p.Stacks))
	for i, s := range p.Stacks {
		wp.Stacks[i] = s.Frames
		if s.Frames == nil {
			wp.Stacks[i] = []FrameID{} // [] rather than null
		}
	}

	reasons := make(map[string]int64) // reason → 1 + index in wp.Reasons
	if len(p.Goroutines) > 0 {
		wp.Goroutines = make([]wireGoroutine, len(p.Goroutines))
	}
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		wg := &wp.Goroutines[i]
		*wg = wireGoroutine{
			ID:        g.ID,
			Parent:    g.Parent,
			Member:    g.Member,
			CreatedAt: g.CreatedAt,
			Entry:     g.Entry,
			Task:      g.Task,
			Start:     g.Start,
			End:       g.End,
			Exited:    g.Exited,
		}
		if len(g.Intervals) == 0 {
			continue
		}
		wg.Intervals = make([][]int64, len(g.Intervals))
		nums := make([]int64, 6*len(g.Intervals)) // one allocation for all
		for j, iv := range g.Intervals {
			var reason int64
			if iv.Reason != "" {
				reason = reasons[iv.Reason]
				if reason == 0 {
					wp.Reasons = append(wp.Reasons, iv.Reason)
					reason = int64(len(wp.Reasons))
					reasons[iv.Reason] = reason
				}
			}
			var inferred int64
			if iv.Inferred {
				inferred = 1
			}
			a := append(nums[:0:6], iv.End-iv.Start, int64(iv.State), int64(iv.Stack), reason, iv.Waker, inferred)
			nums = nums[6:]
			for len(a) > 2 && a[len(a)-1] == 0 {
				a = a[:len(a)-1]
			}
			wg.Intervals[j] = a
		}
	}

	if len(p.Samples) > 0 {
		wp.Samples = make([][]int64, len(p.Samples))
		nums := make([]int64, 3*len(p.Samples))
		for i, s := range p.Samples {
			wp.Samples[i] = append(nums[:0:3], s.Time, s.Goroutine, int64(s.Stack))
			nums = nums[3:]
		}
	}
	if len(p.Regions) > 0 {
		wp.Regions = make([]wireRegion, len(p.Regions))
		for i, r := range p.Regions {
			wp.Regions[i] = wireRegion(r)
		}
	}
	if len(p.Logs) > 0 {
		wp.Logs = make([]wireLog, len(p.Logs))
		for i, l := range p.Logs {
			wp.Logs[i] = wireLog(l)
		}
	}
	return wp, nil
}

// toProfile converts a decoded wire profile to a profile, checking what the
// JSON decoder cannot: array lengths, ranges and table references. The
// caller checks the result with CheckValid.
func (wp *wireProfile) toProfile() (*Profile, error) {
	p := &Profile{
		Name:         wp.Name,
		Duration:     wp.Duration,
		GoVersion:    wp.GoVersion,
		Host:         wp.Host,
		Warnings:     nilIfEmpty(wp.Warnings),
		Base:         wp.Base,
		Work:         wp.Work,
		Library:      nilIfEmpty(wp.Library),
		SamplePeriod: wp.Period,
	}
	if wp.Start != "" {
		t, err := time.Parse(time.RFC3339Nano, wp.Start)
		if err != nil {
			return nil, fmt.Errorf("start time: %w", err)
		}
		t = t.UTC()
		if y := t.Year(); y < 0 || y > 9999 {
			return nil, fmt.Errorf("start time %q: year %d in UTC outside [0,9999]", wp.Start, y)
		}
		p.Start = t
	}
	if len(wp.Attrs) > 0 {
		p.Attrs = make([]Attr, len(wp.Attrs))
		for i, a := range wp.Attrs {
			p.Attrs[i] = Attr(a)
		}
	}
	if len(wp.Frames) > 0 {
		p.Frames = make([]Frame, len(wp.Frames))
		for i, f := range wp.Frames {
			p.Frames[i] = Frame(f)
		}
	}
	if len(wp.Stacks) > 0 {
		p.Stacks = make([]Stack, len(wp.Stacks))
		for i, s := range wp.Stacks {
			p.Stacks[i].Frames = nilIfEmpty(s)
		}
	}

	if len(wp.Goroutines) > 0 {
		p.Goroutines = make([]Goroutine, len(wp.Goroutines))
	}
	for i := range wp.Goroutines {
		wg := &wp.Goroutines[i]
		g := &p.Goroutines[i]
		*g = Goroutine{
			ID:        wg.ID,
			Parent:    wg.Parent,
			Member:    wg.Member,
			CreatedAt: wg.CreatedAt,
			Entry:     wg.Entry,
			Task:      wg.Task,
			Start:     wg.Start,
			End:       wg.End,
			Exited:    wg.Exited,
		}
		if len(wg.Intervals) == 0 {
			continue
		}
		g.Intervals = make([]Interval, len(wg.Intervals))
		t := g.Start
		for j, a := range wg.Intervals {
			iv, err := wp.interval(t, a)
			if err != nil {
				return nil, fmt.Errorf("goroutine %d: interval %d: %w", g.ID, j, err)
			}
			g.Intervals[j] = iv
			t = iv.End
		}
	}

	if len(wp.Samples) > 0 {
		p.Samples = make([]Sample, len(wp.Samples))
		for i, a := range wp.Samples {
			if len(a) != 3 {
				return nil, fmt.Errorf("sample %d: want 3 numbers [time, goroutine, stack], got %d", i, len(a))
			}
			stack, err := stackID(a[2])
			if err != nil {
				return nil, fmt.Errorf("sample %d: %w", i, err)
			}
			p.Samples[i] = Sample{Time: a[0], Goroutine: a[1], Stack: stack}
		}
	}
	if len(wp.Regions) > 0 {
		p.Regions = make([]Region, len(wp.Regions))
		for i, r := range wp.Regions {
			p.Regions[i] = Region(r)
		}
	}
	if len(wp.Logs) > 0 {
		p.Logs = make([]Log, len(wp.Logs))
		for i, l := range wp.Logs {
			p.Logs[i] = Log(l)
		}
	}
	return p, nil
}

// interval decodes the wire interval a starting at time start.
func (wp *wireProfile) interval(start int64, a []int64) (Interval, error) {
	if len(a) < 2 || len(a) > 6 {
		return Interval{}, fmt.Errorf("want 2 to 6 numbers [duration, state, stack, reason, waker, inferred], got %d", len(a))
	}
	var b [6]int64
	copy(b[:], a)
	dur, state, stack, reason, waker, inferred := b[0], b[1], b[2], b[3], b[4], b[5]
	if dur <= 0 || start > math.MaxInt64-dur {
		return Interval{}, fmt.Errorf("invalid duration %d at time %d", dur, start)
	}
	iv := Interval{Start: start, End: start + dur, Waker: waker}
	if state < 0 || state > math.MaxUint8 {
		return Interval{}, fmt.Errorf("invalid state %d", state)
	}
	iv.State = State(state)
	var err error
	if iv.Stack, err = stackID(stack); err != nil {
		return Interval{}, err
	}
	if reason < 0 || reason > int64(len(wp.Reasons)) {
		return Interval{}, fmt.Errorf("reason %d out of range (have %d reasons)", reason, len(wp.Reasons))
	}
	if reason > 0 {
		iv.Reason = wp.Reasons[reason-1]
	}
	switch inferred {
	case 0:
	case 1:
		iv.Inferred = true
	default:
		return Interval{}, fmt.Errorf("inferred flag is %d, want 0 or 1", inferred)
	}
	return iv, nil
}

func stackID(n int64) (StackID, error) {
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("stack %d out of range", n)
	}
	return StackID(n), nil
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
