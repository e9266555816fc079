package render_test

import (
	"testing"

	"github.com/reqprof/reqprof/render"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"GET /users/{id}":         "GET /users/{id}",
		"":                        "",
		"/nl\nstatus: 500":        `/nl\nstatus: 500`,
		"a\r\tb":                  `a\r\tb`,
		"\x1b[31mred\x1b[0m\a":    `\x1b[31mred\x1b[0m\a`,
		"nul\x00del\x7f":          `nul\x00del\x7f`,
		"c1 \u0085\u009b":         `c1 \u0085\u009b`,
		"bad \xff\xfe utf-8":      `bad \xff\xfe utf-8`,
		"bidi \u202egnp.exe":      `bidi \u202egnp.exe`,
		"line\u2028sep":           `line\u2028sep`,
		`C:\path\kept`:            `C:\path\kept`,
		"ünïcode, 日本語 and 🙂 kept": "ünïcode, 日本語 and 🙂 kept",
	} {
		if got := render.Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}
