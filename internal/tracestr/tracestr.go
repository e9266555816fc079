// Package tracestr bounds the strings reqprof hands to the runtime's
// execution tracer.
//
// The tracer keeps task names, region types and log categories in a string
// table allocated outside the heap in 64 KiB blocks; a longer string is a
// fatal error ("traceRegion: alloc too large") that no recover can catch.
// It writes at most [Max] bytes of any string into the trace anyway, so
// nothing is lost by cutting a string to that length before the call.
package tracestr

import "unicode/utf8"

// Max is the longest string, in bytes, reqprof passes to the tracer: the
// runtime's own bound on the string data it writes (tracev2's
// MaxEventTrailerDataSize).
const Max = 1 << 10

// Ellipsis ends a string that was cut.
const Ellipsis = "…"

// Bound returns s, or s cut at a rune boundary to at most Max bytes ending
// in Ellipsis.
func Bound(s string) string { return BoundTo(s, Max) }

// BoundTo is Bound with a given limit in bytes (at least len(Ellipsis)).
func BoundTo(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(Ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + Ellipsis
}
