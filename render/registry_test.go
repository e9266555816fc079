package render_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// upper is a format for these tests: the profile's name, upper-cased, or
// a stack set's.
var upper = render.Descriptor{
	Name: "upper", Extension: ".up", ContentType: "text/plain", Takes: render.Stacks,
	Write: func(w io.Writer, p *profile.Profile, o render.Options) error {
		_, err := io.WriteString(w, strings.ToUpper(p.Name)+" "+string(o.View))
		return err
	},
	WriteStacks: func(w io.Writer, s *view.StackSet, _ render.Options) error {
		_, err := io.WriteString(w, strings.ToUpper(s.Name))
		return err
	},
}

func init() { render.Register(upper) }

func TestRegistry(t *testing.T) {
	d, ok := render.Lookup("upper")
	if !ok || d.Extension != ".up" {
		t.Fatalf("Lookup(upper) = %+v, %v", d, ok)
	}
	if f := render.Format("upper"); f.Extension() != ".up" || f.ContentType() != "text/plain" || f.Takes() != render.Stacks {
		t.Errorf("upper: %q %q %v", f.Extension(), f.ContentType(), f.Takes())
	}
	if f := render.Format("nope"); f.Extension() != "" || f.ContentType() != "" || f.Takes() != 0 {
		t.Error("an unknown format has an extension, a content type or an input")
	}
	if got := render.Formats(); strings.Join(fmtNames(got), ",") != "reqprof,upper" {
		t.Errorf("Formats() = %v (package render alone links the native format)", got)
	}
	if f, err := render.ParseFormat(" UPPER "); f != "upper" || err != nil {
		t.Errorf("ParseFormat = %q, %v", f, err)
	}
	if _, err := render.ParseFormat("svg"); err == nil || err.Error() != `unknown format "svg" (valid: reqprof, upper)` {
		t.Errorf("ParseFormat(svg): %v", err)
	}
}

func fmtNames(fs []render.Format) []string {
	var s []string
	for _, f := range fs {
		s = append(s, string(f))
	}
	return s
}

func TestRegisterRefuses(t *testing.T) {
	for name, d := range map[string]render.Descriptor{
		"taken":        upper,
		"no name":      {Extension: ".x", ContentType: "a/b", Takes: render.Model, Write: upper.Write},
		"upper case":   {Name: "Up", Extension: ".x", ContentType: "a/b", Takes: render.Model, Write: upper.Write},
		"no dot":       {Name: "x1", Extension: "x", ContentType: "a/b", Takes: render.Model, Write: upper.Write},
		"no type":      {Name: "x2", Extension: ".x", Takes: render.Model, Write: upper.Write},
		"no write":     {Name: "x3", Extension: ".x", ContentType: "a/b", Takes: render.Model},
		"stacks, none": {Name: "x4", Extension: ".x", ContentType: "a/b", Takes: render.Stacks, Write: upper.Write},
		"not stacks":   {Name: "x5", Extension: ".x", ContentType: "a/b", Takes: render.Timelines, Write: upper.Write, WriteStacks: upper.WriteStacks},
		"no input":     {Name: "x6", Extension: ".x", ContentType: "a/b", Write: upper.Write},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: registered", name)
				}
			}()
			render.Register(d)
		}()
	}
}

func TestWrite(t *testing.T) {
	p := &profile.Profile{Name: "job", Stacks: []profile.Stack{{}}}
	var b bytes.Buffer
	if err := render.Write(&b, p, "upper", render.Options{View: "Goroutines"}); err != nil || b.String() != "JOB goroutines" {
		t.Errorf("Write: %q, %v (the view checked and normalised)", b.String(), err)
	}
	for _, c := range []struct {
		f    render.Format
		p    *profile.Profile
		o    render.Options
		want string
	}{
		{"svg", p, render.Options{}, `unknown format "svg"`},
		{"upper", p, render.Options{View: "flame"}, `unknown view "flame"`},
		{"upper", nil, render.Options{}, "render: nil profile"},
	} {
		if err := render.Write(io.Discard, c.p, c.f, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Write(%s, %+v): %v, want %q", c.f, c.o, err, c.want)
		}
	}
	b.Reset()
	if err := render.WriteStacks(&b, view.NewStackSet("merged", "wall"), "upper", render.Options{}); err != nil || b.String() != "MERGED" {
		t.Errorf("WriteStacks: %q, %v", b.String(), err)
	}
	if err := render.WriteStacks(io.Discard, view.NewStackSet("x", "wall"), "reqprof", render.Options{}); err == nil || !strings.Contains(err.Error(), "not stack sets") {
		t.Errorf("WriteStacks to the native format: %v", err)
	}
	b.Reset()
	p.Goroutines = nil
	if err := render.Write(&b, p, "reqprof", render.Options{}); err != nil {
		t.Fatal(err)
	}
	if q, err := profile.Decode(&b); err != nil || q.Name != "job" {
		t.Errorf("the native format does not round-trip: %v", err)
	}
}
