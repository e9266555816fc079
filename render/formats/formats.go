// Package formats is the registry of reqprof's output formats: one
// descriptor per format (name, file extension, content type, writer), so
// that every way of delivering a profile — the root package, the HTTP
// middleware, the UI, the command line — looks a format up in one place.
package formats

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/chrome"
	"github.com/reqprof/reqprof/render/folded"
	"github.com/reqprof/reqprof/render/pprof"
	"github.com/reqprof/reqprof/render/speedscope"
	"github.com/reqprof/reqprof/render/text"
)

// Format is an output format's name.
type Format string

// The formats.
const (
	Text       Format = "text"       // a console call tree
	Reqprof    Format = "reqprof"    // the native file, which profile.Decode reads back
	Speedscope Format = "speedscope" // Speedscope's JSON
	Pprof      Format = "pprof"      // gzipped profile.proto for go tool pprof
	Folded     Format = "folded"     // folded stacks
	Chrome     Format = "chrome"     // Chrome Trace Event JSON (Perfetto)
)

// Descriptor describes one format.
type Descriptor struct {
	Name        Format
	Extension   string // file name extension, with its dot
	ContentType string
	// Write renders p.
	Write func(w io.Writer, p *profile.Profile, o render.Options) error
}

var registry = map[Format]Descriptor{
	Text:       {Text, text.Extension, text.ContentType, text.Render},
	Reqprof:    {Reqprof, ".reqprof", "application/octet-stream", func(w io.Writer, p *profile.Profile, _ render.Options) error { return p.Encode(w) }},
	Pprof:      {Pprof, pprof.Extension, pprof.ContentType, pprof.Render},
	Speedscope: {Speedscope, speedscope.Extension, speedscope.ContentType, speedscope.Render},
	Folded:     {Folded, folded.Extension, folded.ContentType, folded.Render},
	Chrome:     {Chrome, chrome.Extension, chrome.ContentType, chrome.Render},
}

// All returns the formats, sorted by name.
func All() []Format {
	out := make([]Format, 0, len(registry))
	for f := range registry {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// Lookup returns the descriptor of f.
func Lookup(f Format) (Descriptor, bool) {
	d, ok := registry[f]
	return d, ok
}

// Parse checks a format name (case and surrounding space ignored),
// returning an error that lists the valid ones.
func Parse(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := registry[f]; ok {
		return f, nil
	}
	names := make([]string, 0, len(registry))
	for _, f := range All() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("unknown format %q (valid: %s)", s, strings.Join(names, ", "))
}

// Extension returns the file name extension of the format, with its dot,
// or "" for an unknown format.
func (f Format) Extension() string { return registry[f].Extension }

// ContentType returns the format's MIME type, or "" for an unknown format.
func (f Format) ContentType() string { return registry[f].ContentType }

// Write renders p in format f.
func Write(w io.Writer, p *profile.Profile, f Format, o render.Options) error {
	d, ok := registry[f]
	if !ok {
		_, err := Parse(string(f))
		return err
	}
	if p == nil {
		return fmt.Errorf("nil profile")
	}
	return d.Write(w, p, o)
}
