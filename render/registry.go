package render

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

// Format names an output format: "text", "speedscope", ... Its
// [Descriptor] is in the registry once the format's package is linked
// ([github.com/reqprof/reqprof/render/formats], which package reqprof
// imports, links every format of reqprof).
type Format string

// Input is what a format renders.
type Input uint8

const (
	// Model formats write the profile itself (the native file).
	Model Input = iota + 1
	// Timelines formats draw a view's timelines: time-ordered segments of
	// one profile (Speedscope's evented profiles, Chrome's threads).
	Timelines
	// Stacks formats draw a weighted stack set or its call tree, which can
	// be one profile's view or many profiles merged (text, folded, pprof).
	Stacks
)

func (i Input) String() string {
	switch i {
	case Model:
		return "model"
	case Timelines:
		return "timelines"
	case Stacks:
		return "stacks"
	}
	return fmt.Sprintf("Input(%d)", uint8(i))
}

// Descriptor describes a format to the registry: each format package
// exports its own (text.Descriptor, pprof.Descriptor, ...) and registers
// it.
type Descriptor struct {
	Name Format
	// Extension is the file name extension, with its dot: ".pb.gz".
	Extension string
	// ContentType is the MIME type of the format's files.
	ContentType string
	// Takes says what the format renders.
	Takes Input
	// Write renders one profile. Options.View is valid ([Write] checks
	// it).
	Write func(w io.Writer, p *profile.Profile, o Options) error
	// WriteStacks renders a stack set; it is set exactly when Takes is
	// Stacks.
	WriteStacks func(w io.Writer, s *view.StackSet, o Options) error
}

var registry struct {
	sync.RWMutex
	m map[Format]Descriptor
}

// Register adds a format to the registry. It is meant for the init
// functions of format packages, and panics when d is incomplete or its
// name is taken.
func Register(d Descriptor) {
	switch {
	case d.Name == "" || string(d.Name) != strings.ToLower(strings.TrimSpace(string(d.Name))):
		panic(fmt.Sprintf("render: Register: format name %q is not lower case and trimmed", d.Name))
	case d.Extension == "" || d.Extension[0] != '.' || d.ContentType == "":
		panic(fmt.Sprintf("render: Register: format %q needs an extension with its dot and a content type", d.Name))
	case d.Write == nil || d.Takes < Model || d.Takes > Stacks || (d.WriteStacks != nil) != (d.Takes == Stacks):
		panic(fmt.Sprintf("render: Register: format %q: Write, Takes and WriteStacks do not agree", d.Name))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[d.Name]; dup {
		panic(fmt.Sprintf("render: Register: format %q registered twice", d.Name))
	}
	if registry.m == nil {
		registry.m = map[Format]Descriptor{}
	}
	registry.m[d.Name] = d
}

// Lookup returns the descriptor of format f.
func Lookup(f Format) (Descriptor, bool) {
	registry.RLock()
	defer registry.RUnlock()
	d, ok := registry.m[f]
	return d, ok
}

// Formats returns the registered formats, sorted.
func Formats() []Format {
	registry.RLock()
	out := make([]Format, 0, len(registry.m))
	for f := range registry.m {
		out = append(out, f)
	}
	registry.RUnlock()
	slices.Sort(out)
	return out
}

// ParseFormat checks a format name given by a user (a flag, a query
// parameter): case and surrounding space do not matter. The error lists
// the registered formats.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := Lookup(f); ok {
		return f, nil
	}
	names := make([]string, 0, 8)
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("unknown format %q (valid: %s)", s, strings.Join(names, ", "))
}

// Extension returns the format's file name extension, with its dot, or ""
// for a format not registered.
func (f Format) Extension() string {
	d, _ := Lookup(f)
	return d.Extension
}

// ContentType returns the format's MIME type, or "" for a format not
// registered.
func (f Format) ContentType() string {
	d, _ := Lookup(f)
	return d.ContentType
}

// Takes returns what the format renders, 0 for a format not registered.
func (f Format) Takes() Input {
	d, _ := Lookup(f)
	return d.Takes
}

// Write renders p in format f, after checking f, o.View and p.
func Write(w io.Writer, p *profile.Profile, f Format, o Options) error {
	d, ok := Lookup(f)
	if !ok {
		_, err := ParseFormat(string(f))
		return err
	}
	k, err := view.ParseKind(string(o.View))
	if err != nil {
		return err
	}
	if p == nil {
		return errors.New("render: nil profile")
	}
	o.View = k
	return d.Write(w, p, o)
}

// WriteStacks renders s in format f, which must take stacks.
func WriteStacks(w io.Writer, s *view.StackSet, f Format, o Options) error {
	d, ok := Lookup(f)
	if !ok {
		_, err := ParseFormat(string(f))
		return err
	}
	if d.WriteStacks == nil {
		return fmt.Errorf("render: format %s draws %s, not stack sets", f, d.Takes)
	}
	if s == nil {
		return errors.New("render: nil stack set")
	}
	return d.WriteStacks(w, s, o)
}

// Native is the native file's format, "reqprof": the profile itself,
// which profile.Decode (and reqprof.Load) read back.
var Native = Descriptor{
	Name:        "reqprof",
	Extension:   ".reqprof",
	ContentType: "application/octet-stream",
	Takes:       Model,
	Write:       func(w io.Writer, p *profile.Profile, _ Options) error { return p.Encode(w) },
}

func init() { Register(Native) }
