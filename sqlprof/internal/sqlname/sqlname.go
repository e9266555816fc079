// Package sqlname turns SQL statement text into the names of the
// runtime/trace regions that sqlprof and sqlprof/pgxtrace start: "SQL: "
// followed by the statement with its white space collapsed, truncated.
package sqlname

import (
	"context"
	"runtime/trace"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/reqprof/reqprof/internal/tracestr"
)

const (
	// Prefix starts every region name.
	Prefix = "SQL: "
	// LogCategory is the runtime/trace.Log category of a truncated
	// statement's full text.
	LogCategory = "reqprof.sql"
	// DefaultMaxLen is the default bound, in runes, of the statement text
	// in a region name.
	DefaultMaxLen = 120
	// Ellipsis ends a truncated statement text.
	Ellipsis = "…"
	// Empty stands for a statement with no text.
	Empty = "(empty)"
)

// Region names of the statements without text of their own.
const (
	Begin    = Prefix + "BEGIN"
	Commit   = Prefix + "COMMIT"
	Rollback = Prefix + "ROLLBACK"
	Connect  = Prefix + "CONNECT"
)

// Collapse replaces every run of white space and control characters in q
// by one space, trims both ends, and replaces invalid UTF-8 by U+FFFD. It
// returns q itself, without allocating, when there is nothing to change.
func Collapse(q string) string {
	if clean(q) {
		return q
	}
	var b strings.Builder
	b.Grow(len(q))
	pending := false      // a separator to write before the next rune
	for _, r := range q { // invalid bytes come as utf8.RuneError
		if isSpace(r) {
			pending = b.Len() > 0
			continue
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// clean reports whether Collapse(q) == q, for ASCII text.
func clean(q string) bool {
	if q == "" {
		return true
	}
	if q[0] == ' ' || q[len(q)-1] == ' ' {
		return false
	}
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c >= utf8.RuneSelf, c < ' ', c == 0x7f:
			return false
		case c == ' ' && q[i-1] == ' ': // q[0] != ' '
			return false
		}
	}
	return true
}

func isSpace(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// Truncate returns s cut to at most max runes, the last of which is
// Ellipsis when s was longer, and whether it cut. max <= 0 means no bound.
// A space before the ellipsis is dropped.
func Truncate(s string, max int) (string, bool) {
	if max <= 0 || len(s) <= max { // len(s) bytes >= runes
		return s, false
	}
	n := 0
	for i := range s {
		if n == max-1 {
			rest := s[i:]
			if utf8.RuneCountInString(rest) <= 1 {
				return s, false
			}
			return strings.TrimRight(s[:i], " ") + Ellipsis, true
		}
		n++
	}
	return s, false
}

// Name is the region name of one statement text.
type Name struct {
	// Region is the region type: Prefix and the collapsed, truncated text.
	Region string
	// Full is the whole collapsed text when Region holds a truncated one,
	// and "" otherwise.
	Full string
}

// New returns the Name of statement text q with at most max runes of text.
func New(q string, max int) *Name {
	c := Collapse(q)
	if c == "" {
		return &Name{Region: Prefix + Empty}
	}
	t, cut := Truncate(c, max)
	// The tracer aborts the process on a region name of 64 KiB or more,
	// whatever MaxLen asks for.
	if b := tracestr.Bound(Prefix + t); len(b) < len(Prefix)+len(t) {
		t, cut = b[len(Prefix):], true
	}
	n := &Name{Region: Prefix + t}
	if cut {
		n.Full = c
	}
	return n
}

// StartRegion is trace.StartRegion, kept out of line: the runtime records a
// region's stack from the caller of the function that calls
// trace.StartRegion, skipping that function's whole frame when
// trace.StartRegion is inlined into it. Called through StartRegion, the
// stack always holds StartRegion's caller, which is where views insert the
// region's frame.
//
//go:noinline
func StartRegion(ctx context.Context, regionType string) *trace.Region {
	return trace.StartRegion(ctx, regionType)
}

// Start starts n's region on the calling goroutine and, when the region
// name holds a truncated text, logs the full text in it under
// LogCategory. The caller must end the region on the same goroutine.
//
//go:noinline
func (n *Name) Start(ctx context.Context) *trace.Region {
	r := trace.StartRegion(ctx, n.Region)
	if n.Full != "" {
		trace.Log(ctx, LogCategory, n.Full)
	}
	return r
}

// The cache of names keeps at most maxCached statements of at most
// maxCachedLen bytes each.
const (
	maxCached    = 4096
	maxCachedLen = 4096
)

// Config is the configuration of a wrapper: the statement text bound and
// a bounded cache of the names computed with it.
type Config struct {
	// MaxLen bounds the statement text of a region name, in runes;
	// <= 0 means no bound.
	MaxLen int

	cache  sync.Map // string -> *Name
	cached atomic.Int64
}

// NewConfig returns a Config with the default MaxLen.
func NewConfig() *Config { return &Config{MaxLen: DefaultMaxLen} }

// Name returns the Name of statement text q, from the cache when it is
// there.
func (c *Config) Name(q string) *Name {
	if v, ok := c.cache.Load(q); ok {
		return v.(*Name)
	}
	n := New(q, c.MaxLen)
	if len(q) <= maxCachedLen && c.cached.Load() < maxCached {
		if v, loaded := c.cache.LoadOrStore(q, n); loaded {
			return v.(*Name)
		}
		c.cached.Add(1)
	}
	return n
}
