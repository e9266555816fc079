package text_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/text"
	"github.com/reqprof/reqprof/view"
)

// hostileProfile is handlerProfile with control characters in every
// string a request or a file can bring: the name and URL of a request for
// /nl%0Astatus:%20500, attributes, a region, a frame, a file, a warning.
func hostileProfile() *profile.Profile {
	p := handlerProfile()
	p.Name = "GET /nl\nstatus: 500"
	p.SetAttr("url", "/nl\nstatus: 500\x1b[2J")
	p.SetAttr("user\nagent", "curl\a\r")
	p.Host = "web\n1"
	p.Warnings = append(p.Warnings, "note\x1b]0;title\a\x9b")
	p.Frames[3].Func = "main.render\u2028\u202e"
	p.Frames[3].File = "/app/ma\nin.go"
	p.Regions = []profile.Region{{Goroutine: 7, Type: "SQL: SELECT 1\n-- status: 500\xff", Start: 2 * ms, End: 3 * ms, Stack: 5}}
	return p
}

// TestControlCharactersEscaped renders a hostile profile in every view,
// with colour and without, and checks that no line is forged and that the
// only control characters written are the line breaks and the colour
// codes of the renderer itself.
func TestControlCharactersEscaped(t *testing.T) {
	p := hostileProfile()
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	for _, k := range view.Kinds() {
		for _, color := range []bool{false, true} {
			var b bytes.Buffer
			o := render.Options{View: k, Color: color, Unicode: color, Threshold: 1e-9}
			if err := text.Render(&b, p, o); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, code := range []string{"\x1b[0m", "\x1b[31m", "\x1b[33m", "\x1b[32m", "\x1b[2m", "\x1b[1m", "\x1b[36m"} {
				out = strings.ReplaceAll(out, code, "")
			}
			if !utf8.ValidString(out) {
				t.Errorf("%s view (colour %v): invalid UTF-8 written", k, color)
			}
			for i, r := range out {
				if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x202e {
					t.Errorf("%s view (colour %v): control character %U at byte %d: %q", k, color, r, i, out[max(0, i-20):min(len(out), i+20)])
					break
				}
			}
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(line, "status:") || strings.HasPrefix(line, "-- status") || strings.HasPrefix(line, "in.go") {
					t.Errorf("%s view (colour %v): forged line %q", k, color, line)
				}
			}
			for _, want := range []string{`GET /nl\nstatus: 500`, `url: /nl\nstatus: 500\x1b[2J`, `user\nagent: curl\a\r`, `SQL: SELECT 1\n-- status: 500\xff`} {
				if !strings.Contains(out, want) {
					t.Errorf("%s view (colour %v): %q missing, escaped, from:\n%s", k, color, want, out)
				}
			}
		}
	}
}

// The header of a stack set is escaped too.
func TestStacksHeaderEscaped(t *testing.T) {
	s := view.NewStackSet("GET /a\nstatus: 500", "wall")
	s.Comments = []string{"route: /b\x1b[2J\nforged: yes"}
	s.Add(0, view.Stack{Path: []view.Frame{{Name: "main.x\ny"}}}, 1000, 1)
	var b bytes.Buffer
	if err := text.RenderStacks(&b, s, render.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "status:") || strings.HasPrefix(line, "forged:") || strings.HasPrefix(line, "y") || strings.ContainsRune(line, 0x1b) {
			t.Errorf("forged or unescaped line %q in:\n%s", line, b.String())
		}
	}
}
