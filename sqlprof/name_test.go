package sqlprof_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/reqprof/reqprof/sqlprof"
)

func TestFrameName(t *testing.T) {
	for _, c := range []struct {
		q    string
		opts []sqlprof.Option
		want string
	}{
		{"SELECT id, name\n\t\tFROM characters\n\t\tWHERE id = $1", nil, "SQL: SELECT id, name FROM characters WHERE id = $1"},
		{"  UPDATE t SET a = ?  ", nil, "SQL: UPDATE t SET a = ?"},
		{"", nil, "SQL: (empty)"},
		{strings.Repeat("x", 121), nil, "SQL: " + strings.Repeat("x", 119) + "…"},
		{strings.Repeat("x", 120), nil, "SQL: " + strings.Repeat("x", 120)},
		{"SELECT 12345", []sqlprof.Option{sqlprof.MaxLen(8)}, "SQL: SELECT…"},
		{"SELECT 12345", []sqlprof.Option{sqlprof.MaxLen(0)}, "SQL: SELECT 12345"},
		{"SELECT 12345", []sqlprof.Option{nil}, "SQL: SELECT 12345"},
	} {
		if got := sqlprof.FrameName(c.q, c.opts...); got != c.want {
			t.Errorf("FrameName(%q) = %q, want %q", c.q, got, c.want)
		}
	}
}

// reference is the collapsed text the normaliser must give, written
// plainly: invalid bytes become U+FFFD, runs of white space and control
// characters one space, no space at either end.
func reference(q string) string {
	var rs []rune
	for _, r := range q {
		rs = append(rs, r)
	}
	return strings.Join(strings.FieldsFunc(string(rs), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
}

func FuzzFrameName(f *testing.F) {
	for _, s := range []string{
		"", " ", "SELECT 1", "SELECT\t\n 1 ", "\xff\xfe\xfd", "a\u2028b\u0085c", "\x00\x01",
		strings.Repeat("é", 200), strings.Repeat("SELECT  ", 40), "日本語のテキスト\tと 空白",
		"SELECT '\xe2\x82' AS broken", strings.Repeat("a ", 100),
	} {
		for _, n := range []int{-1, 0, 1, 2, 5, 120} {
			f.Add(s, n)
		}
	}
	f.Fuzz(func(t *testing.T, q string, max int) {
		max %= 1000
		name := sqlprof.FrameName(q, sqlprof.MaxLen(max))
		if !utf8.ValidString(name) {
			t.Fatalf("FrameName(%q, %d) = %q: invalid UTF-8", q, max, name)
		}
		text, ok := strings.CutPrefix(name, "SQL: ")
		if !ok || text == "" {
			t.Fatalf("FrameName(%q, %d) = %q: no text after the prefix", q, max, name)
		}
		runes := utf8.RuneCountInString(text)
		if max > 0 && runes > max && text != "(empty)" {
			t.Fatalf("FrameName(%q, %d) = %q: %d runes", q, max, name, runes)
		}
		if max > 0 && len(text) > 4*max && text != "(empty)" {
			t.Fatalf("FrameName(%q, %d) = %q: %d bytes", q, max, name, len(text))
		}
		if strings.HasPrefix(text, " ") || strings.HasSuffix(text, " ") || strings.Contains(text, "  ") {
			t.Fatalf("FrameName(%q, %d) = %q: white space not collapsed", q, max, name)
		}
		for _, r := range text {
			if r != ' ' && (unicode.IsSpace(r) || unicode.IsControl(r)) {
				t.Fatalf("FrameName(%q, %d) = %q: holds %U", q, max, name, r)
			}
		}
		want := reference(q)
		switch {
		case want == "":
			if text != "(empty)" {
				t.Fatalf("FrameName(%q, %d) = %q, want (empty)", q, max, name)
			}
		case max <= 0 || utf8.RuneCountInString(want) <= max:
			if text != want {
				t.Fatalf("FrameName(%q, %d) = %q, want %q", q, max, name, "SQL: "+want)
			}
		default:
			cut, ok := strings.CutSuffix(text, "…")
			if !ok || !strings.HasPrefix(want, cut) {
				t.Fatalf("FrameName(%q, %d) = %q: not a truncation of %q", q, max, name, want)
			}
		}
		// Idempotent on its own text (when not truncated).
		if text != "(empty)" && !strings.HasSuffix(text, "…") {
			if again := sqlprof.FrameName(text, sqlprof.MaxLen(max)); again != name {
				t.Fatalf("FrameName(%q) = %q, not idempotent: %q", q, name, again)
			}
		}
	})
}
