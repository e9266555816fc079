package tracestr

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBound(t *testing.T) {
	if got := Bound("short"); got != "short" {
		t.Errorf("Bound(short) = %q", got)
	}
	exact := strings.Repeat("a", Max)
	if got := Bound(exact); got != exact {
		t.Errorf("a string of exactly Max bytes was cut")
	}
	for _, s := range []string{strings.Repeat("a", 1<<20), strings.Repeat("é", 1<<19), strings.Repeat("日本", 1000)} {
		got := Bound(s)
		if len(got) > Max {
			t.Errorf("Bound gave %d bytes, more than %d", len(got), Max)
		}
		if !utf8.ValidString(got) || !strings.HasSuffix(got, Ellipsis) {
			t.Errorf("Bound gave an invalid or unmarked string: ...%q", got[len(got)-8:])
		}
		if !strings.HasPrefix(s, strings.TrimSuffix(got, Ellipsis)) {
			t.Errorf("Bound changed the kept prefix")
		}
	}
}
