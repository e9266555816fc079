package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Decode limits. A .reqprof file may come from anywhere (a store
// directory, a download, a bug report), and a small file can describe a
// huge profile: a 1 KB file with a 100,000-frame stack, 450 KB holding ten
// million intervals, a gzip stream that inflates to gigabytes. Decode
// bounds what it accepts so that decoding it, and rendering it, costs
// memory and time in proportion to the bounds, whatever the file.
//
// Profiles that reqprof itself makes stay within them: the runtime's
// tracer records at most 128 frames per stack and 1 KiB per string, and
// Encode refuses to write a profile that Decode would refuse.

// DecodeOptions bound what DecodeWith accepts. The zero value takes the
// defaults.
type DecodeOptions struct {
	// MaxSize bounds the decompressed size of the file, in bytes (default
	// DefaultMaxSize). Decompression stops past it, so a gzip bomb costs
	// no more than MaxSize. The text of every stack written out (the sum,
	// over the stacks, of the lengths of their frames' function names) is
	// bounded by MaxSize too, which bounds what renderers that print whole
	// stacks (folded stacks) write.
	MaxSize int64
	// MaxRecords bounds the number of records in the file, all kinds
	// together: goroutines, intervals, CPU samples, regions, logs,
	// frames, stacks, attributes, warnings, library prefixes and distinct
	// wait reasons
	// (default DefaultMaxRecords). It is checked before the records are
	// decoded.
	MaxRecords int
}

// Defaults of DecodeOptions, and the bounds that do not change.
const (
	// DefaultMaxSize is the default decompressed size bound: 64 MiB, 20
	// times a 200,000-interval profile, room for long names and
	// attributes.
	DefaultMaxSize = 64 << 20
	// DefaultMaxRecords is the default bound on the number of records:
	// 262,144, above the 200,000 intervals that every format is to render
	// in 200 MB (BENCHMARKS.md's budget), so that what Decode accepts
	// renders in bounded memory.
	DefaultMaxRecords = 1 << 18
	// MaxStackDepth is the most frames a stack may have: the runtime's own
	// limit (internal/trace/tracev2.MaxFramesPerStack).
	MaxStackDepth = 128
	// MaxStringLen is the longest string the file may hold, in bytes, as
	// decoded: the name, attributes, warnings, library prefixes.
	MaxStringLen = 64 << 10
	// MaxTraceStringLen is the longest string that comes from the
	// execution trace: frames' functions and files, reasons, region
	// types, log categories and messages. The runtime's tracer cuts every
	// string to this length (tracev2.MaxEventTrailerDataSize); since
	// renderers write function names once per event, it bounds their
	// output too.
	MaxTraceStringLen = 1 << 10
)

// ErrLimit is returned, wrapped, by Decode and DecodeWith for a file that
// exceeds a bound of DecodeOptions, MaxStackDepth, MaxStringLen or
// MaxTraceStringLen, and by
// Encode for a profile that would make such a file. Test for it with
// [errors.Is].
var ErrLimit = errors.New("reqprof file exceeds a limit")

func (o DecodeOptions) withDefaults() DecodeOptions {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxRecords <= 0 {
		o.MaxRecords = DefaultMaxRecords
	}
	return o
}

// limitErr is an error that is ErrLimit, with its own message.
type limitErr struct{ msg string }

func (e *limitErr) Error() string        { return e.msg }
func (e *limitErr) Is(target error) bool { return target == ErrLimit }

func limitError(format string, args ...any) error {
	return &limitErr{ErrLimit.Error() + ": " + fmt.Sprintf(format, args...)}
}

// tooLarge is the error for a file that decompresses to more than max.
func tooLarge(max int64) error {
	return &limitErr{fmt.Sprintf("reqprof file too large: decompresses to more than %s (limit against decompression bombs)", formatSize(max))}
}

// readBody reads the decompressed document from zr, checking as it goes
// that it starts with the magic line, stays within o.MaxSize and holds no
// more records than o.MaxRecords (see scanner), so that a file over a
// bound is refused as soon as that shows, not once inflated whole. It
// returns the document after the magic line.
func readBody(zr io.Reader, o DecodeOptions) ([]byte, error) {
	buf := make([]byte, 0, 32<<10)
	s := scanner{max: o.MaxRecords}
	checked := false
	for {
		if len(buf) == cap(buf) {
			// Grow as append would, but not past the bound.
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), o.MaxSize+1))
			copy(grown, buf)
			buf = grown
		}
		// Read at most one byte past the bound.
		room := buf[len(buf):cap(buf)]
		if left := o.MaxSize + 1 - int64(len(buf)); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := zr.Read(room)
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > o.MaxSize {
			return nil, tooLarge(o.MaxSize)
		}
		eof := err == io.EOF
		if err != nil && !eof {
			return nil, readError(err)
		}
		if !checked && (len(buf) >= len(magic) || eof) {
			if !bytes.HasPrefix(buf, []byte(magic)) {
				return nil, fmt.Errorf("not a reqprof file: content does not start with %q", magic)
			}
			checked = true
		}
		if checked {
			if err := s.scan(buf[len(magic):], eof); err != nil {
				// A different format or version may have other bounds.
				h := wireHeader{Format: s.format, Version: s.version}
				if s.sawHeader {
					if herr := h.check(); herr != nil {
						return nil, herr
					}
				}
				return nil, err
			}
		}
		if eof {
			return buf[len(magic):], nil
		}
	}
}

// scanRecords scans a whole document (see scanner).
func scanRecords(doc []byte, o DecodeOptions) error {
	s := scanner{max: o.MaxRecords}
	return s.scan(doc, true)
}

// scanner checks the structure of a decompressed document before
// encoding/json decodes it: decoding allocates per JSON value (a slice per
// interval, a string per reason), some ten times the bytes the value takes
// in the file, so the counts are bounded first. It counts the records —
// the elements of lists (arrays in an object: the top-level tables, a
// goroutine's intervals) — and bounds the length of tuples (arrays in an
// array: a stack's frames, an interval's or a sample's numbers) and the
// nesting. It does not validate the document otherwise: encoding/json
// does. It scans as the document arrives, resuming where it stopped.
type scanner struct {
	open    []container
	records int
	max     int
	pos     int    // the next byte to scan
	tok     token  // the string, number or literal at pos
	key     string // the last key of the top-level object
	// The header, as far as seen: format and version are the first keys
	// Encode writes.
	format    string
	version   int
	sawHeader bool
}

type container struct {
	kind  byte // '{' object, 'l' list, 't' tuple
	n     int
	bound int // for tuples: the most elements allowed
}

// maxRawString bounds a string as the document holds it, quotes and
// escapes included: a string of MaxStringLen bytes takes at most six times
// as many, all escaped (\u001f).
const maxRawString = 6*MaxStringLen + 2

// maxNesting bounds the nesting of a document; the format needs 5 levels.
const maxNesting = 16

// scan scans doc[s.pos:]. Unless final, it stops at a token that may go on
// past the end of doc, to resume when more of the document has arrived.
func (s *scanner) scan(doc []byte, final bool) error {
	for s.pos < len(doc) {
		c := doc[s.pos]
		switch c {
		case ' ', '\t', '\n', '\r', ',', ':':
			s.pos++
			continue
		case '[', '{':
			if err := s.value(nil); err != nil {
				return err
			}
			if err := s.push(c); err != nil {
				return err
			}
			s.pos++
			continue
		case ']', '}':
			if len(s.open) == 0 {
				return nil // unbalanced: encoding/json says so
			}
			s.open = s.open[:len(s.open)-1]
			s.pos++
			continue
		}
		// A string, a number or a literal: find its end. A token cut
		// by the end of doc is resumed where its scan stopped, so that
		// a long one is not scanned again for every piece of it.
		start := s.pos
		t := &s.tok
		if !t.active {
			*t = token{active: true, resume: start + 1}
		}
		if t.end == 0 {
			end, resume, complete := tokenEnd(doc, start, t.resume)
			if !complete && !final {
				if resume-start > maxRawString {
					return limitError("a value of more than %d bytes", maxRawString)
				}
				t.resume = resume
				return nil
			}
			t.end, t.look = end, end
		}
		end := t.end
		if c == '"' {
			k := t.look
			for k < len(doc) && (doc[k] == ' ' || doc[k] == '\t' || doc[k] == '\n' || doc[k] == '\r') {
				k++
			}
			t.look = k
			if k == len(doc) && !final {
				return nil // a key or a value: the next byte tells
			}
			if k < len(doc) && doc[k] == ':' && s.inObject() {
				if len(s.open) == 1 {
					s.key = ""
					if end-start < 64 { // the format's keys are short
						s.key = string(doc[start+1 : max(start+1, end-1)])
					}
				}
				s.pos, t.active = end, false
				continue
			}
		}
		if err := s.value(doc[start:end]); err != nil {
			return err
		}
		s.pos, t.active = end, false
	}
	return nil
}

// token is the state of the scan of a string, number or literal.
type token struct {
	active bool
	resume int // where to go on looking for its end
	end    int // its end, once found
	look   int // for strings: how far the search for a colon after it got
}

// tokenEnd looks for the end of the string, number or literal starting at
// doc[start], from doc[from] on. It returns the end and true, or, when doc
// ends first, len(doc), where to resume, and false.
func tokenEnd(doc []byte, start, from int) (end, resume int, complete bool) {
	if doc[start] == '"' {
		for j := from; j < len(doc); j++ {
			switch doc[j] {
			case '\\':
				if j+1 == len(doc) {
					return len(doc), j, false
				}
				j++
			case '"':
				return j + 1, 0, true
			}
		}
		return len(doc), len(doc), false
	}
	for j := from; j < len(doc); j++ {
		if isDelim(doc[j]) {
			return j, 0, true
		}
	}
	return len(doc), len(doc), false
}

func (s *scanner) inObject() bool {
	return len(s.open) > 0 && s.open[len(s.open)-1].kind == '{'
}

// value counts a value in the innermost container; tok is its text, nil
// for an array or object.
func (s *scanner) value(tok []byte) error {
	if len(s.open) == 0 {
		return nil
	}
	if len(tok) > maxRawString {
		return limitError("a value of more than %d bytes", maxRawString)
	}
	if len(s.open) == 1 && tok != nil {
		switch s.key {
		case "format":
			s.format, _ = strconv.Unquote(string(tok))
			s.sawHeader = true
		case "version":
			s.version, _ = strconv.Atoi(string(tok))
			s.sawHeader = true
		}
	}
	c := &s.open[len(s.open)-1]
	c.n++
	switch c.kind {
	case 'l':
		if s.records++; s.records > s.max {
			return limitError("more than %d records", s.max)
		}
	case 't':
		if c.n > c.bound {
			if c.bound > MaxStackDepth {
				return limitError("a stack has more than %d frames (the limit is %d)", c.bound, MaxStackDepth)
			}
			return limitError("an array of more than %d numbers in a table of tuples", c.bound)
		}
	}
	return nil
}

func (s *scanner) push(c byte) error {
	if len(s.open) == maxNesting {
		return fmt.Errorf("corrupt reqprof file: nested more than %d levels deep", maxNesting)
	}
	k := container{kind: c}
	if c == '[' {
		k.kind = 'l'
		if n := len(s.open); n > 0 && s.open[n-1].kind != '{' {
			// Intervals have 6 numbers at most, samples 3, stacks
			// MaxStackDepth frames: the bounds here are looser, to stop
			// only what would cost memory, and leave exact errors to the
			// decoding.
			k.kind = 't'
			k.bound = 16
			if n == 2 && s.key == "stacks" { // in the table of stacks
				k.bound = 4 * MaxStackDepth
			}
		}
	}
	s.open = append(s.open, k)
	return nil
}

func isDelim(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\n', '\r', ':', '"', '[', '{':
		return true
	}
	return false
}

// checkLimits checks a decoded (or to be encoded) profile against the
// bounds that scanRecords cannot see: exact counts, stack depths, string
// lengths, and the text of the stacks.
func (p *Profile) checkLimits(o DecodeOptions) error {
	o = o.withDefaults()
	records := len(p.Goroutines) + len(p.Samples) + len(p.Regions) + len(p.Logs) +
		len(p.Frames) + len(p.Stacks) + len(p.Attrs) + len(p.Warnings) + len(p.Library)
	reasons := map[string]bool{}
	for i := range p.Goroutines {
		records += len(p.Goroutines[i].Intervals)
		for _, iv := range p.Goroutines[i].Intervals {
			if iv.Reason != "" && !reasons[iv.Reason] {
				if len(iv.Reason) > MaxTraceStringLen {
					return limitError("goroutine %d: a reason of %d bytes, more than %d", p.Goroutines[i].ID, len(iv.Reason), MaxTraceStringLen)
				}
				reasons[iv.Reason] = true
			}
		}
	}
	records += len(reasons) // the file's table of reasons
	if records > o.MaxRecords {
		return limitError("%d records, more than %d", records, o.MaxRecords)
	}
	long := func(what string, n, max int) error {
		return limitError("%s is %d bytes long, more than %d", what, n, max)
	}
	for _, c := range []struct{ what, s string }{{"the name", p.Name}, {"the Go version", p.GoVersion}, {"the host", p.Host}} {
		if len(c.s) > MaxStringLen {
			return long(c.what, len(c.s), MaxStringLen)
		}
	}
	for _, a := range p.Attrs {
		if len(a.Key) > MaxStringLen {
			return long("an attribute key", len(a.Key), MaxStringLen)
		}
		if len(a.Value) > MaxStringLen {
			return long(fmt.Sprintf("attribute %.40q", a.Key), len(a.Value), MaxStringLen)
		}
	}
	for _, w := range p.Warnings {
		if len(w) > MaxStringLen {
			return long("a warning", len(w), MaxStringLen)
		}
	}
	for _, l := range p.Library {
		if len(l) > MaxStringLen {
			return long("a library prefix", len(l), MaxStringLen)
		}
	}
	for i, f := range p.Frames {
		if n := max(len(f.Func), len(f.File)); n > MaxTraceStringLen {
			return limitError("frame %d: a function or file name of %d bytes, more than %d", i, n, MaxTraceStringLen)
		}
	}
	var text int64
	for i, s := range p.Stacks {
		if len(s.Frames) > MaxStackDepth {
			return limitError("stack %d has %d frames, more than %d", i, len(s.Frames), MaxStackDepth)
		}
		for _, f := range s.Frames {
			if f >= 0 && int(f) < len(p.Frames) {
				text += int64(len(p.Frames[f].Func))
			}
		}
	}
	if text > o.MaxSize {
		return limitError("the stacks' function names add up to %s, more than %s", formatSize(text), formatSize(o.MaxSize))
	}
	for i, r := range p.Regions {
		if len(r.Type) > MaxTraceStringLen {
			return long(fmt.Sprintf("region %d's type", i), len(r.Type), MaxTraceStringLen)
		}
	}
	for i, l := range p.Logs {
		if n := max(len(l.Category), len(l.Message)); n > MaxTraceStringLen {
			return long(fmt.Sprintf("log %d's category or message", i), n, MaxTraceStringLen)
		}
	}
	return nil
}

// countingWriter counts the bytes written through it, failing past max.
type countingWriter struct {
	w   io.Writer
	n   int64
	max int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	c.n += int64(len(b))
	if c.n > c.max {
		return 0, tooLarge(c.max)
	}
	return c.w.Write(b)
}
