package profile

import (
	"errors"
	"fmt"
	"io"
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
	// frames, stacks, attributes, warnings and distinct wait reasons
	// (default DefaultMaxRecords). It is checked before the records are
	// decoded.
	MaxRecords int
}

// Defaults of DecodeOptions, and the bounds that do not change.
const (
	// DefaultMaxSize is the default decompressed size bound: 64 MiB, some
	// 4 million intervals, 20 times a 200,000-interval profile.
	DefaultMaxSize = 64 << 20
	// DefaultMaxRecords is the default bound on the number of records.
	DefaultMaxRecords = 1 << 20
	// MaxStackDepth is the most frames a stack may have: the runtime's own
	// limit (internal/trace/tracev2.MaxFramesPerStack).
	MaxStackDepth = 128
	// MaxStringLen is the longest string the file may hold, in bytes, as
	// decoded: names, attributes, frames' functions and files, reasons,
	// warnings, region types, log categories and messages.
	MaxStringLen = 64 << 10
)

// ErrLimit is returned, wrapped, by Decode and DecodeWith for a file that
// exceeds a bound of DecodeOptions, MaxStackDepth or MaxStringLen, and by
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

// scanRecords checks the structure of a decompressed document before
// encoding/json decodes it: decoding allocates per JSON value (a slice per
// interval, a string per reason), some ten times the bytes the value takes
// in the file, so the counts are bounded first. It counts the records —
// the elements of lists (arrays in an object: the top-level tables, a
// goroutine's intervals) — and bounds the length of tuples (arrays in an
// array: a stack's frames, an interval's or a sample's numbers) and the
// nesting. It does not validate the document otherwise: encoding/json
// does.
func scanRecords(doc []byte, o DecodeOptions) error {
	s := scanner{max: o.MaxRecords}
	for i := 0; i < len(doc); i++ {
		var err error
		switch c := doc[i]; c {
		case ' ', '\t', '\n', '\r', ',', ':':
		case '"':
			j := skipString(doc, i)
			if s.inObject() && isKey(doc, j) {
				if len(s.open) == 1 {
					s.key = string(doc[i+1 : j-1])
				}
			} else {
				err = s.value()
			}
			i = j - 1
		case '[', '{':
			if err = s.value(); err == nil {
				err = s.push(c)
			}
		case ']', '}':
			if len(s.open) == 0 {
				return nil // unbalanced: encoding/json says so
			}
			s.open = s.open[:len(s.open)-1]
		default: // a number or a literal
			err = s.value()
			for i+1 < len(doc) && !isDelim(doc[i+1]) {
				i++
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// maxNesting bounds the nesting of a document; the format needs 5 levels.
const maxNesting = 16

type scanner struct {
	open    []container
	records int
	max     int
	key     string // the last key of the top-level object
}

type container struct {
	kind  byte // '{' object, 'l' list, 't' tuple
	n     int
	bound int // for tuples: the most elements allowed
}

func (s *scanner) inObject() bool {
	return len(s.open) > 0 && s.open[len(s.open)-1].kind == '{'
}

// value counts a value in the innermost container.
func (s *scanner) value() error {
	if len(s.open) == 0 {
		return nil
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

// skipString returns the index just past the string starting at doc[i].
func skipString(doc []byte, i int) int {
	for j := i + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(doc)
}

// isKey reports whether the string ending before doc[j] is an object key:
// a colon follows it.
func isKey(doc []byte, j int) bool {
	for ; j < len(doc); j++ {
		switch doc[j] {
		case ' ', '\t', '\n', '\r':
			continue
		case ':':
			return true
		}
		return false
	}
	return false
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
		len(p.Frames) + len(p.Stacks) + len(p.Attrs) + len(p.Warnings)
	reasons := map[string]bool{}
	for i := range p.Goroutines {
		records += len(p.Goroutines[i].Intervals)
		for _, iv := range p.Goroutines[i].Intervals {
			if iv.Reason != "" && !reasons[iv.Reason] {
				if len(iv.Reason) > MaxStringLen {
					return limitError("goroutine %d: a reason of %d bytes, more than %d", p.Goroutines[i].ID, len(iv.Reason), MaxStringLen)
				}
				reasons[iv.Reason] = true
			}
		}
	}
	records += len(reasons) // the file's table of reasons
	if records > o.MaxRecords {
		return limitError("%d records, more than %d", records, o.MaxRecords)
	}
	str := func(what, s string) error {
		if len(s) > MaxStringLen {
			return limitError("%s is %d bytes long, more than %d", what, len(s), MaxStringLen)
		}
		return nil
	}
	errs := []error{str("the name", p.Name), str("the Go version", p.GoVersion), str("the host", p.Host)}
	for _, a := range p.Attrs {
		errs = append(errs, str("an attribute key", a.Key), str(fmt.Sprintf("attribute %.40q", a.Key), a.Value))
	}
	for _, w := range p.Warnings {
		errs = append(errs, str("a warning", w))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, f := range p.Frames {
		if len(f.Func) > MaxStringLen || len(f.File) > MaxStringLen {
			return limitError("frame %d: a function or file name of %d bytes, more than %d", i, max(len(f.Func), len(f.File)), MaxStringLen)
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
		if err := str(fmt.Sprintf("region %d's type", i), r.Type); err != nil {
			return err
		}
	}
	for i, l := range p.Logs {
		if err := errors.Join(str(fmt.Sprintf("log %d's category", i), l.Category), str(fmt.Sprintf("log %d's message", i), l.Message)); err != nil {
			return err
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
